"""The day's MAX extraction around its batches, given open adapters (``gospublic.max.steps``
opens them): plan → extract (a batch of channels at a time) → finish (manifest, checks, errors).

The partition is a calendar day ``dt`` in Moscow time, as for VK and OK; the posts' re-read
window starts ``window_days`` before it at Moscow midnight.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.max.client import MaxClient, MaxExtractionError
from gospublic.max.errors import record_errors
from gospublic.max.extract import (
    MAX_FAILED_SHARE,
    MAX_GIVEUP_SHARE,
    BatchOutcome,
    extract_batch,
    manifest_key,
    write_manifest,
)
from gospublic.max.results import Batch, BatchResult, DayPlan, DaySummary

log = logging.getLogger(__name__)

PARTITION_ZONE = ZoneInfo("Europe/Moscow")
WINDOW_DAYS = 7
BATCH_PAGES = 500

_MAX_PAGES_ON = """
SELECT DISTINCT screen_name FROM core.dim_page
WHERE network = 'max' AND screen_name IS NOT NULL
  AND valid_from <= :dt AND (valid_to IS NULL OR :dt < valid_to)
ORDER BY screen_name
"""  # the registry keeps a MAX channel's numeric chat_id in screen_name (its link in url)


class TooManyFailedPagesError(MaxExtractionError):
    """The run did not pass its checks (too many channels refused by MAX, or given up)."""


def partition_date(logical_date: datetime) -> date:
    """The day a run covers: its logical date's calendar day in Moscow."""
    return logical_date.astimezone(PARTITION_ZONE).date()


def window_start_for(dt: date, window_days: int = WINDOW_DAYS) -> datetime:
    """Moscow midnight ``window_days`` before ``dt``: posts from then on are read again."""
    return datetime.combine(dt - timedelta(days=window_days), time(), PARTITION_ZONE)


def plan(
    warehouse: Warehouse, dt: date, *, window_days: int = WINDOW_DAYS, batch_pages: int = BATCH_PAGES
) -> DayPlan:
    """The MAX channels official on ``dt`` (``core.dim_page``) in batches, with the window's start."""
    chat_ids = [str(r["screen_name"]) for r in warehouse.query(_MAX_PAGES_ON, {"dt": dt})]
    if not chat_ids:
        raise MaxExtractionError(f"no MAX pages in core.dim_page official on {dt}: load the registry first")
    start = window_start_for(dt, window_days).isoformat()
    batches: list[Batch] = [
        {"batch": n, "chat_ids": chat_ids[i : i + batch_pages], "window_start": start}
        for n, i in enumerate(range(0, len(chat_ids), batch_pages))
    ]
    log.info(
        "max_pages %s: %d channels in %d batches, posts re-read since %s",
        dt,
        len(chat_ids),
        len(batches),
        start,
    )
    return {"dt": dt.isoformat(), "pages": len(chat_ids), "window_start": start, "batches": batches}


def extract(client: MaxClient, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; its outcome (files, calls, errors) and requests made."""
    outcome = extract_batch(
        client, lake, chat_ids=list(batch["chat_ids"]), dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]), run_id=run_id, batch=int(batch["batch"]),
    )  # fmt: skip
    return cast(BatchResult, {**asdict(outcome), "requests": client.requests_sent})


def land(
    lake: Lake,
    dt: date,
    run_id: str,
    outcomes: list[BatchResult],
    *,
    max_failed_share: float = MAX_FAILED_SHARE,
    max_giveup_share: float = MAX_GIVEUP_SHARE,
) -> dict[str, Any]:
    """Write the run's manifest with its checks' verdict (``latest.json`` moves to it only when it
    passed them); the manifest."""
    batches = [
        BatchOutcome(
            batch=o["batch"], pages=o["pages"], window_start=o["window_start"], files=o["files"],
            calls=o["calls"], errors=o["errors"],
        )
        for o in outcomes
    ]  # fmt: skip
    return write_manifest(
        lake, dt, run_id, batches, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
    )


def summarize(manifest: Mapping[str, Any], recorded: int) -> DaySummary:
    """A run's summary from its manifest (``recorded``: its errors written to the warehouse)."""
    batches = manifest["batches"]
    return {
        "dt": manifest["dt"],
        "run_id": manifest["run_id"],
        "status": manifest["status"],
        "pages": manifest["pages"],
        "failed_pages": len(manifest["failed_pages"]),
        "given_up_pages": len(manifest["given_up_pages"]),
        "complete": manifest["complete"],
        "calls": {op: sum(b["calls"].get(op, 0) for b in batches) for op in manifest["files"]},
        "errors_recorded": recorded,
    }


def check(manifest: Mapping[str, Any]) -> None:
    """Fail when the run did not pass its checks (its manifest says why)."""
    if manifest["problems"]:
        dt, run_id = date.fromisoformat(manifest["dt"]), str(manifest["run_id"])
        raise TooManyFailedPagesError(
            f"max_pages run {run_id} did not pass its checks: {'; '.join(manifest['problems'])}. Its "
            f"manifest ({manifest_key(dt, run_id)}) lists the errors; the day's latest.json still points "
            "at the last run that passed."
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
    manifest = land(
        lake, dt, run_id, outcomes, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
    )
    summary = summarize(manifest, record_errors(warehouse, manifest))
    log.info("max_pages %s extracted: %s", dt, summary)
    check(manifest)
    return summary
