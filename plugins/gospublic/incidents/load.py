"""Load incident export files into the warehouse, reconciled to the row.

Per file, in the engine (:func:`engine_prepare`, ``transforms.incident_engine``): the cells are
staged as text in an in-process DuckDB (CSV by ``read_csv``, workbooks by calamine into Arrow),
typed in SQL, exact duplicate rows dropped, executors resolved, the Great Expectations suite
``incident_export_<source>`` run as SQL, authors pseudonymized, and the valid rows spilled as Arrow
for staging (texts in a staging table bound for ``restricted``). The cell-by-cell path
(:func:`prepare_export`: ``transforms.incident_parse`` and GX on pandas frames) is kept only as
the oracle the engine is tested against (``tests/incidents/test_engine_parity.py``).

Then a batch of files is applied in one transaction: ``sql/core/040_fct_incident.sql`` applies all
their rows in one pass, each file's quarantine and validation results are replaced, and
``audit.load_runs`` records read = loaded + quarantined + duplicates per file. Loading the same
files again, in any batches, gives the same tables.

Nothing is dropped in silence: columns that no field reads are listed per file (with the closest
known header), CSV rows that cannot be read as written are quarantined alone (their text kept in
``restricted.quarantine_raw_row``, as it is personal data), and a quarantined row shows the cells
it was quarantined for as the file wrote them (``Дата регистрации=…; Дата ответа=…``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa

from gospublic.infra import settings
from gospublic.infra.audit import LoadAttempt, LoadRun, quarantine_frame
from gospublic.infra.load_skeleton import PartitionLoad
from gospublic.infra.validation import (
    ExpectationResult,
    RowFailure,
    ValidationOutcome,
    load_suite_dict,
    validate_frame,
)
from gospublic.infra.warehouse import Transaction, Warehouse, writer
from gospublic.registry import executor_resolvers, region_timezones
from transforms.arrow_files import take_table, write_table
from transforms.executor_resolve import ExecutorResolver
from transforms.incident_checks import FileContext
from transforms.incident_engine import check_export
from transforms.incident_parse import WRITTEN, parse_chunk, written_column
from transforms.incident_read import DEFAULT_CHUNK_ROWS, ReadFault, detect_format, read_chunks
from transforms.incident_rules import RuleResult
from transforms.incident_spec import (
    ExportSpec,
    FileRejectedError,
    SourceSpec,
    load_spec,
    match_headers,
    unrecognised_columns,
)
from transforms.incident_stage import workbook_header, workbook_rows
from transforms.quarantine import Problem

log = logging.getLogger(__name__)

IM_DEADLINE = pd.Timedelta(hours=24)
TEXT_FIELDS = ("url", "message_text", "answer_text")
STAGING_COLUMNS = (
    "source", "incident_id", "region_code", "org_id", "executor", "status", "channel", "message_type",
    "rubric", "subcategory", "registered_at", "first_reaction_at", "answered_at", "due_at", "satisfaction",
    "satisfied", "author_key",
)  # fmt: skip
NO_ALIASES = pd.DataFrame(columns=["alias_key", "org_id", "valid_from", "valid_to"])
DUPLICATE_ID = "unique_id"
RAW_ROWS = "restricted.quarantine_raw_row"  # the text of rows unreadable as written (personal data)
UNKNOWN_EXECUTOR = "executor_known"


def export_spec() -> ExportSpec:
    return load_spec(settings.project_home() / "config" / "incident_exports.yaml")


@dataclass(frozen=True)
class ExportFileInfo:
    """What the landing tells about a file before it is read."""

    path: Path  # a local copy
    file: str  # the file name, as problems name it
    sha: str
    source: str
    region_code: str
    export_date: date
    processed_at: datetime

    @property
    def load_id(self) -> str:
        return f"incidents:{self.source}:{self.sha[:16]}"


@dataclass
class ExportLoad:
    """Counts of one loaded file; ``rows_read`` = loaded + quarantined + duplicate."""

    file: str
    sha: str
    source: str
    region_code: str
    export_date: date
    load_id: str
    format: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_empty: int = 0
    rows_unresolved: int = 0
    columns_read: list[str] = field(default_factory=list)  # the fields read, in the file's order
    columns_unrecognised: list[str] = field(default_factory=list)  # columns no field reads
    columns_changed: str | None = None  # fields gained/lost since the source's last file of the region
    problems: list[Problem] = field(default_factory=list, repr=False)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_duplicate

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, date) else v) for k, v in self.__dict__.items() if k != "problems"
        }


class RegistryLookups:
    """Region time zones and executor resolvers, read once for all the files of one ingestion
    (the registry does not change while they load)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self._zones: dict[str, str] | None = None
        self._resolvers: dict[str, ExecutorResolver] | None = None

    def timezone(self, region_code: str, file: str) -> str:
        """The region's IANA zone; rejects a file of a region the registry lacks."""
        if self._zones is None:
            self._zones = region_timezones(self._warehouse)
        zone = self._zones.get(region_code)
        if zone is None:
            raise FileRejectedError(
                f"{file}: region {region_code} has no body in core.dim_org: load the registry first",
                kind="unknown_region",
                reason_ru=(
                    f"{file}: региона с кодом {region_code} нет в реестре органов; проверьте код региона "
                    "в имени файла, а если он верен — попросите администратора платформы загрузить реестр "
                    "органов региона, затем положите файл снова"
                ),
            )
        return zone

    def resolver(self, region_code: str) -> ExecutorResolver:
        """The region's resolver (one without aliases for a region that has none)."""
        if self._resolvers is None:
            self._resolvers = executor_resolvers(self._warehouse)
        return self._resolvers.get(region_code) or ExecutorResolver(NO_ALIASES)


