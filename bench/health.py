"""Benchmark: the health views (migration 0024 and later) and ``python -m gospublic.cli health`` on a
warehouse of national size.

Only the tables the health views read are filled, straight in SQL (``generate_series``), at the
national preset's size (``sandbox/generator/params.py``): 55,000 VK pages in ``core.dim_page``, a
``core.fct_page_daily`` row and an ``audit.vk_day_status`` row for every page and day of the
window (``--days``: 44 is the bench month with its 14 days of history, 365 a year of production),
``audit.extract_errors`` for 2.4 % of the pages on every day (the generator closes, hides or
deletes ~0.8 % of VK pages each) and 0.5 % more on scattered days, 850,000 incidents a month in
``core.fct_incident`` over four 30-day windows (66 regions × 2 sources, 4 files a region and day
in ``audit.export_file``), 1 % of them quarantined. Building is not timed.

Timed (median of ``--repeat``): each health view read as ``gospublic.ops.health.read`` reads it
(every row, ordered), and ``python -m gospublic.cli health`` in a fresh process (its import and
connection included). With ``--before``, also migration 0024's ``audit.health_vk_page`` and
``audit.health_silent_body`` (replaced in 0025), each run as a plain query once, given up after
``--before-timeout`` seconds.

    .venv/bin/python -m bench.health [--engines duckdb,postgres] [--days 44,365] [--repeat 3]
        [--before] [--before-timeout 300] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.incidents import create_database, drop_database, postgres_reachable

PROJECT = Path(__file__).resolve().parents[1]
BENCH = PROJECT / "var" / "bench" / "health"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGES = 55_000
INCIDENTS_PER_MONTH = 850_000
INCIDENT_DAYS = 120  # four 30-day windows: audit.health_silent_body looks back that far
REGIONS = 66
BODIES_PER_REGION = 69
TODAY = date(2025, 12, 1)

VIEWS = {
    "health_vk_page": "SELECT page_id, org_id, vk_group_id, last_loaded_dt, last_ok_dt, last_failed_dt,"
    " failing_days FROM audit.health_vk_page ORDER BY failing_days DESC, page_id",
    "health_export": "SELECT * FROM audit.health_export ORDER BY source, region_code",
    "health_silent_body": "SELECT * FROM audit.health_silent_body ORDER BY source, region_code, org_id",
    "health_quarantine": "SELECT * FROM audit.health_quarantine ORDER BY last_quarantined_at DESC,"
    " load_id, file LIMIT 10",
    "health_extract_errors": "SELECT * FROM audit.health_extract_errors ORDER BY dt DESC, run_id, kind"
    " LIMIT 10",
}


def view_0024(name: str) -> str:
    """The SELECT of view ``name`` as migration 0024 created it."""
    text = (PROJECT / "sql" / "migrations" / "0024_health_views.sql").read_text(encoding="utf-8")
    start = text.index(f"CREATE VIEW audit.{name} AS") + len(f"CREATE VIEW audit.{name} AS")
    return text[start : text.index(";", start)]


BEFORE = {  # views 0025 replaced: read as health.read reads them
    "health_vk_page": "ORDER BY failing_days DESC, page_id",
    "health_silent_body": "ORDER BY source, region_code, org_id",
}


def time_before(engine: str, warehouse: Any, name: str, timeout: float) -> float | None:
    """Seconds of 0024's view ``name`` over every row, or None when over ``timeout``."""
    sql = f"SELECT * FROM ({view_0024(name)}) AS v {BEFORE[name]}"
    if engine == "postgres":
        with warehouse.transaction() as tx:
            tx.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            started = time.monotonic()
            try:
                tx.query(sql)
            except Exception as exc:
                if "statement timeout" not in str(exc):
                    raise
                return None
            return time.monotonic() - started
    started = time.monotonic()
    warehouse.query(sql)
    return time.monotonic() - started


