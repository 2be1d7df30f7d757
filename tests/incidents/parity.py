"""The old path (pandas parser + GX on frames) and the engine path (DuckDB, SQL rules) side by side
on one export file: each gives its quarantine, read faults, counts, verdicts and staging rows in
one comparable shape."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from gospublic.incidents.load import (
    ExportFileInfo,
    _exported_at,
    _staging_frames,
    engine_prepare,
    export_spec,
    prepare_export,
)
from transforms.executor_resolve import ExecutorResolver
from transforms.incident_spec import FileRejectedError

PROCESSED_AT = datetime(2025, 12, 5, 6, 0, tzinfo=UTC)


@dataclass
class Outcome:
    """What a path made of a file, in sortable plain values."""

    quarantine: list[tuple[Any, ...]]
    faults: list[tuple[Any, ...]]
    counts: dict[str, int]
    results: list[tuple[Any, ...]]
    events: pd.DataFrame
    texts: pd.DataFrame
    rejected: str | None = None


def info_of(path: Path, source: str, region: str, day: date) -> ExportFileInfo:
    return ExportFileInfo(path, path.name, "0" * 64, source, region, day, PROCESSED_AT)


def old_path(info: ExportFileInfo, timezone: str, resolver: ExecutorResolver, pseudonymize: Any) -> Outcome:
    """The cell-by-cell parser and the GX suite on frames (the oracle)."""
    try:
        ready = prepare_export(
            info, spec=export_spec(), timezone=timezone, resolver=resolver, pseudonymize=pseudonymize
        )
        exported_at = _exported_at(info, timezone)
        parts = [_staging_frames(rows, info, exported_at) for rows, _ in ready.chunks if not rows.empty]
    except FileRejectedError as exc:
        return _rejected(exc)
    checks = ready.checks
    events = pd.concat([e for e, _ in parts], ignore_index=True) if parts else pd.DataFrame()
    texts = pd.concat([t for _, t in parts], ignore_index=True) if parts else pd.DataFrame()
    return Outcome(
        quarantine=sorted(_problem(p) for p in checks.problems),
        faults=sorted((f.row, f.line, f.reason, f.raw) for f in checks.read_faults),
        counts={
            "read": checks.read,
            "loaded": checks.loaded,
            "duplicates": checks.duplicates,
            "quarantined": len({p.row for p in checks.problems}),
            "unresolved": checks.unresolved,
        },
        results=sorted(_result(r) for r in checks.results(info.source)),
        events=_plain_frame(events, "row_number"),
        texts=_plain_frame(texts, "incident_id"),
    )


def engine_path(
    info: ExportFileInfo, timezone: str, resolver: ExecutorResolver, pseudonymize: Any
) -> Outcome:
    """DuckDB's reader and the suite as SQL."""
    with tempfile.TemporaryDirectory(prefix="parity-") as work:
        try:
            ready = engine_prepare(
                info, spec=export_spec(), timezone=timezone, resolver=resolver, pseudonymize=pseudonymize,
                work=Path(work),
            )  # fmt: skip
        except FileRejectedError as exc:
            return _rejected(exc)
        checks = ready.checks
        events, texts = ready.spilled.open() if ready.spilled is not None else (pa.table({}), pa.table({}))
        return Outcome(
            quarantine=sorted(_problem(p) for p in checks.problems),
            faults=sorted((f.row, f.line, f.reason, f.raw) for f in checks.read_faults),
            counts={
                "read": checks.read,
                "loaded": checks.loaded,
                "duplicates": checks.duplicates,
                "quarantined": len({p.row for p in checks.problems}),
                "unresolved": checks.unresolved,
            },
            results=sorted(_result(r) for r in checks.results(info.source)),
            events=_plain_frame(events.to_pandas(integer_object_nulls=True), "row_number"),
            texts=_plain_frame(texts.to_pandas(integer_object_nulls=True), "incident_id"),
        )


def _rejected(exc: FileRejectedError) -> Outcome:
    return Outcome([], [], {}, [], pd.DataFrame(), pd.DataFrame(), rejected=f"{exc.kind}: {exc.reason}")


def _problem(problem: Any) -> tuple[Any, ...]:
    return (problem.file, problem.row, problem.column or "", problem.reason, problem.value or "")


def _result(result: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        result[k]
        for k in (
            "suite",
            "expectation",
            "column_name",
            "severity",
            "success",
            "element_count",
            "unexpected_count",
            "reason",
        )
    )


def _plain_frame(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Values as comparable text (None for missing), rows ordered by ``key`` (the engine writes
    staging rows in no particular order; a file's loaded ids and row numbers are unique)."""
    if frame.empty:
        return frame
    frame = frame.sort_values(
        key, key=lambda column: column.astype("int64") if key == "row_number" else column
    )
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values, utc=True)
            out[column] = values.map(lambda v: None if pd.isna(v) else v.isoformat())
        else:
            out[column] = values.map(
                lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            )
    return out.reset_index(drop=True)
