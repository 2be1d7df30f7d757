"""The life of an export file in the lake: ``incoming/`` → ``archive/`` or ``rejected/``.

ЦУР drops exports into ``incoming/im/`` and ``incoming/pos/`` named
``<source>_<region>_<YYYYMMDD>.<xlsx|xls|csv>`` (the region's code and the export day, which may not
be after today: Moscow's day, or the region's own where it is already the next day). Files are
taken in arrival order and known by the SHA-256 of their content: a file dropped twice is loaded
once (the copy is archived, nothing changes). A loaded file moves to
``archive/<source>/YYYY/MM/``; a file that cannot be used moves to ``rejected/<source>/`` next to
``<name>.report.json`` saying why, in English and (``reason_ru``) in Russian for ЦУР staff.
``audit.export_file`` keeps every file's fate and counts.

Every object under ``incoming/`` is taken: one placed directly in ``incoming/`` or in a folder that
is not a source's (its source unknown) moves to ``rejected/`` with the same kind of report, naming
the folder it belongs in. A loaded file's row also says which fields its columns gave, which columns
no field reads, and how its fields differ from the last file of its source and region.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypedDict
from zoneinfo import ZoneInfo

import pandas as pd

from gospublic.incidents.load import (
    STAGING_TABLES,
    ExportFileInfo,
    ExportLoad,
    RegistryLookups,
    StagedExport,
    apply_exports,
    clear_staging,
    export_spec,
    stage_export,
)
from gospublic.incidents.results import IngestResult
from gospublic.infra.audit import LoadAttempt, LoadRun, begin_attempt, marking_failures
from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Transaction, Warehouse, writer
from transforms import ru_format
from transforms.incident_spec import SOURCES, ExportSpec, FileRejectedError

log = logging.getLogger(__name__)

INCOMING = "incoming"
ARCHIVE = "archive"
REJECTED = "rejected"
REPORT_SUFFIX = ".report.json"
BATCH_FILES = 64  # files applied to core in one transaction and one pass of the incident model
BATCH_HELD_ROWS = 200_000  # staged rows held (memory-mapped Arrow files) until their batch applies
STAGED_AT_ONCE = 2  # files checked at a time, each on a thread with its own in-process DuckDB
ALONE_BYTES = 64 * 1024 * 1024  # a file this large is checked alone, with every core and all the memory
FILE_NAME = re.compile(
    r"^(?P<source>[a-z]+)_(?P<region>\d{1,3})_(?P<day>\d{8})\.(?P<ext>xlsx|xls|csv)$", re.I
)


class _Runs(TypedDict):
    """The Airflow run a load belongs to, passed on to the audit rows."""

    dag_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class LandedFile:
    key: str
    source: str  # "unknown" for a misplaced file whose name does not tell it
    size: int
    modified: datetime
    misplaced: FileRejectedError | None = None  # why a file outside incoming/<source>/ is set aside

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def rejected_key(self) -> str:
        """Where the file goes when rejected: ``rejected/<source>/<name>``, or for a misplaced
        file the same path under ``rejected/`` as it had under ``incoming/``."""
        if self.misplaced is not None:
            return f"{REJECTED}/{self.key.removeprefix(INCOMING + '/')}"
        return f"{REJECTED}/{self.source}/{self.name}"


def _no_files() -> IngestResult:
    """What a pass over ``incoming/`` did, before it looked at a file."""
    return IngestResult(loaded=[], rejected=[], already_loaded=[])


def landed_files(lake: Lake) -> list[LandedFile]:
    """Every object under ``incoming/``, oldest arrival first: exports in ``incoming/<source>/``,
    and anything else marked ``misplaced`` with the reason it will be rejected for."""
    found: list[LandedFile] = []
    for obj in lake.list(f"{INCOMING}/"):
        if obj.key.endswith("/"):  # a folder marker of an S3 console, not a file
            continue
        parts = PurePosixPath(obj.key).parts[1:]
        if len(parts) == 2 and parts[0] in SOURCES and not _set_aside(parts[1]):
            found.append(LandedFile(obj.key, parts[0], obj.size, obj.modified))
        else:
            source, reason = _misplaced(obj.key, parts)
            found.append(LandedFile(obj.key, source, obj.size, obj.modified, reason))
    found.sort(key=lambda landed: (landed.modified, landed.key))
    return found


def _set_aside(name: str) -> bool:
    """Names in a source folder that are no export: hidden files and rejection reports."""
    return name.startswith(".") or name.endswith(REPORT_SUFFIX)


def _misplaced(key: str, parts: tuple[str, ...]) -> tuple[str, FileRejectedError]:
    """The source a misplaced object's name tells ("unknown" when none) and why it is rejected."""
    name = parts[-1]
    match = FILE_NAME.match(name)
    named = match["source"].lower() if match and match["source"].lower() in SOURCES else None
    folders = " or ".join(f"{INCOMING}/{s}/" for s in ((named,) if named else SOURCES))
    if len(parts) == 2 and parts[0] in SOURCES and name.endswith(REPORT_SUFFIX):
        what, what_ru = "a rejection report, not an export", "отчёт об отклонении, а не выгрузка"
    elif len(parts) == 2 and parts[0] in SOURCES:
        what, what_ru = "a hidden file, not an export", "скрытый файл, а не выгрузка"
    elif len(parts) == 1:
        what, what_ru = f"placed directly in {INCOMING}/", f"лежит прямо в {INCOMING}/"
    else:
        folder = "/".join(parts[:-1])
        what = f"placed in {INCOMING}/{folder}/, which is not a source's folder"
        what_ru = f"лежит в {INCOMING}/{folder}/ — это не папка источника"
    reason = FileRejectedError(
        f"{key}: {what}; exports go into {folders} (one folder per source: "
        f"{', '.join(SOURCES)}), named <source>_<region code>_<YYYYMMDD>.<xlsx|xls|csv>",
        kind="misplaced",
        reason_ru=f"{key}: {what_ru}; выгрузки кладите в {folders}",
    )
    in_source_folder = len(parts) == 2 and parts[0] in SOURCES
    return parts[0] if in_source_folder else named or "unknown", reason


