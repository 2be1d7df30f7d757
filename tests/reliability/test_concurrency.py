"""Two writers at once, for real: two OS processes run the same step against one warehouse and one
lake, released together once both have imported. On DuckDB the second writer must wait for the
file (not fail on its lock), bounded by ``GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT``; on PostgreSQL
concurrent runs must not see each other's staging rows. Each pair checks both outcomes and the
tables: keys unique, staging empty of the runs' rows, and the same tables as a single run. A
killed ingestion must leave no staged rows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gospublic.incidents import steps as incidents
from gospublic.incidents.files import landed_files
from gospublic.infra.lake import LocalLake
from gospublic.infra.migrations import migrate
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Warehouse
from gospublic.marts import steps as marts
from gospublic.registry.load import load_registry
from gospublic.vk.load import load_day
from tests.incidents.conftest import PSEUDONYM_KEY, export_data, export_files  # noqa: F401 (fixture)
from tests.keys import repeated_keys
from tests.vk.conftest import BUSINESS_COLUMNS, SMALL, checksum

PROJECT = Path(__file__).resolve().parents[2]
MONTH = "2025-11"
VK_DAY = date(2025, 11, 24)
VK_MAX_FAILED_SHARE = "0.1"  # as the VK tests: 2 of the small region's 36 pages are closed or private

# The child: imports first, says "ready", waits for the start file, runs one step and prints its
# result as JSON. Exit code 0 = the step succeeded.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from datetime import date
    from pathlib import Path

    from gospublic.incidents import steps as incidents
    from gospublic.marts import steps as marts
    from gospublic.infra.lake import Lake
    from gospublic.infra.pseudonym_key import pseudonymizer
    from gospublic.vk.load import load_day
    from gospublic.infra.warehouse import Warehouse

    start, step, arg = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    print("ready", flush=True)
    while not start.exists():
        time.sleep(0.005)
    if step == "build":
        result = marts.build([arg])
    elif step == "ingest":
        result = incidents.ingest()
    elif step == "ingest_traced":  # says "staged" each time a file's staging rows are made
        import gospublic.incidents.load as load

        prepare = load.engine_prepare

        def traced(*args, **kwargs):
            made = prepare(*args, **kwargs)
            print("staged", flush=True)
            return made

        load.engine_prepare = traced
        result = incidents.ingest()
    elif step == "vk_load":
        with Warehouse.from_connection() as warehouse:
            result = load_day(warehouse, Lake.from_connection(), date.fromisoformat(arg), pseudonymizer())
    elif step == "hold":  # open the warehouse, write, keep it open for arg seconds
        with Warehouse.from_connection() as warehouse:
            warehouse.execute("DELETE FROM staging.incident_batch WHERE batch_id = 'none'")
            print("holding", flush=True)
            time.sleep(float(arg))
        result = "released"
    else:
        raise SystemExit(f"unknown step {step}")
    print(json.dumps(result, default=str))
    """
)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The exception lines of the child's traceback (class and message, not the SQL)."""
        lines = self.stderr.strip().splitlines()
        raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Violation|Timeout)\b", line)]
        return "\n".join(raised[-2:] or lines[-3:])


@dataclass
class World:
    warehouse: Warehouse
    lake: LocalLake
    env: dict[str, str]
    tmp: Path

    def start(self, *steps: tuple[str, str], env: dict[str, str] | None = None) -> list[subprocess.Popen]:
        """Start one process per ``(step, arg)`` and release them together once all have imported."""
        self.warehouse.close()  # the test's own DuckDB connections hold the file: let go of it
        go = self.tmp / f"go-{time.monotonic_ns()}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(go), step, arg],
                cwd=PROJECT,
                env={**self.env, **(env or {})},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for step, arg in steps
        ]
        for proc in procs:
            ready = proc.stdout.readline().strip()
            assert ready == "ready", finish(proc).error
        go.touch()
        return procs

    def run(self, *steps: tuple[str, str], env: dict[str, str] | None = None) -> list[Outcome]:
        procs = self.start(*steps, env=env)
        return [finish(proc) for proc in procs]


def finish(proc: subprocess.Popen, timeout: float = 300) -> Outcome:
    out, err = proc.communicate(timeout=timeout)
    return Outcome(proc.returncode, out, err)


