"""docker-compose.yml checked statically (no Docker engine here): services, mounts, versions,
and every connection and setting the code reads."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from gospublic.infra import settings
from gospublic.infra.connections import ConnectionInfo
from gospublic.infra.lake import S3Lake, lake_from_connection_info
from gospublic.infra.warehouse import Warehouse

PROJECT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
]
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (PROJECT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)
_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")
CODE_DIRS = ("dags", "plugins", "transforms")


def interpolate(value: str) -> str:
    """Resolve ${VAR:-default} as compose does with .env.example as the .env file."""

    def resolve(match: re.Match) -> str:
        name, default = match.group("name"), match.group("default")
        assert name in ENV_EXAMPLE or default is not None, (
            f"${{{name}}} has no default and is not in .env.example"
        )
        return ENV_EXAMPLE.get(name) or default or ""

    return _VAR.sub(resolve, value)


def airflow_env(service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in SERVICES[service]["environment"].items()}


def test_the_production_services_exist() -> None:
    for name in [*AIRFLOW_SERVICES, "postgres", "redis", "minio", "minio-init"]:
        assert name in SERVICES, name
    assert airflow_env("airflow-worker")["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert SERVICES["airflow-worker"]["command"] == "celery worker"


def test_image_is_built_from_the_locked_airflow_version() -> None:
    pin = re.search(r"^apache-airflow==([^\s\\]+)", (PROJECT / "requirements.txt").read_text(), re.M)
    assert pin, "requirements.txt pins no apache-airflow"
    locked = pin.group(1)
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert re.search(rf"^FROM apache/airflow:{re.escape(locked)}-python3\.11$", dockerfile, re.M), locked
    assert "requirements.txt" in dockerfile
    for service in AIRFLOW_SERVICES:
        assert SERVICES[service]["build"] == "."
        assert SERVICES[service]["image"].endswith(f":{locked}")


def test_every_mounted_project_path_exists() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (PROJECT / source).exists(), f"{name} mounts missing {source}"


def test_mounts_match_the_configured_folders() -> None:
    env = airflow_env("airflow-scheduler")
    targets = {v.split(":")[1] for v in SERVICES["airflow-scheduler"]["volumes"]}
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] in targets
    for folder in ("sql", "config", "expectations"):
        assert f"{env['GOSPUBLIC_HOME']}/{folder}" in targets, folder


def test_code_comes_from_the_installed_distribution_not_from_mounts_or_pythonpath() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "PYTHONPATH=" not in dockerfile
    install = r"^RUN pip install [^\n]*--no-deps --no-build-isolation /opt/airflow/src$"
    assert re.search(install, dockerfile, re.M)
    for source in ("pyproject.toml", "plugins/gospublic", "transforms"):
        copy = rf"^COPY [^\n]* {re.escape(source)} /opt/airflow/src/{re.escape(source)}$"
        assert re.search(copy, dockerfile, re.M), source
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        assert "PYTHONPATH" not in environment, name
        mounted = {str(v).split(":", 1)[0] for v in service.get("volumes", [])}
        assert not mounted & {"./plugins", "./transforms", "."}, name


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_connection_and_setting_is_provided(service: str) -> None:
    env = airflow_env(service)
    for conn_id in settings.CONNECTIONS:
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in env, (service, conn_id)
    for name in settings.ENVIRONMENT:
        assert name in env, (service, name)


def test_connections_build_a_postgres_warehouse_and_an_s3_lake() -> None:
    env = airflow_env("airflow-worker")

    def info(conn_id: str) -> ConnectionInfo:
        raw = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        return ConnectionInfo(
            conn_id=conn_id,
            **{k: raw.get(k) for k in ("conn_type", "host", "port", "login", "password", "schema")},
            extra=raw.get("extra", {}),
        )

    warehouse = Warehouse.from_connection_info(info(settings.CONN_WAREHOUSE))
    assert warehouse.dialect == "postgres"
    assert warehouse.description == "postgresql+psycopg://warehouse:***@postgres:5432/warehouse"
    lake = lake_from_connection_info(info(settings.CONN_LAKE))
    assert isinstance(lake, S3Lake)
    assert lake.description == "s3://gospublic-lake/ at http://minio:9000"


def test_the_warehouse_database_is_created_at_postgres_start() -> None:
    init = PROJECT / "docker" / "postgres-init" / "01-warehouse.sh"
    text = init.read_text()
    assert "CREATE DATABASE warehouse OWNER warehouse" in text
    postgres_env = SERVICES["postgres"]["environment"]
    assert {"WAREHOUSE_PASSWORD", "BI_READER_PASSWORD"} <= set(postgres_env)


def test_the_lake_bucket_is_created_at_start() -> None:
    command = " ".join(SERVICES["minio-init"]["command"])
    assert "mc mb --ignore-existing" in command
    assert SERVICES["minio-init"]["environment"]["LAKE_BUCKET"] == "${LAKE_BUCKET:-gospublic-lake}"
    workers = SERVICES["airflow-worker"]["depends_on"]
    assert workers["minio-init"]["condition"] == "service_completed_successfully"


def test_init_job_migrates_airflow_and_the_warehouse() -> None:
    script = "\n".join(SERVICES["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert "python -m gospublic.cli migrate" in script


def _code_files() -> list[Path]:
    return [p for d in CODE_DIRS for p in (PROJECT / d).rglob("*.py")]


def test_code_reads_only_registered_settings() -> None:
    """Every GOSPUBLIC_* variable and connection id in the code is registered in settings."""
    env_names: set[str] = set()
    conn_ids: set[str] = set()
    for path in _code_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                env_names.update(re.findall(r"\bGOSPUBLIC_[A-Z0-9_]+\b", node.value))
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                args = [*node.args, *(k.value for k in node.keywords if k.arg == "conn_id")]
                if name in ("get_connection", "from_connection", "get") and args:
                    first = args[0]
                    if isinstance(first, ast.Constant) and str(first.value).startswith("gospublic_"):
                        conn_ids.add(first.value)
    assert env_names <= set(settings.ENVIRONMENT), env_names - set(settings.ENVIRONMENT)
    assert conn_ids <= set(settings.CONNECTIONS), conn_ids - set(settings.CONNECTIONS)
    assert env_names, "the scan found no settings at all: it is broken"


SECRETS = ("AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET")
_ANY_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<rest>[^}]*)\}")


def test_secrets_are_required_with_no_default() -> None:
    """Compose refuses to start without a Fernet key and a JWT secret (`${VAR:?message}`)."""
    text = (PROJECT / "docker-compose.yml").read_text()
    uses = [m for m in _ANY_VAR.finditer(text) if m.group("name") in SECRETS]
    assert {m.group("name") for m in uses} == set(SECRETS)
    for m in uses:
        assert m.group("op") == ":?" and m.group("rest").strip(), m.group(0)
    env = SERVICES["airflow-init"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")
    example = (PROJECT / ".env.example").read_text()
    for name in SECRETS:
        assert ENV_EXAMPLE[name] == "", f"{name} must be generated, not copied from .env.example"
    assert "Fernet.generate_key()" in example
    assert "AIRFLOW_JWT_SECRET" in example and "openssl rand" in example


def test_the_readme_backfills_one_day_at_a_time_up_to_the_last_day() -> None:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    readme = (PROJECT / "README.md").read_text()
    commands = re.findall(r"backfill create[^`\n]*", readme)
    assert commands, "the README shows no backfill"
    for command in commands:
        assert re.search(r"--max-active-runs 1\b", command), command
        start = re.search(r"--from-date (\S+)", command).group(1)
        end = re.search(r"--to-date (\S+)", command).group(1)
        first = datetime.fromisoformat(start).date()
        last_day = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        # vk_pages runs at 23:30 Moscow; the CLI reads a bare date as midnight UTC (inclusive).
        last_run = datetime.combine(last_day, time(23, 30), ZoneInfo("Europe/Moscow"))
        to_date = datetime.fromisoformat(end)
        if to_date.tzinfo is None:
            to_date = to_date.replace(tzinfo=ZoneInfo("UTC"))
        assert to_date >= last_run, (command, last_run)


def test_the_worker_healthcheck_allows_a_slow_celery_ping() -> None:
    def seconds(value: str) -> int:
        return int(value.removesuffix("s"))

    check = SERVICES["airflow-worker"]["healthcheck"]
    assert seconds(check["timeout"]) >= 30, "celery inspect ping took up to 11.3 s on a loaded host"
    assert seconds(check["interval"]) > seconds(check["timeout"])
    assert seconds(check["start_period"]) >= 60


def test_the_lake_bucket_expires_noncurrent_versions() -> None:
    command = " ".join(SERVICES["minio-init"]["command"])
    assert "mc version enable" in command
    rule = re.search(r"mc ilm rule add ([^&;]*)", command)
    assert rule, "no lifecycle rule on the versioned bucket"
    days = re.search(r"--noncurrent-expire-days (\d+)", rule.group(1))
    assert days and 1 <= int(days.group(1)) <= 90
    assert "--expire-delete-marker" in rule.group(1)
    assert '"lake/$$LAKE_BUCKET"' in rule.group(1)
    # idempotent: the init job runs at every `up`, so rules must not pile up
    assert command.index("mc ilm rule rm --all --force") < command.index("mc ilm rule add")
