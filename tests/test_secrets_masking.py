"""Secrets never reach a log, whatever logger writes them: a task under ``dag.test`` (where
Airflow's in-process logging has no masking step) logs every secret the project reads through
plain ``logging`` loggers, and neither its output nor Airflow's task logs hold any of them; the
same outside Airflow (the CLI's stdlib logging). On DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

PROJECT = Path(__file__).resolve().parents[1]
WAREHOUSE_PASSWORD = "wh-pass-Zq8xK2mV9rTt"
VK_USER_TOKEN = "vk1.a.userTokenXyZ123456789"
VK_SERVICE_TOKEN = "svc-TokenAbC987654321"
S3_SECRET = "s3secret-Hh7Jj8Kk9Ll0"
PSEUDONYM_KEY = "pseudonym-key-4b7c9d1e2f3a5b6c"


def secrets_environment(warehouse_conn: dict, lake_path: Path) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": json.dumps({**warehouse_conn, "password": WAREHOUSE_PASSWORD}),
        "AIRFLOW_CONN_GOSPUBLIC_VK": json.dumps(
            {
                "conn_type": "http",
                "host": "",
                "extra": {
                    "tokens": [
                        {"kind": "user", "token": VK_USER_TOKEN},
                        {"kind": "service", "token": VK_SERVICE_TOKEN, "rps": 20},
                    ]
                },
            }
        ),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": json.dumps(
            {
                "conn_type": "aws",
                "login": "AKIAEXAMPLEKEY",
                "password": S3_SECRET,
                "extra": {"bucket": "lake", "endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1"},
            }
        ),
    }


def read_and_log_every_secret() -> dict[str, str]:
    """What a careless task might do: read each secret the way the project does, then log it
    through stdlib loggers (ours and a library's), also inside an exception's message."""
    from gospublic.infra import settings
    from gospublic.infra.connections import get_connection
    from gospublic.infra.pseudonym_key import pseudonym_key
    from gospublic.vk.client import config_from_connection

    found = {
        "warehouse_password": get_connection(settings.CONN_WAREHOUSE).password,
        "s3_secret": get_connection(settings.CONN_LAKE).password,
        **{f"vk_token_{n}": t.secret for n, t in enumerate(config_from_connection().tokens)},
        "pseudonym_key": pseudonym_key().decode(),
    }
    ours, library = logging.getLogger("gospublic.careless"), logging.getLogger("vk_api.careless")
    for name, value in found.items():
        ours.warning("probe %s=%s", name, value)
        library.warning(f"probe-lib {name}={value}")
    try:
        raise RuntimeError(f"connect failed with {found['warehouse_password']}")
    except RuntimeError:
        ours.exception("probe-exception")
    return found


_DAG_TEST = """
import os
from airflow.dag_processing.dagbag import DagBag
from gospublic.infra import migrations
from tests.test_secrets_masking import read_and_log_every_secret

real_migrate = migrations.migrate


def careless_migrate(warehouse):  # runs inside warehouse_migrate's first task
    found = read_and_log_every_secret()
    print("READ", sorted(found), flush=True)
    return real_migrate(warehouse)


migrations.migrate = careless_migrate
run = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag("warehouse_migrate").test()
print("RUN", run.state, flush=True)
"""


def run_child(script: str, env: dict[str, str]) -> str:
    """Run ``script`` in a fresh interpreter: everything it writes, stdout and stderr."""
    env = {**env, "PYTHONPATH": f"{PROJECT / 'plugins'}{os.pathsep}{PROJECT}"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_no_secret_in_task_logs_under_dag_test(
    airflow_home: Path, warehouse_conn: dict, tmp_path: Path
) -> None:
    """The whole output of ``dag.test`` run in its own process, and the task log files."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")},
        **secrets_environment(warehouse_conn, tmp_path / "lake"),
        "GOSPUBLIC_VAR_DIR": str(tmp_path / "var"),  # no pseudonym connection: the local key file
    }
    written = run_child(_DAG_TEST, env)
    written += "".join(p.read_text(errors="replace") for p in airflow_home.rglob("*.log"))
    assert "RUN success" in written
    assert "READ ['pseudonym_key', 's3_secret', 'vk_token_0', 'vk_token_1', 'warehouse_password']" in written
    key = (tmp_path / "var" / "secrets" / "pseudonym.key").read_text().strip()
    secrets = {
        "warehouse_password": WAREHOUSE_PASSWORD,
        "s3_secret": S3_SECRET,
        "vk_token_0": VK_USER_TOKEN,
        "vk_token_1": VK_SERVICE_TOKEN,
        "pseudonym_key": key,
    }
    for name, value in secrets.items():
        assert value not in written, f"{name} leaked into the task's log"
        assert f"probe {name}=***" in written  # the line was logged, with the secret masked
        assert f"probe-lib {name}=***" in written
    assert "probe-exception" in written and "connect failed with ***" in written


def test_no_secret_in_stdlib_logs_outside_airflow(warehouse_conn: dict, tmp_path: Path) -> None:
    """The CLI and scripts: plain ``logging.basicConfig``, no Airflow logging set up."""
    script = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stderr, level=logging.INFO)\n"
        "from tests.test_secrets_masking import read_and_log_every_secret\n"
        "read_and_log_every_secret()\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")},
        **secrets_environment(warehouse_conn, tmp_path / "lake"),
        "AIRFLOW_CONN_GOSPUBLIC_PSEUDONYM": json.dumps({"conn_type": "generic", "password": PSEUDONYM_KEY}),
    }
    written = run_child(script, env)
    for value in (WAREHOUSE_PASSWORD, VK_USER_TOKEN, VK_SERVICE_TOKEN, S3_SECRET, PSEUDONYM_KEY):
        assert value not in written
    assert written.count("=***") == 10 and "connect failed with ***" in written
