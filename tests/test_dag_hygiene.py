"""Every DAG imports cleanly and carries what operators rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from gospublic.orchestration.defaults import notify_failure

pytestmark = pytest.mark.airflow

PROJECT = Path(__file__).resolve().parents[1]
DAG_FILES = sorted(p for p in (PROJECT / "dags").glob("*.py") if not p.name.startswith("_"))
HEAVY_MODULES = (
    "pandas",
    "pyarrow",
    "duckdb",
    "great_expectations",
    "boto3",
    "vk_api",
    "psycopg",
    "openpyxl",
)


@pytest.fixture
def production_dagbag(airflow_home, monkeypatch: pytest.MonkeyPatch):
    """The DagBag as production parses it (tests elsewhere turn retries off)."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.delenv("GOSPUBLIC_TASK_RETRIES", raising=False)
    monkeypatch.delenv("GOSPUBLIC_DEADLINE_ALERTS", raising=False)  # the default: on
    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_dags_import_without_errors(production_dagbag) -> None:
    assert production_dagbag.import_errors == {}
    assert len(production_dagbag.dags) >= len(DAG_FILES)


def test_each_dag_has_owner_tags_and_docs(production_dagbag) -> None:
    for dag_id, dag in production_dagbag.dags.items():
        assert dag.tags and "gospublic" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md.strip()) > 80, dag_id
        for task in dag.tasks:
            assert task.owner == "gospublic", (dag_id, task.task_id)


