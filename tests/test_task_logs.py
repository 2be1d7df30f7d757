"""The demo's task logs open in Airflow's UI (issue 26).

``make demo`` runs the DAGs with ``dag.test()`` (``sandbox.demo.run_once``) and warehouse_migrate
with ``airflow dags test`` (``gospublic.cli.run_dag``). Both ran the tasks without writing a log
file, and the UI said "Log file not found on worker". Here a small DAG runs each way on the
session's metadata, and a real api-server reads each try's log through the REST API endpoint the
UI uses: the lines the task logged are there, a failure's error and traceback too, and a secret
the task read is masked. (The suite logs at WARNING, so the probe's lines are warnings: a log file
holds what the configured level lets through, as a worker's does.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.airflow_api import ApiServer, api_server

pytestmark = pytest.mark.airflow

SECRET = "probe-secret-Vb7Nq2Lx"

PROBE = """
import logging
from datetime import UTC, datetime

import structlog
from airflow.sdk import DAG, task

START = datetime(2024, 1, 1, tzinfo=UTC)

with DAG("{dag_id}", schedule=None, start_date=START, default_args={{"retries": 0}}):

    @task
    def say():
        from gospublic.infra.connections import mask_secret

        mask_secret("{secret}")
        logging.getLogger("gospublic.probe").warning("probe line from %s", "{dag_id}")
        logging.getLogger("gospublic.probe").warning("probe secret {secret}")
        structlog.get_logger("probe.structlog").warning("probe structlog line", secret="{secret}")

    @task
    def fail():
        raise RuntimeError("probe failure in {dag_id}")

    say() >> fail()
"""


def _write_probe(folder: Path, dag_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{dag_id}.py").write_text(PROBE.format(dag_id=dag_id, secret=SECRET))


@pytest.fixture(scope="module")
def api(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with api_server(airflow_home, tmp_path_factory.mktemp("api") / "api-server.log") as server:
        yield server


def _events(lines: list[dict]) -> list[str]:
    return [str(line.get("event", "")) for line in lines]


def _assert_logs_of_the_probe(api: ApiServer, dag_id: str, run_id: str) -> None:
    said = api.task_log(dag_id, run_id, "say", 1)
    events = _events(said)
    assert f"probe line from {dag_id}" in events, f"the task's line is not in its log: {events}"
    assert "probe structlog line" in events, events
    assert "probe secret ***" in events, events
    assert SECRET not in str(said), "a secret reached the task log"
    failed = api.task_log(dag_id, run_id, "fail", 1)
    details = [line["error_detail"] for line in failed if line.get("error_detail")]
    assert details, f"no traceback in the failed task's log: {_events(failed)}"
    assert f"probe failure in {dag_id}" in str(details)


def test_a_demo_run_s_task_logs_open_through_the_rest_api(
    api: ApiServer, airflow_home: Path, tmp_path: Path
) -> None:
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from sandbox.demo import run_once

    _write_probe(tmp_path, "demo_log_probe")
    bag = DagBag(dag_folder=str(tmp_path))
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    run = run_once(bag.get_dag("demo_log_probe"), datetime(2025, 11, 4, 20, 30, tzinfo=UTC))
    assert run.state == "failed"  # its second task fails on purpose
    _assert_logs_of_the_probe(api, "demo_log_probe", run.run_id)


def test_run_dag_s_task_logs_open_through_the_rest_api(
    api: ApiServer, airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make demo``'s warehouse_migrate goes through ``cli.run_dag``, a process of its own."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from gospublic.cli import run_dag

    _write_probe(tmp_path / "dags", "run_dag_log_probe")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    assert run_dag("run_dag_log_probe", "2025-11-05", tmp_path / "logs") == 1  # the failing task
    with create_session() as session:
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == "run_dag_log_probe")
            .order_by(DagRun.id.desc())
            .first()
        )
        assert run is not None
        run_id = run.run_id
    _assert_logs_of_the_probe(api, "run_dag_log_probe", run_id)
