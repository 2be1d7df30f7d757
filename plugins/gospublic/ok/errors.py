"""OK extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table holds every network's rows (migration 0027): an OK row has ``network`` 'ok', the OK
group id in ``page_key``, OK's method name (``group.getInfo``, ``mediatopic.getTopics``) and OK's
message as it came; ``vk_group_id`` stays empty (an OK group id is not a VK id). Re-running a day
replaces only that day's OK rows, and a VK (re)load of the day replaces only its VK rows. The rows
are every network's (``gospublic.infra.network_day``), under the writer lock ``ok_load``.
"""

from __future__ import annotations

from gospublic.ok.daily import DAY, SPEC

NETWORK = SPEC.code
error_rows, record_errors = DAY.error_rows, DAY.record_errors
__all__ = ["NETWORK", "error_rows", "record_errors"]
