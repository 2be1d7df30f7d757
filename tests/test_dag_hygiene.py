"""Every DAG imports cleanly and carries what operators rely on."""

from __future__ import annotations

import json
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
    assert "vk_api" in pools
    compose = (PROJECT / "docker-compose.yml").read_text()
    makefile = (PROJECT / "Makefile").read_text()
    for pool in pools:
        assert f"airflow pools set {pool} " in compose, f"compose's init job does not create pool {pool}"
        assert f"airflow pools set {pool} " in makefile, f"make airflow-init does not create pool {pool}"
