"""Load the registry of bodies and pages into ``core.dim_org``, ``core.dim_org_alias``, ``core.dim_page``.

Validate both files with Great Expectations (``registry_orgs``, ``registry_pages``) and the
cross-row rules of ``transforms.registry``; quarantine every bad row with file, row, column and
reason; load the rest into staging and rebuild the dimensions, all in one transaction. Every row
read ends in a dimension or in ``audit.quarantine``; ``audit.load_runs`` reconciles the counts.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from gospublic.infra import settings
from gospublic.infra.audit import LoadRun
from gospublic.infra.load_skeleton import PartitionLoad
from gospublic.infra.validation import validate_frame
from gospublic.infra.warehouse import Transaction, Warehouse, writer
from gospublic.registry.results import RegistryCounts
from transforms import registry as reg
from transforms.quarantine import Problem

log = logging.getLogger(__name__)

SOURCE = "registry"


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
) -> RegistryCounts:
    """Validate and load the registry in ``folder``; returns the counts. The attempt is in
    ``audit.load_runs`` from its start (``started``, then the result, or ``failed``)."""
    return RegistryLoad(Path(folder or registry_dir()), dag_id=dag_id, run_id=run_id).run(warehouse)


class RegistryLoad(PartitionLoad[RegistryCounts]):
    """One load of the registry folder: both files validated, the dimensions rebuilt whole."""

    step = "registry"

    def __init__(self, folder: Path, *, dag_id: str | None, run_id: str | None) -> None:
        self.folder, self.dag_id, self.run_id = folder, dag_id, run_id
        self.started = datetime.now(UTC)
        self.digest = checksum(folder)
        self.load_id = f"{SOURCE}:{self.digest}"
        self.problems: list[Problem] = []
        self.quarantined = 0

    def attempt_runs(self) -> list[LoadRun]:
        return _runs(self.load_id, {}, self.started, dag_id=self.dag_id, run_id=self.run_id)

    def read(self, warehouse: Warehouse) -> None:
        folder, load_id = self.folder, self.load_id
        orgs = self.orgs = reg.read_csv(folder / reg.ORGS_FILE, reg.ORG_COLUMNS)
        pages = self.pages = reg.read_csv(folder / reg.PAGES_FILE, reg.PAGE_COLUMNS)
        problems = self.problems
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
        self.org_rows = reg.dim_org_frame(good_orgs).assign(load_id=load_id)
        self.alias_rows = reg.alias_frame(good_orgs).assign(load_id=load_id)
        self.page_rows = reg.dim_page_frame(good_pages).assign(load_id=load_id)

    def stage(self, tx: Transaction) -> dict[str, int | None]:
        staged = {
            "staging.registry_org": self.org_rows,
            "staging.registry_org_alias": self.alias_rows,
            "staging.registry_page": self.page_rows,
        }
        for table, frame in staged.items():
            tx.replace_table(table, frame)
        return dict.fromkeys(staged)

    def after_models(self, tx: Transaction) -> None:
        self.quarantined = tx.replace_quarantine(
            source=SOURCE, partition_key="current", load_id=self.load_id, problems=self.problems
        )

    def runs(self) -> list[LoadRun]:
        orgs, pages = len(self.orgs), len(self.pages)
        counts = {
            "core.dim_org": (orgs, len(self.org_rows), orgs - len(self.org_rows), reg.ORGS_FILE),
            "core.dim_page": (pages, len(self.page_rows), pages - len(self.page_rows), reg.PAGES_FILE),
        }
        return _runs(self.load_id, counts, self.started, dag_id=self.dag_id, run_id=self.run_id)

    def prefix(self) -> str:
        return f"{SOURCE}:"

    def result(self) -> RegistryCounts:
        result = RegistryCounts(
            load_id=self.load_id,
            checksum=self.digest,
            orgs_read=len(self.orgs),
            orgs_loaded=len(self.org_rows),
            pages_read=len(self.pages),
            pages_loaded=len(self.page_rows),
            aliases=len(self.alias_rows),
            quarantined=self.quarantined,
        )
        for problem in self.problems[:20]:
            log.warning(
                "registry quarantine: %s row %s column %s: %s",
                problem.file,
                problem.row,
                problem.column,
                problem.reason,
            )
        log.info("registry %s loaded: %s", self.folder, result)
        return result
