"""Load the registry of bodies and pages into ``core.dim_org``, ``core.dim_org_alias``, ``core.dim_page``.

Validate both files with Great Expectations (``registry_orgs``, ``registry_pages``) and the
cross-row rules of ``transforms.registry``; quarantine every bad row with file, row, column and
reason; load the rest into staging and rebuild the dimensions, all in one transaction. Every row
read ends in a dimension or in ``audit.quarantine``; ``audit.load_runs`` reconciles the counts.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.audit import LoadAttempt, LoadRun, begin_attempt, record_load_runs, replace_quarantine
from gospublic.infra.model_graph import graph
from gospublic.infra.model_runner import run_models
from gospublic.infra.validation import validate_frame
from gospublic.infra.warehouse import Warehouse, writer
from transforms import registry as reg
from transforms.quarantine import Problem

log = logging.getLogger(__name__)

SOURCE = "registry"


@dataclass(frozen=True)
class RegistryLoad:
    """Counts of one registry load."""

    load_id: str
    checksum: str
    orgs_read: int
    orgs_loaded: int
    pages_read: int
    pages_loaded: int
    aliases: int
    quarantined: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def registry_dir() -> Path:
    """``$GOSPUBLIC_REGISTRY_DIR``, else the project's ``config/registry``."""
    return settings.registry_dir()


def checksum(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in (reg.ORGS_FILE, reg.PAGES_FILE):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()[:16]


def _runs(
    load_id: str,
    counts: dict[str, tuple[int, int, int, str]],
    started: datetime,
    *,
    dag_id: str | None,
    run_id: str | None,
) -> list[LoadRun]:
    """A load run per file; without ``counts`` the ``started`` rows of an attempt."""
    counts = counts or {
        "core.dim_org": (0, 0, 0, reg.ORGS_FILE),
        "core.dim_page": (0, 0, 0, reg.PAGES_FILE),
    }
    return [
        LoadRun(
            load_id=f"{load_id}:{file}",
            source=f"{SOURCE}/{file}",
            partition_key="current",
            target_table=table,
            rows_read=read,
            rows_written=written,
            rows_rejected=rejected,
            started_at=started,
            dag_id=dag_id,
            run_id=run_id,
        )
        for table, (read, written, rejected, file) in counts.items()
    ]


@writer("registry")
def load_registry(
    warehouse: Warehouse, folder: Path | None = None, *, dag_id: str | None = None, run_id: str | None = None
) -> RegistryLoad:
    """Validate and load the registry in ``folder``; returns the counts. The attempt is in
    ``audit.load_runs`` from its start (``started``, then the result, or ``failed``)."""
    folder = Path(folder or registry_dir())
    started = datetime.now(UTC)
    digest = checksum(folder)
    attempt = begin_attempt(warehouse, _runs(f"{SOURCE}:{digest}", {}, started, dag_id=dag_id, run_id=run_id))
    with attempt.marking_failure():
        return _load(warehouse, folder, attempt, digest, started, dag_id=dag_id, run_id=run_id)


def _load(
    warehouse: Warehouse,
    folder: Path,
    attempt: LoadAttempt,
    digest: str,
    started: datetime,
    *,
    dag_id: str | None,
    run_id: str | None,
) -> RegistryLoad:
    load_id = f"{SOURCE}:{digest}"
    orgs = reg.read_csv(folder / reg.ORGS_FILE, reg.ORG_COLUMNS)
    pages = reg.read_csv(folder / reg.PAGES_FILE, reg.PAGE_COLUMNS)

    problems: list[Problem] = []
    for frame, suite, name in (
        (orgs, "registry_orgs", reg.ORGS_FILE),
        (pages, "registry_pages", reg.PAGES_FILE),
    ):
        outcome = validate_frame(frame, suite)
        outcome.raise_for_table(str(folder / name))
        problems += [Problem(name, int(f.row), f.column, f.reason, f.value) for f in outcome.row_failures]
    bad_org_rows = {p.row for p in problems if p.file == reg.ORGS_FILE}
    problems += reg.cross_row_problems(orgs.drop(index=list(bad_org_rows)), pages)
    bad = {(p.file, p.row) for p in problems}
    good_orgs = orgs.drop(index=[r for f, r in bad if f == reg.ORGS_FILE])
    good_pages = pages.drop(index=[r for f, r in bad if f == reg.PAGES_FILE])
    orphaned = good_pages.index[~good_pages["org_id"].isin(set(good_orgs["org_id"]))]
    problems += [
        Problem(
            reg.PAGES_FILE, int(row), "org_id", "page of a quarantined body", good_pages.at[row, "org_id"]
        )
        for row in orphaned
    ]
    good_pages = good_pages.drop(index=orphaned)

    org_rows = reg.dim_org_frame(good_orgs).assign(load_id=load_id)
    alias_rows = reg.alias_frame(good_orgs).assign(load_id=load_id)
    page_rows = reg.dim_page_frame(good_pages).assign(load_id=load_id)
    with warehouse.begin() as conn:
        staged = {
            "staging.registry_org": org_rows,
            "staging.registry_org_alias": alias_rows,
            "staging.registry_page": page_rows,
        }
        for table, frame in staged.items():
            conn.execute(sa.text(f"DELETE FROM {table}"))
            warehouse.bulk_load_in(conn, table, frame)
        warehouse.analyze_in(conn, staged)
        run_models(conn, graph().step("registry"), {})
        quarantined = replace_quarantine(
            warehouse, conn, source=SOURCE, partition_key="current", load_id=load_id, problems=problems
        )
        counts = {
            "core.dim_org": (len(orgs), len(org_rows), len(orgs) - len(org_rows), reg.ORGS_FILE),
            "core.dim_page": (len(pages), len(page_rows), len(pages) - len(page_rows), reg.PAGES_FILE),
        }
        attempt.finish_in(conn)
        runs = _runs(load_id, counts, started, dag_id=dag_id, run_id=run_id)
        record_load_runs(warehouse, conn, runs, prefix=f"{SOURCE}:")
    result = RegistryLoad(
        load_id=load_id,
        checksum=digest,
        orgs_read=len(orgs),
        orgs_loaded=len(org_rows),
        pages_read=len(pages),
        pages_loaded=len(page_rows),
        aliases=len(alias_rows),
        quarantined=quarantined,
    )
    for problem in problems[:20]:
        log.warning(
            "registry quarantine: %s row %s column %s: %s",
            problem.file,
            problem.row,
            problem.column,
            problem.reason,
        )
    log.info("registry %s loaded: %s", folder, result.as_dict())
    return result
