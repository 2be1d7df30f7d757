"""Operator commands: ``python -m gospublic.cli {migrate,run-dag,summary,data-dictionary,rating-summary,
rate,health,schema-snapshot,bi-export,vk-sidecars}``.

``migrate`` applies pending warehouse migrations (docker-compose's init job runs it);
``run-dag`` wraps ``airflow dags test`` with a log file, the tasks' logs where the UI reads them,
and a one-line verdict; ``summary`` prints where the results are: the warehouse's tables with row
counts and the lake. ``rate`` rates a month under any methodology (a preset id or a draft YAML
file, ``--set`` overrides) without publishing or writing a snapshot, and writes its comparison with
the published rating to a folder. ``health`` prints the warehouse's operational health
(``audit.health_*``) with ops_check's thresholds (``--month``: as of the day after a past month).
``bi-export superset <out.zip>`` zips the Superset starter dashboard (config/bi/superset).
``vk-sidecars --from D --to D`` writes the Parquet sidecars of typed VK answers that the lake's days
lack (landed before them, or retired by a changed column spec), so that their loads read Parquet;
``--prune-stale`` then deletes the days' sidecars of a retired version, ``--dry-run`` only lists.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from transforms.months import month_argument, next_month, parse_month

_FINISHED = re.compile(r"DagRun Finished: dag_id=(?P<dag>\S+?),.*?state=(?P<state>\w+)")


def run_dag(dag_id: str, logical_date: str, log_dir: Path, conf: str | None = None) -> int:
    """Run one DAG with ``airflow dags test`` in a process of its own; 0 when the run succeeded.

    The tasks' logs are written where the api-server reads them (``dag_test_logs``): plain
    ``airflow dags test`` writes none, and the UI would say "Log file not found on worker".
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}-{logical_date}.log"
    command = [sys.executable, "-m", "gospublic.orchestration.dag_test_logs", dag_id, logical_date]
    if conf:
        command += ["--conf", conf]
    started = time.monotonic()
    started_at = datetime.now(UTC)
    # `airflow dags test` fails a successful run of a DAG with a deadline (apache/airflow#73428)
    env = {**os.environ, "GOSPUBLIC_DEADLINE_ALERTS": "off"}
    with open(log_path, "w", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode
    elapsed = time.monotonic() - started
    _record_real_start(dag_id, started_at)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    states = [m.group("state") for m in _FINISHED.finditer(text) if m.group("dag") == dag_id]
    state = states[-1] if states else "unknown"
    print(f"{dag_id} {logical_date}: {state} in {elapsed:.1f} s (log: {log_path})")
    if code != 0 or state != "success":
        print("\n".join(text.splitlines()[-40:]), file=sys.stderr)
        return 1
    return 0


def _record_real_start(dag_id: str, started_at: datetime) -> None:
    """``airflow dags test`` starts a run at its logical date (a run of an old date then lasts
    months in the UI): give the run that just ended the time it really started."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(
            DagRun.dag_id == dag_id,
            DagRun.start_date == DagRun.logical_date,
            DagRun.end_date >= started_at,
        ).update({DagRun.start_date: started_at}, synchronize_session=False)


def migrate() -> int:
    """Apply pending migrations to the warehouse of ``gospublic_warehouse``."""
    from gospublic.infra.migrations import migrate as apply_pending
    from gospublic.infra.warehouse import Warehouse

    with Warehouse.from_connection() as warehouse:
        applied = apply_pending(warehouse)
        print(f"{warehouse.description}: {len(applied)} migrations applied {applied}")
    return 0


def summary() -> int:
    """Print the warehouse's tables with row counts and the lake's location."""
    from gospublic.infra.lake import Lake
    from gospublic.infra.warehouse import SCHEMAS, Warehouse

    with Warehouse.from_connection() as warehouse:
        print(f"Warehouse: {warehouse.description}")
        # schema names are SCHEMAS' own (code, not configuration): bound, never spliced
        tables = [
            t
            for t in warehouse.query(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "ORDER BY table_schema, table_name"
            )
            if t["table_schema"] in SCHEMAS
        ]
        present = set(warehouse.schemas())
        for schema in SCHEMAS:
            mark = "" if schema in present else " (missing)"
            own = [t for t in tables if t["table_schema"] == schema]
            views = sum(1 for t in own if t["table_type"] == "VIEW")
            print(f"  schema {schema}{mark}: {len(own) - views} tables, {views} views")
            for table in own:
                name = table["table_name"]
                # a name from the catalog, not from us: quoted, whatever it holds
                quoted = '"' + name.replace('"', '""') + '"'
                rows = warehouse.scalar(f"SELECT COUNT(*) FROM {schema}.{quoted}")
                kind = " (view)" if table["table_type"] == "VIEW" else ""
                print(f"    {schema}.{name + kind:<47} {rows:>12,} rows")
    lake = Lake.from_connection()
    prefixes = sorted({obj.key.split("/", 1)[0] for obj in lake.list()})
    print(f"Lake: {lake.description} (top-level: {', '.join(prefixes) or 'empty'})")
    return 0


def rate(month: str, methodology: str, overrides: list[str], against: str | None, out: Path) -> int:
    """What-if: the month under ``methodology`` compared with the published rating, written to ``out``."""
    from gospublic.rating.steps import what_if_folder
    from transforms.methodology import MethodologyError

    try:
        outcome = what_if_folder(month, methodology, overrides, against, out)
    except MethodologyError as exc:
        print(f"rate: {exc}", file=sys.stderr)
        return 2
    print("\n".join(outcome.headline))
    for line in outcome.degeneracies:  # the draft's degeneracy report
        print(f"Вырожденность: {line}")
    print(f"written {out / 'comparison.html'} and {out / 'comparison.xlsx'} (nothing published)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gospublic.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run-dag", help="run a DAG once with airflow dags test")
    run.add_argument("dag_id")
    run.add_argument("--date", required=True, help="logical date, YYYY-MM-DD")
    run.add_argument("--conf", help="DAG run conf as JSON")
    run.add_argument("--log-dir", type=Path, default=Path("var/logs"))
    commands.add_parser("summary", help="where the results are")
    commands.add_parser("migrate", help="apply pending warehouse migrations")
    health_command = commands.add_parser(
        "health", help="operational health: VK days and pages, exports, quarantine (ops_check's thresholds)"
    )
    as_of = health_command.add_mutually_exclusive_group()
    as_of.add_argument(
        "--today",
        type=date.fromisoformat,
        help="judge as of this date, YYYY-MM-DD (default: today in Moscow)",
    )
    as_of.add_argument(
        "--month",
        type=month_argument,
        help="judge a past month as of the day after it, YYYY-MM (make demo's month)",
    )
    health_command.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when a threshold is crossed (the report still flags it)",
    )
    commands.add_parser(
        "data-dictionary", help="write docs/data-dictionary.md from config/mart_contract.yaml"
    )
    rating = commands.add_parser(
        "rating-summary", help="top and bottom five of each group of a month's rating"
    )
    rating.add_argument("--month", required=True, type=month_argument, help="YYYY-MM")
    rating.add_argument(
        "--methodology", help="methodology id (default: the first of GOSPUBLIC_RATING_METHODOLOGIES)"
    )
    what_if = commands.add_parser(
        "rate",
        help="what-if: rate a month under a methodology (a preset or a draft YAML) without publishing, "
        "compared with the published rating (comparison.html, comparison.xlsx)",
    )
    what_if.add_argument("--month", required=True, type=month_argument, help="YYYY-MM")
    what_if.add_argument("--methodology", required=True, help="a preset id or a methodology YAML file")
    what_if.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change one field, e.g. on_time.weight=25, groups.volume.high=120, zones.green=85 (repeatable)",
    )
    what_if.add_argument(
        "--against",
        help="compare with the published rating of this methodology id (default: the same id), "
        "or with a methodology file rated now",
    )
    what_if.add_argument(
        "--out", required=True, type=Path, help="folder for comparison.html and comparison.xlsx"
    )
    snapshot = commands.add_parser(
        "schema-snapshot",
        help="write sql/schema.<engine>.sql (the DDL after all migrations); --check only compares",
    )
    snapshot.add_argument("--check", action="store_true", help="exit 1 with a diff when a snapshot is stale")
    snapshot.add_argument("--engine", choices=("duckdb", "postgres"), action="append", help="default: both")
    snapshot.add_argument(
        "--pg-url",
        help="PostgreSQL server for a throw-away database (default: postgres@127.0.0.1:5432)",
    )
    snapshot.add_argument("--sql-dir", type=Path, help="the sql/ folder (default: the project's)")
    bi_export = commands.add_parser(
        "bi-export",
        help="zip the BI starter for a BI tool: superset (config/bi/superset → an importable ZIP)",
    )
    bi_export.add_argument("tool", choices=("superset",))
    bi_export.add_argument("out", type=Path, help="the ZIP to write, e.g. var/bi/gospublic-superset.zip")
    sidecars = commands.add_parser(
        "vk-sidecars",
        help="write the missing Parquet sidecars of typed VK answers for the lake's days (idempotent)",
    )
    sidecars.add_argument("--from", dest="first", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    sidecars.add_argument("--to", dest="last", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    sidecars.add_argument(
        "--prune-stale",
        action="store_true",
        help="then delete the days' sidecars of a retired version (another column spec); raw files stay",
    )
    sidecars.add_argument(
        "--dry-run", action="store_true", help="change nothing: list what would be written and deleted"
    )
    args = parser.parse_args(argv)
    commands_run: dict[str, Callable[[], int]] = {
        "schema-snapshot": lambda: schema_snapshot(args),
        "run-dag": lambda: run_dag(args.dag_id, args.date, args.log_dir, args.conf),
        "migrate": migrate,
        "rating-summary": lambda: rating_summary(args.month, args.methodology),
        "rate": lambda: rate(args.month, args.methodology, args.overrides, args.against, args.out),
        "data-dictionary": data_dictionary,
        "health": lambda: health(args.today or _day_after(args.month), fail=not args.exit_zero),
        "bi-export": lambda: bi_export_superset(args.out),
        "vk-sidecars": lambda: vk_sidecars(
            args.first, args.last, prune=args.prune_stale, dry_run=args.dry_run
        ),
    }
    return commands_run.get(args.command, summary)()


def _day_after(month: str | None) -> date | None:
    """The first day after ``month`` (YYYY-MM): the day a finished month is judged on."""
    if month is None:
        return None
    return next_month(parse_month(month))


def health(today: date | None = None, fail: bool = True) -> int:
    """Print the health views as ops_check judges them; exit 1 when a threshold is crossed (``fail``)."""
    from gospublic.infra.warehouse import Warehouse
    from gospublic.ops import health as ops_health
    from gospublic.ops import report, steps, thresholds

    limits = thresholds.from_environment()
    today = today or steps.today_moscow()
    with Warehouse.from_connection() as warehouse:
        state = ops_health.read(warehouse, today)
    found = ops_health.findings(state, limits)
    print(report.render(state, limits, found))
    return 1 if found and fail else 0


def schema_snapshot(args: argparse.Namespace) -> int:
    from gospublic.infra import schema_snapshot as snapshots

    engines = tuple(args.engine) if args.engine else snapshots.ENGINES
    return snapshots.run(args.check, engines, args.pg_url, args.sql_dir)


def rating_summary(month: str, methodology: str | None) -> int:
    from gospublic.infra import settings
    from gospublic.rating.steps import summary_lines

    print("\n".join(summary_lines(month, methodology or settings.rating_methodologies()[0])))
    return 0


def bi_export_superset(out: Path) -> int:
    """Zip config/bi/superset (Superset's dashboard export) for Superset's import; refuse a bundle
    with a broken reference or a real password (docs/bi.md, "Starter dashboards")."""
    from gospublic.infra.bi_starter import write_superset_zip

    try:
        names = write_superset_zip(out)
    except ValueError as refused:
        print(refused, file=sys.stderr)
        return 1
    print(f"written {out} ({len(names)} files): import it in Superset (Dashboards → Import dashboard)")
    return 0


def vk_sidecars(first: date, last: date, *, prune: bool = False, dry_run: bool = False) -> int:
    """Write the sidecars the days ``first``..``last`` of the lake of ``gospublic_lake`` lack; with
    ``prune``, then delete those days' sidecars of a retired version; ``dry_run`` changes nothing."""
    from datetime import timedelta

    from gospublic.infra.lake import Lake
    from gospublic.vk.backfill import backfill_sidecars, prune_stale_sidecars

    if last < first:
        print(f"vk-sidecars: --to {last} is before --from {first}", file=sys.stderr)
        return 2
    lake = Lake.from_connection()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    done = backfill_sidecars(lake, days, dry_run=dry_run)
    written = (
        f"{len(done.missing)} sidecars to write (dry run)" if dry_run else f"{done.written} sidecars written"
    )
    print(
        f"{lake.description}, VK days {first}..{last}: {len(done.days)} with a manifest, "
        f"{written}, {done.current} already current, "
        f"{len(done.refused)} raw files refused by the typed read (their loads read and refuse them)"
        + (f"; no manifest for {', '.join(done.without_manifest)}" if done.without_manifest else "")
    )
    for key in done.refused:
        print(f"  refused: {key}")
    for key in done.missing:
        print(f"  to write: {key}")
    if prune:
        pruned = prune_stale_sidecars(lake, days, dry_run=dry_run)
        verb = "to delete (dry run)" if dry_run else "deleted"
        print(
            f"stale sidecars (a retired version) {verb}: {len(pruned.stale)}; current kept: {pruned.current}"
        )
        for key in pruned.stale:
            print(f"  {'stale' if dry_run else 'deleted'}: {key}")
    return 0


def data_dictionary() -> int:
    from gospublic.infra.mart_contract import write_dictionary

    print(f"written {write_dictionary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