def test_each_task_retries_with_backoff_and_alerts(production_dagbag) -> None:
    for dag_id, dag in production_dagbag.dags.items():
        for task in dag.tasks:
            where = (dag_id, task.task_id)
            assert task.retries >= 1, where
            assert task.retry_exponential_backoff, where
            assert task.retry_delay >= timedelta(seconds=30), where
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert notify_failure in callbacks, where


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_no_heavy_work_at_import(dag_file: Path) -> None:
    """Parsing a DAG file must not pull in data libraries (they belong inside tasks)."""
    code = (
        "import runpy, sys, json;"
        f"runpy.run_path({str(dag_file)!r});"
        f"print(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_failure_hook_writes_an_alert_without_details(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("GOSPUBLIC_ALERT_LOG", str(alerts))

    class TaskInstance:
        dag_id, task_id, run_id, try_number = "vk_pages", "extract", "manual__1", 3

    notify_failure({"ti": TaskInstance(), "exception": ValueError("token=vk1.a.SECRET")})
    alert = json.loads(alerts.read_text())
    assert (alert["dag_id"], alert["task_id"], alert["try_number"], alert["error"]) == (
        "vk_pages",
        "extract",
        3,
        "ValueError",
    )
    assert "SECRET" not in alerts.read_text()


def test_every_pool_a_task_uses_is_created_by_init(production_dagbag) -> None:
    pools = {
        task.pool
        for dag in production_dagbag.dags.values()
        for task in dag.tasks
        if task.pool and task.pool != "default_pool"
    }
    assert {"vk_api", "ok_api", "max_api", "tg_api"} <= pools
    compose = (PROJECT / "docker-compose.yml").read_text()
    makefile = (PROJECT / "Makefile").read_text()
    for pool in pools:
        assert f"airflow pools set {pool} " in compose, f"compose's init job does not create pool {pool}"
        assert f"airflow pools set {pool} " in makefile, f"make airflow-init does not create pool {pool}"


def _cron_timetables(dag):
    """The cron timetables behind a DAG's schedule (an AssetOrTimeSchedule wraps one)."""
    from airflow.timetables.assets import AssetOrTimeSchedule
    from airflow.timetables.trigger import CronTriggerTimetable

    timetable = dag.timetable
    if isinstance(timetable, AssetOrTimeSchedule):
        timetable = timetable.timetable
    return [timetable] if isinstance(timetable, CronTriggerTimetable) else []


def test_each_dag_has_a_one_line_description_and_a_moscow_clock(production_dagbag) -> None:
    cron_dags = 0
    for dag_id, dag in production_dagbag.dags.items():
        assert dag.description and "\n" not in dag.description and len(dag.description) <= 100, dag_id
        for timetable in _cron_timetables(dag):
            cron_dags += 1
            assert str(timetable._timezone.name) == "Europe/Moscow", dag_id
            assert "Moscow time" in dag.description, dag_id
    assert cron_dags >= 4  # registry, incidents_ingest, vk_pages, monthly_rating


def test_each_dag_and_task_has_a_timeout_and_one_writer_at_a_time(production_dagbag) -> None:
    from gospublic.orchestration.defaults import DAGRUN_TIMEOUT, MAX_ACTIVE_TASKS, TASK_TIMEOUT

    for dag_id, dag in production_dagbag.dags.items():
        assert dag.dagrun_timeout == DAGRUN_TIMEOUT, dag_id
        assert dag.max_active_tasks == MAX_ACTIVE_TASKS, dag_id
        for task in dag.tasks:
            assert task.execution_timeout == TASK_TIMEOUT, (dag_id, task.task_id)
            # a run of every attempt with its backoff fits in the run's timeout
            assert task.execution_timeout * (task.retries + 1) < dag.dagrun_timeout, (dag_id, task.task_id)


def test_deadlines_of_the_rating_and_the_network_days(production_dagbag) -> None:
    """The rating by the 3rd, 12:00 Moscow (run at 06:00); each network's day by 03:00 the next
    morning, the network DAGs staggered: VK at 23:30, OK 23:35, MAX 23:40, Telegram 23:45."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineReference

    moscow = ZoneInfo("Europe/Moscow")
    expected = {
        "monthly_rating": (
            datetime(2025, 12, 3, 6, 0, tzinfo=moscow),
            datetime(2025, 12, 3, 12, 0, tzinfo=moscow),
        ),
        "vk_pages": (
            datetime(2025, 12, 1, 23, 30, tzinfo=moscow),
            datetime(2025, 12, 2, 3, 0, tzinfo=moscow),
        ),
        "ok_pages": (
            datetime(2025, 12, 1, 23, 35, tzinfo=moscow),
            datetime(2025, 12, 2, 3, 0, tzinfo=moscow),
        ),
        "max_pages": (
            datetime(2025, 12, 1, 23, 40, tzinfo=moscow),
            datetime(2025, 12, 2, 3, 0, tzinfo=moscow),
        ),
        "tg_pages": (
            datetime(2025, 12, 1, 23, 45, tzinfo=moscow),
            datetime(2025, 12, 2, 3, 0, tzinfo=moscow),
        ),
    }
    for dag_id, (logical, due) in expected.items():
        dag = production_dagbag.get_dag(dag_id)
        alerts = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
        assert len(alerts) == 1, dag_id
        alert = alerts[0]
        assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE, dag_id
        # the timetable's run at `logical` is due at `due`
        run = dag.timetable.next_dagrun_info(last_automated_data_interval=None, restriction=_from(logical))
        assert run is not None and run.logical_date == logical, dag_id
        assert run.logical_date + alert.interval == due, dag_id
        assert isinstance(alert.callback, SyncCallback), dag_id
        assert alert.callback.path == "gospublic.orchestration.deadlines.deadline_missed", dag_id
    for dag_id, dag in production_dagbag.dags.items():
        if dag_id not in expected:
            assert not dag.deadline, dag_id


def _from(moment):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=moment, latest=None, catchup=True)


def test_deadline_callback_resolves_and_writes_an_alert(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.module_loading import import_string

    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("GOSPUBLIC_ALERT_LOG", str(alerts))
    callback = import_string("gospublic.orchestration.deadlines.deadline_missed")

    class Run:
        dag_id, run_id = "vk_pages", "scheduled__2025-12-01"

    callback(
        context={"dag_run": Run()}, what="данные VK за прошедший день загружены к 03:00 (московское время)"
    )
    alert = json.loads(alerts.read_text())
    assert (alert["kind"], alert["dag_id"], alert["run_id"]) == ("deadline_missed", "vk_pages", Run.run_id)


def test_deadline_alerts_are_off_only_when_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """``GOSPUBLIC_DEADLINE_ALERTS=off`` (the suite, make demo, test-prod's embedded reference:
    dag.test() fails a successful run of a DAG with a deadline, apache/airflow#73428) drops them;
    anything but on/off is refused rather than read as either."""
    from datetime import timedelta

    from gospublic.orchestration.deadlines import deadline

    monkeypatch.delenv("GOSPUBLIC_DEADLINE_ALERTS", raising=False)
    assert deadline(timedelta(hours=1), "проба") is not None
    monkeypatch.setenv("GOSPUBLIC_DEADLINE_ALERTS", "off")
    assert deadline(timedelta(hours=1), "проба") is None
    monkeypatch.setenv("GOSPUBLIC_DEADLINE_ALERTS", "sometimes")
    with pytest.raises(ValueError, match="GOSPUBLIC_DEADLINE_ALERTS must be on or off"):
        deadline(timedelta(hours=1), "проба")


MAKEFILE = PROJECT / "Makefile"


def _make_dry_run(target: str) -> tuple[dict[str, str], str]:
    """``make -n <target>``: the Airflow settings its commands get (a probe run as the target's
    prerequisite, which inherits its target-specific exports) and the commands it would run. Only
    the probe runs (``+``); nothing else is executed."""
    probe = "_embedded_probe"
    # neither the caller's Airflow settings nor an enclosing make's flags (make test) count
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "MAKE", "MFLAGS"))}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(PROJECT), "-f", str(MAKEFILE),
         "--eval", f'{probe}: ; +@env | grep "^AIRFLOW__" | sed "s/^/ENV /"',
         "--eval", f"{target}: {probe}", target],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    got = dict(line[4:].split("=", 1) for line in done.stdout.splitlines() if line.startswith("ENV "))
    return got, done.stdout


@pytest.mark.parametrize("target", ["up", "demo", "airflow", "airflow-init"])
def test_the_embedded_setup_fits_two_cores_and_listens_on_this_machine_only(target: str) -> None:
    """What ``make up`` and the embedded targets give Airflow (issue 26; docs/operations.md, "The
    embedded setup"): 2 task processes and 2 tasks of a DAG at once, one DAG-parsing process and
    one API worker, the API server bound to 127.0.0.1, and pool warehouse_writer with one slot."""
    env, commands = _make_dry_run(target)
    assert env.get("AIRFLOW__API__HOST") == "127.0.0.1", (target, env)
    assert int(env.get("AIRFLOW__CORE__PARALLELISM", "32")) <= 2, (target, env)
    assert int(env.get("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", "16")) <= 2, (target, env)
    assert env.get("AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES") == "1", (target, env)
    assert env.get("AIRFLOW__API__WORKERS") == "1", (target, env)
    assert "airflow pools set warehouse_writer 1 " in commands, (target, commands)  # by airflow-init
