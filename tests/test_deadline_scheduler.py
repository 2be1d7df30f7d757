"""A Deadline Alert fired by Airflow's own scheduler, not by calling the callback (issue 26).

A private Airflow home (SQLite metadata, LocalExecutor) runs ``airflow dag-processor`` and
``airflow scheduler`` over a folder holding one tiny DAG whose deadline comes from
``gospublic.orchestration.deadlines.deadline`` — the function the project's DAGs use — two seconds
after the run's logical date. A run triggered with a logical date in the past has missed it when it
is created: the scheduler finds the deadline on its next loop, queues the ``SyncCallback`` to the
LocalExecutor, which runs ``deadlines.deadline_missed`` in a process of its own, and the alert
reaches the SMTP server and the Bot API stub of this test process.

The DAG stays paused (Airflow's default for a new DAG): its run waits queued and no task runs, so
no API server is needed — a deadline is checked whatever the run's state until the run succeeds.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests import alert_channels
from tests.alert_channels import mail_text, subject_of

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

smtp_server, telegram_stub = alert_channels.smtp_server, alert_channels.telegram_stub  # the fixtures

WHAT = "проверочный срок: прогон за 1 января 2025 завершён через 2 секунды"
DAG_ID = "deadline_probe"
RUN_ID = "manual__deadline_probe"
LOGICAL_DATE = "2025-01-01T00:00:00+00:00"  # long past: the run misses its deadline when created
WAIT = 180  # seconds at most for each stage; each is polled and ends as soon as it is reached

DAG_FILE = f'''
"""A DAG whose run misses its deadline: the alert comes from the project's deadlines module."""
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from gospublic.orchestration.deadlines import deadline


@dag(
    dag_id="{DAG_ID}",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    deadline=deadline(timedelta(seconds=2), "{WHAT}"),
)
def deadline_probe():
    @task
    def wait() -> None:
        import time

        time.sleep(60)

    wait()


deadline_probe()
'''

T = TypeVar("T")


def _poll(
    what: str, probe: Callable[[], T | None], processes: list[subprocess.Popen[bytes]], logs: Path
) -> T:
    """``probe()``'s first value that is not None, every 0.2 s; fails with the services' logs when
    it takes longer than ``WAIT`` or a service exits."""
    until = time.monotonic() + WAIT
    while time.monotonic() < until:
        found = probe()
        if found is not None:
            return found
        dead = [p.args for p in processes if p.poll() is not None]
        if dead:
            break
        time.sleep(0.2)
    tails = "\n".join(
        f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}" for f in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"{what}: not within {WAIT} s (exited: {dead})\n{tails}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """TERM each service's process group (the executor's and the parser's children too), then KILL."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def airflow_env(
    tmp_path: Path, smtp_server: list[Message], telegram_stub: list[dict[str, Any]]
) -> dict[str, str]:
    """The private Airflow home's environment (the channels' connections come from the fixtures)."""
    home, dags = tmp_path / "airflow", tmp_path / "dags"
    dags.mkdir(parents=True)
    (dags / "deadline_probe.py").write_text(DAG_FILE, encoding="utf-8")
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "deadline-test-jwt-secret-0123456789",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "GOSPUBLIC_DEADLINE_ALERTS": "on",
            "GOSPUBLIC_ALERT_LOG": str(tmp_path / "alerts.jsonl"),
        }
    )
    home.mkdir()
    return env


@pytest.fixture
def services(airflow_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Metadata migrated, then the DAG processor and the scheduler running; stopped afterwards."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrated = subprocess.run(
        [airflow, "db", "migrate"], env=airflow_env, capture_output=True, text=True, check=False
    )
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in ("dag-processor", "scheduler"):
            with open(logs / f"{command}.log", "wb") as out:
                processes.append(
                    subprocess.Popen(
                        [airflow, command], env=airflow_env, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )  # fmt: skip
        yield processes
    finally:
        _stop(processes)


def test_the_scheduler_fires_a_missed_deadline_to_mail_and_telegram(
    airflow_env: dict[str, str],
    services: list[subprocess.Popen[bytes]],
    smtp_server: list[Message],
    telegram_stub: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    database = Path(airflow_env["AIRFLOW_HOME"]) / "airflow.db"
    logs = tmp_path / "logs"

    def query(sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(database, timeout=10) as db:
            return db.execute(sql).fetchall()

    def deadline_alert_stored() -> bool | None:
        return True if query("SELECT COUNT(*) FROM deadline_alert")[0][0] else None

    _poll("the DAG parsed with its Deadline Alert", deadline_alert_stored, services, logs)
    airflow = str(Path(sys.executable).with_name("airflow"))
    triggered = subprocess.run(
        [airflow, "dags", "trigger", DAG_ID, "--run-id", RUN_ID, "--logical-date", LOGICAL_DATE],
        env=airflow_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert triggered.returncode == 0, triggered.stdout[-3000:] + triggered.stderr[-3000:]
    stored = query("SELECT deadline_time, missed FROM deadline")
    assert len(stored) == 1, stored  # created with the run, 2 s after its logical date

    _poll(
        "the alert by mail and Telegram",
        lambda: True if smtp_server and telegram_stub else None,
        services,
        logs,
    )
    assert telegram_stub[0]["text"].splitlines() == [
        f"Пропущен срок: {WHAT}",
        f"DAG: {DAG_ID}",
        f"Запуск: {RUN_ID}",
    ]
    assert subject_of(smtp_server[0]) == "Пропущен срок"
    assert mail_text(smtp_server[0]).strip() == telegram_stub[0]["text"]
    recorded = [
        json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["kind"], r["dag_id"], r["run_id"], r["what"]) for r in recorded] == [
        ("deadline_missed", DAG_ID, RUN_ID, WHAT)
    ]
    assert query("SELECT missed FROM deadline") == [(1,)]
    assert query(f"SELECT state FROM dag_run WHERE run_id = '{RUN_ID}'") == [("queued",)]  # no task ran

    def callback_done() -> list[tuple[Any, ...]] | None:
        states = query("SELECT state FROM callback")
        return states if states and all(state in ("success", "failed") for (state,) in states) else None

    assert _poll("the callback recorded as done", callback_done, services, logs) == [("success",)]
    assert len(telegram_stub) == len(smtp_server) == 1  # once, not on every loop
