"""Rows of the audit schema: ``audit.load_runs`` (reconciliation) and ``audit.quarantine``.

Every attempt of a load leaves a row in ``audit.load_runs``: ``begin_attempt`` commits a
``started`` row per target in a short transaction of its own (its ``load_id`` is the load's with
``#<attempt stamp>``), the load's own transaction deletes it and writes the final rows
(``tx.finish(attempt)``), a failure marks it ``failed``, and the next attempt on the same
source and partition closes a ``started`` row left by a killed process as ``abandoned``. Readers
that want loads which happened take ``status NOT IN ATTEMPT_STATUSES`` (``FINISHED_LOAD``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gospublic.infra.warehouse import Transaction, Warehouse

log = logging.getLogger(__name__)

STARTED, ABANDONED, FAILED = "started", "abandoned", "failed"
ATTEMPT_STATUSES = (STARTED, ABANDONED, FAILED)  # rows of attempts that loaded nothing
FINISHED_LOAD = "status NOT IN ('started', 'abandoned', 'failed')"  # SQL: loads that happened

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
        return {**self.__dict__, "finished_at": None if self.status == STARTED else datetime.now(UTC)}

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_rejected + self.rows_duplicate


def record_load_runs(warehouse: Warehouse, conn: sa.Connection, runs: Iterable[LoadRun], prefix: str) -> None:
    """Replace the load runs whose ``load_id`` starts with ``prefix`` by ``runs`` (same transaction);
    the rows of attempts (started, abandoned, failed) stay. The entry point of the callers that
    still hold a connection (``gospublic.marts.build``); others call ``tx.record_load_runs``."""
    write_load_runs(Transaction(warehouse, conn), list(runs), prefix=prefix)


def write_load_runs(tx: Transaction, runs: list[LoadRun], *, prefix: str | None) -> None:
    """The final ``audit.load_runs`` rows of a load, in its transaction: with ``prefix``, they
    replace the finished runs whose ``load_id`` starts with it (an attempt's started, abandoned and
    failed rows stay); without, the rows of the same ``load_id``s. Refuses a run whose counts do not
    reconcile (read = written + rejected + duplicate): that is a bug of the load, never input."""
    if broken := [run.load_id for run in runs if not run.reconciles]:
        raise AssertionError(f"load runs whose counts do not reconcile: {broken}")
    if prefix is not None:
        tx.execute(
            f"DELETE FROM audit.load_runs WHERE load_id LIKE :prefix AND {FINISHED_LOAD}",
            {"prefix": f"{prefix}%"},
        )
    else:
        tx.delete_where_in("audit.load_runs", "load_id", [run.load_id for run in runs])
    frame = pd.DataFrame([run.as_row() for run in runs])
    if len(frame):
        tx.bulk_load("audit.load_runs", frame)


@dataclass(frozen=True)
class LoadAttempt:
    """The ``started`` rows of one attempt of a load, committed before the load's transaction."""

    warehouse: Warehouse
    load_ids: tuple[str, ...]

    def finish_in(self, conn: sa.Connection) -> None:
        """Delete this attempt's ``started`` rows inside the load's transaction (its final rows
        replace them there). For callers holding a connection (``marts.build``); others call
        ``tx.finish(attempt)``."""
        self.warehouse.delete_in(conn, "audit.load_runs", "load_id", list(self.load_ids))

    def marking_failure(self) -> AbstractContextManager[None]:
        """Mark the attempt ``failed`` when the block raises; put it outside the load's
        transaction (``with attempt.marking_failure(), warehouse.transaction() as tx:``) so that the
        mark is written after the rollback. A kill marks nothing: the next attempt abandons it."""
        return marking_failures(lambda: [self])

    def fail(self, error: BaseException) -> None:
        """Mark this attempt ``failed`` with the error's class and text, secrets masked (own
        transaction)."""
        from gospublic.infra.connections import redacted

        message = redacted(f"failed: {type(error).__name__}: {error}")[:500]
        with self.warehouse.begin() as conn:
            for load_id in self.load_ids:
                conn.execute(
                    sa.text(
                        "UPDATE audit.load_runs SET status = :failed, message = :message, finished_at = :now "
                        "WHERE load_id = :load_id AND status = :started"
                    ),
                    {"failed": FAILED, "message": message, "now": datetime.now(UTC), "load_id": load_id,
                     "started": STARTED},
                )  # fmt: skip


@contextmanager
def marking_failures(attempts: Callable[[], Iterable[LoadAttempt]]) -> Iterator[None]:
    """Mark ``failed`` the attempts that ``attempts()`` gives when the block raises (asked then,
    so a load can finish some of them inside the block), and raise on."""
    try:
        yield
    except BaseException as exc:
        for attempt in attempts():
            try:
                attempt.fail(exc)
            except Exception:  # the warehouse itself may be what failed; the next run abandons it
                log.exception("could not mark the attempt %s failed", attempt.load_ids)
        raise


def attempt_id(load_id: str, started_at: datetime) -> str:
    """The ``load_id`` of an attempt's ``started`` row: the load's, stamped with its start."""
    return f"{load_id}#{started_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


def begin_attempt(warehouse: Warehouse, runs: Iterable[LoadRun]) -> LoadAttempt:
    """Commit a ``started`` row for each of ``runs`` (the rows the load will finish with), after
    closing as ``abandoned`` any earlier ``started`` row of the same source and partition."""
    runs = list(runs)
    now = datetime.now(UTC)
    started = [
        replace(
            run, load_id=attempt_id(run.load_id, run.started_at), status=STARTED, message=None,
            rows_read=0, rows_written=0, rows_rejected=0, rows_duplicate=0,
        )
        for run in runs
    ]  # fmt: skip
    with warehouse.begin() as conn:
        for source, partition_key in dict.fromkeys((r.source, r.partition_key) for r in runs):
            close_abandoned(conn, source, partition_key, found_by=runs[0], now=now)
        warehouse.bulk_load_in(conn, "audit.load_runs", pd.DataFrame([r.as_row() for r in started]))
    return LoadAttempt(warehouse, tuple(r.load_id for r in started))


def close_abandoned(
    conn: sa.Connection, source: str, partition_key: str, *, found_by: LoadRun, now: datetime
) -> int:
    """Mark the ``started`` rows of (source, partition) ``abandoned``: their process died before
    its load finished or failed (killed, lost its machine). Returns how many."""
    rows = conn.execute(
        sa.text(
            "SELECT load_id, started_at FROM audit.load_runs "
            "WHERE status = :started AND source = :source AND partition_key = :partition_key"
        ),
        {"started": STARTED, "source": source, "partition_key": partition_key},
    ).all()
    for load_id, started_at in rows:
        run = f" (run {found_by.run_id})" if found_by.run_id else ""
        message = (
            f"abandoned: the attempt started at {_stamp(started_at)} never finished (its process "
            f"was killed or lost); found at {_stamp(now)} by load {found_by.load_id}{run}"
        )
        conn.execute(
            sa.text(
                "UPDATE audit.load_runs SET status = :abandoned, message = :message, finished_at = :now "
                "WHERE load_id = :load_id"
            ),
            {"abandoned": ABANDONED, "message": message, "now": now, "load_id": load_id},
        )
        log.warning("audit.load_runs %s: %s", load_id, message)
    return len(rows)


def _stamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:  # DuckDB hands TIMESTAMPTZ back aware, but be safe
        value = value.replace(tzinfo=UTC)
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


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
