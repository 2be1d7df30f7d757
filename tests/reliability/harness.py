"""Kill -9 harness: warehouse checksums, copies of a warehouse state, and a step run in a child
process that is SIGKILLed at a seeded moment.

* :func:`table_checksums` — an order-independent digest per table of the warehouse's schemas,
  leaving out the columns that record *when* something ran (``VOLATILE_COLUMNS``), so that a
  re-run can be compared with a clean run.
* :class:`StateStore` — named warehouse states (a DuckDB file, or a PostgreSQL database used as a
  ``TEMPLATE``) and cheap copies of them for each trial.
* :func:`run_and_kill` — runs ``step(**kwargs)`` in a child forked by a warm fork server (so the
  child's time is the step's time) and sends it SIGKILL ``kill_after`` seconds after it
  started; :func:`kill_moments` draws those moments from a seed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import shutil
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic.infra.connections import ConnectionInfo
from gospublic.infra.warehouse import Warehouse

SCHEMAS = ("staging", "core", "mart", "restricted", "audit")
# Columns that record when a run happened or which run it was, not what it loaded.
VOLATILE_COLUMNS = frozenset(
    {"processed_at", "quarantined_at", "validated_at", "applied_at", "loaded_at", "created_at", "started_at",
     "finished_at", "batch_id", "run_id"}
)  # fmt: skip
KILL_TALLY: list[dict[str, Any]] = []  # one row per kill trial (printed at the end by conftest)
NOT_COMPARED = frozenset({"audit.load_runs", "audit.schema_migrations"})  # attempts differ by design


# -- checksums ----------------------------------------------------------------------------------


def warehouse_tables(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_schema IN ({', '.join(repr(s) for s in SCHEMAS)}) AND table_type = 'BASE TABLE' "
        "ORDER BY table_schema, table_name"
    )
    return [f"{r['table_schema']}.{r['table_name']}" for r in rows]


def table_checksums(
    warehouse: Warehouse, tables: Iterable[str] | None = None, *, skip: Iterable[str] = ()
) -> dict[str, str]:
    """``{table: sha256 of its sorted rows}`` without ``VOLATILE_COLUMNS``; every table of the
    warehouse's schemas but ``NOT_COMPARED`` when ``tables`` is None; ``skip``: table prefixes."""
    chosen = (
        list(tables)
        if tables is not None
        else [t for t in warehouse_tables(warehouse) if t not in NOT_COMPARED]
    )
    skipped = tuple(skip)
    return {t: table_checksum(warehouse, t) for t in chosen if not t.startswith(skipped or ("\0",))}


def table_checksum(warehouse: Warehouse, table: str) -> str:
    schema, name = table.split(".", 1)
    columns = [
        r["column_name"]
        for r in warehouse.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
            "ORDER BY ordinal_position",
            {"s": schema, "t": name},
        )
        if r["column_name"] not in VOLATILE_COLUMNS
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    rows = sorted(
        repr(tuple(_plain(v) for v in r.values())) for r in warehouse.query(f"SELECT {select} FROM {table}")
    )
    return hashlib.sha256("\n".join([",".join(columns), *rows]).encode()).hexdigest()