@dataclass
class PreparedExport:
    """A file read, parsed and checked, ready to stage: the checks' tallies and either the rows of
    each chunk that load with the chunk's count of empty rows (``chunks``, lazy: prepared in the
    task's process chunk by chunk) or, prepared by a worker, its staging rows in files (``spilled``)."""

    fmt: str
    checks: _ChunkChecks | EngineChecks
    chunks: Iterable[tuple[pd.DataFrame, int]]
    spilled: SpilledRows | None = None


@dataclass(frozen=True)
class SpilledRows:
    """A file's rows of ``staging.incident_export`` and ``staging.incident_text``, written by a
    worker to Arrow IPC files: the task maps them instead of unpickling frames (its CPU, per row)."""

    events: str
    texts: str
    empty_rows: int

    @classmethod
    def write(cls, directory: str, events: pd.DataFrame, texts: pd.DataFrame, empty_rows: int) -> SpilledRows:
        events_path, texts_path = (
            write_table(directory, pa.Table.from_pandas(frame, preserve_index=False))
            for frame in (events, texts)
        )
        return cls(events_path, texts_path, empty_rows)

    def open(self) -> tuple[pa.Table, pa.Table]:
        """Both tables, memory-mapped; the files are unlinked (the mappings stay)."""
        return take_table(self.events), take_table(self.texts)


@dataclass(frozen=True)
class ExportJob:
    """A file to prepare, with its region's zone and executor resolver."""

    info: ExportFileInfo
    timezone: str
    resolver: ExecutorResolver


