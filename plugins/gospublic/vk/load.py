"""Load one extracted day of VK data from the lake into staging and core, in one transaction.

Re-runnable for any past day without calling VK: it reads the day's latest manifest, replaces
the day's staging partitions and VK extraction errors, rebuilds the affected core rows, and records
one ``audit.load_runs`` row per method. The core rows are rebuilt by step ``vk`` of
``sql/models.yml``, one rule per table in two scopes: a day's first load with no later day staged
(the daily run) is *forward* — its models read the day's rows and the touched core rows only, so
its cost does not grow with the days staged before; re-runs and out-of-order days are *full* —
every staged observation. The scope is the bound boolean ``forward``; both give the same core
tables (``tests/vk/test_vk_rebuild_scopes.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd

from gospublic.infra.audit import LoadRun
from gospublic.infra.lake import Lake
from gospublic.infra.load_skeleton import PartitionLoad
from gospublic.infra.warehouse import Transaction, Warehouse, writer
from gospublic.vk.answers import answer_files
from gospublic.vk.days import pages_loaded, record_day
from gospublic.vk.extract import error_kind, manifest_key, manifest_problems, read_manifest
from gospublic.vk.flatten import flatten_for
from gospublic.vk.results import DayLoad

log = logging.getLogger(__name__)

# The forward scope of step vk (sql/core/020_fct_post.sql, 030_fct_comment.sql) holds on a day's
# first load with no later day staged: the day's latest observations are the latest of all, and
# each touched core row is the latest of the days before, so the models read only the day's rows
# and those core rows (not every day's); the full scope reads every staged day. Anything that
# makes a day's load not forward: a later day staged, or core rows observed on the day or after it
# (the day loaded before, whose rebuilt posts must be found again).
NOT_FORWARD = """
SELECT 1 AS found FROM (SELECT 1 FROM staging.vk_post_observations WHERE dt > :dt LIMIT 1) AS a
UNION ALL SELECT 1 FROM (SELECT 1 FROM staging.vk_comment_observations WHERE dt > :dt LIMIT 1) AS b
UNION ALL SELECT 1 FROM (SELECT 1 FROM core.fct_post WHERE observed_dt >= :dt LIMIT 1) AS c
UNION ALL SELECT 1 FROM (SELECT 1 FROM core.fct_comment WHERE observed_dt >= :dt LIMIT 1) AS d
"""
ERROR_COLUMNS = (
    "dt", "run_id", "network", "page_key", "vk_group_id", "method", "kind", "error_code", "error_msg",
    "occurred_at",
)  # fmt: skip
NETWORK = "vk"  # audit.extract_errors holds every network's rows: the load replaces only its own
# PostgreSQL: memory for each sort and hash of the load's transaction (SET LOCAL: it ends with it).
# The models rank the day's observations with the touched core rows (at a third of the national
# month, 110k-165k rows a day); under the server's default 4 MB those sorts went to disk.
WORK_MEM = "64MB"


class ManifestNotPassedError(RuntimeError):
    """The day's manifest names a run that did not pass its checks: loading it would lose data."""


class FewerPagesError(RuntimeError):
    """The load would leave the day with fewer pages than it has (``allow_fewer_pages`` permits)."""


@dataclass(frozen=True)
class _Target:
    method: str
    table: str


TARGETS = (
    _Target("groups.getById", "staging.vk_page_observations"),
    _Target("wall.get", "staging.vk_post_observations"),
    _Target("wall.getComments", "staging.vk_comment_observations"),
)

# Offered to Warehouse.vacuum after each day: the tables whose rows the models delete and write
# again (the day's posts and their comments), vacuumed once their dead rows pass a fifth of the
# live ones, and the staging tables, whose BRIN indexes on dt must cover the pages appended (so
# that the next day's partition delete and rebuild keys skip the month's pages).
VACUUMED = (
    "staging.vk_rebuild_posts", "staging.vk_day_posts", "staging.vk_day_comments",
    "core.fct_post", "core.fct_comment",
    *(target.table for target in TARGETS),
)  # fmt: skip