def file_sha(path: Path) -> str:
    with open(path, "rb") as handle:
        return stream_sha(handle)


def stream_sha(stream: IO[bytes]) -> str:
    """SHA-256 of everything readable from ``stream``, read in 1 MB blocks."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    return digest.hexdigest()


def describe(landed: LandedFile, path: Path, sha: str) -> ExportFileInfo:
    """Region and export day from the file name; rejects a name that does not tell them and a
    file outside its source's folder."""
    if landed.misplaced is not None:
        raise landed.misplaced
    match = FILE_NAME.match(landed.name)
    if not match or match["source"].lower() != landed.source:
        raise FileRejectedError(
            f"{landed.name}: name it {landed.source}_<region code>_<YYYYMMDD>.<xlsx|xls|csv> "
            "so that its region and export day are known",
            kind="bad_name",
            reason_ru=(
                f"{landed.name}: назовите файл {landed.source}_<код региона>_<ГГГГММДД>.<xlsx|xls|csv> "
                f"(например, {landed.source}_58_20251201.xlsx), чтобы были известны регион и день "
                "выгрузки, и положите его снова"
            ),
        )
    try:
        day = datetime.strptime(match["day"], "%Y%m%d").date()
    except ValueError as exc:
        raise FileRejectedError(
            f"{landed.name}: {match['day']} is not a date YYYYMMDD",
            kind="bad_name",
            reason_ru=(
                f"{landed.name}: {match['day']} — не дата; укажите в имени файла день выгрузки как "
                "ГГГГММДД (например, 20251201 — 1 декабря 2025) и положите его снова"
            ),
        ) from exc
    return ExportFileInfo(
        path=path,
        file=landed.name,
        sha=sha,
        source=landed.source,
        region_code=str(int(match["region"])).zfill(2),
        export_date=day,
        processed_at=datetime.now(UTC),
    )


def check_export_day(file: str, source: str, day: date, zone: str, *, now: datetime | None = None) -> None:
    """Rejects a file whose name's export day has not come yet (a typo such as 2099 for 2025 would
    make it the region's newest export for years: its states winning over every later file, the
    publication gate and ``ops_check`` seeing an export after any month). Today is Moscow's day,
    or the region's own (``zone``) where it is already the next day: names carry the local day."""
    moment = now or datetime.now(UTC)
    today = max(moment.astimezone(ru_format.MOSCOW).date(), moment.astimezone(ZoneInfo(zone)).date())
    if day > today:
        raise FileRejectedError(
            f"{file}: export day {day:%Y-%m-%d} is after today ({today:%Y-%m-%d}); name the file by "
            f"the day it was exported: {source}_<region code>_<YYYYMMDD>",
            kind="bad_name",
            reason_ru=(
                f"{file}: день выгрузки в имени файла ({ru_format.day(day)}) ещё не наступил: сегодня "
                f"{ru_format.day(today)}; назовите файл по дню выгрузки ({source}_<код региона>_<ГГГГММДД>) "
                "и положите его снова"
            ),
        )