def result(outcome: Outcome) -> Any:
    """What the child's step returned."""
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def assert_succeeded(outcomes: list[Outcome]) -> None:
    failed = [f"process {n}: exit {o.returncode}: {o.error}" for n, o in enumerate(outcomes) if o.returncode]
    assert not failed, "\n".join(failed)


def make_world(
    warehouse: Warehouse,
    warehouse_conn: dict,
    registry: Path | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """A migrated warehouse (with ``registry`` loaded) and a lake folder, set as the connections of
    the children and of this process (for the single runs the pairs are compared with)."""
    migrate(warehouse)
    if registry is not None:
        load_registry(warehouse, registry)
    lake = LocalLake(tmp_path / "lake")
    settings = {
        "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": json.dumps(warehouse_conn),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": json.dumps({"conn_type": "fs", "extra": {"path": str(lake.root)}}),
        "AIRFLOW_CONN_GOSPUBLIC_PSEUDONYM": json.dumps({"conn_type": "generic", "password": PSEUDONYM_KEY}),
        "GOSPUBLIC_WORKER_PROCESSES": "1",
        "GOSPUBLIC_VK_MAX_FAILED_SHARE": VK_MAX_FAILED_SHARE,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "plugins")])}
    return World(warehouse, lake, env, tmp_path)


def drop_exports(world: World, data: Path) -> int:
    files = export_files(data)
    for path in files:
        world.lake.put_file(f"incoming/{path.name.split('_', 1)[0]}/{path.name}", path)
    return len(files)


STAGING = (
    "staging.incident_export", "staging.incident_text", "staging.incident_batch",
    "staging.vk_page_observations", "staging.vk_post_observations", "staging.vk_comment_observations",
)  # fmt: skip


def staged_rows(warehouse: Warehouse) -> dict[str, int]:
    return {table: int(warehouse.scalar(f"SELECT COUNT(*) FROM {table}")) for table in STAGING}


