"""Runs test-prod's month: ``python -m tests.prod.driver {prod,embedded} --out result.json``.

One plan (:func:`plan`, in the order and at the clocks of ``make demo``: ``sandbox/demo.py``; every
VK day followed by ``ok_pages``, ``max_pages`` and ``tg_pages`` at their schedules' times of that
day) run two ways, each in a process of its own configured by its environment:

* ``prod`` — through the real scheduler of the running topology (tests/prod/topology.py): the
  compose init job's pools, the DAGs unpaused once parsed, each run triggered as ``airflow dags
  trigger`` does (``trigger_dag``) and waited for; the hostnames of ``vk_pages``' mapped
  ``extract`` tasks recorded;
* ``embedded`` — the embedded setup (SQLite metadata, DuckDB warehouse, local-folder lake) with
  ``dag.test()`` as ``make demo``, the sandboxes in-process (OK's, MAX's and Telegram's started by
  the demo's own starters): the reference the warehouse is compared with.

Both first write the registry the ``registry`` DAG loads (the sample's, with the MAX world's
channels: ``sandbox.demo.registry_folder``) to ``GOSPUBLIC_REGISTRY_DIR``. Before each run every
sandbox's clock is set to the run's time (prod: the VK, OK and MAX servers' ``/_sandbox/clock``,
Telegram's clock file), and before each ``incidents_ingest`` the day's exports are dropped into
the lake's ``incoming/`` (as ``make demo``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.demo import NETWORK_DAGS, evening

MOSCOW = ZoneInfo("Europe/Moscow")
MONTH = "2025-11"
VK_DAYS = (date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3))
# an export day inside the month, and the month-end exports of the 1st (the publication gate wants them)
EXPORT_DAYS = (date(2025, 11, 8), date(2025, 12, 1))
DAG_IDS = (
    "warehouse_migrate",
    "registry",
    "vk_pages",
    *NETWORK_DAGS,  # ok_pages, max_pages, tg_pages
    "incidents_ingest",
    "warehouse_build",
    "monthly_rating",
)
RUN_TIMEOUT = 600


@dataclass
class Step:
    dag_id: str
    when: datetime
    conf: dict[str, Any] = field(default_factory=dict)
    exports_of: str | None = None  # ISO day whose export files are dropped into incoming/ first

    @property
    def label(self) -> str:
        day = self.conf.get("month") or self.exports_of or self.when.astimezone(MOSCOW).date().isoformat()
        return f"{self.dag_id} {day}"


At = Callable[[str, date], datetime]  # (DAG id, Moscow day) → the run's logical date


def plan(at: At = evening) -> list[Step]:
    """warehouse_migrate, registry, the VK days (a week's window first, then 1 day) each followed
    by the other networks' DAGs, two export days, warehouse_build and monthly_rating of the month —
    ``make demo``'s order. ``at`` gives a day's run its time (the modes pass :func:`scheduled_at`,
    the DAG's cron as the demo takes it; the default, 23:30, gives the same days and labels)."""
    first = VK_DAYS[0]
    steps = [
        Step("warehouse_migrate", datetime.combine(first, dtime(0, 10), MOSCOW)),
        Step("registry", datetime.combine(first, dtime(0, 30), MOSCOW)),
    ]
    for n, day in enumerate(VK_DAYS):
        steps.append(Step("vk_pages", at("vk_pages", day), {"window_days": 7 if n == 0 else 1}))
        steps += [Step(dag_id, at(dag_id, day)) for dag_id in NETWORK_DAGS]
    for day in EXPORT_DAYS:
        steps.append(
            Step("incidents_ingest", datetime.combine(day, dtime(11, 0), MOSCOW), exports_of=day.isoformat())
        )
    built = datetime.combine(EXPORT_DAYS[-1], dtime(23, 59), MOSCOW)
    steps += [Step(dag_id, built, {"month": MONTH}) for dag_id in ("warehouse_build", "monthly_rating")]
    return steps


def scheduled_at(dags_folder: str) -> At:
    """Each DAG's run time of a day from its schedule, as ``make demo`` takes it
    (``sandbox.demo.scheduled``), the DAGs parsed once from ``dags_folder``."""
    from airflow.dag_processing.dagbag import DagBag

    from sandbox.demo import scheduled

    bag = DagBag(dag_folder=dags_folder)
    return lambda dag_id, day: scheduled(bag.get_dag(dag_id), day)


def write_registry(sample: Path) -> None:
    """The registry the ``registry`` DAG loads, as ``make demo`` writes it: the sample's, with the
    MAX world's channels, into ``GOSPUBLIC_REGISTRY_DIR`` (a folder of this run)."""
    from sandbox.demo import registry_folder

    target = Path(os.environ["GOSPUBLIC_REGISTRY_DIR"])
    if target.exists():
        raise FileExistsError(f"{target}: the registry is written once per run")
    target.mkdir(parents=True)
    registry_folder(sample, target)


@dataclass
class Result:
    dag_id: str
    label: str
    run_id: str
    state: str
    seconds: float
    mapped_extract_hosts: dict[str, int] = field(default_factory=dict)  # hostname → mapped tasks
    failed_tasks: list[str] = field(default_factory=list)


def exports_by_day(sample: Path) -> dict[str, list[Path]]:
    import csv

    by_day: dict[str, list[Path]] = {}
    with open(sample / "truth" / "exports.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_day.setdefault(row["exported_at_local"][:10], []).append(sample / row["file"])
    return by_day


def drop_exports(files: list[Path]) -> None:
    from gospublic.infra.lake import Lake

    lake = Lake.from_connection()
    for path in files:
        lake.put_file(f"incoming/{path.parent.name}/{path.name}", path)


# -- prod: the real scheduler -------------------------------------------------------------------


# the connections whose host is a sandbox server with a clock at /_sandbox/clock
SANDBOX_SERVERS = ("AIRFLOW_CONN_GOSPUBLIC_VK", "AIRFLOW_CONN_GOSPUBLIC_OK", "AIRFLOW_CONN_GOSPUBLIC_MAX")


def set_clock(base_url: str, when: datetime) -> None:
    import requests

    response = requests.post(
        f"{base_url.rstrip('/')}/_sandbox/clock", json={"now": when.isoformat()}, timeout=10
    )
    response.raise_for_status()


def set_clocks(when: datetime) -> None:
    """Every sandbox's clock at ``when``: the servers' (VK, OK, MAX) and Telegram's clock file."""
    from tests.prod.topology import write_tg_clock

    for variable in SANDBOX_SERVERS:
        set_clock(json.loads(os.environ[variable])["host"], when)
    write_tg_clock(Path(os.environ["GOSPUBLIC_PROD_TG_CLOCK"]), when)


def apply_pools(pools: list[list[Any]]) -> None:
    from airflow.models.pool import Pool

    for name, slots, description in pools:
        Pool.create_or_update_pool(
            name=name, slots=int(slots), description=description, include_deferred=False
        )


def wait_for_dags(timeout: float = 300) -> None:
    """Until the dag-processor has serialized every DAG (fail at once on an import error)."""
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    while True:
        with create_session() as session:
            errors = session.scalars(select(ParseImportError)).all()
            if errors:
                raise RuntimeError(
                    "DAG import errors:\n" + "\n".join(f"{e.filename}: {e.stacktrace}" for e in errors)
                )
            serialized = set(session.scalars(select(SerializedDagModel.dag_id)).all())
            known = set(session.scalars(select(DagModel.dag_id).where(DagModel.dag_id.in_(DAG_IDS))).all())
        missing = set(DAG_IDS) - (serialized & known)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"DAGs not parsed after {timeout} s: {sorted(missing)}")
        time.sleep(2)


def unpause(dag_ids: tuple[str, ...]) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id.in_(dag_ids)).values(is_paused=False))


