"""``python -m sandbox demo``: run the project's DAGs over a generated month, every network served
by its sandbox.

The one sandbox module that drives Airflow (``make demo`` calls it; production code never imports
it). In one process it starts the sandboxes of the networks whose worlds the data folder holds
(VK always; OK, MAX and Telegram when ``DIR/ok/``, ``DIR/max/``, ``DIR/tg/`` exist and their DAG
is in the DAG folder), points each network's Airflow connection and the registry folder at them,
then runs with ``dag.test()`` (each task's log written where Airflow's UI reads it, each run's
real start recorded: ``run_once``):

1. ``registry`` — the generated registry (with the MAX world's channels, network ``max``) into
   ``core.dim_org`` / ``core.dim_page``;
2. for every day of the month, every sandbox's clock at the day's run time (23:30 Moscow):
   ``vk_pages`` (the first day re-reads a week of posts; later days re-read ``--window-days``, 1
   by default: each day's posts are read again the next day, with grown metrics), then
   ``ok_pages``, ``max_pages`` and ``tg_pages``;
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
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from transforms.months import month_argument, parse_month

MOSCOW = ZoneInfo("Europe/Moscow")
DEMO_TOKENS = ["usr_demo1", "usr_demo2", "usr_demo3", "svc_demo:20"]
# OK: one application the sandbox knows, at its ceiling of 10 requests a second, and a user token
OK_APP_KEY, OK_APP_SECRET, OK_APP_RPS = "CBADEMOOKAPP", "00112233445566778899aabbccddeeff", 10
OK_TOKEN = "tkn_demo_access_token"
# MAX: one bot, at the 30 requests a second MAX allows a bot
MAX_TOKEN, MAX_BOT_RPS = "max_demo_bot_token_0123456789abcdef", 30
# Telegram: an application (api_id, api_hash) and the reading account's session
TG_API_ID, TG_API_HASH = 611335, "5e9c7a1b2d3f40718293a4b5c6d7e8f9"
# the day's extraction DAGs in the order the demo runs them, after vk_pages
NETWORK_DAGS = ("ok_pages", "max_pages", "tg_pages")
# gospublic.telegram's reader finds the sandbox installed in this process through the connection
TG_BOUNDARY = "sandbox.tg_sandbox:reader_options"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``demo`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="run the DAGs over a generated month (VK, OK, MAX and Telegram from their sandboxes)"
    )
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


def ok_connection_json(base_url: str) -> str:
    """The ``gospublic_ok`` connection: the demo application, signed with its secret key."""
    extra = {"application_secret_key": OK_APP_SECRET, "rps": OK_APP_RPS}
    return json.dumps(
        {"conn_type": "http", "host": base_url, "login": OK_APP_KEY, "password": OK_TOKEN, "extra": extra}
    )


def max_connection_json(base_url: str) -> str:
    """The ``gospublic_max`` connection: the demo bot's token."""
    return json.dumps(
        {"conn_type": "http", "host": base_url, "password": MAX_TOKEN, "extra": {"rps": MAX_BOT_RPS}}
    )


def tg_session() -> str:
    """The StringSession of the demo's reading account (a data centre and a fixed auth key)."""
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes((7 + i) % 256 for i in range(256)))
    return str(session.save())


def tg_connection_json(session: str) -> str:
    """The ``gospublic_telegram_mtproto`` connection: the application, the account's session and
    the sandbox as the reader's boundary (``extra.boundary``: development only)."""
    return json.dumps(
        {
            "conn_type": "generic",
            "login": str(TG_API_ID),
            "password": TG_API_HASH,
            "extra": {"session": session, "boundary": TG_BOUNDARY},
        }
    )


@dataclass
class Sandbox:
    """One network's sandbox as the demo drives it: its clock, and the requests it has answered."""

    network: str  # as the run lines name it: VK, OK, MAX, Telegram
    dag_id: str  # the DAG that calls it
    set_clock: Callable[[datetime], object]
    requests: Callable[[], int]


