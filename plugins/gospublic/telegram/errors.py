"""Telegram extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

A Telegram row has ``network`` 'tg', the channel's username in ``page_key``, the TL method
(``contacts.resolveUsername``, ``channels.getFullChannel``, ``messages.getHistory``), Telegram's
error code (400, 406…) and name (``CHANNEL_PRIVATE``) as its message; ``vk_group_id`` stays empty.
Re-running a day replaces only that day's Telegram rows (migration 0027's ``network`` column). The
rows are every network's (``gospublic.infra.network_day``), under the writer lock ``telegram_load``.
"""

from __future__ import annotations

from gospublic.telegram.daily import DAY, SPEC

NETWORK = SPEC.code
error_rows, record_errors = DAY.error_rows, DAY.record_errors
__all__ = ["NETWORK", "error_rows", "record_errors"]