def prepare_export(
    info: ExportFileInfo,
    *,
    spec: ExportSpec,
    timezone: str,
    resolver: ExecutorResolver,
    pseudonymize: Callable[[str], str],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> PreparedExport:
    """Read, parse, resolve and validate ``info``'s file chunk by chunk (no database)."""
    fmt, checks, screened = _screen(
        ExportJob(info, timezone, resolver), spec=spec, pseudonymize=pseudonymize, chunk_rows=chunk_rows
    )

    def checked() -> Iterator[tuple[pd.DataFrame, int]]:
        for rows, empty_rows in screened:
            outcome = validate_frame(checks.validated(rows), checks.suite)
            yield checks.settle(rows, outcome, file=info.file), empty_rows

    return PreparedExport(fmt, checks, checked())


@dataclass
class EngineChecks:
    """What the engine's checks found in one file (``transforms.incident_checks``), in the shape
    ``stage_export`` reads: counts, quarantine, unreadable rows, the suite's verdicts."""

    suite: str
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    unresolved: int = 0
    problems: list[Problem] = field(default_factory=list)
    read_faults: list[ReadFault] = field(default_factory=list)
    columns_read: list[str] = field(default_factory=list)
    columns_unrecognised: list[str] = field(default_factory=list)
    verdicts: list[RuleResult] = field(default_factory=list)

    def results(self, source: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            {
                "suite": self.suite,
                "expectation": item.expectation,
                "column_name": item.column,
                "severity": item.severity,
                "success": item.unexpected_count == 0,
                "element_count": item.element_count,
                "unexpected_count": item.unexpected_count,
                "reason": item.reason,
                "validated_at": now,
            }
            for item in self.verdicts
        ]


def engine_prepare(
    info: ExportFileInfo,
    *,
    spec: ExportSpec,
    timezone: str,
    resolver: ExecutorResolver,
    pseudonymize: Callable[[str], str],
    work: Path,
    shares: int = 1,
) -> PreparedExport:
    """Read ``info``'s file with DuckDB (CSV) or calamine (workbooks) as text, type and check it
    set-wise in SQL (``transforms.incident_engine``), and spill its staging rows to ``work`` as
    Arrow IPC files; raises ``FileRejectedError`` when the file as a whole is unusable. With
    ``shares`` files checked at once, its engine gets that share of the cores and of
    ``GOSPUBLIC_ENGINE_MEMORY_LIMIT``."""
    source = spec.sources[info.source]
    fmt = detect_format(info.path, source, encodings=spec.csv_encodings, separators=spec.csv_separators)
    rows = None
    if fmt.kind == "csv":
        headers, _ = read_chunks(info.path, fmt)
    else:
        rows = workbook_rows(info.path)
        headers = workbook_header(rows)
    mapping = match_headers(headers, source, info.file)
    suite = f"incident_export_{source.code}"
    checks = EngineChecks(suite)
    checks.columns_read = [mapping[position] for position in sorted(mapping)]
    checks.columns_unrecognised = [c.describe() for c in unrecognised_columns(headers, source, mapping)]
    if checks.columns_unrecognised:
        log.warning(
            "%s: columns no field reads (not loaded): %s", info.file, "; ".join(checks.columns_unrecognised)
        )
    ctx = FileContext(
        info.file, spec, source, mapping, headers, timezone, resolver, pseudonymize, load_suite_dict(suite)
    )
    exported_at = _exported_at(info, timezone)
    params = {
        "load_id": info.load_id,
        "file": info.file,
        "export_date": info.export_date,
        "exported_at": exported_at.tz_convert("UTC").to_pydatetime(),
        "processed_at": info.processed_at,
        "region_code": info.region_code,
    }
    checked, staging = check_export(
        info.path,
        fmt,
        ctx,
        work,
        staging_params=params,
        rows=rows,
        memory_limit=settings.engine_memory_limit(shares),
        threads=None if shares == 1 else max(1, (os.cpu_count() or 1) // shares),
    )
    checks.read, checks.loaded, checks.duplicates = checked.read, checked.loaded, checked.duplicates
    checks.unresolved, checks.problems, checks.read_faults = (
        checked.unresolved,
        checked.problems,
        checked.read_faults,
    )
    checks.verdicts = checked.results
    spilled = None if staging is None else SpilledRows(staging.events, staging.texts, checked.empty)
    return PreparedExport(fmt.describe(), checks, [], spilled)


def _screen(
    job: ExportJob, *, spec: ExportSpec, pseudonymize: Callable[[str], str], chunk_rows: int
) -> tuple[str, _ChunkChecks, Iterator[tuple[pd.DataFrame, int]]]:
    """Open ``job``'s file: its format, its checks, and its screened chunks (lazily) with the
    count of empty rows of each."""
    info, timezone = job.info, job.timezone
    source = spec.sources[info.source]
    fmt = detect_format(info.path, source, encodings=spec.csv_encodings, separators=spec.csv_separators)
    headers, chunks = read_chunks(info.path, fmt, chunk_rows=chunk_rows)
    mapping = match_headers(headers, source, info.file)
    checks = _ChunkChecks(source, {name: str(headers[pos]) for pos, name in mapping.items()})
    checks.columns_read = [mapping[position] for position in sorted(mapping)]
    checks.columns_unrecognised = [c.describe() for c in unrecognised_columns(headers, source, mapping)]
    if checks.columns_unrecognised:
        log.warning(
            "%s: columns no field reads (not loaded): %s", info.file, "; ".join(checks.columns_unrecognised)
        )

    def screened() -> Iterator[tuple[pd.DataFrame, int]]:
        for raw in chunks:
            parsed = parse_chunk(
                raw, mapping, headers, spec=spec, source=source, timezone=timezone, file=info.file,
                pseudonymize=pseudonymize,
            )  # fmt: skip
            rows = checks.screen(
                parsed.rows, parsed.row_hash, parsed.problems, resolver=job.resolver, timezone=timezone,
                read_faults=parsed.read_faults,
            )  # fmt: skip
            yield rows, parsed.empty_rows

    return fmt.describe(), checks, screened()


@dataclass
class StagedExport:
    """A checked file waiting to be applied with its batch: its counts, its checks' findings, and
    its rows ``held`` here (memory-mapped Arrow files), staged with the batch in its transaction."""

    info: ExportFileInfo
    load: ExportLoad
    checks: EngineChecks
    started: datetime
    held: list[tuple[pa.Table, pa.Table]] = field(default_factory=list, repr=False)

    @property
    def held_rows(self) -> int:
        return sum(events.num_rows for events, _ in self.held)


def stage_export(
    warehouse: Warehouse,
    info: ExportFileInfo,
    *,
    pseudonymize: Callable[[str], str],
    lookups: RegistryLookups,
    spec: ExportSpec,
    shares: int = 1,
) -> StagedExport:
    """Read, check and stage one file for :func:`apply_exports`; raises ``FileRejectedError``
    when the file as a whole is unusable. ``shares``: files staged at once (on threads), which
    share the cores and the engine's memory limit.

    The file goes through the engine (:func:`engine_prepare`: DuckDB in this process, no worker
    pool); its staging rows are spilled to local Arrow files and memory-mapped, so that memory
    stays bounded whatever its size. The rows are held for the batch's transaction: staging is
    written only there, in the transaction of the model that consumes and deletes them, so a
    killed ingestion leaves no staged rows behind."""
    timezone = lookups.timezone(info.region_code, info.file)
    resolver = lookups.resolver(info.region_code)
    with tempfile.TemporaryDirectory(prefix="gospublic-stage-") as work:  # files unlinked once mapped
        ready = engine_prepare(
            info, spec=spec, timezone=timezone, resolver=resolver, pseudonymize=pseudonymize, work=Path(work),
            shares=shares,
        )  # fmt: skip
        assert isinstance(ready.checks, EngineChecks)
        staged = StagedExport(
            info,
            ExportLoad(
                info.file, info.sha, info.source, info.region_code, info.export_date, info.load_id, ready.fmt
            ),
            ready.checks,
            datetime.now(UTC),
        )
        if ready.spilled is not None:
            staged.load.rows_empty += ready.spilled.empty_rows
            staged.held.append(ready.spilled.open())
    checks, result = staged.checks, staged.load
    result.rows_read = checks.read
    result.rows_loaded = checks.loaded
    result.rows_quarantined = len({p.row for p in checks.problems})
    result.rows_duplicate = checks.duplicates
    result.rows_unresolved = checks.unresolved
    result.columns_read = checks.columns_read
    result.columns_unrecognised = checks.columns_unrecognised
    result.problems = checks.problems
    if result.rows_read == 0:
        raise FileRejectedError(
            f"{info.file}: no data rows under the header",
            kind="empty",
            reason_ru=(
                f"{info.file}: под строкой заголовков нет ни одной строки данных; выгрузите файл заново "
                "из системы и положите его снова"
            ),
        )
    return staged


def apply_exports(
    tx: Transaction,
    batch: list[StagedExport],
    *,
    spec: ExportSpec,
    attempts: Sequence[LoadAttempt] = (),
    dag_id: str | None = None,
    run_id: str | None = None,
) -> list[LoadRun]:
    """Apply staged files to core, restricted and audit inside the transaction ``tx``: one pass of
    ``040_fct_incident.sql`` for the whole batch, the same tables as one by one; the files'
    ``attempts`` are replaced by their load runs (returned)."""
    return ExportBatch(batch, spec, dag_id=dag_id, run_id=run_id).apply(tx, attempts)


class ExportBatch(PartitionLoad[None]):
    """A batch of staged export files applied together (the partitions are the files: each
    file's quarantine, validation verdicts and load run are replaced, a statement per table for
    the whole batch). Read and checked before, file by file (``stage_export``), so this load is
    only the skeleton's transaction (``apply``)."""

    step = "incidents.events"

    def __init__(
        self, batch: list[StagedExport], spec: ExportSpec, *, dag_id: str | None, run_id: str | None
    ) -> None:
        load_ids = [staged.info.load_id for staged in batch]
        if len(set(load_ids)) != len(load_ids):
            raise ValueError(f"a batch holds a file twice: {sorted(load_ids)}")
        self.batch, self.spec, self.dag_id, self.run_id = batch, spec, dag_id, run_id
        self.batch_id = f"batch:{uuid.uuid4().hex}"

    def stage(self, tx: Transaction) -> dict[str, int | None]:
        held = [tables for staged in self.batch for tables in staged.held]
        if held:
            events, texts = (
                pa.concat_tables(part, promote_options="permissive") for part in zip(*held, strict=True)
            )
            tx.bulk_load("staging.incident_export", events)
            tx.bulk_load("staging.incident_text", texts)
        load_ids = [staged.info.load_id for staged in self.batch]
        tx.bulk_load("staging.incident_batch", pd.DataFrame({"batch_id": self.batch_id, "load_id": load_ids}))
        return dict.fromkeys(STAGING_TABLES)

    def model_params(self, tx: Transaction) -> dict[str, Any]:
        return {"batch_id": self.batch_id}

    def after_models(self, tx: Transaction) -> None:
        """The applied files' quarantine (with the raw text of unreadable rows) and validation
        verdicts, replaced file by file."""
        quarantine, raw_rows, verdicts = [], [], []
        for staged in self.batch:
            info, checks, result = staged.info, staged.checks, staged.load
            quarantine.append(
                quarantine_frame(
                    source=f"incidents/{info.source}", partition_key=info.sha, load_id=info.load_id,
                    problems=checks.problems,
                )
            )  # fmt: skip
            raw_rows += [
                {
                    "partition_key": info.sha,
                    "load_id": info.load_id,
                    "file": info.file,
                    "row_number": fault.row,
                    "line_number": fault.line,
                    "raw_text": fault.raw,
                }
                for fault in checks.read_faults
            ]
            verdicts.append(
                pd.DataFrame(checks.results(self.spec.sources[info.source].code)).assign(
                    load_id=info.load_id, file=info.file
                )
            )
            for problem in checks.problems[:10]:
                log.warning(
                    "%s row %s column %s: %s (%r)", problem.file, problem.row, problem.column, problem.reason,
                    problem.value,
                )  # fmt: skip
            log.info("loaded %s: %s", info.file, result.as_dict())
        shas = [s.info.sha for s in self.batch]
        tx.delete_where_in("audit.quarantine", "partition_key", shas)  # a file's: its content hash
        quarantined = [frame for frame in quarantine if len(frame)]
        if quarantined:
            tx.bulk_load("audit.quarantine", pd.concat(quarantined, ignore_index=True))
        tx.delete_where_in(RAW_ROWS, "partition_key", shas)
        if raw_rows:
            frame = pd.DataFrame(raw_rows)
            frame[["row_number", "line_number"]] = frame[["row_number", "line_number"]].astype("int64")
            tx.bulk_load(RAW_ROWS, frame)
        tx.replace_where_in(
            "audit.validation_result", "load_id", [s.info.load_id for s in self.batch],
            pd.concat(verdicts, ignore_index=True),
        )  # fmt: skip

    def runs(self) -> list[LoadRun]:
        """A load run per file: read = loaded + quarantined + duplicate."""
        return [
            LoadRun(
                load_id=staged.info.load_id,
                source=f"incidents/{staged.info.source}",
                partition_key=staged.info.file,
                target_table="core.fct_incident_event",
                rows_read=staged.load.rows_read,
                rows_written=staged.load.rows_loaded,
                rows_rejected=staged.load.rows_quarantined,
                rows_duplicate=staged.load.rows_duplicate,
                started_at=staged.started,
                dag_id=self.dag_id,
                run_id=self.run_id,
            )
            for staged in self.batch
        ]


class _ChunkChecks:
    """Row checks that span chunks: exact duplicates, repeated ids, GE verdicts summed per file."""

    def __init__(self, source: SourceSpec, header_of: dict[str, str]) -> None:
        self.suite = f"incident_export_{source.code}"
        self.personal = {f.name for f in source.fields if f.personal} | {"author_key"}
        self.header_of = header_of
        self.seen_hashes: set[int] = set()
        self.first_row_of: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.read_faults: list[ReadFault] = []
        self.columns_read: list[str] = []
        self.columns_unrecognised: list[str] = []
        self.columns_of = _expectation_columns(self.suite)
        self.read = self.loaded = self.duplicates = self.unresolved = 0
        self._results: dict[tuple[str, str | None, str], list[Any]] = {}

    def screen(
        self, rows: pd.DataFrame, row_hash: pd.Series, problems: list[Problem], *, resolver: ExecutorResolver,
        timezone: str, read_faults: list[ReadFault] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """The rows of one chunk that go on to validation: exact duplicates and rows with cells
        that could not be typed are recorded and left out; executors resolve to bodies."""
        self.read += len(rows)
        duplicate = row_hash.duplicated() | row_hash.isin(self.seen_hashes)
        self.seen_hashes.update(row_hash.tolist())
        self.duplicates += int(duplicate.sum())
        rows = rows[~duplicate]
        problems = [p for p in problems if p.row in rows.index]
        unparsed = {p.row for p in problems}
        self.problems += problems
        self.read_faults += [f for f in read_faults or [] if f.row in unparsed]
        rows = rows.drop(index=[r for r in unparsed if r in rows.index])
        local_day = rows["registered_at"].dt.tz_convert(timezone).dt.date
        return rows.assign(org_id=resolver.resolve(rows["executor"], local_day))

    def validated(self, rows: pd.DataFrame) -> pd.DataFrame:
        """What the suite sees of screened rows: no personal column (its results may quote values)
        and no cells as written (the suite checks typed values)."""
        return rows[[c for c in rows.columns if c not in self.personal and not str(c).endswith(WRITTEN)]]

    def settle(self, rows: pd.DataFrame, outcome: ValidationOutcome, *, file: str) -> pd.DataFrame:
        """The screened rows that load, given the suite's ``outcome``; records the others."""
        outcome.raise_for_table(file)
        self._add_results(outcome.results)
        first_of, broken = _first_rows_of_repeats(outcome.row_failures)
        bad: set[int] = set()
        for failure in outcome.row_failures:
            if failure.rule == UNKNOWN_EXECUTOR:
                continue
            reason = failure.reason
            if failure.rule == DUPLICATE_ID:
                if failure.row in broken or first_of[failure.value] == failure.row:
                    continue  # quarantined for the other rule it breaks, or the repeat that loads
                reason = _repeated_id(first_of[failure.value])
            column = "executor" if failure.column == "org_id" else failure.column
            self.problems.append(
                Problem(
                    file,
                    int(failure.row),
                    None if column is None else self.header_of.get(column, column),
                    reason,
                    self._as_written(rows, failure),
                )
            )
            bad.add(int(failure.row))
        rows = rows.drop(index=list(bad))
        earlier = rows["incident_id"].map(self.first_row_of)
        for row, first in earlier.dropna().items():
            self.problems.append(
                Problem(
                    file, int(row), self.header_of.get("incident_id"),
                    _repeated_id(int(first)),
                    rows.at[row, "incident_id"],
                )
            )  # fmt: skip
        rows = rows[earlier.isna()]
        self.first_row_of.update({i: int(r) for r, i in rows["incident_id"].items()})
        self.loaded += len(rows)
        self.unresolved += int(rows["org_id"].isna().sum())
        return rows

    def _as_written(self, rows: pd.DataFrame, failure: RowFailure) -> str | None:
        """The cells ``failure`` is about, as the file wrote them: one cell's text, or each cell
        labelled by its header in the file's column order (``Дата регистрации=…; Дата ответа=…``)."""
        columns = self.columns_of.get((failure.expectation, failure.column)) or (failure.column,)
        columns = tuple("executor" if c == "org_id" else c for c in columns if c is not None)
        order = list(self.header_of)
        shown = []
        for column in sorted(columns, key=lambda c: order.index(c) if c in order else len(order)):
            written = written_column(column)
            source = written if written in rows.columns else column if column in rows.columns else None
            shown.append((column, None if source is None else _shown(rows.at[failure.row, source])))
        if len(shown) == 1:
            return shown[0][1]
        return "; ".join(f"{self.header_of.get(c, c)}={'' if v is None else v}" for c, v in shown) or None

    def done(self) -> _ChunkChecks:
        """The checks with what only preparing needs dropped (they travel back from a worker)."""
        self.seen_hashes, self.first_row_of = set(), {}
        return self

    def _add_results(self, results: list[ExpectationResult]) -> None:
        for item in results:
            key = (item.expectation, item.column, item.reason)
            total = self._results.setdefault(key, [item.severity, 0, 0])
            total[1] += item.element_count
            total[2] += item.unexpected_count

    def results(self, source: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            {
                "suite": self.suite,
                "expectation": expectation,
                "column_name": column,
                "severity": severity,
                "success": unexpected == 0,
                "element_count": elements,
                "unexpected_count": unexpected,
                "reason": reason,
                "validated_at": now,
            }
            for (expectation, column, reason), (severity, elements, unexpected) in self._results.items()
        ]


STAGING_TABLES = ("staging.incident_export", "staging.incident_text", "staging.incident_batch")


def clear_staging(warehouse: Warehouse) -> None:
    """Empty the incident staging tables: rows an interrupted ingestion left behind."""
    with warehouse.transaction() as tx:
        for table in STAGING_TABLES:
            tx.empty(table)


def _expectation_columns(suite: str) -> dict[tuple[str, str | None], tuple[str, ...]]:
    """The columns each expectation of ``suite`` reads, by its type and the column its failures
    name (``column``, or ``column_A`` of a pair)."""
    found: dict[tuple[str, str | None], tuple[str, ...]] = {}
    for expectation in load_suite_dict(suite).get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        columns = [str(kwargs[k]) for k in ("column", "column_A", "column_B") if kwargs.get(k)]
        columns += [str(c) for c in kwargs.get("column_list") or []]
        named = kwargs.get("column") or kwargs.get("column_A")
        found[(str(expectation["type"]), named)] = tuple(columns)
    return found


def _first_rows_of_repeats(failures: list[Any]) -> tuple[dict[Any, Any], set[Any]]:
    """GE's uniqueness check names every row of a repeated id; the first of them that breaks no
    other rule loads. Returns it per id, and the rows that break another rule."""
    broken = {f.row for f in failures if f.rule not in (DUPLICATE_ID, UNKNOWN_EXECUTOR)}
    first: dict[Any, Any] = {}
    for failure in failures:
        if failure.rule == DUPLICATE_ID and failure.row not in broken:
            first[failure.value] = min(first.get(failure.value, failure.row), failure.row)
    return first, broken


def _repeated_id(first_row: int) -> str:
    return f"incident id repeated within the file with other values (row {first_row} wins)"


def _exported_at(info: ExportFileInfo, timezone: str) -> pd.Timestamp:
    """The start of the file's export day in its region."""
    return pd.Timestamp(datetime.combine(info.export_date, datetime.min.time()), tz=ZoneInfo(timezone))


def _staging_frames(
    rows: pd.DataFrame, info: ExportFileInfo, exported_at: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``staging.incident_export`` and ``staging.incident_text`` for checked ``rows``."""
    frame = rows.rename(columns={"category": "rubric"})
    absent = [
        c for c in (*STAGING_COLUMNS, *TEXT_FIELDS) if c not in frame.columns
    ]  # the source has no such field
    frame = frame.assign(**{c: pd.Series(None, index=frame.index, dtype=object) for c in absent})
    frame = frame[[*STAGING_COLUMNS, *TEXT_FIELDS]]
    frame["source"] = info.source
    frame["region_code"] = info.region_code
    if info.source == "im":
        frame["due_at"] = frame["registered_at"] + IM_DEADLINE
    frame["satisfaction"] = frame["satisfaction"].astype("Int32")
    frame["satisfied"] = frame["satisfied"].astype("Int32")
    for column in ("first_reaction_at", "answered_at", "registered_at", "due_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    events = frame[list(STAGING_COLUMNS)].assign(
        load_id=info.load_id,
        file=info.file,
        row_number=frame.index.astype("int64"),
        export_date=info.export_date,
        exported_at=exported_at.tz_convert("UTC"),
        processed_at=pd.Timestamp(info.processed_at),
    )
    texts = frame[["source", "incident_id", *TEXT_FIELDS]].assign(load_id=info.load_id)
    for column in TEXT_FIELDS:
        texts[column] = texts[column].astype(object)
    return events.reset_index(drop=True), texts.reset_index(drop=True)


@writer("incidents")
def resolve_unresolved(warehouse: Warehouse) -> int:
    """Give incidents without a body the body their executor now resolves to; returns how many."""
    pending = warehouse.query_df(
        "SELECT source, incident_id, region_code, executor, registered_at FROM core.fct_incident "
        "WHERE org_id IS NULL"
    )
    if pending.empty:
        return 0
    fixes = []
    zones, resolvers = region_timezones(warehouse), executor_resolvers(warehouse)
    for region, rows in pending.groupby("region_code"):
        timezone, resolver = zones.get(str(region)), resolvers.get(str(region))
        if timezone is None or resolver is None:
            continue
        days = pd.to_datetime(rows["registered_at"], utc=True).dt.tz_convert(timezone).dt.date
        found = rows.assign(org_id=resolver.resolve(rows["executor"], days)).dropna(subset=["org_id"])
        fixes.append(found[["source", "incident_id", "org_id"]])
    fixed = pd.concat(fixes) if fixes else pd.DataFrame()
    if fixed.empty:
        return 0
    with warehouse.transaction() as tx:
        tx.replace_table("staging.incident_org_fix", fixed)
        tx.analyze(["staging.incident_org_fix"])
        tx.run_models("incidents.org_fix", {})
    log.info("resolved the body of %d incidents loaded without one", len(fixed))
    return len(fixed)


def _shown(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        stamp: str = value.isoformat()
        return stamp
    return str(value)