def differing(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """Tables whose checksums differ (or that only one side has)."""
    return sorted(t for t in first.keys() | second.keys() if first.get(t) != second.get(t))


def _plain(value: object) -> object:
    """One representation per value on both engines."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return round(float(value), 6)
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


# -- warehouse states ---------------------------------------------------------------------------


def open_warehouse(conn: dict[str, Any]) -> Warehouse:
    """A ``Warehouse`` for a connection given as Airflow JSON fields."""
    return Warehouse.from_connection_info(
        ConnectionInfo(
            conn_id="gospublic_warehouse",
            conn_type=conn["conn_type"],
            host=conn.get("host"),
            port=conn.get("port"),
            login=conn.get("login"),
            password=conn.get("password"),
            schema=conn.get("schema"),
            extra=dict(conn.get("extra") or {}),
        )
    )


@dataclass
class StateStore:
    """Named warehouse states and copies of them, on one engine. PostgreSQL: each state and copy
    is a database (``CREATE DATABASE … TEMPLATE``), all dropped by :meth:`close`."""

    engine: str
    folder: Path
    pg_admin_url: str = ""
    _databases: list[str] = field(default_factory=list)

    def new(self, name: str) -> dict[str, Any]:
        """The connection of a new, empty warehouse named ``name``."""
        if self.engine == "duckdb":
            return {"conn_type": "duckdb", "extra": {"path": str(self.folder / f"{name}.duckdb")}}
        database = f"gospublic_kill_{name}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{database}"')
        self._databases.append(database)
        return self._pg_conn(database)

    def copy(self, source: dict[str, Any], name: str) -> dict[str, Any]:
        """A new warehouse holding what ``source`` holds (no one may be connected to ``source``)."""
        if self.engine == "duckdb":
            target = self.folder / f"{name}.duckdb"
            shutil.copyfile(source["extra"]["path"], target)
            wal = Path(source["extra"]["path"] + ".wal")
            if wal.exists():
                shutil.copyfile(wal, Path(f"{target}.wal"))
            return {"conn_type": "duckdb", "extra": {"path": str(target)}}
        database = f"gospublic_kill_{name}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{source["schema"]}"')
        self._databases.append(database)
        return self._pg_conn(database)

    def close(self) -> None:
        for database in reversed(self._databases):
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._databases.clear()

    def _pg_conn(self, database: str) -> dict[str, Any]:
        url = sa.make_url(self.pg_admin_url)
        return {"conn_type": "postgres", "host": url.host, "port": url.port or 5432, "login": url.username,
                "password": url.password, "schema": database}  # fmt: skip

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(statement)


# -- kill -9 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """What became of a step run in a child: killed (and when) or finished (and how)."""

    killed: bool
    seconds: float  # from the child's start to its kill or its end
    exitcode: int | None
    started_at: float  # wall clock (time.time) of the child's start, to place its milestones


def kill_moments(seed: str, duration: float, trials: int, earliest: float = 0.0) -> list[float]:
    """``trials`` moments between ``earliest`` and 90 % of ``duration`` (from 2 % when
    ``earliest`` is 0), drawn from ``seed`` (the same every run)."""
    draw = random.Random(seed)
    low = max(earliest, 0.02 * duration)
    return [round(draw.uniform(low, max(low, 0.9 * duration)), 3) for _ in range(trials)]


# Modules the fork server imports once, so that a child's time is its step's time.
PRELOAD = [
    "pandas",
    "sqlalchemy",
    "gospublic.infra.warehouse",
    "gospublic.infra.lake",
    "gospublic.infra.audit",
]


def run_and_kill(
    step: Callable[..., Any],
    kwargs: dict[str, Any],
    kill_after: float | None,
    *,
    timeout: float = 300,
    preload: Iterable[str] = (),
) -> ChildRun:
    """Run ``step(**kwargs)`` (a module-level function) in a child process with this process's
    environment; SIGKILL it ``kill_after`` seconds after its start (``None``: let it finish).

    Children are forked by multiprocessing's fork server — a clean single-threaded process that
    has imported ``PRELOAD`` and ``preload`` once — rather than from the test process, whose
    threads and open handles a fork would copy. Close the warehouses this process has open on
    the child's database first (DuckDB admits one process per file)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, *preload])
    child = context.Process(target=_child, args=(step, kwargs, dict(os.environ)), daemon=False)
    started, started_at = time.monotonic(), time.time()
    child.start()
    child.join(timeout if kill_after is None else kill_after)
    if child.exitcode is None and kill_after is not None:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(30)
        return ChildRun(True, time.monotonic() - started, child.exitcode, started_at)
    if child.exitcode is None:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(30)
        raise TimeoutError(f"{step.__name__} did not finish in {timeout} s")
    return ChildRun(False, time.monotonic() - started, child.exitcode, started_at)


def start_fork_server(preload: Iterable[str] = ()) -> None:
    """Start the fork server (importing ``PRELOAD`` and ``preload``) before anything is timed."""
    run_and_kill(_nothing, {}, None, preload=preload)


def _nothing() -> None:
    pass


def _child(step: Callable[..., Any], kwargs: dict[str, Any], environment: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environment)
    try:
        step(**kwargs)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)  # no atexit handlers of the parent's (pytest's) in the child


def print_kill_tally(terminalreporter: Any) -> None:
    """The tally of the kill trials (tests/conftest.py's ``pytest_terminal_summary``)."""
    if not KILL_TALLY:
        return
    terminalreporter.section("kill -9 trials of the loads")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in KILL_TALLY:
        groups.setdefault((row["load"], row["engine"]), []).append(row)
    for (load, engine), rows in sorted(groups.items()):
        outcomes = ", ".join(f"{r['outcome']}@{r['kill_after']:.2f}s" for r in rows)
        terminalreporter.write_line(
            f"{load:<10} {engine:<8} {len(rows)} trials (clean run {rows[0]['duration']:.2f}s): {outcomes}"
        )
    killed = sum(1 for row in KILL_TALLY if row["killed"])
    terminalreporter.write_line(
        f"total: {len(KILL_TALLY)} trials, {killed} killed ({len(KILL_TALLY) - killed} finished before "
        "their moment); outcomes: before = nothing of it visible, after = committed, "
        "before its attempt = killed before its started rows were committed"
    )