def trigger_and_wait(step: Step, index: int) -> Result:
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    run_id = f"test_prod__{index:02d}__{step.label.replace(' ', '_')}"
    started = time.monotonic()
    with create_session() as session:
        trigger_dag(
            step.dag_id,
            triggered_by=DagRunTriggeredByType.CLI,
            run_id=run_id,
            conf=step.conf or None,
            logical_date=step.when.astimezone(UTC),
            session=session,
        )
    while True:
        with create_session() as session:
            state = session.scalar(
                select(DagRun.state).where(DagRun.dag_id == step.dag_id, DagRun.run_id == run_id)
            )
        if state in ("success", "failed"):
            break
        if time.monotonic() - started > RUN_TIMEOUT:
            state = f"timeout ({state})"
            break
        time.sleep(1)
    seconds = time.monotonic() - started
    with create_session() as session:
        rows = session.execute(
            select(
                TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state, TaskInstance.hostname
            ).where(TaskInstance.dag_id == step.dag_id, TaskInstance.run_id == run_id)
        ).all()
    hosts: dict[str, int] = {}
    for task_id, map_index, _, hostname in rows:
        if task_id == "extract" and map_index >= 0:
            hosts[hostname or "?"] = hosts.get(hostname or "?", 0) + 1
    failed = [f"{t}[{m}] {s}" for t, m, s, _ in rows if s not in ("success", "skipped")]
    return Result(step.dag_id, step.label, run_id, str(state), round(seconds, 1), hosts, failed)


