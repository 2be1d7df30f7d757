"""Load one extracted day of VK data from the lake into staging and core, in one transaction.

Re-runnable for any past day without calling VK: it reads the day's latest manifest, replaces
the day's staging partitions and extraction errors, rebuilds the affected core rows, and records
one ``audit.load_runs`` row per method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.audit import LoadRun, record_load_runs
from gospublic.lake import Lake
from gospublic.models import run_models
from gospublic.vk_extract import read_manifest, read_raw
from gospublic.warehouse import Warehouse
from transforms.vk_flatten import (
    COMMENT_COLUMNS,
    PAGE_COLUMNS,
    POST_COLUMNS,
    comment_rows,
    page_rows,
    post_rows,
)

log = logging.getLogger(__name__)

CORE_MODELS = ("core/010_fct_page_daily.sql", "core/020_fct_post.sql", "core/030_fct_comment.sql")
ERROR_COLUMNS = ("dt", "run_id", "vk_group_id", "method", "error_code", "error_msg", "occurred_at")


@dataclass(frozen=True)
class _Target:
    method: str
    table: str
    columns: tuple[str, ...]


TARGETS = (
    _Target("groups.getById", "staging.vk_page_observations", PAGE_COLUMNS),
    _Target("wall.get", "staging.vk_post_observations", POST_COLUMNS),
    _Target("wall.getComments", "staging.vk_comment_observations", COMMENT_COLUMNS),
)


def load_day(
    warehouse: Warehouse,
    lake: Lake,
    dt: date,
    pseudonymize: Callable[[str], str],
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    """Load ``dt`` from its latest manifest; returns counts per method."""
    manifest = read_manifest(lake, dt)
    run_id = manifest["run_id"]
    load_id = f"vk:{dt.isoformat()}:{run_id}"
    started = datetime.now(UTC)
    counts: dict[str, dict[str, int]] = {}
    with warehouse.begin() as conn:
        for target in TARGETS:
            stats = {"read": 0, "rejected": 0}
            keys = manifest["files"].get(target.method, [])
            frames = _frames(lake, keys, target, _Context(dt, load_id, pseudonymize), stats)
            result = warehouse.replace_partition_in(conn, target.table, frames, {"dt": dt})
            counts[target.method] = {**stats, "written": result.inserted}
        errors = pd.DataFrame(_error_rows(manifest, dt), columns=list(ERROR_COLUMNS))
        warehouse.replace_partition_in(conn, "audit.extract_errors", errors, {"dt": dt})
        run_models(conn, CORE_MODELS, {"dt": dt})
        runs = [
            LoadRun(
                load_id=f"{load_id}:{method}",
                source=f"vk/{method}",
                partition_key=dt.isoformat(),
                target_table=next(t.table for t in TARGETS if t.method == method),
                rows_read=c["read"],
                rows_written=c["written"],
                rows_rejected=c["rejected"],
                started_at=started,
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
            )
            for method, c in counts.items()
        ]
        record_load_runs(warehouse, conn, runs, prefix=f"vk:{dt.isoformat()}:")
    log.info("loaded VK day %s from run %s: %s", dt, run_id, counts)
    return {"dt": dt.isoformat(), "run_id": run_id, "counts": counts, "errors": len(errors)}


@dataclass(frozen=True)
class _Context:
    dt: date
    load_id: str
    pseudonymize: Callable[[str], str]


def _frames(
    lake: Lake, keys: list[str], target: _Target, ctx: _Context, stats: dict[str, int]
) -> Iterator[pd.DataFrame]:
    """One frame per raw file. Reconciles: items read = rows written + error answers rejected."""
    for key in keys:
        records, rejected = [], 0
        for record in read_raw(lake, [key]):
            if "error" in record:
                rejected += 1
            else:
                records.append(record)
        if target.method == "groups.getById":
            rows = list(page_rows(records, ctx.dt, ctx.load_id))
        elif target.method == "wall.get":
            rows = list(post_rows(records, ctx.dt, ctx.load_id))
        else:
            rows = list(comment_rows(records, ctx.dt, ctx.load_id, ctx.pseudonymize))
        stats["read"] += len(rows) + rejected
        stats["rejected"] += rejected
        yield pd.DataFrame(rows, columns=list(target.columns))


def _error_rows(manifest: dict[str, Any], dt: date) -> Iterator[dict[str, Any]]:
    for batch in manifest["batches"]:
        for error in batch["errors"]:
            yield {
                "dt": dt,
                "run_id": manifest["run_id"],
                "vk_group_id": error.get("vk_group_id"),
                "method": error["method"],
                "error_code": error["error_code"],
                "error_msg": error.get("error_msg"),
                "occurred_at": datetime.fromisoformat(error["occurred_at"]),
            }