@writer("incidents")  # one ingestion at a time: a second waits, then finds only newer files
def ingest_landed(
    lake: Lake,
    warehouse: Warehouse,
    *,
    pseudonymize: Callable[[str], str],
    spec: ExportSpec | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> IngestResult:
    """Load, reject or recognise every file in ``incoming/``, in arrival order; returns what was
    loaded (each file's reconciled counts), rejected (with the reason) and recognised.

    Files are checked in this process by the engine (DuckDB in-process, set-wise SQL; no worker
    pool), ``STAGED_AT_ONCE`` small files at a time on threads, each engine with its share of the
    cores and of the memory limit (a file of ``ALONE_BYTES`` or more is checked alone, with all of
    them). Everything else happens in arrival order on the calling thread: recognising copies,
    rejections, and applying the checked files in batches (up to ``BATCH_FILES`` files, one
    transaction each: the same tables as one by one, a pass of the incident model per batch
    rather than per file) while the next files are being checked."""
    ingestion = _Ingestion(
        lake, warehouse, pseudonymize, RegistryLookups(warehouse), spec or export_spec(),
        dag_id, run_id,
    )  # fmt: skip
    files = landed_files(lake)
    clear_staging(warehouse)
    with (
        ingestion.marking_failures(),
        tempfile.TemporaryDirectory(prefix="gospublic-export-") as tmp,
        ThreadPoolExecutor(STAGED_AT_ONCE, thread_name_prefix="incident-check") as pool,
    ):  # the pool's exit waits for files still being checked, before their folder goes
        for index, landed in enumerate(files):
            path = lake.download(landed.key, Path(tmp) / str(index) / landed.name)
            ingestion.one(landed, _Fetched(path, file_sha(path)), pool)
        ingestion.settle_all()
        ingestion.apply_batch()
    return ingestion.summary


@dataclass(frozen=True)
class _Fetched:
    path: Path  # the local copy, alone in its folder
    sha: str

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


@dataclass(frozen=True)
class _Checking:
    """A file whose check runs on a thread of the pool."""

    landed: LandedFile
    fetched: _Fetched
    staged: Future[StagedExport]


@dataclass
class _Ingestion:
    lake: Lake
    warehouse: Warehouse
    pseudonymize: Callable[[str], str]
    lookups: RegistryLookups
    spec: ExportSpec
    dag_id: str | None
    run_id: str | None
    summary: IngestResult = field(default_factory=_no_files)
    checking: deque[_Checking] = field(default_factory=deque)  # in arrival order
    batch: list[tuple[LandedFile, StagedExport]] = field(default_factory=list)
    attempts: dict[str, LoadAttempt] = field(default_factory=dict)  # by content hash, until applied
    fields_seen: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (source, region) → fields

    @property
    def runs(self) -> _Runs:
        """The Airflow run this ingestion belongs to, for its audit rows."""
        return {"dag_id": self.dag_id, "run_id": self.run_id}

    def marking_failures(self) -> AbstractContextManager[None]:
        """The attempts of files not yet applied or rejected become ``failed`` when the run fails."""
        return marking_failures(self.attempts.values)

    def one(self, landed: LandedFile, fetched: _Fetched, pool: ThreadPoolExecutor) -> None:
        """Recognise or reject one landed file, or start its check on ``pool``; settles the
        oldest check when ``STAGED_AT_ONCE`` are running."""
        lake, warehouse, sha, summary = self.lake, self.warehouse, fetched.sha, self.summary
        if any(c.fetched.sha == sha for c in self.checking) or any(s.info.sha == sha for _, s in self.batch):
            self.settle_all()
            self.apply_batch()  # the same content twice: the copy is recognised once the first applies
        known = warehouse.query(
            "SELECT state, stored_key FROM audit.export_file WHERE file_sha = :sha", {"sha": sha}
        )
        if known and known[0]["state"] == "loaded":
            target = _free_key(lake, str(known[0]["stored_key"]), sha)
            lake.move(landed.key, target)
            fetched.remove()
            log.info("%s has the content of a file loaded before (%s): archived", landed.key, sha[:12])
            summary["already_loaded"].append(landed.key)
            return
        attempt = begin_attempt(warehouse, [_load_run(landed, sha, datetime.now(UTC), **self.runs)])
        self.attempts[sha] = attempt
        try:
            info = describe(landed, fetched.path, sha)
            zone = self.lookups.timezone(info.region_code, info.file)  # read here, once: threads only look up
            check_export_day(info.file, info.source, info.export_date, zone)
            self.lookups.resolver(info.region_code)
        except FileRejectedError as exc:
            self._rejected(landed, fetched, exc)
            return
        alone = landed.size >= ALONE_BYTES
        if alone:
            self.settle_all()
        staged = pool.submit(
            stage_export, warehouse, info, pseudonymize=self.pseudonymize, lookups=self.lookups,
            spec=self.spec, shares=1 if alone else STAGED_AT_ONCE,
        )  # fmt: skip
        self.checking.append(_Checking(landed, fetched, staged))
        if alone or len(self.checking) >= STAGED_AT_ONCE:
            self.settle(self.checking.popleft())

    def settle_all(self) -> None:
        """Wait for every file being checked and take each in arrival order."""
        while self.checking:
            self.settle(self.checking.popleft())

    def settle(self, checking: _Checking) -> None:
        """Take a checked file into the batch (or reject it); applies the batch when it is full."""
        landed, fetched = checking.landed, checking.fetched
        try:
            staged = checking.staged.result()
        except FileRejectedError as exc:
            self._rejected(landed, fetched, exc)
            return
        fetched.remove()
        staged.load.columns_changed = self._columns_changed(staged)
        self.batch.append((landed, staged))
        held = sum(staged.held_rows for _, staged in self.batch)
        if len(self.batch) >= BATCH_FILES or held >= BATCH_HELD_ROWS:
            self.apply_batch()

    def _rejected(self, landed: LandedFile, fetched: _Fetched, exc: FileRejectedError) -> None:
        fetched.remove()
        attempt = self.attempts[fetched.sha]
        self.summary["rejected"].append(
            _reject(self.lake, self.warehouse, landed, fetched.sha, exc, attempt=attempt, **self.runs)
        )
        self.attempts.pop(fetched.sha)

    def _columns_changed(self, staged: StagedExport) -> str | None:
        """How the fields of a file's columns differ from those of the last file of its source and
        region (``+field`` gained, ``-field`` lost); None when they are the same or it is the first."""
        load = staged.load
        key = (load.source, load.region_code)
        before = self.fields_seen.get(key)
        if before is None:
            rows = self.warehouse.query(
                "SELECT columns_read FROM audit.export_file WHERE source = :source AND region_code = :region "
                "AND state = 'loaded' AND columns_read IS NOT NULL AND file_sha <> :sha "
                "ORDER BY export_date DESC, processed_at DESC LIMIT 1",
                {"source": load.source, "region": load.region_code, "sha": load.sha},
            )
            before = str(rows[0]["columns_read"]).split(", ") if rows else None
        self.fields_seen[key] = load.columns_read
        if before is None:
            return None
        gained = [f"+{name}" for name in load.columns_read if name not in before]
        lost = [f"-{name}" for name in before if name not in load.columns_read]
        if not gained and not lost:
            return None
        changed = " ".join(gained + lost)
        log.warning("%s: its columns give other fields than the last %s file of region %s: %s",
                    load.file, load.source, load.region_code, changed)  # fmt: skip
        return changed

    def apply_batch(self) -> None:
        """Apply the staged files in one transaction, then archive them."""
        if not self.batch:
            return
        runs = self.runs
        archived: list[tuple[LandedFile, StagedExport, str]] = []
        for landed, staged in self.batch:  # names are unique in incoming/, so are their archive keys
            info = staged.info
            target = _free_key(self.lake, archive_key(landed.source, info.export_date, landed.name), info.sha)
            archived.append((landed, staged, target))
        with self.warehouse.transaction() as tx:
            attempts = [self.attempts[staged.info.sha] for _, staged in self.batch]
            apply_exports(tx, [staged for _, staged in self.batch], spec=self.spec, attempts=attempts, **runs)
            rows = [
                _export_file_row(
                    landed, staged.info.sha, state="loaded", stored_key=target, load=staged.load, **runs
                )
                for landed, staged, target in archived
            ]
            _write_export_files(tx, rows)
        for _, staged in self.batch:
            self.attempts.pop(staged.info.sha)
        self.warehouse.vacuum(STAGING_TABLES)  # the batch's staged rows, deleted by the apply
        for landed, staged, target in archived:  # after the commit: a file still in incoming/ is known
            self.lake.move(landed.key, target)
            self.summary["loaded"].append(staged.load.as_dict())
        self.batch = []


def archive_key(source: str, export_date: date, name: str) -> str:
    return f"{ARCHIVE}/{source}/{export_date:%Y}/{export_date:%m}/{name}"


def _free_key(lake: Lake, key: str, sha: str) -> str:
    """``key``, or a name with the content hash when another file already has it."""
    if not lake.exists(key):
        return key
    with lake.open_read(key) as stream:
        if stream_sha(stream) == sha:
            return key
    path = PurePosixPath(key)
    return str(path.with_name(f"{path.stem}.{sha[:12]}{path.suffix}"))


def _reject(
    lake: Lake,
    warehouse: Warehouse,
    landed: LandedFile,
    sha: str,
    exc: FileRejectedError,
    *,
    attempt: LoadAttempt | None = None,
    **run: str | None,
) -> dict[str, Any]:
    target = _free_key(lake, landed.rejected_key, sha)
    report = {
        "file": landed.name,
        "landed_key": landed.key,
        "rejected_key": target,
        "sha256": sha,
        "bytes": landed.size,
        "kind": exc.kind,
        "reason": exc.reason,
        "reason_ru": exc.reason_ru,
        "rejected_at": datetime.now(UTC).isoformat(),
        "help": "docs/incident-exports.md describes the formats; fix the file, drop it into incoming/ again",
    }
    lake.put_bytes(target + REPORT_SUFFIX, json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))
    _record_file(
        warehouse, landed, sha, state="rejected", stored_key=target, reject=exc, attempt=attempt, **run
    )
    lake.move(landed.key, target)
    log.error("rejected %s: %s", landed.key, exc.reason)
    return {
        "file": landed.name,
        "landed_key": landed.key,
        "kind": exc.kind,
        "reason": exc.reason,
        "report": target + REPORT_SUFFIX,
    }


