"""``python -m sandbox demo``: run the project's DAGs over a generated month, VK served by the sandbox.

The one sandbox module that drives Airflow (``make demo`` calls it; production code never imports
it). In one process it starts the VK sandbox on a free port, points the ``gospublic_vk``
connection and the registry folder at the generated data, then runs with ``dag.test()`` (each
task's log written where Airflow's UI reads it, each run's real start recorded: ``run_once``):

1. ``registry`` — the generated registry into ``core.dim_org`` / ``core.dim_page``;
2. ``vk_pages`` for every day of the month, the sandbox clock at each day's run time (23:30
   Moscow). The first day re-reads a week of posts; later days re-read ``--window-days`` (1 by
   default: each day's posts are read again the next day, with grown metrics);
3. ``incidents_ingest`` on each export day: that day's IM and ПОС exports are dropped into the
   lake's ``incoming/`` first, as ЦУР staff would (the month-end exports on the 1st of the next
   month);
4. ``warehouse_build`` for the month: the marts of schema ``mart``;
5. ``monthly_rating`` for the month: snapshots and the published rating in the lake.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from transforms.months import month_argument, parse_month

MOSCOW = ZoneInfo("Europe/Moscow")
DEMO_TOKENS = ["usr_demo1", "usr_demo2", "usr_demo3", "svc_demo:20"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``demo`` sub-command."""
    parser = subparsers.add_parser("demo", help="run registry and vk_pages over a generated month")
    parser.add_argument("--data", required=True, type=Path, help="folder written by `sandbox generate`")
    parser.add_argument("--month", required=True, type=month_argument, help="YYYY-MM")
    parser.add_argument("--days", type=int, help="only the first N days of the month")
    parser.add_argument("--window-days", type=int, default=1, help="re-read window after the first day")
    parser.set_defaults(handler=run)
    return parser


def connection_json(base_url: str) -> str:
    """The ``gospublic_vk`` connection for the demo tokens (user tokens batch, the service one not)."""
    tokens = []
    for spec in DEMO_TOKENS:
        name, _, rps = spec.partition(":")
        kind = "user" if name.startswith("usr_") else "service"
        tokens.append({"kind": kind, "token": name, **({"rps": int(rps)} if rps else {})})
    return json.dumps({"conn_type": "http", "host": base_url, "extra": {"tokens": tokens}})


def run(args: argparse.Namespace) -> int:
    from sandbox.vk_server import serve

    first = parse_month(args.month)
    year, month = first.year, first.month
    last = calendar.monthrange(year, month)[1]
    days = [date(year, month, d) for d in range(1, min(last, args.days or last) + 1)]
    with serve(args.data, port=0, tokens=DEMO_TOKENS) as server:
        os.environ["AIRFLOW_CONN_GOSPUBLIC_VK"] = connection_json(server.base_url)
        os.environ["GOSPUBLIC_REGISTRY_DIR"] = str(args.data / "registry")
        # dag.test() fails a successful run of a DAG with a deadline (apache/airflow#73428)
        os.environ["GOSPUBLIC_DEADLINE_ALERTS"] = "off"
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "dags"))
        exports = exports_by_day(args.data)
        first = datetime.combine(days[0], dtime(0, 30), MOSCOW)
        # the whole plan first, so each line can say how far the demo is ("12/37")
        plan: list[tuple[str, datetime, dict | None, list[Path]]] = [("registry", first, None, [])]
        for n, day in enumerate(days):
            when = datetime.combine(day, dtime(23, 30), MOSCOW)
            plan.append(("vk_pages", when, {"window_days": 7 if n == 0 else args.window_days}, []))
            if day in exports:
                plan.append(("incidents_ingest", _ingest_time(day), None, exports.pop(day)))
        for day in sorted(d for d in exports if d > days[-1] and args.days is None):
            plan.append(("incidents_ingest", _ingest_time(day), None, exports.pop(day)))
        built = datetime.combine(days[-1], dtime(23, 59), MOSCOW)
        for dag_id in ("warehouse_build", "monthly_rating"):
            plan.append((dag_id, built, {"month": args.month}, []))
        results = []
        for n, (dag_id, when, conf, files) in enumerate(plan, start=1):
            _drop(files)
            label = f"{dag_id} {args.month if conf and 'month' in conf else when.date()}"
            count = f"{n}/{len(plan)}"
            results.append(_run(bag.get_dag(dag_id), when, conf, server, f"{count} {label}"))
    failures = sum(results)
    print(f"demo: {len(results) - failures} of {len(results)} runs succeeded")
    return 1 if failures else 0


def exports_by_day(data: Path) -> dict[date, list[Path]]:
    """The generated export files by the local day they were exported (truth/exports.csv)."""
    by_day: dict[date, list[Path]] = {}
    with open(data / "truth" / "exports.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day = date.fromisoformat(row["exported_at_local"][:10])
            by_day.setdefault(day, []).append(data / row["file"])
    return by_day


def _ingest_time(day: date) -> datetime:
    """When the demo's incidents_ingest picks up a day's exports: 11:00 Moscow time."""
    return datetime.combine(day, dtime(11, 0), MOSCOW)


def _drop(files: list[Path]) -> None:
    """Drop export files into the lake's incoming/, where ``incidents_ingest`` finds them."""
    if not files:
        return
    from gospublic.infra.lake import Lake

    lake = Lake.from_connection()
    for path in files:
        lake.put_file(f"incoming/{path.parent.name}/{path.name}", path)


def _real_times(dag_run, started: datetime) -> None:
    """``dag.test()`` sets a run's start to its logical date (a month-old run then lasts a month in
    the UI); record when the run really started instead."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_run.dag_id, DagRun.run_id == dag_run.run_id).update(
            {DagRun.start_date: started}, synchronize_session=False
        )


def run_once(dag, logical_date: datetime, conf: dict | None = None):
    """One ``dag.test()`` run as the demo makes it: its tasks' logs written where Airflow's UI reads
    them (``dag.test()`` writes none), and the time the run really started recorded."""
    from gospublic.orchestration.dag_test_logs import task_log_files

    started_at = datetime.now(UTC)
    with task_log_files():
        dag_run = dag.test(logical_date=logical_date, run_conf=conf)
    _real_times(dag_run, started_at)
    return dag_run


def _run(dag, when: datetime, conf: dict | None, server, label: str) -> int:
    server.set_clock(when)
    started = time.monotonic()
    calls_before = server.stats()["total_requests"]
    dag_run = run_once(dag, when.astimezone(UTC), conf)
    requests = server.stats()["total_requests"] - calls_before
    print(
        f"{label}: {dag_run.state} in {time.monotonic() - started:.1f} s ({requests} VK requests)", flush=True
    )
    return 0 if dag_run.state == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
