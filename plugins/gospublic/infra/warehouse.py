"""Warehouse adapter: one small interface over DuckDB (embedded) and PostgreSQL (production).

The engine is chosen by the Airflow connection ``gospublic_warehouse``:

* undefined → the DuckDB file ``var/warehouse.duckdb``;
* ``conn_type=duckdb`` → the file in ``extra.path`` (or ``host``); ``extra.memory_limit`` (e.g.
  ``"1GB"``) caps DuckDB's own buffer, which otherwise may use 80 % of the machine's memory;
* ``conn_type=postgres`` → host, port, login, password and database (``schema``).

Bulk loads never insert row by row: DuckDB scans an Arrow table, PostgreSQL takes ``COPY FROM
STDIN`` fed by Arrow-written CSV in batches. Sessions run in UTC on both engines.

One writer at a time where the engine needs it: a DuckDB file is written by one process at a time
(``<file>.lock`` beside it, taken when the warehouse first connects and held until ``close``; a
second process waits for it), and the loaders take :meth:`Warehouse.writer_lock` for the tables
they rebuild (a PostgreSQL advisory lock), so that two runs of one loader never interleave.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import logging
import os
import re
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, ParamSpec, TypeAlias, TypeVar, cast

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.connections import ConnectionInfo, get_connection
from gospublic.infra.sql_files import split_statements

if TYPE_CHECKING:
    import duckdb
    import psycopg
    from _typeshed import ReadableBuffer, WriteableBuffer

log = logging.getLogger(__name__)

Dialect = Literal["duckdb", "postgres"]
Frame: TypeAlias = pd.DataFrame | pa.Table | pa.RecordBatch
FrameSource: TypeAlias = Frame | Iterable[Frame]

SCHEMAS = ("staging", "core", "mart", "mart_ru", "audit", "restricted")
COPY_BATCH_ROWS = 50_000
ARROW_CSV_BLOCK_BYTES = 16 * 2**20  # of query_arrow's CSV on PostgreSQL, parsed as it streams
APPLICATION_NAME = "gospublic"  # PostgreSQL sessions; a writer lock's session says whose it is
ANALYZE_SHARE = 0.1  # analyze a table again once the rows written exceed this share of its statistics
VACUUM_MIN_BYTES = 64 * 2**20  # smaller tables: scanning their dead rows costs less than vacuuming
VACUUM_DEAD_SHARE = 0.2  # vacuum once dead rows exceed this share of the live ones (autovacuum's rule)

_TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseError(RuntimeError):
    """A warehouse operation was given something it cannot do (bad table, columns, config)."""


class WarehouseLockTimeout(WarehouseError):  # noqa: N818 (a timeout, named as such)
    """Another writer held the warehouse (or a loader's lock) longer than the lock timeout."""


@dataclass(frozen=True)
class ReplaceResult:
    """What ``replace_partition`` did."""

    table: str
    partition: dict[str, Any]
    deleted: int
    inserted: int


class Warehouse:
    """A warehouse on DuckDB or PostgreSQL behind one interface."""

    def __init__(self, engine: sa.Engine, dialect: Dialect, description: str) -> None:
        self.engine = engine
        self.dialect: Dialect = dialect
        self.description = description
        self._columns: dict[str, list[str]] = {}  # bulk loads check frames against these
        # DuckDB: releases the file's lock, once held
        self._file_lock: weakref.finalize[[], Warehouse] | None = None
        self._path: Path | None = None  # DuckDB: the file

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_connection(cls, conn_id: str = settings.CONN_WAREHOUSE) -> Warehouse:
        """The warehouse of an Airflow connection, or the embedded DuckDB file when unset."""
        info = get_connection(conn_id)
        if info is None:
            return cls.duckdb(settings.default_warehouse_path())
        return cls.from_connection_info(info)

    @classmethod
    def from_connection_info(cls, info: ConnectionInfo) -> Warehouse:
        if info.conn_type == "duckdb":
            path = info.extra.get("path") or info.host or info.schema
            if not path:
                raise WarehouseError(f"connection {info.conn_id}: duckdb needs extra.path or host")
            return cls.duckdb(Path(path), memory_limit=info.extra.get("memory_limit"))
        if info.conn_type in ("postgres", "postgresql"):
            url = sa.URL.create(
                "postgresql+psycopg",
                username=info.login,
                password=info.password,
                host=info.host or "127.0.0.1",
                port=info.port or 5432,
                database=info.schema or "warehouse",
            )
            return cls.postgres(url)
        raise WarehouseError(
            f"connection {info.conn_id}: conn_type {info.conn_type!r} is not a warehouse "
            "(expected duckdb or postgres)"
        )

    @classmethod
    def duckdb(cls, path: Path | str, *, memory_limit: str | None = None) -> Warehouse:
        """A DuckDB file; ``memory_limit`` (e.g. ``"1GB"``) caps DuckDB's buffer (default: 80 % of RAM).

        Connections are pooled for the life of this object (opening a large DuckDB file costs tens
        of milliseconds, and loaders open many transactions): the file stays locked against other
        processes until :meth:`close`, so use it as a context manager, as the DAG tasks do."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if memory_limit is not None and not re.fullmatch(r"\d+(?:\.\d+)?\s*[KMGT]i?B", str(memory_limit)):
            raise WarehouseError(f"duckdb memory_limit {memory_limit!r}: write it like 512MB or 2GB")
        engine = sa.create_engine(
            f"duckdb:///{path}",
            poolclass=sa.pool.QueuePool,
            pool_size=1,
            max_overflow=4,
            pool_reset_on_return="rollback",
        )
        sa.event.listen(engine, "connect", partial(_duckdb_session_setup, memory_limit=memory_limit))
        warehouse = cls(engine, "duckdb", f"duckdb:{path}")
        warehouse._path = path
        sa.event.listen(engine, "do_connect", partial(_duckdb_connect, weakref.ref(warehouse), path))
        return warehouse

    @classmethod
    def postgres(cls, url: sa.URL | str) -> Warehouse:
        url = sa.make_url(url)
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC", "application_name": APPLICATION_NAME},
        )
        return cls(engine, "postgres", url.render_as_string(hide_password=True))

    def close(self) -> None:
        """Close the pooled connections; on DuckDB, let other processes have the file."""
        self.engine.dispose()
        if self._file_lock is not None:
            self._file_lock()  # releases it once (a warehouse never closed releases it when collected)
            self._file_lock = None

    def _hold_file(self, timeout: float) -> None:
        """DuckDB: take the file's writer lock for this warehouse (until ``close``), if not yet held."""
        if self._file_lock is None and self._path is not None:
            lock = _FileLock(self._path)
            lock.acquire(timeout)
            self._file_lock = weakref.finalize(self, lock.release)

    @contextmanager
    def writer_lock(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock of the writer ``name`` (a loader: ``"incidents"``, ``"vk_load"``,
        ``"marts"``…) while the block runs: another process or thread taking the same lock waits,
        up to ``timeout`` seconds (``GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT``), then fails naming the holder.

        PostgreSQL: a session advisory lock (``pg_try_advisory_lock`` of a stable 63-bit key of the
        name, tried again after growing pauses) on a connection of its own, so it spans the loader's
        transactions and is released when the block ends or its process dies. DuckDB: the file lock
        already admits one process at a time; this adds a lock between the threads of that process.
        Re-entrant within a thread."""
        held = _held_writer_locks()
        token = (self.description, name)
        if token in held:
            yield
            return
        wait = settings.warehouse_lock_timeout() if timeout is None else timeout
        if self.dialect == "duckdb":  # the file first: what the block reads before it connects is current
            self._hold_file(wait)
        with (
            _postgres_writer_lock(self, name, wait)
            if self.dialect == "postgres"
            else _thread_lock(token, wait)
        ):
            held.add(token)
            try:
                yield
            finally:
                held.discard(token)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({self.description})"

    # -- statements ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction as an object with named operations (``tx.replace_partition``,
        ``tx.bulk_load``, ``tx.run_models``, ``tx.record_load_runs``…): committed when the block
        ends, rolled back when it raises. Callers outside ``gospublic.infra`` use this, never a
        connection."""
        with self.engine.begin() as conn:
            yield Transaction(self, conn)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        For ``gospublic.infra`` (and the callers not yet moved to :meth:`transaction`)."""
        with self.engine.begin() as conn:
            yield conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement in its own transaction; returns the affected row count."""
        with self.begin() as conn:
            return conn.execute(sa.text(sql), dict(params or {})).rowcount

    def execute_script(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run every statement of ``sql`` in one transaction (each may use the bind params)."""
        with self.begin() as conn:
            run_script(conn, sql, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        with self.begin() as conn:
            return [dict(row) for row in conn.execute(sa.text(sql), dict(params or {})).mappings()]

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        with self.begin() as conn:
            return conn.execute(sa.text(sql), dict(params or {})).scalar()

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self.begin() as conn:
            result = conn.execute(sa.text(sql), dict(params or {}))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """The rows of a large query as an Arrow table, never as Python rows: DuckDB's own Arrow
        result; on PostgreSQL ``COPY (query) TO STDOUT`` as CSV, parsed by Arrow as the blocks arrive
        (the CSV is never held whole) with the types of the query's columns (timestamps sent as epoch
        microseconds, so time zones cannot be misread).
        Bind parameters as :meth:`query_df` takes them. ``WarehouseError`` names a PostgreSQL
        column type it cannot read (use :meth:`query_df`)."""
        with self.begin() as conn:
            compiled = sa.text(sql).compile(dialect=conn.dialect)
            values = compiled.construct_params(dict(params or {}))
            if self.dialect == "duckdb":
                raw = cast("duckdb.DuckDBPyConnection", conn.connection.driver_connection)
                positional = [values[name] for name in compiled.positiontup or ()]
                return raw.sql(compiled.string, params=positional).to_arrow_table()
            return _postgres_arrow(
                cast("psycopg.Connection[Any]", conn.connection.driver_connection), compiled.string, values
            )

    def query_frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """:meth:`query_df` for large reads (a month of incidents with their texts): the same values,
        read through :meth:`query_arrow` (110,000 incidents: ~20 times faster on DuckDB, 2-4 times on
        PostgreSQL, whose server time stays). Dtypes are
        Arrow's: text as pandas' ``str``, timestamps with a time zone as ``datetime64[us, UTC]``,
        integers without NULLs as numpy integers of the column's width, integers with NULLs as
        pandas' nullable integers (exact, where :meth:`query_df` gives float64), booleans and dates
        with NULLs as objects."""
        return arrow_to_frame(self.query_arrow(sql, params))

    # -- catalogue ----------------------------------------------------------------------------

    def table_exists(self, table: str) -> bool:
        schema, name = _split_table(table)
        return bool(
            self.scalar(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = :schema AND table_name = :name",
                {"schema": schema, "name": name},
            )
        )

    def table_columns(self, table: str) -> list[str]:
        """Column names of an existing table, in order; ``WarehouseError`` when it is missing."""
        with self.begin() as conn:
            return _columns_in(conn, table)

    def schemas(self) -> list[str]:
        rows = self.query("SELECT DISTINCT schema_name FROM information_schema.schemata ORDER BY 1")
        return [row["schema_name"] for row in rows]

    # -- bulk paths ---------------------------------------------------------------------------

    def bulk_load(self, table: str, data: FrameSource) -> int:
        """Append ``data`` to ``table`` in one transaction; returns the rows written."""
        with self.begin() as conn:
            return self.bulk_load_in(conn, table, data)

    def bulk_load_in(self, conn: sa.Connection, table: str, data: FrameSource) -> int:
        """Append ``data`` to ``table`` inside the caller's transaction ``conn``."""
        known = self._columns.get(table) or self._read_columns(conn, table)
        rows = 0
        for part in _arrow_tables(data):
            if part.num_rows == 0:
                continue
            unknown = [c for c in part.schema.names if c not in known]
            if unknown:  # read again: a migration may have added them since
                known = self._read_columns(conn, table)
                unknown = [c for c in part.schema.names if c not in known]
            if unknown:
                raise WarehouseError(f"{table} has no columns {unknown}; it has {known}")
            if self.dialect == "duckdb":
                rows += _duckdb_append(conn, table, part)
            else:
                rows += _postgres_copy(conn, table, part)
        return rows

    def _read_columns(self, conn: sa.Connection, table: str) -> list[str]:
        """The columns of ``table``, read from the catalog and remembered (a query per small load
        costs more than the load: 7 s of a national incident ingestion)."""
        self._columns[table] = _columns_in(conn, table)
        return self._columns[table]

    def replace_partition(self, table: str, data: FrameSource, partition: Mapping[str, Any]) -> ReplaceResult:
        """Replace exactly the rows of ``table`` where every ``partition`` column equals its value.

        Deletes and loads in a single transaction, so readers see the old or the new partition,
        never a mix, and running it twice leaves the same table.
        """
        with self.begin() as conn:
            return self.replace_partition_in(conn, table, data, partition)

    def replace_partition_in(
        self, conn: sa.Connection, table: str, data: FrameSource, partition: Mapping[str, Any]
    ) -> ReplaceResult:
        """``replace_partition`` inside the caller's transaction (to replace several together)."""
        deleted = self.delete_partition_in(conn, table, partition)
        inserted = self.bulk_load_in(conn, table, data)
        log.info("replaced %s %s: %d rows out, %d in", table, dict(partition), deleted, inserted)
        return ReplaceResult(table, dict(partition), deleted, inserted)

    def analyze_in(
        self, conn: sa.Connection, tables: Iterable[str], *, rows_written: int | None = None
    ) -> list[str]:
        """Refresh the planner statistics of ``tables`` inside the caller's transaction, after a
        bulk write and before the SQL that reads it; with ``rows_written``, only where those rows
        make the statistics stale (see ``analyze``). Returns the tables analyzed."""
        return analyze(conn, tables, rows_written=rows_written)

    def vacuum(
        self,
        tables: Iterable[str],
        *,
        min_bytes: int = VACUUM_MIN_BYTES,
        dead_share: float = VACUUM_DEAD_SHARE,
    ) -> list[str]:
        """Reclaim the rows deleted from ``tables`` and refresh their statistics, outside any
        transaction (PostgreSQL's ``VACUUM (ANALYZE)``), after a load that deletes and rewrites
        many rows, so that the next load's scans skip them; returns the tables vacuumed.

        Autovacuum's rule decides, as autovacuum would some time after the commit if enabled: a
        table is vacuumed once its dead rows (cumulative statistics) exceed ``dead_share`` of its
        live ones; tables under ``min_bytes`` are left alone (a region's: 30 daily vacuums
        doubled its VK load), and one that keeps its dead rows grows past it. A table not
        vacuumed still gets its BRIN indexes extended over the pages added since
        (``brin_summarize_new_values``): unsummarized pages match every scan. DuckDB reclaims
        deleted rows itself, so there this does nothing."""
        names = _table_names(tables)
        if self.dialect != "postgres" or not names:
            return []
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            due = [name for name in names if _vacuum_due(conn, name, min_bytes, dead_share)]
            if due:
                conn.execute(sa.text(f"VACUUM (ANALYZE) {', '.join(due)}"))
            for name in names:
                if name not in due:
                    _summarize_brin(conn, name)
        return due

    def delete_in(self, conn: sa.Connection, table: str, column: str, values: Iterable[Any]) -> int:
        """Delete the rows of ``table`` whose ``column`` is one of ``values`` (several partitions
        of one column at once), inside the caller's transaction; returns the rows deleted."""
        _check_columns(table, [column])
        statement = sa.text(f'DELETE FROM {table} WHERE "{column}" IN :values').bindparams(
            sa.bindparam("values", expanding=True)
        )
        return conn.execute(statement, {"values": list(values)}).rowcount

    def delete_partition_in(self, conn: sa.Connection, table: str, partition: Mapping[str, Any]) -> int:
        """Delete the rows of ``table`` where every ``partition`` column equals its value, inside
        the caller's transaction (which then loads the partition's new rows); returns the rows deleted."""
        if not partition:
            raise WarehouseError(f"replace_partition on {table}: an empty partition would replace all")
        _check_columns(table, list(partition))
        where = " AND ".join(f'"{col}" = :p_{i}' for i, col in enumerate(partition))
        params = {f"p_{i}": value for i, value in enumerate(partition.values())}
        return conn.execute(sa.text(f"DELETE FROM {table} WHERE {where}"), params).rowcount


class Transaction:
    """One open warehouse transaction (from :meth:`Warehouse.transaction`) and what a load does in
    it: statements with bind parameters, bulk loads, partition replacements, statistics, the
    models of a step and the audit rows. SQLAlchemy stays inside ``gospublic.infra``: a caller
    passes this object, never a connection."""

    def __init__(self, warehouse: Warehouse, conn: sa.Connection) -> None:
        self.warehouse = warehouse
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self.warehouse.dialect

    @property
    def connection(self) -> sa.Connection:
        """The connection, for the modules of ``gospublic.infra`` only."""
        return self._conn

    def __repr__(self) -> str:
        return f"Transaction({self.warehouse.description})"

    # -- statements ---------------------------------------------------------------------------

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; returns the affected row count."""
        return int(self._conn.execute(sa.text(sql), dict(params or {})).rowcount)

    def execute_script(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run every statement of ``sql`` (each given the bind params it uses); returns the rows affected."""
        return run_script(self._conn, sql, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        return [dict(row) for row in self._conn.execute(sa.text(sql), dict(params or {})).mappings()]

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        return self._conn.execute(sa.text(sql), dict(params or {})).scalar()

    def exists(self, sql: str, params: Mapping[str, Any] | None = None) -> bool:
        """Whether the query returns a row."""
        return self._conn.execute(sa.text(sql), dict(params or {})).first() is not None

    # -- tables -------------------------------------------------------------------------------

    def bulk_load(self, table: str, data: FrameSource) -> int:
        """Append ``data`` to ``table``; returns the rows written."""
        return self.warehouse.bulk_load_in(self._conn, table, data)

    def replace_partition(self, table: str, data: FrameSource, partition: Mapping[str, Any]) -> ReplaceResult:
        """Replace the rows of ``table`` where every ``partition`` column equals its value."""
        return self.warehouse.replace_partition_in(self._conn, table, data, partition)

    def replace_table(self, table: str, data: FrameSource) -> int:
        """Empty ``table`` (a work or staging table) and load ``data``; returns the rows written."""
        self.empty(table)
        return self.bulk_load(table, data)

    def replace_where_in(self, table: str, column: str, values: Iterable[Any], data: FrameSource) -> int:
        """Delete the rows of ``table`` whose ``column`` is one of ``values``, then load ``data``
        (several partitions of one column at once); returns the rows written."""
        self.delete_where_in(table, column, values)
        return self.bulk_load(table, data)

    def delete_partition(self, table: str, partition: Mapping[str, Any]) -> int:
        """Delete the rows of ``table`` where every ``partition`` column equals its value."""
        return self.warehouse.delete_partition_in(self._conn, table, partition)

    def delete_where_in(self, table: str, column: str, values: Iterable[Any]) -> int:
        """Delete the rows of ``table`` whose ``column`` is one of ``values``."""
        return self.warehouse.delete_in(self._conn, table, column, values)

    def empty(self, table: str) -> int:
        """Delete every row of ``table`` (checked as ``schema.table``); returns how many."""
        (name,) = _table_names([table])
        return int(self._conn.execute(sa.text(f"DELETE FROM {name}")).rowcount)

    def analyze(self, tables: Iterable[str], *, rows_written: int | None = None) -> list[str]:
        """Refresh the planner statistics of ``tables`` after a bulk write (see :func:`analyze`)."""
        return analyze(self._conn, tables, rows_written=rows_written)

    # -- models and audit ---------------------------------------------------------------------

    def run_models(self, step: str, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Run the models of ``step`` of ``sql/models.yml`` in the graph's order with the bind
        ``params`` (checked against those the models declare); returns the files run."""
        from gospublic.infra import model_graph, model_runner

        files = model_graph.graph().step(step)
        model_runner.run_models(self._conn, files, params)
        return files

    def record_load_runs(self, runs: Iterable[Any], *, prefix: str | None = None) -> None:
        """Write the final ``audit.load_runs`` rows of a load (``audit.LoadRun``): replacing the
        finished runs whose ``load_id`` starts with ``prefix``, or without it those of the same
        ``load_id``s."""
        from gospublic.infra import audit

        audit.write_load_runs(self, list(runs), prefix=prefix)

    def finish(self, *attempts: Any) -> None:
        """Delete the ``started`` rows of ``attempts`` (``audit.LoadAttempt``): the load's final
        rows replace them in this transaction."""
        for attempt in attempts:
            self.delete_where_in("audit.load_runs", "load_id", list(attempt.load_ids))

    def replace_quarantine(
        self, *, source: str, partition_key: str, load_id: str, problems: Iterable[Any]
    ) -> int:
        """Replace the quarantine of (source, partition) with ``problems``; returns the rows."""
        from gospublic.infra import audit

        frame = audit.quarantine_frame(
            source=source, partition_key=partition_key, load_id=load_id, problems=problems
        )
        return self.replace_partition(
            "audit.quarantine", frame, {"source": source, "partition_key": partition_key}
        ).inserted


def run_script(conn: sa.Connection, sql: str, params: Mapping[str, Any] | None = None) -> int:
    """Run each statement of ``sql`` on ``conn``, passing the params a statement uses; returns
    the rows the statements affected (as the driver reports them)."""
    params = dict(params or {})
    affected = 0
    for statement in split_statements(sql):
        clause = sa.text(statement)
        used = {key: params[key] for key in clause.compile().params if key in params}
        affected += max(conn.execute(clause, used).rowcount, 0)
    return affected


def analyze(conn: sa.Connection, tables: Iterable[str], *, rows_written: int | None = None) -> list[str]:
    """``ANALYZE`` ``tables`` on PostgreSQL, inside the transaction of ``conn``; returns those
    analyzed.

    PostgreSQL plans joins from statistics that autovacuum gathers only after a commit and a
    delay, so a statement reading rows written earlier in the same transaction is planned blind;
    DuckDB keeps its statistics as it writes, so there this does nothing. With ``rows_written``,
    a table is analyzed only when it has no statistics yet or when those rows are more than
    ``ANALYZE_SHARE`` of the rows its statistics count (autovacuum's own rule): sampling a large
    fact table after every small batch costs more than the plans gain.
    """
    names = _table_names(tables)
    if conn.dialect.name != "postgresql" or not names:
        return []
    if rows_written is not None:
        names = [name for name in names if _stale(conn, name, rows_written)]
        if not names:
            return []
    conn.execute(sa.text(f"ANALYZE {', '.join(names)}"))
    return names


def _stale(conn: sa.Connection, table: str, rows_written: int) -> bool:
    """Whether ``rows_written`` new rows make the statistics of ``table`` (PostgreSQL) stale."""
    counted = conn.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"), {"table": table}
    ).scalar()
    return counted is None or counted < 0 or rows_written > ANALYZE_SHARE * counted


def _vacuum_due(conn: sa.Connection, table: str, min_bytes: int, dead_share: float) -> bool:
    """Whether ``table`` (PostgreSQL) is large enough and holds enough dead rows to vacuum."""
    row = conn.execute(
        sa.text(
            "SELECT pg_relation_size(c.oid) AS size, s.n_dead_tup AS dead, s.n_live_tup AS live "
            "FROM pg_class AS c LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid "
            "WHERE c.oid = to_regclass(:table)"
        ),
        {"table": table},
    ).one_or_none()
    if row is None or row.size < min_bytes:
        return False
    return (row.dead or 0) > dead_share * max(row.live or 0, 1)


def _summarize_brin(conn: sa.Connection, table: str) -> None:
    """Summarize the page ranges of ``table`` that its BRIN indexes do not cover yet."""
    indexes = conn.execute(
        sa.text(
            "SELECT CAST(i.indexrelid AS regclass) AS index FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS a ON a.oid = c.relam "
            "WHERE i.indrelid = to_regclass(:table) AND a.amname = 'brin'"
        ),
        {"table": table},
    ).scalars()
    for index in list(indexes):
        conn.execute(
            sa.text("SELECT brin_summarize_new_values(CAST(:index AS regclass))"), {"index": str(index)}
        )


def _duckdb_session_setup(dbapi_connection: Any, _record: Any, *, memory_limit: str | None = None) -> None:
    dbapi_connection.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        dbapi_connection.execute(f"SET memory_limit = '{memory_limit}'")


def _duckdb_append(conn: sa.Connection, table: str, data: pa.Table) -> int:
    """One INSERT of the whole Arrow table, read in place (chunks and memory maps included)."""
    raw = cast("duckdb.DuckDBPyConnection", conn.connection.driver_connection)
    view = "_gospublic_bulk"
    columns = ", ".join(f'"{c}"' for c in data.schema.names)
    raw.register(view, data)
    try:
        raw.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}")
    finally:
        with suppress(Exception):  # never mask the insert's own error
            raw.unregister(view)
    return int(data.num_rows)


def _postgres_copy(conn: sa.Connection, table: str, data: pa.Table) -> int:
    """``COPY … FROM STDIN`` of the table as CSV, a slice of ``COPY_BATCH_ROWS`` rows at a time."""
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    columns = ", ".join(f'"{c}"' for c in data.schema.names)
    options = pa_csv.WriteOptions(include_header=False, batch_size=COPY_BATCH_ROWS)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for offset in range(0, data.num_rows, COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(data.slice(offset, COPY_BATCH_ROWS), buffer, options)
            copy.write(buffer.getbuffer())
    return int(data.num_rows)


# PostgreSQL column types query_arrow reads (type OID → Arrow type); timestamps travel as epoch µs
_PG_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(), 701: pa.float64(),
    25: pa.string(), 1043: pa.string(), 1042: pa.string(), 19: pa.string(), 1082: pa.date32(),
    1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"),
}  # fmt: skip
_PG_EPOCH_TYPES = (1114, 1184)


def _postgres_arrow(raw: psycopg.Connection[Any], sql: str, params: Mapping[str, Any]) -> pa.Table:
    """``COPY (sql) TO STDOUT`` as CSV into Arrow, typed by the query's own column types."""
    with raw.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0", params)
        columns = [(column.name, column.type_code) for column in cursor.description or ()]
        unknown = [f"{name} (type oid {oid})" for name, oid in columns if oid not in _PG_ARROW_TYPES]
        if unknown:
            raise WarehouseError(f"query_arrow cannot read columns {unknown}; use query_df")
        if len({name for name, _ in columns}) < len(columns):
            raise WarehouseError(f"query_arrow needs distinct column names, got {[n for n, _ in columns]}")
        quoted = {name: '"' + name.replace('"', '""').replace("%", "%%") + '"' for name, _ in columns}
        select = ", ".join(
            f"CAST(EXTRACT(EPOCH FROM q.{quoted[name]}) * 1000000 AS BIGINT) AS {quoted[name]}"
            if oid in _PG_EPOCH_TYPES
            else f"q.{quoted[name]}"
            for name, oid in columns
        )
        # ``sql`` is in psycopg's format (a literal % written %%); psycopg merges no empty params
        # into a COPY, so then the statement is unescaped here
        statement = f"COPY (SELECT {select} FROM ({sql}) AS q) TO STDOUT (FORMAT csv)"
        if not params:
            statement = statement.replace("%%", "%")
        names = [name for name, _ in columns]
        wire = {name: pa.int64() if oid in _PG_EPOCH_TYPES else _PG_ARROW_TYPES[oid] for name, oid in columns}
        with cursor.copy(statement, params) as copy:
            blocks = iter(copy)
            first = next(blocks, None)
            if first is None:  # no rows (Arrow's CSV reader refuses an empty file)
                return pa.table({name: pa.array([], _PG_ARROW_TYPES[oid]) for name, oid in columns})
            table = pa_csv.read_csv(  # parses the blocks as they come: the CSV is never held whole
                _CopyStream(first, blocks),
                read_options=pa_csv.ReadOptions(column_names=names, block_size=ARROW_CSV_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=wire,
                    true_values=["t"],
                    false_values=["f"],
                    null_values=[""],
                    strings_can_be_null=True,  # NULL is an empty field; an empty text is a quoted ""
                    quoted_strings_can_be_null=False,
                ),
            )
    for i, (name, oid) in enumerate(columns):
        if oid in _PG_EPOCH_TYPES:
            table = table.set_column(i, name, table.column(i).cast(_PG_ARROW_TYPES[oid]))
    return table


class _CopyStream(io.RawIOBase):
    """The blocks of a ``COPY … TO STDOUT`` (``first``, then the rest of ``blocks``: a row each) as a
    binary stream that Arrow reads in its own blocks: each read gathers as many COPY blocks as it
    takes (short only at the end) and keeps no more than the last one's remainder."""

    def __init__(self, first: ReadableBuffer, blocks: Iterator[ReadableBuffer]) -> None:
        super().__init__()
        self._pending = bytearray(first)
        self._blocks = blocks

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative or None), fewer only at the end."""
        pending, limit = self._pending, None if size is None or size < 0 else size
        while limit is None or len(pending) < limit:
            block = next(self._blocks, None)
            if block is None:
                break
            pending += block
        if limit is None or len(pending) <= limit:
            data = bytes(pending)
            pending.clear()
            return data
        with memoryview(pending) as view:
            data = bytes(view[:limit])
        del pending[:limit]  # at most a COPY block is left: a short move
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as target:
            data = self.read(len(target))
            target[: len(data)] = data
            return len(data)


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas: Arrow's own conversion, integer columns holding NULLs as pandas'
    nullable integers (Arrow would make them float64, inexact past 2**53), each converted once."""
    nullable = {
        i: pd.api.types.pandas_dtype(
            f"{'UInt' if pa.types.is_unsigned_integer(column.type) else 'Int'}{column.type.bit_width}"
        )
        for i, column in enumerate(table.columns)
        if pa.types.is_integer(column.type) and column.null_count
    }
    if not nullable:
        return table.to_pandas()
    frame = table.select([i for i in range(table.num_columns) if i not in nullable]).to_pandas()
    for i, dtype in nullable.items():  # in order of position: each lands where the table has it
        column = table.column(i)
        array = column.to_pandas(types_mapper={column.type: dtype}.get).array
        frame.insert(i, table.column_names[i], array, allow_duplicates=True)
    return frame


def _arrow_tables(data: FrameSource) -> Iterator[pa.Table]:
    """``data`` as Arrow tables, as they come (no copy into one chunk)."""
    if isinstance(data, pd.DataFrame | pa.Table | pa.RecordBatch):
        data = [data]
    for frame in data:
        yield _to_arrow(frame)


def _to_arrow(frame: Frame) -> pa.Table:
    if isinstance(frame, pd.DataFrame):
        table = pa.Table.from_pandas(frame, preserve_index=False)
    elif isinstance(frame, pa.RecordBatch):
        table = pa.Table.from_batches([frame])
    else:
        table = frame
    # CSV and DuckDB scans want plain value types, not dictionary-encoded categories.
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


def _columns_in(conn: sa.Connection, table: str) -> list[str]:
    schema, name = _split_table(table)
    rows = conn.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :name ORDER BY ordinal_position"
        ),
        {"schema": schema, "name": name},
    )
    columns = [row[0] for row in rows]
    if not columns:
        raise WarehouseError(f"table {table} does not exist in the warehouse")
    return columns


def _table_names(tables: Iterable[str]) -> list[str]:
    """``tables`` once each, sorted, every name checked (they go into statements unquoted)."""
    names = sorted(set(tables))
    for table in names:
        _split_table(table)
    return names


def _split_table(table: str) -> tuple[str, str]:
    if not _TABLE_RE.match(table):
        raise WarehouseError(f"table name {table!r} must be schema.table in lower case")
    schema, name = table.split(".")
    return schema, name


def _check_columns(table: str, columns: list[str]) -> None:
    bad = [c for c in columns if not _COLUMN_RE.match(c)]
    if bad:
        raise WarehouseError(f"{table}: invalid column names {bad}")


# -- writer locks ---------------------------------------------------------------------------------

_P = ParamSpec("_P")
_R = TypeVar("_R")


def writer(name: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Run the decorated loader under ``warehouse.writer_lock(name)``, the warehouse being its
    first ``Warehouse`` argument: two runs of the loader, in two processes or threads, take turns.
    Every function that rewrites tables shared by its runs (work tables emptied by each run,
    whole dimensions, or partitions that two runs may both write) carries it."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            warehouse = next((a for a in (*args, *kwargs.values()) if isinstance(a, Warehouse)), None)
            if warehouse is None:
                raise WarehouseError(f"{function.__qualname__}: writer({name!r}) found no Warehouse argument")
            with warehouse.writer_lock(name):
                return function(*args, **kwargs)

        return locked

    return decorate


_LOCK_POLL_SECONDS = (0.05, 1.0)  # first and longest pause between two attempts to take a lock
_local = threading.local()
_thread_locks: dict[tuple[str, str], threading.Lock] = {}
_registry_guard = threading.Lock()


def writer_lock_key(name: str) -> int:
    """The PostgreSQL advisory-lock key of writer ``name``: stable across processes and releases,
    non-negative 63-bit (``hashlib``, not ``hash``, which is salted per process)."""
    digest = hashlib.blake2b(f"gospublic.writer:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def _held_writer_locks() -> set[tuple[str, str]]:
    if not hasattr(_local, "held"):
        _local.held = set()
    held: set[tuple[str, str]] = _local.held
    return held


def _pauses(timeout: float) -> Iterator[float]:
    """Pauses between attempts, doubling, until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    pause = _LOCK_POLL_SECONDS[0]
    while (left := deadline - time.monotonic()) > 0:
        yield min(pause, left)
        pause = min(pause * 2, _LOCK_POLL_SECONDS[1])


def _holder_note() -> str:
    """Who takes a lock: process, host, Airflow task when there is one, and since when."""
    task = ".".join(
        filter(None, (os.environ.get(f"AIRFLOW_CTX_{k}") for k in ("DAG_ID", "TASK_ID", "DAG_RUN_ID")))
    )
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return (
        f"pid {os.getpid()} on {socket.gethostname()} ({task or program}) "
        f"since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )


@contextmanager
def _thread_lock(token: tuple[str, str], timeout: float) -> Iterator[None]:
    with _registry_guard:
        lock = _thread_locks.setdefault(token, threading.Lock())
    if not lock.acquire(timeout=timeout):
        raise WarehouseLockTimeout(
            f"{token[0]}: writer lock {token[1]!r} still held by another thread of pid {os.getpid()} "
            f"after {timeout:g} s ({settings.ENV_WAREHOUSE_LOCK_TIMEOUT})"
        )
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _postgres_writer_lock(warehouse: Warehouse, name: str, timeout: float) -> Iterator[None]:
    key = writer_lock_key(name)
    with warehouse.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        take = sa.text("SELECT pg_try_advisory_lock(:key)")
        if not conn.execute(take, {"key": key}).scalar():
            log.info(
                "writer lock %r of %s is held by %s: waiting", name, warehouse, _advisory_holder(conn, key)
            )
            for pause in _pauses(timeout):
                time.sleep(pause)
                if conn.execute(take, {"key": key}).scalar():
                    break
            else:
                raise WarehouseLockTimeout(
                    f"{warehouse.description}: writer lock {name!r} (advisory lock {key}) still held "
                    f"by {_advisory_holder(conn, key)} after {timeout:g} s "
                    f"({settings.ENV_WAREHOUSE_LOCK_TIMEOUT})"
                )
        label = sa.text("SELECT set_config('application_name', :label, false)")
        conn.execute(label, {"label": f"gospublic {name}: {_holder_note()}"[:63]})  # what a waiter sees
        try:
            yield
        finally:
            with suppress(Exception):  # a broken connection has released it already
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.execute(label, {"label": APPLICATION_NAME})


def _advisory_holder(conn: sa.Connection, key: int) -> str:
    """The session holding advisory lock ``key``, as PostgreSQL tells it."""
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks AS l "
            "JOIN pg_stat_activity AS a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND (CAST(l.classid AS BIGINT) * 4294967296 + CAST(l.objid AS BIGINT)) = :key"
        ),
        {"key": key},
    ).first()
    if row is None:
        return "a session that has just released it"
    return (
        f"backend pid {row.pid} ({row.application_name or 'no application name'}, "
        f"client {row.client_addr or 'local'}, connected since {row.backend_start:%Y-%m-%d %H:%M:%S})"
    )


class _FileLock:
    """An exclusive ``flock`` on ``<DuckDB file>.lock``, shared by the warehouses of one process
    (DuckDB itself lets one process hold the file, with any number of connections): taken by the
    first, released by the last. The lock file says who holds it, for the error of a waiter."""

    _held: ClassVar[dict[str, list[Any]]] = {}  # lock file → [descriptor, holders in this process]
    _guards: ClassVar[dict[str, threading.Lock]] = {}

    def __init__(self, path: Path) -> None:
        self.database = path
        self.path = str(path.with_name(path.name + ".lock").resolve())

    def acquire(self, timeout: float) -> None:
        with _registry_guard:
            guard = self._guards.setdefault(self.path, threading.Lock())
        with guard:
            held = self._held.get(self.path)
            if held is not None:
                held[1] += 1
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                self._wait(fd, timeout)
            except BaseException:
                os.close(fd)
                raise
            note = _holder_note().encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, note, 0)
            self._held[self.path] = [fd, 1]

    def _wait(self, fd: int, timeout: float) -> None:
        if self._try(fd):
            return
        log.info("DuckDB warehouse %s is being written by %s: waiting", self.database, self._holder(fd))
        for pause in _pauses(timeout):
            time.sleep(pause)
            if self._try(fd):
                return
        raise WarehouseLockTimeout(
            f"DuckDB warehouse {self.database} is still being written by {self._holder(fd)} after "
            f"{timeout:g} s ({settings.ENV_WAREHOUSE_LOCK_TIMEOUT}; lock file {self.path}): DuckDB "
            "admits one writing process at a time — run its writers one at a time (Airflow pool "
            "warehouse_writer) or use PostgreSQL"
        )

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _holder(fd: int) -> str:
        note = os.pread(fd, 1024, 0).decode(errors="replace").strip()
        return note or "another process"

    def release(self) -> None:
        with _registry_guard:
            guard = self._guards.setdefault(self.path, threading.Lock())
        with guard:
            held = self._held.get(self.path)
            if held is None:
                return
            held[1] -= 1
            if held[1] == 0:
                del self._held[self.path]
                with suppress(OSError):
                    fcntl.flock(held[0], fcntl.LOCK_UN)
                os.close(held[0])


def _forget_locks_in_child() -> None:
    """After ``fork``: the child holds none of its parent's locks. It closes its copies of the
    lock files' descriptors without unlocking them (the parent's ``flock`` stays: it belongs to
    the open file, which the parent keeps), and starts with fresh thread locks."""
    global _local, _registry_guard  # noqa: PLW0603 (the child's copies may be held by a thread it lacks)
    for fd, _holders in _FileLock._held.values():
        with suppress(OSError):
            os.close(fd)
    _FileLock._held.clear()
    _FileLock._guards.clear()
    _thread_locks.clear()
    _local = threading.local()
    _registry_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks_in_child)


def _duckdb_connect(
    warehouse_ref: weakref.ref[Warehouse], path: Path, dialect: Any, _record: Any, cargs: Any, cparams: Any
) -> Any:
    """Open a DuckDB connection once this process holds the file's writer lock; waits (bounded)
    for another process's lock, ours or DuckDB's own (a tool that opened the file). The warehouse
    is referred to weakly, so that one dropped without ``close`` is collected and lets go."""
    timeout = settings.warehouse_lock_timeout()
    warehouse = warehouse_ref()
    if warehouse is not None:
        warehouse._hold_file(timeout)
    pauses = _pauses(timeout)
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            if "Could not set lock" not in str(exc):
                raise
            pause = next(pauses, None)
            if pause is None:
                raise WarehouseLockTimeout(
                    f"DuckDB warehouse {path} is still locked by another program after {timeout:g} s "
                    f"({settings.ENV_WAREHOUSE_LOCK_TIMEOUT}): {exc}"
                ) from exc
            time.sleep(pause)
