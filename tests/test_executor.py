"""The executor docker-compose.yml configures loads with the locked dependencies.

The scheduler builds it through Airflow's executor loader, `airflow celery worker` imports the
provider's worker module, and compose's healthcheck names the Celery app by module path: a lock
that breaks any of these leaves production crash-looping while the embedded setup (which never
imports Celery) passes. Run in a fresh interpreter, as the scheduler and a worker start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = ("airflow-scheduler", "airflow-worker")

LOAD_EXECUTOR = """
import json, sys
from airflow.executors.executor_loader import ExecutorLoader

executor = ExecutorLoader.load_executor(None)  # the default: [core] executor, as the scheduler does
commands = [command.name for command in executor.get_cli_commands()]

from airflow.providers.celery.cli import celery_command  # `airflow celery worker`
from airflow.providers.celery.executors import celery_executor, celery_executor_utils
from celery import Celery

assert callable(celery_command.worker)
assert isinstance(celery_executor_utils.app, Celery)
assert isinstance(celery_executor.app, Celery)  # compose's healthcheck: `celery --app ...celery_executor.app`
json.dump({"executor": type(executor).__name__, "cli": commands}, sys.stdout)
"""


def configured_executor(service: str) -> str:
    """`AIRFLOW__CORE__EXECUTOR` of one compose service (YAML anchors resolved by the parser)."""
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
    environment = compose["services"][service].get("environment") or {}
    if isinstance(environment, list):  # the `- NAME=value` form
        environment = dict(item.split("=", 1) for item in environment)
    return str(environment["AIRFLOW__CORE__EXECUTOR"])


@pytest.mark.airflow
def test_the_configured_executor_and_celery_worker_import(tmp_path: Path) -> None:
    executors = {configured_executor(service) for service in AIRFLOW_SERVICES}
    assert len(executors) == 1, f"scheduler and worker disagree on the executor: {executors}"
    (executor,) = executors
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_EXECUTOR],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{executor} does not load:\n{result.stderr[-3000:]}"
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["executor"] == executor.rsplit(".", 1)[-1]
    assert "celery" in loaded["cli"], loaded