def fill(warehouse: Any, days: int) -> dict[str, int]:
    """Fill the tables the health views read; returns their row counts."""
    first = TODAY - timedelta(days=days)
    params = {"first": first, "days": days, "pages": PAGES}
    incidents = INCIDENTS_PER_MONTH * INCIDENT_DAYS // 30
    statements = [
        "INSERT INTO core.dim_page (page_id, org_id, network, vk_group_id, url, status, valid_from,"
        " is_current, load_id)"
        " SELECT 'vk-' || CAST(i AS TEXT), 'org-' || CAST(i % (:regions * :bodies) AS TEXT), 'vk', i,"
        " 'https://vk.com/club' || CAST(i AS TEXT), 'active', :first, TRUE, 'bench'"
        " FROM generate_series(1, :pages) AS g(i)",
        "INSERT INTO audit.vk_day_status (dt, run_id, pages, failed_pages, given_up_pages,"
        " given_up_calls, complete, loaded_at)"
        " SELECT :first + CAST(d AS INTEGER), 'run-' || CAST(d AS TEXT), :pages, 0, 0, 0, TRUE,"
        " CAST(:first + CAST(d AS INTEGER) AS TIMESTAMP)"
        " FROM generate_series(0, :days - 1) AS g(d)",
        "INSERT INTO core.fct_page_daily (vk_group_id, dt, members_count, observed_at)"
        " SELECT i, :first + CAST(d AS INTEGER), 1000 + i % 5000,"
        " CAST(:first + CAST(d AS INTEGER) AS TIMESTAMP)"
        " FROM generate_series(1, :pages) AS p(i) CROSS JOIN generate_series(0, :days - 1) AS g(d)"
        " WHERE i % 42 <> 0",  # the pages failing every day have no page row
        "INSERT INTO audit.extract_errors (dt, run_id, vk_group_id, method, error_code, kind, occurred_at"
        "{network_columns})"
        " SELECT :first + CAST(d AS INTEGER), 'run-' || CAST(d AS TEXT), i, 'groups.getById',"
        " CASE WHEN i % 42 = 0 THEN 15 ELSE -1 END, CASE WHEN i % 42 = 0 THEN 'page' ELSE 'gave_up' END,"
        " CAST(:first + CAST(d AS INTEGER) AS TIMESTAMP){network_values}"
        " FROM generate_series(1, :pages) AS p(i) CROSS JOIN generate_series(0, :days - 1) AS g(d)"
        " WHERE i % 42 = 0 OR (i * 7919 + d * 104729) % 200 = 0",
        "INSERT INTO audit.export_file (file_sha, source, file, landed_key, state, region_code,"
        " export_date, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_empty, bytes,"
        " processed_at)"
        " SELECT 'sha-' || CAST(r AS TEXT) || '-' || s || '-' || CAST(d AS TEXT) || '-' || CAST(k AS TEXT),"
        " s, s || '_' || CAST(r AS TEXT) || '.csv', 'incoming/' || s, 'loaded', CAST(r AS TEXT),"
        " :today - CAST(d AS INTEGER), 100, 99, 1, 0, 0, 10000, CAST(:today AS TIMESTAMP)"
        " FROM generate_series(10, 9 + :regions) AS rg(r) CROSS JOIN (SELECT 'im' AS s UNION ALL"
        " SELECT 'pos') AS src CROSS JOIN generate_series(0, :incident_days - 1) AS g(d)"
        " CROSS JOIN generate_series(1, 2) AS f(k)",
        "INSERT INTO core.fct_incident (source, incident_id, region_code, org_id, executor, status,"
        " registered_at, due_at, is_answered, is_overdue, observations, first_export_date,"
        " last_export_date, last_exported_at, last_file, load_id)"
        " SELECT CASE WHEN i % 4 = 0 THEN 'pos' ELSE 'im' END, CAST(i AS TEXT),"
        " CAST(10 + i % :regions AS TEXT),"
        " CASE WHEN i % 200 = 0 THEN NULL ELSE 'org-' || CAST(i % (:regions * :bodies) AS TEXT) END,"
        " 'executor ' || CAST(i % 5000 AS TEXT), 'closed',"
        " CAST(:today - CAST(i % :incident_days AS INTEGER) AS TIMESTAMP),"
        " CAST(:today - CAST(i % :incident_days AS INTEGER) AS TIMESTAMP), TRUE, FALSE, 1,"
        " :today - CAST(i % :incident_days AS INTEGER), :today - CAST(i % :incident_days AS INTEGER),"
        " CAST(:today AS TIMESTAMP), 'file', 'load-' || CAST(i % 2000 AS TEXT)"
        " FROM generate_series(1, :incidents) AS g(i)",
        "INSERT INTO audit.load_runs (load_id, dag_id, run_id, task_id, source, partition_key,"
        " target_table, rows_read, rows_written, rows_rejected, status, started_at)"
        " SELECT 'load-' || CAST(k AS TEXT), 'incidents_ingest', 'run-' || CAST(k / 20 AS TEXT),"
        " 'ingest_new_files', 'incidents/im', 'file-' || CAST(k AS TEXT), 'core.fct_incident_event',"
        " 100, 99, 1, 'success', CAST(:today AS TIMESTAMP)"
        " FROM generate_series(0, 1999) AS g(k)",
        "INSERT INTO audit.quarantine (source, partition_key, file, row_number, column_name, reason,"
        " load_id, quarantined_at)"
        " SELECT 'incidents/im', 'sha-' || CAST(i % 2000 AS TEXT), 'file-' || CAST(i % 2000 AS TEXT), i,"
        " 'Исполнитель', 'required field executor is empty', 'load-' || CAST(i % 2000 AS TEXT),"
        " CAST(:today AS TIMESTAMP)"
        " FROM generate_series(1, :quarantined) AS g(i)",
    ]
    values = {
        **params, "regions": REGIONS, "bodies": BODIES_PER_REGION, "today": TODAY,
        "incident_days": INCIDENT_DAYS, "incidents": incidents, "quarantined": incidents // 100,
    }  # fmt: skip
    with warehouse.transaction() as tx:
        networks = tx.scalar(  # migration 0027 (issue 28) gives every row its network and page
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'audit'"
            " AND table_name = 'extract_errors' AND column_name = 'network'"
        )
        shape = (
            {"network_columns": ", network, page_key", "network_values": ", 'vk', CAST(i AS TEXT)"}
            if networks
            else {"network_columns": "", "network_values": ""}
        )
        for statement in statements:
            sql = statement.replace("{network_columns}", shape["network_columns"])
            sql = sql.replace("{network_values}", shape["network_values"])
            tx.execute(sql, {k: v for k, v in values.items() if f":{k}" in sql})
        tables = (
            "core.dim_page", "core.fct_page_daily", "audit.vk_day_status", "audit.extract_errors",
            "core.fct_incident", "audit.export_file", "audit.quarantine", "audit.load_runs",
        )  # fmt: skip
        tx.analyze(list(tables))
        return {t: int(tx.scalar(f"SELECT COUNT(*) FROM {t}")) for t in tables}


