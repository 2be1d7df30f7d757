"""The auth manager docker-compose.yml configures loads with the locked dependencies, and the init
job's admin creation works with it.

The API server builds the auth manager from `[core] auth_manager` at start: a class the lock
cannot import leaves the UI and the REST API crash-looping while the embedded setup (which uses
SimpleAuthManager) passes. Run in a fresh interpreter and a fresh Airflow home, as a container
starts.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-worker", "airflow-init")

LOAD_AUTH_MANAGER = """
import json, sys
from airflow.api_fastapi.app import get_auth_manager_cls
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

cls = get_auth_manager_cls()  # [core] auth_manager, imported as the API server does
assert issubclass(cls, BaseAuthManager), cls
commands = {c.name: [s.name for s in getattr(c, "subcommands", None) or []] for c in cls.get_cli_commands()}
json.dump({"class": f"{cls.__module__}.{cls.__qualname__}", "simple": issubclass(cls, SimpleAuthManager),
           "cli": commands}, sys.stdout)
"""


def configured_auth_manager(service: str) -> str:
    environment = COMPOSE["services"][service].get("environment") or {}
    if isinstance(environment, list):  # the `- NAME=value` form
        environment = dict(item.split("=", 1) for item in environment)
    return str(environment["AIRFLOW__CORE__AUTH_MANAGER"])


def airflow_env(home: Path, auth_manager: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__AUTH_MANAGER": auth_manager,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    return env


def the_auth_manager() -> str:
    managers = {configured_auth_manager(service) for service in SERVICES}
    assert len(managers) == 1, f"compose's services disagree on the auth manager: {managers}"
    return managers.pop()


@pytest.mark.airflow
def test_the_configured_auth_manager_imports_and_is_not_the_development_one(tmp_path: Path) -> None:
    auth_manager = the_auth_manager()
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AUTH_MANAGER],
        env=airflow_env(tmp_path, auth_manager),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{auth_manager} does not load:\n{result.stderr[-3000:]}"
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["class"] == auth_manager
    assert not loaded["simple"], "SimpleAuthManager is for development and tests only"
    assert "create" in loaded["cli"].get("users", []), "the init job runs `airflow users create`"


def init_admin_command() -> str:
    """The init job's `airflow users create`, as its shell runs it (compose's `$$` is a `$`)."""
    script = "\n".join(COMPOSE["services"]["airflow-init"]["command"])
    joined = re.sub(r"\\\n\s*", " ", script)
    match = re.search(r"^\s*(airflow users create .*)$", joined, re.M)
    assert match, "the init job creates no user"
    return match.group(1).replace("$$", "$")


@pytest.mark.airflow
@pytest.mark.slow
def test_the_init_job_creates_the_admin_from_the_environment_once(tmp_path: Path) -> None:
    from werkzeug.security import check_password_hash

    env = airflow_env(tmp_path, the_auth_manager())
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrate = subprocess.run(
        [airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    admin = {
        "_AIRFLOW_WWW_USER_USERNAME": "ops-admin",
        "_AIRFLOW_WWW_USER_PASSWORD": "a long generated password",
        "_AIRFLOW_WWW_USER_EMAIL": "ops@example.org",
    }
    command = init_admin_command().replace("airflow ", f"{airflow} ", 1)
    for attempt in (1, 2):  # the init job runs at every `docker compose up`
        run = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{command}"],
            env={**env, **admin},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, (attempt, run.stderr[-3000:])
        assert admin["_AIRFLOW_WWW_USER_PASSWORD"] not in run.stdout + run.stderr

    with sqlite3.connect(tmp_path / "airflow.db") as db:
        users = db.execute(
            "SELECT u.username, u.email, u.password, r.name FROM ab_user AS u "
            "JOIN ab_user_role AS ur ON ur.user_id = u.id JOIN ab_role AS r ON r.id = ur.role_id"
        ).fetchall()
    assert [(u[0], u[1], u[3]) for u in users] == [("ops-admin", "ops@example.org", "Admin")]
    assert check_password_hash(users[0][2], admin["_AIRFLOW_WWW_USER_PASSWORD"])