def table_rows(warehouse: Warehouse, tables: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Every row of ``tables``, in the order of all their columns."""
    frames = {}
    for table in tables:
        width = len(warehouse.table_columns(table))
        order = ", ".join(str(n) for n in range(1, width + 1))
        frames[table] = warehouse.query_df(f"SELECT * FROM {table} ORDER BY {order}")
    return frames


def assert_same_rows(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    """The same rows; floats equal to 1e-9 (a sum's last bits follow the order PostgreSQL reads
    the rows in, which a rebuild changes: two single builds differ there too)."""
    assert got.keys() == expected.keys()
    for table, frame in expected.items():
        assert len(got[table]) == len(frame) > 0, table
        pd.testing.assert_frame_equal(got[table], frame, check_exact=False, rtol=1e-9, obj=table)


def assert_ingested(world: World, summaries: list[dict], dropped: int) -> None:
    """Every dropped file taken by one run only, loaded or rejected; no staged row left; every row
    a loaded file counted is in the tables once; the load runs reconcile."""
    loaded = sorted(f["file"] for s in summaries for f in s["loaded"])
    rejected = sorted(f["file"] for s in summaries for f in s["rejected"])
    assert len(loaded) + len(rejected) == dropped, summaries
    assert len(set(loaded)) == len(loaded)
    assert landed_files(world.lake) == []
    wh = world.warehouse
    assert staged_rows(wh) == dict.fromkeys(STAGING, 0)
    assert repeated_keys(wh) == {}
    files = wh.query(
        "SELECT state, COUNT(*) AS n, SUM(rows_loaded) AS rows FROM audit.export_file "
        "GROUP BY state ORDER BY 1"
    )
    by_state = {r["state"]: (int(r["n"]), int(r["rows"] or 0)) for r in files}
    assert by_state["loaded"][0] == len(loaded)
    # no lost rows: every row each file counted as loaded is an event, every incident is in the facts
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event") == by_state["loaded"][1]
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident") == wh.scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT source, incident_id FROM core.fct_incident_event) AS d"
    )
    assert wh.scalar("SELECT COUNT(*) FROM restricted.incident_text") == by_state["loaded"][1]
    runs = wh.query("SELECT rows_read, rows_written, rows_rejected, rows_duplicate FROM audit.load_runs")
    assert runs and all(
        r["rows_read"] == r["rows_written"] + r["rows_rejected"] + (r["rows_duplicate"] or 0) for r in runs
    )


# -- incidents_ingest × 2 ------------------------------------------------------------------------


@pytest.mark.slow
def test_two_ingests_at_once_load_every_file_once(
    export_data: Path,  # noqa: F811
    warehouse: Warehouse,
    warehouse_conn: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(warehouse, warehouse_conn, export_data / "registry", tmp_path, monkeypatch)
    dropped = drop_exports(world, export_data)

    outcomes = world.run(("ingest", ""), ("ingest", ""))

    assert_succeeded(outcomes)
    assert_ingested(world, [result(o) for o in outcomes], dropped)


# -- warehouse_build × 2 ---------------------------------------------------------------------------

MART_TABLES = (
    "core.fct_incident_timing", "mart.dim_org", "mart.response_metrics_monthly", "mart.rating_base",
)  # fmt: skip


@pytest.mark.slow
def test_two_builds_of_a_month_at_once_equal_one(
    export_data: Path,  # noqa: F811
    warehouse: Warehouse,
    warehouse_conn: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(warehouse, warehouse_conn, export_data / "registry", tmp_path, monkeypatch)
    drop_exports(world, export_data)
    assert incidents.ingest()["loaded"]

    outcomes = world.run(("build", MONTH), ("build", MONTH))

    assert_succeeded(outcomes)
    wh = world.warehouse
    assert repeated_keys(wh) == {}
    concurrent = table_rows(wh, MART_TABLES)
    marts.build([MONTH])  # a single run on the same data
    assert_same_rows(table_rows(wh, MART_TABLES), concurrent)


# -- vk_pages load × 2 ----------------------------------------------------------------------------

VK_COLUMNS = {  # without the observation times (when a load ran)
    **BUSINESS_COLUMNS,
    "staging.vk_page_observations": "dt, vk_group_id, members_count",
}


@pytest.fixture(scope="module")
def vk_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated region (the VK tests' size) with its day landed in a lake folder."""
    from bench.vk_raw import land_month
    from sandbox.generator import params
    from sandbox.generator.pipeline import generate

    out = tmp_path_factory.mktemp("vk-small")
    generate(params.build("region", MONTH, 42, **SMALL), str(out / "data"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GOSPUBLIC_VK_MAX_FAILED_SHARE", VK_MAX_FAILED_SHARE)
        land_month(out / "data", LocalLake(out / "lake"), [VK_DAY])
    return out


@pytest.mark.slow
def test_two_vk_loads_of_a_day_at_once_stage_it_once(
    vk_small: Path,
    warehouse: Warehouse,
    warehouse_conn: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copytree(vk_small / "lake", tmp_path / "lake")
    world = make_world(warehouse, warehouse_conn, vk_small / "data" / "registry", tmp_path, monkeypatch)

    outcomes = world.run(("vk_load", VK_DAY.isoformat()), ("vk_load", VK_DAY.isoformat()))

    assert_succeeded(outcomes)
    wh = world.warehouse
    assert repeated_keys(wh) == {}
    pages = result(outcomes[0])["counts"]["groups.getById"]["written"]
    assert wh.scalar("SELECT COUNT(*) FROM staging.vk_page_observations") == pages > 0  # the day once
    concurrent = {table: checksum(wh, table, columns) for table, columns in VK_COLUMNS.items()}
    load_day(wh, world.lake, VK_DAY, pseudonymizer())  # a single run
    assert {table: checksum(wh, table, columns) for table, columns in VK_COLUMNS.items()} == concurrent


# -- the DuckDB file: a second process waits, bounded ----------------------------------------------


@pytest.fixture
def duckdb_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A migrated DuckDB warehouse file (the lock is DuckDB's only)."""
    conn = {"conn_type": "duckdb", "extra": {"path": str(tmp_path / "warehouse.duckdb")}}
    warehouse = Warehouse.duckdb(tmp_path / "warehouse.duckdb")
    yield make_world(warehouse, conn, None, tmp_path, monkeypatch)
    warehouse.close()


def test_a_second_duckdb_writer_waits_for_the_first(duckdb_world: World) -> None:
    holder = duckdb_world.start(("hold", "2"))[0]
    assert holder.stdout.readline().strip() == "holding", finish(holder).error
    waiter = duckdb_world.start(("hold", "0"))[0]  # starts while the holder has the file
    outcomes = [finish(holder), finish(waiter)]
    assert_succeeded(outcomes)
    assert all(o.stdout.strip().endswith('"released"') for o in outcomes)


def test_a_duckdb_writer_gives_up_after_the_timeout_naming_the_holder(duckdb_world: World) -> None:
    holder = duckdb_world.start(("hold", "30"))[0]
    try:
        assert holder.stdout.readline().strip() == "holding", finish(holder).error
        waiter = duckdb_world.start(("hold", "0"), env={"GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT": "1"})[0]
        outcome = finish(waiter)
    finally:
        holder.kill()
        holder.communicate()
    assert outcome.returncode != 0
    assert "WarehouseLockTimeout" in outcome.error, outcome.error
    assert f"pid {holder.pid}" in outcome.error
    assert str(duckdb_world.tmp / "warehouse.duckdb") in outcome.error


# -- a killed ingestion ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_staged_rows(
    export_data: Path,  # noqa: F811
    warehouse: Warehouse,
    warehouse_conn: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(warehouse, warehouse_conn, export_data / "registry", tmp_path, monkeypatch)
    dropped = drop_exports(world, export_data)
    child = world.start(("ingest_traced", ""), env={"GOSPUBLIC_INCIDENT_CHUNK_ROWS": "200"})[0]
    staged = 0
    try:
        for line in child.stdout:
            staged += line.strip() == "staged"
            if staged == 3:  # the third file's rows made: the two before it held (committed, before #20)
                break
    finally:
        child.kill()  # SIGKILL: no handler runs
        child.communicate()
    assert staged == 3, child.stderr

    assert staged_rows(world.warehouse) == dict.fromkeys(STAGING, 0)
    assert world.warehouse.scalar("SELECT COUNT(*) FROM core.fct_incident_event") == 0

    assert_ingested(world, [incidents.ingest()], dropped)  # the next run loads every file


def file_locked(database: Path) -> bool:
    """Whether a process holds the writer lock of ``database`` (tried from a descriptor of our own)."""
    import fcntl

    fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_warehouses_of_one_process_share_the_duckdb_file_lock(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "warehouse.duckdb"
    first, second = Warehouse.duckdb(path), Warehouse.duckdb(path)
    assert first.scalar("SELECT 1") == 1
    assert second.scalar("SELECT 2") == 2  # no wait: DuckDB admits any number of connections of a process
    assert file_locked(path)
    first.close()
    assert file_locked(path)  # the second still holds it
    second.close()
    assert not file_locked(path)

    dropped = Warehouse.duckdb(path)
    dropped.scalar("SELECT 1")
    assert file_locked(path)
    del dropped  # never closed: collected, it lets go
    gc.collect()
    assert not file_locked(path)


def _hold_in_forked_child(path: str) -> None:
    from gospublic.infra.warehouse import WarehouseLockTimeout

    try:
        Warehouse.duckdb(path)._hold_file(0.5)
    except WarehouseLockTimeout:
        os._exit(0)  # waited for the parent, as any other process would
    os._exit(1)  # believed it held the parent's lock


def test_a_forked_child_does_not_inherit_the_duckdb_file_lock(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "warehouse.duckdb"
    parent = Warehouse.duckdb(path)
    try:
        parent.scalar("SELECT 1")
        child = multiprocessing.get_context("fork").Process(target=_hold_in_forked_child, args=(str(path),))
        child.start()
        child.join(30)
        assert child.exitcode == 0
        assert file_locked(path)  # the child's exit left the parent's lock alone
    finally:
        parent.close()
    assert not file_locked(path)


@pytest.mark.postgres
def test_a_postgres_writer_gives_up_after_the_timeout_naming_the_holder(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    url = sa.make_url(pg_database)
    conn = {
        "conn_type": "postgres", "host": url.host, "port": url.port or 5432, "login": url.username,
        "password": url.password, "schema": url.database,
    }  # fmt: skip
    warehouse = Warehouse.postgres(pg_database)
    world = make_world(warehouse, conn, None, tmp_path, monkeypatch)
    try:
        with warehouse.writer_lock("marts"):  # as a build of another month would
            holder = warehouse.scalar(  # this test's database: other tests' locks are on the same server
                "SELECT l.pid FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
            started = time.monotonic()
            (outcome,) = world.run(("build", MONTH), env={"GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT": "1.5"})
            waited = time.monotonic() - started
    finally:
        warehouse.close()
    assert outcome.returncode != 0
    assert "WarehouseLockTimeout" in outcome.error and "writer lock 'marts'" in outcome.error, outcome.error
    assert f"backend pid {holder} (gospublic marts: pid {os.getpid()} on " in outcome.error
    assert waited >= 1.5  # it waited for the lock rather than failing at once
