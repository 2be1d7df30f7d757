"""The day's Telegram extraction around its batches, given open adapters (``steps`` opens them):
plan → extract (a batch of channels at a time) → finish (manifest, checks, errors recorded).

The partition is a calendar day ``dt`` in Moscow time, as for VK and OK; the posts' re-read
window starts ``window_days`` before it at Moscow midnight.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.telegram.client import TelegramExtractionError, TelegramReader
from gospublic.telegram.errors import record_errors
from gospublic.telegram.extract import (
    MAX_FAILED_SHARE,
    MAX_GIVEUP_SHARE,
    BatchOutcome,
    extract_batch,
    manifest_key,
    write_manifest,
)
from gospublic.telegram.results import Batch, BatchResult, DayPlan, DaySummary

log = logging.getLogger(__name__)

PARTITION_ZONE = ZoneInfo("Europe/Moscow")
WINDOW_DAYS = 7
BATCH_PAGES = 200

_TG_PAGES_ON = """
SELECT DISTINCT screen_name FROM core.dim_page
WHERE network = 'tg' AND screen_name IS NOT NULL
  AND valid_from <= :dt AND (valid_to IS NULL OR :dt < valid_to)
ORDER BY screen_name
"""  # the registry keeps a channel's username in screen_name (https://t.me/<username>)


class TooManyFailedPagesError(TelegramExtractionError):
    """The run did not pass its checks (too many channels refused, or given up)."""


def partition_date(logical_date: datetime) -> date:
    """The day a run covers: its logical date's calendar day in Moscow."""
    return logical_date.astimezone(PARTITION_ZONE).date()


def window_start_for(dt: date, window_days: int = WINDOW_DAYS) -> datetime:
    """Moscow midnight ``window_days`` before ``dt``: posts from then on are read again."""
    return datetime.combine(dt - timedelta(days=window_days), time(), PARTITION_ZONE)


def plan(
    warehouse: Warehouse, dt: date, *, window_days: int = WINDOW_DAYS, batch_pages: int = BATCH_PAGES
) -> DayPlan:
    """The Telegram channels official on ``dt`` (``core.dim_page``) in batches, with the window."""
    names = [str(r["screen_name"]) for r in warehouse.query(_TG_PAGES_ON, {"dt": dt})]
    if not names:
        raise TelegramExtractionError(
            f"no Telegram pages in core.dim_page official on {dt}: load the registry"
        )
    start = window_start_for(dt, window_days).isoformat()
    batches: list[Batch] = [
        {"batch": n, "usernames": names[i : i + batch_pages], "window_start": start}
        for n, i in enumerate(range(0, len(names), batch_pages))
    ]
    log.info(
        "telegram %s: %d channels in %d batches, posts re-read since %s", dt, len(names), len(batches), start
    )
    return {"dt": dt.isoformat(), "pages": len(names), "window_start": start, "batches": batches}


def extract(reader: TelegramReader, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; its outcome (files, calls, errors), requests and waits."""
    outcome = extract_batch(
        reader, lake, usernames=list(batch["usernames"]), dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]), run_id=run_id, batch=int(batch["batch"]),
    )  # fmt: skip
    return cast(
        BatchResult, {**asdict(outcome), "requests": reader.requests, "flood_waited": reader.flood_waited}
    )


def finish(
    warehouse: Warehouse,
    lake: Lake,
    dt: date,
    run_id: str,
    outcomes: list[BatchResult],
    *,
    max_failed_share: float = MAX_FAILED_SHARE,
    max_giveup_share: float = MAX_GIVEUP_SHARE,
) -> DaySummary:
    """Write the run's manifest (``latest.json`` only when it passed its checks), record its
    errors in ``audit.extract_errors``, and fail when it did not pass."""
    batches = [
        BatchOutcome(
            batch=o["batch"], pages=o["pages"], window_start=o["window_start"], files=o["files"],
            calls=o["calls"], errors=o["errors"],
        )
        for o in outcomes
    ]  # fmt: skip
    manifest = write_manifest(
        lake, dt, run_id, batches, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
    )
    recorded = record_errors(warehouse, manifest)
    summary: DaySummary = {
        "dt": dt.isoformat(),
        "run_id": run_id,
        "status": manifest["status"],
        "pages": manifest["pages"],
        "failed_pages": len(manifest["failed_pages"]),
        "given_up_pages": len(manifest["given_up_pages"]),
        "complete": manifest["complete"],
        "calls": {m: sum(o["calls"].get(m, 0) for o in outcomes) for m in manifest["files"]},
        "errors_recorded": recorded,
    }
    log.info("telegram %s extracted: %s", dt, summary)
    if manifest["problems"]:
        raise TooManyFailedPagesError(
            f"telegram run {run_id} did not pass its checks: {'; '.join(manifest['problems'])}. Its "
            f"manifest ({manifest_key(dt, run_id)}) lists the errors; the day's latest.json still points "
            "at the last run that passed."
        )
    return summary
