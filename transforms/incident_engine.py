"""One incident export through the engine: staged as text in DuckDB, typed and checked set-wise,
its loading rows written as Arrow IPC files for the warehouse's staging tables.

DuckDB runs in this process (no worker pool): an in-memory database per file, bounded by
``memory_limit`` (``MEMORY_LIMIT`` unless the caller sets it; the task passes its share of
``GOSPUBLIC_ENGINE_MEMORY_LIMIT``) and spilling to the file's work folder beyond it, so a
million-row export needs neither a million Python objects nor a pandas frame. ``threads`` caps
its threads (DuckDB's default: every core), for a caller that checks several files at once.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from transforms.incident_checks import (
    CheckedExport,
    FileContext,
    check_cells,
    register_bad_bytes,
    staging_queries,
)
from transforms.incident_read import FileFormat, _as_csv, _guess_encoding, _plain
from transforms.incident_stage import StagedCells, record_bytes, record_cells, stage_cells

MEMORY_LIMIT = "1GB"
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class EngineStaging:
    """The checked file's rows of ``staging.incident_export`` and ``staging.incident_text``,
    as Arrow IPC files (paths)."""

    events: str
    texts: str


def engine_connection(
    work: Path, memory_limit: str = MEMORY_LIMIT, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by ``memory_limit`` (a size such as ``512MB``), spilling to
    ``work``, with at most ``threads`` threads (None: DuckDB's default, one per core)."""
    work.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"memory_limit": memory_limit, "temp_directory": str(work / "spill")}
    if threads is not None:
        config["threads"] = threads
    return duckdb.connect(config=config)


def check_export(
    path: Path,
    fmt: FileFormat,
    ctx: FileContext,
    work: Path,
    *,
    staging_params: dict[str, Any] | None = None,
    rows: list[list[Any]] | None = None,
    memory_limit: str = MEMORY_LIMIT,
    threads: int | None = None,
) -> tuple[CheckedExport, EngineStaging | None]:
    """Check ``path`` (format ``fmt``); with ``staging_params`` (load_id, file, export_date,
    exported_at, processed_at, region_code) also write its loading rows to ``work``."""
    con = engine_connection(work, memory_limit, threads)
    try:
        con.execute("SET TimeZone = 'UTC'")
        width = len(ctx.headers)
        staged = stage_cells(con, path, fmt, width, work, rows=rows)
        register_bad_bytes(con, _bad_byte_reasons(con, path, fmt, staged))
        checked = check_cells(
            con,
            staged,
            ctx,
            lambda row, line, lines: _raw_text(con, path, fmt, staged, row=row, line=line, lines=lines),
        )
        if staging_params is None:
            return checked, None
        events_sql, texts_sql = staging_queries(ctx.source.code)
        events = _write_arrow(con, events_sql, staging_params, work / "events.arrow")
        texts = _write_arrow(con, texts_sql, {"load_id": staging_params["load_id"]}, work / "texts.arrow")
        return checked, EngineStaging(events, texts)
    finally:
        con.close()


def _write_arrow(con: Any, sql: str, params: dict[str, Any], target: Path) -> str:
    """The rows of ``sql`` streamed into an Arrow IPC file at ``target``."""
    reader = con.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return str(target)


def _bad_byte_reasons(con: Any, path: Path, fmt: FileFormat, staged: StagedCells) -> list[tuple[int, str]]:
    """(row, reason) per record holding bytes not in the file's encoding (its first ones)."""
    if not staged.bad_bytes:
        return []
    lines = sorted(staged.bad_bytes)
    con.register("bad_lines", pa.table({"bad_line": pa.array(lines, pa.int64())}))
    records = con.execute(
        "SELECT c.row_number, c.line, c.lines, min(b.bad_line) FROM linemap c JOIN bad_lines b "
        "ON b.bad_line BETWEEN c.line AND c.line + c.lines - 1 GROUP BY ALL ORDER BY c.row_number"
    ).fetchall()
    con.unregister("bad_lines")
    found = []
    for row, line, count, bad_line in records:
        bad = staged.bad_bytes[int(bad_line)]
        raw = record_bytes(path, staged, int(line), int(count))
        guess = _guess_encoding(raw, fmt.encoding)
        looks = f"; the row looks {guess}-encoded" if guess else ""
        found.append(
            (
                int(row),
                f"bytes not valid {fmt.encoding} at byte {bad.offset} (row {row}, line {bad.line}: "
                f"{bad.found.hex(' ')}){looks}",
            )
        )
    return found


def _raw_text(
    con: Any, path: Path, fmt: FileFormat, staged: StagedCells, *, row: int, line: int, lines: int
) -> str:
    """An unreadable row as written: its bytes when the file had bad bytes (decoded in the encoding
    they look like), else its fields written back as CSV."""
    if staged.bad_bytes:
        raw = record_bytes(path, staged, line, lines)
        guess = _guess_encoding(raw, fmt.encoding) if _has_bad(raw, fmt.encoding) else None
        return raw.decode(guess or _plain(fmt.encoding), errors="replace").rstrip("\r\n")
    if staged.fault_cells is None:  # every unreadable row's fields, in one pass over the file
        staged.fault_cells = record_cells(con, staged, "SELECT row_number FROM faults")
    count, values = staged.fault_cells[row]
    return _as_csv([v for v in values[:count]], staged.separator)


def _has_bad(raw: bytes, encoding: str) -> bool:
    try:
        codecs.decode(raw, _plain(encoding))
    except UnicodeDecodeError:
        return True
    return False
