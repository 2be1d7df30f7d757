"""The day's extraction around its batches, given open adapters (``gospublic.vk.steps`` opens them).

plan → extract (one call per batch of pages, mapped) → finish (manifest, checks) → load.
The partition is a calendar day ``dt`` in Moscow time, the zone VK counts subscribers in.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from gospublic.infra import settings
from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.vk.client import VkClient, VkExtractionError
from gospublic.vk.days import first_incomplete_day
from gospublic.vk.extract import (
    BatchOutcome,
    extract_batch,
    manifest_key,
    wall_count_hint,
    window_start_for,
    write_manifest,
)
from gospublic.vk.results import Batch, BatchResult, DayPlan, DaySummary

log = logging.getLogger(__name__)

PARTITION_ZONE = ZoneInfo("Europe/Moscow")
MAX_MAPPED_TASKS = 1000  # below Airflow's [core] max_map_length (1024)

_VK_PAGES_ON = """
SELECT DISTINCT vk_group_id FROM core.dim_page
WHERE network = 'vk' AND vk_group_id IS NOT NULL
  AND valid_from <= :dt AND (valid_to IS NULL OR :dt < valid_to)
ORDER BY vk_group_id
"""
_POSTS_IN_WINDOW = """
SELECT vk_group_id, COUNT(*) AS posts FROM core.fct_post
WHERE published_at >= :window_start AND published_at < :dt_start
GROUP BY vk_group_id
"""
_LAST_EXTRACTED = """
SELECT MAX(partition_key) FROM audit.load_runs WHERE source = 'vk/wall.get' AND partition_key < :dt
  AND status NOT IN ('started', 'abandoned', 'failed')
"""  # an attempt that never finished extracted nothing (gospublic.infra.audit.FINISHED_LOAD)


class TooManyFailedPagesError(VkExtractionError):
    """The run did not pass its checks: more pages refused by VK than
    ``GOSPUBLIC_VK_MAX_FAILED_SHARE`` allows, or more pages with calls given up than
    ``GOSPUBLIC_VK_MAX_GIVEUP_SHARE``."""


def partition_date(logical_date: datetime) -> date:
    """The day a run covers: its logical date's calendar day in Moscow."""
    return logical_date.astimezone(PARTITION_ZONE).date()


def plan(
    warehouse: Warehouse, dt: date, *, batch_pages: int | None = None, window_days: int | None = None
) -> DayPlan:
    """The VK pages official on ``dt`` split into batches, the start of the re-read window, and
    how many posts to ask for in each page's first ``wall.get`` (``wall_counts``)."""
    group_ids = [int(r["vk_group_id"]) for r in warehouse.query(_VK_PAGES_ON, {"dt": dt})]
    if not group_ids:
        raise VkExtractionError(
            f"no VK pages in core.dim_page official on {dt}: load the registry first (DAG registry)"
        )
    last = warehouse.scalar(_LAST_EXTRACTED, {"dt": dt.isoformat()})
    window = window_days if window_days is not None else settings.vk_window_days()
    incomplete = first_incomplete_day(warehouse, dt)
    start = window_start_for(dt, window, date.fromisoformat(last) if last else None, incomplete)
    if incomplete is not None:
        log.warning("vk_pages %s: re-reading since %s to complete %s (calls given up)", dt, start, incomplete)
    counts = wall_counts(warehouse, group_ids, dt, start)
    size = max(batch_pages or settings.vk_batch_pages(), math.ceil(len(group_ids) / MAX_MAPPED_TASKS))
    batches: list[Batch] = []
    for n, i in enumerate(range(0, len(group_ids), size)):
        ids = group_ids[i : i + size]
        batches.append(
            {
                "batch": n,
                "group_ids": ids,
                "window_start": start.isoformat(),
                "wall_counts": {str(gid): counts[gid] for gid in ids},
            }
        )
    log.info(
        "vk_pages %s: %d pages in %d batches, posts re-read since %s", dt, len(group_ids), len(batches), start
    )
    return {
        "dt": dt.isoformat(),
        "pages": len(group_ids),
        "window_start": start.isoformat(),
        "batches": batches,
    }