@dataclass
class Sandboxes:
    """The running sandboxes of a demo, by the DAG that calls each."""

    by_dag: dict[str, Sandbox] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # network DAG → why it is not run

    def set_clock(self, when: datetime) -> None:
        for sandbox in self.by_dag.values():
            sandbox.set_clock(when)


def has_world(data: Path, network: str) -> bool:
    """Whether the data folder holds ``network``'s world (``DIR/<network>/manifest.json``)."""
    return (data / network / "manifest.json").is_file()


def registry_folder(data: Path, into: Path) -> Path:
    """The registry the demo loads: the data set's, with the MAX world's channels (network ``max``)
    appended to its pages when the folder holds that world. Written into ``into``; the data
    set's own files are left as they are."""
    shutil.copytree(data / "registry", into, dirs_exist_ok=True)
    extra = data / "max" / "registry" / "pages.csv"
    if has_world(data, "max") and extra.is_file():
        with open(into / "pages.csv", encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        with open(extra, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            if next(reader) != header:
                raise ValueError(f"{extra}: its columns are not those of {data / 'registry' / 'pages.csv'}")
            rows = list(reader)
        with open(into / "pages.csv", "a", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return into


@contextmanager
def sandboxes(data: Path, dag_ids: set[str]) -> Iterator[Sandboxes]:
    """Start the sandbox of every network whose world ``data`` holds and whose DAG is among
    ``dag_ids`` (VK's always), set the Airflow connections the DAGs read (environment variables of
    this process: ``dag.test()`` runs the tasks here) and the registry folder; on exit stop them
    and put the environment back as it was."""
    from sandbox.vk_server import serve

    found = Sandboxes()
    with ExitStack() as stack:
        vk = stack.enter_context(serve(data, port=0, tokens=DEMO_TOKENS))
        _setenv(stack, "AIRFLOW_CONN_GOSPUBLIC_VK", connection_json(vk.base_url))
        found.by_dag["vk_pages"] = Sandbox(
            "VK", "vk_pages", vk.set_clock, lambda: vk.stats()["total_requests"]
        )
        for dag_id in NETWORK_DAGS:
            network, start = STARTERS[dag_id]
            if dag_id not in dag_ids:
                found.left_out[dag_id] = f"no DAG {dag_id} in the DAG folder"
            elif not has_world(data, network):
                found.left_out[dag_id] = (
                    f"no {network} world in {data} (python -m sandbox generate-{network} --data {data})"
                )
            else:
                found.by_dag[dag_id] = start(stack, data)
        registry = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gospublic-demo-registry-")))
        _setenv(stack, "GOSPUBLIC_REGISTRY_DIR", str(registry_folder(data, registry)))
        yield found


def _setenv(stack: ExitStack, name: str, value: str) -> None:
    """Set an environment variable until ``stack`` closes."""
    before = os.environ.get(name)

    def restore() -> None:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before

    os.environ[name] = value
    stack.callback(restore)


def _start_ok(stack: ExitStack, data: Path) -> Sandbox:
    from sandbox.ok_server import serve

    server = stack.enter_context(
        serve(data, apps=[f"{OK_APP_KEY}:{OK_APP_SECRET}:{OK_APP_RPS}"], tokens=[OK_TOKEN])
    )
    _setenv(stack, "AIRFLOW_CONN_GOSPUBLIC_OK", ok_connection_json(server.base_url))
    return Sandbox("OK", "ok_pages", server.set_clock, lambda: server.stats()["total_requests"])


def _start_max(stack: ExitStack, data: Path) -> Sandbox:
    from sandbox.max_server import serve

    server = stack.enter_context(serve(data, tokens=[f"{MAX_TOKEN}:{MAX_BOT_RPS}"]))
    _setenv(stack, "AIRFLOW_CONN_GOSPUBLIC_MAX", max_connection_json(server.base_url))
    return Sandbox("MAX", "max_pages", server.set_clock, lambda: server.stats()["total_requests"])


def _start_tg(stack: ExitStack, data: Path) -> Sandbox:
    """The Telegram sandbox stands where Telethon's sender stands, in this process (``dag.test()``
    runs the tasks here): installed for the reader, no server."""
    from sandbox.tg_sandbox import TelegramSandbox, install

    session = tg_session()
    sandbox = TelegramSandbox.from_data(data, api_id=TG_API_ID, api_hash=TG_API_HASH, sessions=[session])
    install(sandbox)
    stack.callback(install, None)
    _setenv(stack, "AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", tg_connection_json(session))
    return Sandbox("Telegram", "tg_pages", sandbox.set_clock, lambda: sum(sandbox.requests.values()))


# network DAG → the network's folder in the data set, and what starts its sandbox
STARTERS: dict[str, tuple[str, Callable[[ExitStack, Path], Sandbox]]] = {
    "ok_pages": ("ok", _start_ok),
    "max_pages": ("max", _start_max),
    "tg_pages": ("tg", _start_tg),
}


@dataclass(frozen=True)
class Step:
    """One run of the demo's plan."""

    dag_id: str
    when: datetime  # the run's logical date (Moscow time)
    conf: dict[str, Any] | None = None
    files: tuple[Path, ...] = ()  # export files dropped into the lake's incoming/ first

    def label(self, month: str) -> str:
        return f"{self.dag_id} {month if self.conf and 'month' in self.conf else self.when.date()}"


def month_days(month: str, limit: int | None = None) -> list[date]:
    """The days of ``month`` (YYYY-MM), only the first ``limit`` when given."""
    first = parse_month(month)
    last = calendar.monthrange(first.year, first.month)[1]
    return [date(first.year, first.month, d) for d in range(1, min(last, limit or last) + 1)]


def evening(dag_id: str, day: date) -> datetime:
    """23:30 Moscow time of ``day``: when vk_pages runs, and the network DAGs unless their
    schedules say otherwise (``scheduled``)."""
    return datetime.combine(day, dtime(23, 30), MOSCOW)


def scheduled(dag: Any, day: date) -> datetime:
    """The first moment of ``day`` (Moscow) the DAG's schedule runs it, as its logical date; 23:30
    when the schedule names no time of that day (no cron)."""
    import pendulum
    from airflow.timetables.base import TimeRestriction

    start = pendulum.instance(datetime.combine(day, dtime(0, 0), MOSCOW))
    next_info = getattr(dag.timetable, "next_dagrun_info", None)
    if next_info is not None:
        restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
        info = next_info(last_automated_data_interval=None, restriction=restriction)
        if info is not None and info.logical_date.astimezone(MOSCOW).date() == day:
            moment: datetime = info.logical_date.astimezone(MOSCOW)
            return moment
    return evening(dag.dag_id, day)


def plan(
    month: str,
    days: list[date],
    exports: dict[date, list[Path]],
    network_dags: tuple[str, ...] = (),
    *,
    window_days: int = 1,
    whole_month: bool = True,
    at: Callable[[str, date], datetime] = evening,
) -> list[Step]:
    """The demo's runs in order: the registry, then each day's vk_pages and ``network_dags`` at
    their time of the day (``at``), and the day's incident exports; the month-end exports
    (``whole_month``), warehouse_build and monthly_rating. ``exports`` is not changed."""
    pending = {day: list(files) for day, files in exports.items()}
    steps = [Step("registry", datetime.combine(days[0], dtime(0, 30), MOSCOW))]
    for n, day in enumerate(days):
        steps.append(Step("vk_pages", at("vk_pages", day), {"window_days": 7 if n == 0 else window_days}))
        steps += [Step(dag_id, at(dag_id, day)) for dag_id in network_dags]
        if day in pending:
            steps.append(Step("incidents_ingest", _ingest_time(day), None, tuple(pending.pop(day))))
    for day in sorted(d for d in pending if d > days[-1] and whole_month):
        steps.append(Step("incidents_ingest", _ingest_time(day), None, tuple(pending.pop(day))))
    built = datetime.combine(days[-1], dtime(23, 59), MOSCOW)
    steps += [Step(dag_id, built, {"month": month}) for dag_id in ("warehouse_build", "monthly_rating")]
    return steps


def run(args: argparse.Namespace) -> int:
    days = month_days(args.month, args.days)
    # dag.test() fails a successful run of a DAG with a deadline (apache/airflow#73428)
    os.environ["GOSPUBLIC_DEADLINE_ALERTS"] = "off"
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "dags"))
    with sandboxes(args.data, set(bag.dag_ids)) as running:
        for dag_id, why in running.left_out.items():
            print(f"demo: {dag_id} left out: {why}", flush=True)
        network_dags = tuple(d for d in NETWORK_DAGS if d in running.by_dag)
        # the whole plan first, so each line can say how far the demo is ("12/37")
        exports = exports_by_day(args.data)
        steps = plan(
            args.month,
            days,
            exports,
            network_dags,
            window_days=args.window_days,
            whole_month=args.days is None,
            at=lambda dag_id, day: scheduled(bag.get_dag(dag_id), day),
        )
        results = []
        for n, step in enumerate(steps, start=1):
            _drop(list(step.files))
            label = f"{n}/{len(steps)} {step.label(args.month)}"
            results.append(_run(bag.get_dag(step.dag_id), step, running, label))
        requests = ", ".join(f"{s.network} {s.requests()}" for s in running.by_dag.values())
    failures = sum(results)
    print(f"demo: requests answered by the sandboxes: {requests}")
    _report_truth(args.data, args.month, days[-1] if args.days else None)
    print(f"demo: {len(results) - failures} of {len(results)} runs succeeded")
    return 1 if failures else 0


def _report_truth(data: Path, month: str, last: date | None) -> None:
    """Each network's subscribers and posts per page-day in the warehouse beside the truth
    (``sandbox.demo_truth``); a comparison that cannot be made is said, and fails nothing."""
    from sandbox.demo_truth import report

    try:
        lines = report(data, month, last)
    except Exception as exc:  # the report is the demo's last word, not one of its runs
        lines = [f"demo: truth not compared: {type(exc).__name__}: {exc}"]
    for line in lines:
        print(line, flush=True)


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


def _real_times(dag_run: Any, started: datetime) -> None:
    """``dag.test()`` sets a run's start to its logical date (a month-old run then lasts a month in
    the UI); record when the run really started instead."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_run.dag_id, DagRun.run_id == dag_run.run_id).update(
            {DagRun.start_date: started}, synchronize_session=False
        )


def run_once(dag: Any, logical_date: datetime, conf: dict[str, Any] | None = None) -> Any:
    """One ``dag.test()`` run as the demo makes it: its tasks' logs written where Airflow's UI reads
    them (``dag.test()`` writes none), and the time the run really started recorded."""
    from gospublic.orchestration.dag_test_logs import task_log_files

    started_at = datetime.now(UTC)
    with task_log_files():
        dag_run = dag.test(logical_date=logical_date, run_conf=conf)
    _real_times(dag_run, started_at)
    return dag_run


def _run(dag: Any, step: Step, running: Sandboxes, label: str) -> int:
    """Run one step with every sandbox's clock at its time; the line names the requests of the
    sandbox the DAG calls."""
    running.set_clock(step.when)
    called = running.by_dag.get(step.dag_id)
    before = called.requests() if called else 0
    started = time.monotonic()
    dag_run = run_once(dag, step.when.astimezone(UTC), step.conf)
    took = f"{dag_run.state} in {time.monotonic() - started:.1f} s"
    if called:
        took += f" ({called.requests() - before} {called.network} requests)"
    print(f"{label}: {took}", flush=True)
    return 0 if dag_run.state == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
