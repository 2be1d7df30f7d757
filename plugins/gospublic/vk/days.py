"""Loaded VK days in ``audit.vk_day_status``: complete, or incomplete until a later run re-read them.

A day whose run gave up some calls (5xx, dropped connections, timeouts) within
``GOSPUBLIC_VK_MAX_GIVEUP_SHARE`` is loaded but incomplete: the next runs' re-read windows reach
back to it (``first_incomplete_day`` → ``vk_extract.window_start_for``) and the first complete run
whose window covered it marks it complete (``covered_by_dt``). What VK only tells for the present
(a given-up page's subscribers that day) stays missing; posts, their metrics and comments are read
again.

Why the give-up budget is small but not zero (default 1 % of the pages): a failed run keeps none
of the day — every page's subscriber count of that day is lost, and Airflow's retry of ``finish``
cannot help (it judges the same calls) — while a page given up loses only its own count and is
re-read by the next run. Over 1 %, VK or the network is failing rather than flickering, and a
loaded day would hide it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from gospublic.infra.warehouse import Transaction, Warehouse
from gospublic.vk.extract import GAVE_UP, PAGE_ERROR, error_kind

_FIRST_INCOMPLETE = "SELECT MIN(dt) FROM audit.vk_day_status WHERE NOT complete AND dt < :dt"
_PAGES_LOADED = "SELECT COUNT(DISTINCT vk_group_id) FROM core.fct_page_daily WHERE dt = :dt"
_COVERED_BEFORE = "SELECT covered_by_dt FROM audit.vk_day_status WHERE dt = :dt"
_INSERT = """
INSERT INTO audit.vk_day_status (dt, run_id, pages, failed_pages, given_up_pages, given_up_calls,
                                 complete, covered_by_dt, loaded_at)
VALUES (:dt, :run_id, :pages, :failed_pages, :given_up_pages, :given_up_calls, :complete,
        :covered_by_dt, :loaded_at)
"""
# A complete day's window re-read the posts of every earlier day from the day after its start on.
_COVER = """
UPDATE audit.vk_day_status SET complete = TRUE, covered_by_dt = :dt
WHERE NOT complete AND dt < :dt AND dt > :window_day
"""


def first_incomplete_day(warehouse: Warehouse, dt: date) -> date | None:
    """The earliest day before ``dt`` still incomplete: the re-read window must reach it."""
    return _as_date(warehouse.scalar(_FIRST_INCOMPLETE, {"dt": dt}))


def pages_loaded(tx: Transaction, dt: date) -> int:
    """Pages with a row in ``core.fct_page_daily`` on ``dt``."""
    return int(tx.scalar(_PAGES_LOADED, {"dt": dt}) or 0)


def record_day(tx: Transaction, manifest: Mapping[str, Any], dt: date) -> dict[str, Any]:
    """Replace ``dt``'s row from the manifest loaded (same transaction as the load); a complete
    day marks complete the incomplete earlier days its window covered. Returns the row."""
    errors = [e for batch in manifest["batches"] for e in batch["errors"]]
    given_up = {e["vk_group_id"] for e in errors if error_kind(e) == GAVE_UP}
    failed = {e["vk_group_id"] for e in errors if error_kind(e) == PAGE_ERROR}
    calls = manifest.get("given_up_calls")  # None: a manifest from before it was recorded
    if calls is None:
        calls = {"all": sum(error_kind(e) == GAVE_UP for e in errors)}
    covered_by = _as_date(tx.scalar(_COVERED_BEFORE, {"dt": dt}))
    row = {
        "dt": dt,
        "run_id": manifest["run_id"],
        "pages": int(manifest["pages"]),
        "failed_pages": len(failed - {None}),
        "given_up_pages": len(given_up - {None}),
        "given_up_calls": sum(calls.values()),
        # a replay of a day that a later run already re-read stays complete
        "complete": not given_up or covered_by is not None,
        "covered_by_dt": covered_by if given_up else None,
        "loaded_at": datetime.now(UTC),
    }
    tx.delete_partition("audit.vk_day_status", {"dt": dt})
    tx.execute(_INSERT, row)
    window = manifest.get("window_start")
    if not given_up and window:
        window_day = datetime.fromisoformat(window).astimezone(UTC).date()
        tx.execute(_COVER, {"dt": dt, "window_day": window_day})
    return row


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