def _record_file(
    warehouse: Warehouse,
    landed: LandedFile,
    sha: str,
    *,
    state: str,
    stored_key: str,
    reject: FileRejectedError,
    attempt: LoadAttempt | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> None:
    """A rejected file's row in ``audit.export_file`` and its load run (replacing the attempt's
    ``started`` row)."""
    row = _export_file_row(
        landed, sha, state=state, stored_key=stored_key, reject=reject, dag_id=dag_id, run_id=run_id
    )
    run = dataclasses.replace(
        _load_run(landed, sha, row["processed_at"], dag_id=dag_id, run_id=run_id),
        status="rejected",
        message=reject.reason,
    )
    with warehouse.transaction() as tx:
        if attempt is not None:
            tx.finish(attempt)
        _write_export_files(tx, [row])
        tx.record_load_runs([run], prefix=run.load_id)


def _load_run(
    landed: LandedFile, sha: str, started_at: datetime, *, dag_id: str | None, run_id: str | None
) -> LoadRun:
    """The load run of one landed file, with zero counts (an attempt's, a rejected file's)."""
    return LoadRun(
        load_id=f"incidents:{landed.source}:{sha[:16]}",
        source=f"incidents/{landed.source}",
        partition_key=landed.name,
        target_table="core.fct_incident_event",
        rows_read=0,
        rows_written=0,
        rows_rejected=0,
        started_at=started_at,
        dag_id=dag_id,
        run_id=run_id,
    )


def _export_file_row(
    landed: LandedFile,
    sha: str,
    *,
    state: str,
    stored_key: str,
    load: ExportLoad | None = None,
    reject: FileRejectedError | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    return {
        "file_sha": sha,
        "source": landed.source,
        "file": landed.name,
        "landed_key": landed.key,
        "stored_key": stored_key,
        "state": state,
        "reject_kind": reject.kind if reject else None,
        "reason": reject.reason if reject else None,
        "format": load.format if load else None,
        "region_code": load.region_code if load else None,
        "export_date": load.export_date if load else None,
        "rows_read": load.rows_read if load else None,
        "rows_loaded": load.rows_loaded if load else None,
        "rows_quarantined": load.rows_quarantined if load else None,
        "rows_duplicate": load.rows_duplicate if load else None,
        "rows_empty": load.rows_empty if load else None,
        "rows_unresolved": load.rows_unresolved if load else None,
        "columns_read": ", ".join(load.columns_read) if load else None,
        "columns_unrecognised": "; ".join(load.columns_unrecognised) or None if load else None,
        "columns_changed": load.columns_changed if load else None,
        "bytes": landed.size,
        "processed_at": datetime.now(UTC),
        "dag_id": dag_id,
        "run_id": run_id,
    }


def _write_export_files(tx: Transaction, rows: list[dict[str, Any]]) -> None:
    """Replace the files' rows of ``audit.export_file`` (known by content hash)."""
    frame = pd.DataFrame(rows)
    for column in (
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "rows_duplicate",
        "rows_empty",
        "rows_unresolved",
    ):
        frame[column] = frame[column].astype("Int64")
    frame["export_date"] = pd.to_datetime(frame["export_date"]).dt.date
    tx.replace_where_in("audit.export_file", "file_sha", frame["file_sha"].tolist(), frame)
