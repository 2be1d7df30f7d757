"""Rows of the audit schema: ``audit.load_runs`` (reconciliation) and ``audit.quarantine``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gospublic.warehouse import Warehouse

QUARANTINE_COLUMNS = (
    "source", "partition_key", "file", "row_number", "column_name", "reason", "value", "load_id",
    "quarantined_at",
)  # fmt: skip


@dataclass(frozen=True)
class LoadRun:
    """One load of one source partition into one table. read = written + rejected + duplicate."""

    load_id: str
    source: str
    partition_key: str
    target_table: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    started_at: datetime
    rows_duplicate: int = 0
    status: str = "success"
    message: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {**self.__dict__, "finished_at": datetime.now(UTC)}

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_rejected + self.rows_duplicate


def record_load_runs(warehouse: Warehouse, conn: sa.Connection, runs: Iterable[LoadRun], prefix: str) -> None:
    """Replace the load runs whose ``load_id`` starts with ``prefix`` by ``runs`` (same transaction)."""
    conn.execute(sa.text("DELETE FROM audit.load_runs WHERE load_id LIKE :prefix"), {"prefix": f"{prefix}%"})
    frame = pd.DataFrame([run.as_row() for run in runs])
    if len(frame):
        warehouse.bulk_load_in(conn, "audit.load_runs", frame)


def replace_quarantine(
    warehouse: Warehouse,
    conn: sa.Connection,
    *,
    source: str,
    partition_key: str,
    load_id: str,
    problems: Iterable[Any],
) -> int:
    """Replace the quarantine of (source, partition) with ``problems`` (file, row, column, reason, value)."""
    frame = quarantine_frame(source=source, partition_key=partition_key, load_id=load_id, problems=problems)
    result = warehouse.replace_partition_in(
        conn, "audit.quarantine", frame, {"source": source, "partition_key": partition_key}
    )
    return result.inserted


def quarantine_frame(
    *, source: str, partition_key: str, load_id: str, problems: Iterable[Any]
) -> pd.DataFrame:
    """Rows of ``audit.quarantine`` for the ``problems`` of one partition."""
    now = datetime.now(UTC)
    rows = [
        {
            "source": source,
            "partition_key": partition_key,
            "file": p.file,
            "row_number": p.row,
            "column_name": p.column,
            "reason": p.reason,
            "value": None if p.value is None else str(p.value),
            "load_id": load_id,
            "quarantined_at": now,
        }
        for p in problems
    ]
    frame = pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))
    frame["row_number"] = frame["row_number"].astype("Int64")
    return frame