@writer("vk_load")  # the work tables and core rows are shared by the days: loads take turns
def load_day(
    warehouse: Warehouse,
    lake: Lake,
    dt: date,
    pseudonymize: Callable[[str], str],
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
    allow_fewer_pages: bool = False,
) -> DayLoad:
    """Load ``dt`` from its latest manifest; returns counts per method.

    Refuses a manifest whose run did not pass its checks, and a load that would leave the day
    with fewer pages than are loaded for it unless ``allow_fewer_pages``."""
    day = VkDayLoad(
        lake, dt, pseudonymize, dag_id=dag_id, task_id=task_id, allow_fewer_pages=allow_fewer_pages
    )
    return day.run(warehouse)


class VkDayLoad(PartitionLoad[DayLoad]):
    """One day of the lake into staging (a partition per method) and core (step ``vk``)."""

    step = "vk"

    def __init__(
        self,
        lake: Lake,
        dt: date,
        pseudonymize: Callable[[str], str],
        *,
        dag_id: str | None,
        task_id: str | None,
        allow_fewer_pages: bool,
    ) -> None:
        self.lake, self.dt, self.allow_fewer_pages = lake, dt, allow_fewer_pages
        self.manifest = read_manifest(lake, dt)
        self.run_id: str = self.manifest["run_id"]
        self.load_id = f"vk:{dt.isoformat()}:{self.run_id}"
        self.window = self.manifest.get("window_start")  # manifests written before it was recorded: no cut
        self.ctx = _Context(
            dt,
            self.load_id,
            pseudonymize,
            int(datetime.fromisoformat(self.window).timestamp()) if self.window else None,
        )
        self.started, self.dag_id, self.task_id = datetime.now(UTC), dag_id, task_id
        self.counts: dict[str, dict[str, int]] = {}
        self.sources: dict[str, str] = {}  # what each method's answers were read from
        self.before_window = 0
        self.errors = 0
        self.pages_before = 0
        self.forward = False
        self.day: dict[str, Any] = {}

    def attempt_runs(self) -> list[LoadRun]:
        return self.runs()

    def read(self, warehouse: Warehouse) -> None:
        """The day's files are read while they are staged; a refused manifest fails the attempt."""
        _check_manifest(self.manifest, self.dt)

    def stage(self, tx: Transaction) -> dict[str, int | None]:
        """Each method's raw files flattened in SQL (``gospublic.vk.flatten``) into its staging
        partition, their typed answers read from their Parquet sidecars when all are current
        (``gospublic.vk.answers``), else from the raw files. Reconciles: items read = rows written
        + error answers rejected (posts from before the window are counted apart, in
        ``before_window``)."""
        if tx.dialect == "postgres":
            tx.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        self.pages_before = pages_loaded(tx, self.dt)
        ctx = self.ctx
        with flatten_for(tx, ctx.pseudonymize) as flatten:
            for target in TARGETS:
                keys = self.manifest["files"].get(target.method, [])
                with answer_files(self.lake, target.method, keys) as answers:
                    counts = flatten.flatten(
                        target.method, answers.files, ctx.dt, ctx.load_id, ctx.window_start,
                        columnar=answers.columnar,
                    )  # fmt: skip
                self.sources[target.method] = "sidecars" if answers.columnar else "raw" if keys else "none"
                written = flatten.write(tx, target.table, self.dt)
                self.before_window += counts.before_window
                read, rejected = counts.read, counts.rejected
                self.counts[target.method] = {"read": read, "rejected": rejected, "written": written}
        errors = pd.DataFrame(_error_rows(self.manifest, self.dt), columns=list(ERROR_COLUMNS))
        tx.replace_partition("audit.extract_errors", errors, {"dt": self.dt, "network": NETWORK})
        self.errors = len(errors)
        return {target.table: self.counts[target.method]["written"] for target in TARGETS}

    def model_params(self, tx: Transaction) -> dict[str, Any]:
        self.forward = not tx.exists(NOT_FORWARD, {"dt": self.dt})
        return {"dt": self.dt, "forward": self.forward}

    def after_models(self, tx: Transaction) -> None:
        _check_pages(
            self.pages_before, pages_loaded(tx, self.dt), self.dt, self.run_id, self.allow_fewer_pages
        )
        self.day = record_day(tx, self.manifest, self.dt)

    def runs(self) -> list[LoadRun]:
        return _runs(
            self.load_id, self.dt, started=self.started, dag_id=self.dag_id, run_id=self.run_id,
            task_id=self.task_id, counts=self.counts,
        )  # fmt: skip

    def prefix(self) -> str:
        return f"vk:{self.dt.isoformat()}:"

    def after_commit(self, warehouse: Warehouse) -> None:
        warehouse.vacuum(VACUUMED)

    def result(self) -> DayLoad:
        rebuild: Literal["forward", "full"] = "forward" if self.forward else "full"
        log.info(
            "loaded VK day %s from run %s (%s rebuild, answers from %s): %s (%d posts from before the window "
            "%s left out)",
            self.dt, self.run_id, rebuild, self.sources, self.counts, self.before_window, self.window,
        )  # fmt: skip
        return {
            "dt": self.dt.isoformat(), "run_id": self.run_id, "counts": self.counts, "errors": self.errors,
            "posts_before_window": self.before_window, "rebuild": rebuild, "complete": self.day["complete"],
            "answers": self.sources,
        }  # fmt: skip


