"""MAX extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table holds every network's rows (migration 0027): a MAX row has ``network`` 'max', the
channel's chat id in ``page_key``, the Bot API's operation (``getChat``, ``getMessages``),
``error_code`` the HTTP status MAX answered (403 the bot is not in the channel, 404, 400) or -1
for a call given up, and MAX's ``code: message`` as its message; ``vk_group_id`` stays empty.
Re-running a day replaces only that day's MAX rows; the other networks' rows are left alone. The
rows are every network's (``gospublic.infra.network_day``), under the writer lock ``max_load``.
"""

from __future__ import annotations

from gospublic.max.daily import DAY, SPEC

NETWORK = SPEC.code
error_rows, record_errors = DAY.error_rows, DAY.record_errors
__all__ = ["NETWORK", "error_rows", "record_errors"]