def failed_logs(result: Result, lines: int = 30) -> str:
    folder = Path(os.environ["AIRFLOW_HOME"]) / "logs" / f"dag_id={result.dag_id}" / f"run_id={result.run_id}"
    parts = []
    for log in sorted(folder.rglob("*.log")):
        text = log.read_text(errors="replace")
        if '"level":"error"' in text or "ERROR" in text or "Traceback" in text:
            parts.append(f"--- {log.relative_to(folder)}\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts) or f"(no task log with an error under {folder})"


def run_prod(args: argparse.Namespace) -> list[Result]:
    apply_pools(json.loads(args.pools))
    write_registry(args.sample)
    wait_for_dags()
    unpause(DAG_IDS)
    exports = exports_by_day(args.sample)
    results = []
    for index, step in enumerate(plan(scheduled_at(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]))):
        set_clocks(step.when)
        if step.exports_of:
            drop_exports(exports[step.exports_of])
        result = trigger_and_wait(step, index)
        print(
            f"{result.label}: {result.state} in {result.seconds} s {result.mapped_extract_hosts or ''}",
            flush=True,
        )
        results.append(result)
        if result.state != "success":
            print(failed_logs(result), flush=True)
            break
    return results


# -- embedded: dag.test, as make demo -----------------------------------------------------------


def run_embedded(args: argparse.Namespace) -> list[Result]:
    import subprocess
    from contextlib import ExitStack

    from airflow.dag_processing.dagbag import DagBag

    from sandbox.demo import STARTERS, scheduled
    from sandbox.vk_server import serve

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    write_registry(args.sample)
    exports = exports_by_day(args.sample)
    tokens = [t["token"] + (f":{t['rps']}" if "rps" in t else "") for t in json.loads(args.tokens)]
    results = []
    with ExitStack() as stack:
        server = stack.enter_context(serve(args.sample, port=0, tokens=tokens))
        os.environ["AIRFLOW_CONN_GOSPUBLIC_VK"] = json.dumps(
            {"conn_type": "http", "host": server.base_url, "extra": {"tokens": json.loads(args.tokens)}}
        )
        # OK, MAX and Telegram as make demo starts them, each setting its connection
        networks = [STARTERS[dag_id][1](stack, args.sample) for dag_id in NETWORK_DAGS]
        bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        for step in plan(lambda dag_id, day: scheduled(bag.get_dag(dag_id), day)):
            server.set_clock(step.when)
            for network in networks:
                network.set_clock(step.when)
            if step.exports_of:
                drop_exports(exports[step.exports_of])
            started = time.monotonic()
            dag_run = bag.get_dag(step.dag_id).test(
                logical_date=step.when.astimezone(UTC), run_conf=step.conf or None
            )
            result = Result(
                step.dag_id,
                step.label,
                dag_run.run_id,
                str(dag_run.state),
                round(time.monotonic() - started, 1),
            )
            print(f"{result.label}: {result.state} in {result.seconds} s", flush=True)
            results.append(result)
            if result.state != "success":
                break
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.prod.driver")
    parser.add_argument("mode", choices=("prod", "embedded"))
    parser.add_argument("--sample", type=Path, required=True, help="the generated sample region")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the runs")
    parser.add_argument("--pools", default="[]", help="prod: JSON [[name, slots, description], …]")
    parser.add_argument("--tokens", default="[]", help="embedded: the VK tokens as in the connection")
    args = parser.parse_args(argv)
    results = run_prod(args) if args.mode == "prod" else run_embedded(args)
    args.out.write_text(json.dumps([asdict(r) for r in results], indent=1))
    complete = len(results) == len(plan()) and all(r.state == "success" for r in results)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