def _check_manifest(manifest: dict[str, Any], dt: date) -> None:
    """Refuse a manifest whose run did not pass its checks (a lake written before they existed)."""
    problems = manifest_problems(manifest)
    if problems:
        raise ManifestNotPassedError(
            f"{manifest_key(dt)} names vk_pages run {manifest['run_id']}, which did not pass its "
            f"checks ({'; '.join(problems)}); loading it would replace {dt} with a partial day. "
            f"Nothing was loaded. To repair it, re-extract {dt} (trigger vk_pages for that date "
            "without replay) or point latest.json at a run of that day that passed."
        )


def _check_pages(before: int, after: int, dt: date, run_id: str, allow_fewer_pages: bool) -> None:
    """Fail (rolling the load back) when it would leave ``dt`` with fewer pages than it had."""
    if after < before and not allow_fewer_pages:
        raise FewerPagesError(
            f"loading {dt} from vk_pages run {run_id} would leave {after} pages in core.fct_page_daily "
            f"where {before} are loaded; nothing was changed. If pages really left (removed from the "
            "registry), replay with allow_fewer_pages: trigger vk_pages for that date with "
            '{"replay": true, "allow_fewer_pages": true}; otherwise re-extract the day.'
        )
    if after < before:
        log.warning("%s: %d pages replace %d (allow_fewer_pages)", dt, after, before)


def _runs(
    load_id: str,
    dt: date,
    *,
    started: datetime,
    dag_id: str | None,
    run_id: str,
    task_id: str | None,
    counts: dict[str, dict[str, int]] | None = None,
) -> list[LoadRun]:
    """One load run per method (zero counts for the ``started`` rows of the attempt)."""
    return [
        LoadRun(
            load_id=f"{load_id}:{target.method}",
            source=f"vk/{target.method}",
            partition_key=dt.isoformat(),
            target_table=target.table,
            rows_read=(counts or {}).get(target.method, {}).get("read", 0),
            rows_written=(counts or {}).get(target.method, {}).get("written", 0),
            rows_rejected=(counts or {}).get(target.method, {}).get("rejected", 0),
            started_at=started,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
        )
        for target in TARGETS
    ]


@dataclass(frozen=True)
class _Context:
    dt: date
    load_id: str
    pseudonymize: Callable[[str], str]
    window_start: int | None  # epoch seconds; posts published before it are not staged


def _error_rows(manifest: dict[str, Any], dt: date) -> Iterator[dict[str, Any]]:
    for batch in manifest["batches"]:
        for error in batch["errors"]:
            group = error.get("vk_group_id")
            yield {
                "dt": dt,
                "run_id": manifest["run_id"],
                "network": NETWORK,
                "page_key": None if group is None else str(group),
                "vk_group_id": group,
                "method": error["method"],
                "kind": error_kind(error),
                "error_code": error["error_code"],
                "error_msg": error.get("error_msg"),
                "occurred_at": datetime.fromisoformat(error["occurred_at"]),
            }