def timed(function: Any, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        started = time.monotonic()
        function()
        runs.append(time.monotonic() - started)
    return statistics.median(runs), runs


def bench(
    engine: str, days: int, repeat: int, pg_server: str | None, before_timeout: float | None
) -> dict[str, Any]:
    from gospublic.infra.migrations import migrate
    from gospublic.infra.warehouse import Warehouse

    database = None
    if engine == "duckdb":
        BENCH.mkdir(parents=True, exist_ok=True)
        path = BENCH / f"health-{days}.duckdb"
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        conn: dict[str, Any] = {"conn_type": "duckdb", "extra": {"path": str(path)}}
        warehouse = Warehouse.duckdb(path)
    else:
        assert pg_server
        import sqlalchemy as sa

        database, url = create_database(pg_server)
        parsed = sa.make_url(url)
        conn = {
            "conn_type": "postgres", "host": parsed.host, "port": parsed.port or 5432,
            "login": parsed.username, "password": parsed.password, "schema": parsed.database,
        }  # fmt: skip
        warehouse = Warehouse.postgres(url)
    try:
        migrate(warehouse)
        started = time.monotonic()
        rows = fill(warehouse, days)
        built = time.monotonic() - started
        print(f"{engine} {days} days: built in {built:.1f} s: {rows}", flush=True)
        views: dict[str, Any] = {}
        for name in BEFORE if before_timeout else ():
            assert before_timeout
            seconds = time_before(engine, warehouse, name, before_timeout)
            views[f"{name}_0024"] = {"seconds": None if seconds is None else round(seconds, 3),
                                     "timeout": before_timeout}  # fmt: skip
            shown = f"{seconds:.3f} s" if seconds is not None else f"over {before_timeout:.0f} s (given up)"
            print(f"  {name} as in 0024: {shown}", flush=True)
        for name, sql in VIEWS.items():
            median, runs = timed(lambda sql=sql: warehouse.query(sql), repeat)
            views[name] = {"median": round(median, 3), "runs": [round(r, 3) for r in runs]}
            print(f"  {name}: {median:.3f} s {views[name]['runs']}", flush=True)
        warehouse.close()
        env = {**os.environ, "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": json.dumps(conn)}
        command = [sys.executable, "-m", "gospublic.cli", "health", "--today", TODAY.isoformat()]

        def cli() -> None:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode not in (0, 1):
                raise RuntimeError(done.stderr[-2000:])

        median, runs = timed(cli, repeat)
        print(f"  cli health: {median:.3f} s {[round(r, 3) for r in runs]}", flush=True)
        return {
            "engine": engine, "days": days, "rows": rows, "build_seconds": round(built, 1),
            "views": views, "cli_health": {"median": round(median, 3), "runs": [round(r, 3) for r in runs]},
        }  # fmt: skip
    finally:
        warehouse.close()
        if database and pg_server:
            drop_database(pg_server, database)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--days", default="44,365", help="VK days in the warehouse, comma separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", action="store_true", help="time the views as 0024 defined them too")
    parser.add_argument("--before-timeout", type=float, default=300.0)
    parser.add_argument("--pg-url", default=os.environ.get("GOSPUBLIC_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--out", type=Path, help="append the results to this JSON lines file")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    pg_server = args.pg_url if "postgres" in engines and postgres_reachable(args.pg_url) else None
    if "postgres" in engines and not pg_server:
        print(f"PostgreSQL unreachable at {args.pg_url}: skipped", file=sys.stderr)
        engines.remove("postgres")
    for days in (int(d) for d in args.days.split(",")):
        for engine in engines:
            result = bench(engine, days, args.repeat, pg_server, args.before_timeout if args.before else None)
            if args.out:
                with args.out.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