def wall_counts(
    warehouse: Warehouse, group_ids: list[int], dt: date, window_start: datetime
) -> dict[int, int]:
    """Posts to ask for in each page's first ``wall.get``: sized by the posts earlier runs saw in
    the window (``core.fct_post``), so a page that posts three times a day is not read 100 deep."""
    dt_start = datetime.combine(dt, datetime.min.time(), window_start.tzinfo)
    known = {
        int(r["vk_group_id"]): int(r["posts"])
        for r in warehouse.query(_POSTS_IN_WINDOW, {"window_start": window_start, "dt_start": dt_start})
    }
    days_known = max((dt_start - window_start).days, 1)
    return {gid: wall_count_hint(known.get(gid, 0), days_known) for gid in group_ids}


def extract(client: VkClient, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; the outcome (files, calls, page errors, retired tokens)."""
    outcome = extract_batch(
        client,
        lake,
        group_ids=list(batch["group_ids"]),
        dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]),
        run_id=run_id,
        batch=int(batch["batch"]),
        wall_counts={int(gid): int(n) for gid, n in (batch.get("wall_counts") or {}).items()},
    )
    result = cast(BatchResult, {**asdict(outcome), "retired_tokens": dict(client.retired)})
    result["requests"] = client.requests_sent
    for label, reason in client.retired.items():
        log.error("VK token %s was retired during batch %s: %s", label, batch["batch"], reason)
    return result


def finish(
    lake: Lake,
    dt: date,
    run_id: str,
    outcomes: list[BatchResult],
    *,
    max_failed_share: float | None = None,
    max_giveup_share: float | None = None,
) -> DaySummary:
    """Write the run's manifest with its checks' verdict, and move the day's ``latest.json`` to it
    only when it passed; fail when too many pages were refused by VK or had calls given up."""
    batches = [
        BatchOutcome(
            batch=o["batch"],
            pages=o["pages"],
            window_start=o.get("window_start"),
            files=o["files"],
            calls=o["calls"],
            errors=o["errors"],
            given_up=o.get("given_up", {}),
        )
        for o in outcomes
    ]
    manifest = write_manifest(
        lake, dt, run_id, batches, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
    )
    retired = {label: reason for o in outcomes for label, reason in o.get("retired_tokens", {}).items()}
    pages, failed = manifest["pages"], len(manifest["failed_pages"])
    given_up = len(manifest["given_up_pages"])
    summary: DaySummary = {
        "dt": dt.isoformat(),
        "run_id": run_id,
        "status": manifest["status"],
        "pages": pages,
        "failed_pages": failed,
        "failed_share": round(failed / pages if pages else 0.0, 4),
        "given_up_pages": given_up,
        "given_up_share": round(given_up / pages if pages else 0.0, 4),
        "given_up_calls": {m: n for m, n in manifest["given_up_calls"].items() if n},
        "complete": manifest["complete"],
        "calls": {m: sum(o["calls"].get(m, 0) for o in outcomes) for m in manifest["files"]},
        "retired_tokens": retired,
    }
    log.info("vk_pages %s extracted: %s", dt, summary)
    if manifest["problems"]:
        raise TooManyFailedPagesError(
            f"vk_pages run {run_id} did not pass its checks: {'; '.join(manifest['problems'])}. "
            f"Its manifest ({manifest_key(dt, run_id)}) lists the errors; the day's latest.json still "
            "points at the last run that passed, so loaded tables and replays keep that run. Re-run "
            "the day once VK answers again (given-up calls), or raise the limit if the pages are "
            "really closed."
        )
    if not manifest["complete"]:
        log.warning(
            "vk_pages %s: calls to %d pages given up (%s), within GOSPUBLIC_VK_MAX_GIVEUP_SHARE: the day "
            "is loaded as incomplete and the next run re-reads it",
            dt, given_up, summary["given_up_calls"],
        )  # fmt: skip
    return summary
