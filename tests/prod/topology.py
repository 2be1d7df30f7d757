"""docker-compose.yml's topology as local processes, for ``make test-prod``.

One source of truth: the Airflow environment is **read from docker-compose.yml**
(``x-airflow-common.environment``, the block every Airflow service takes), interpolated as compose
would with a ``.env`` made of ``.env.example`` plus this run's own values (:func:`dotenv`). Only what
cannot hold on one host changes, and only in two documented ways:

* paths under a mount's target in the container become the same path under its source here
  (``./dags:/opt/airflow/project/dags`` → ``<checkout>/dags``; named volumes → this run's folder),
  see :func:`map_path`;
* the keys of :data:`OVERRIDES` (hosts and databases of this machine, and the run's test data), and
  the keys of :data:`ADDED`, which compose does not set because each container has its own
  hostname, ports and home.

``tests/test_compose.py`` checks that nothing else differs, so compose and test-prod cannot drift.

:class:`Topology` starts the services (PostgreSQL databases, a Redis database, moto's S3 server,
the VK, OK and MAX sandbox servers, and ``airflow`` scheduler, dag-processor, api-server, triggerer
and two Celery workers) and stops everything it started, also when a step fails. The Telegram
sandbox has no server (it stands where Telethon's MTProto sender stands): each task that reads
Telegram builds it in its own process through the connection's ``extra.boundary``
(``prod_tg_boundary``), from the sample's world at the clock the driver last wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT / ".env.example"
GENERATE_ENV = PROJECT / "docker" / "generate-env.sh"
CONTAINER_PROJECT = "/opt/airflow/project"

PG_ADMIN_URL = os.environ.get("GOSPUBLIC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# A Redis database of its own (tests/test_workers_celery.py uses 13): flushed before and after.
REDIS_URL = os.environ.get("GOSPUBLIC_TEST_PROD_REDIS_URL", "redis://127.0.0.1:6379/12")
VK_TOKENS = [
    {"kind": "user", "token": "usr_prod1"},
    {"kind": "user", "token": "usr_prod2"},
    {"kind": "service", "token": "svc_prod", "rps": 20},
]
# The OK, MAX and Telegram credentials are the demo's (sandbox/demo.py), which its sandboxes accept.
TG_BOUNDARY = "prod_tg_boundary:reader_options"  # tests/prod/prod_tg_boundary.py, on workers' path
WORKER_HOSTNAMES = ("worker-1", "worker-2")
# Pages per mapped extraction task: the sample region's 300 pages make 4 batches a day.
VK_BATCH_PAGES = 80
VK_DAY_COUNT = 3  # tests/prod/driver.py's VK days

# Keys whose compose value names a host, database or file of the containers' world, with why each
# changes here; each is derived from compose's own value. Anything else compose sets is used as is.
OVERRIDES: dict[str, str] = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "host `postgres` → the local server; a fresh database per run",
    "AIRFLOW__CELERY__RESULT_BACKEND": "host `postgres` → the local server; the same fresh database",
    "AIRFLOW__CELERY__BROKER_URL": "host `redis` → the local Redis, a database of its own",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "host `airflow-apiserver` → 127.0.0.1, a free port",
    "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": "host, port, login and database: a fresh non-superuser role",
    "AIRFLOW_CONN_GOSPUBLIC_LAKE": "endpoint `minio:9000` → moto's S3 server; a fresh bucket",
}
# The test's own settings, for its short sample month (whether or not compose sets them).
TEST_SETTINGS: dict[str, str] = {
    "GOSPUBLIC_REGISTRY_DIR": "the sample's registry with the MAX world's channels, as `make demo` loads it",
    "GOSPUBLIC_VK_BATCH_PAGES": f"{VK_BATCH_PAGES}: several mapped extraction tasks a day, to spread",
    "GOSPUBLIC_TASK_RETRIES": "0: a failed task fails its run at once (no minutes of backoff)",
    "GOSPUBLIC_GATE_VK_MISSING_DAYS": f"{30 - VK_DAY_COUNT}: {VK_DAY_COUNT} VK days of November here, not 30",
}
# Keys compose leaves to each container (own hostname, ports, home), set here per process.
ADDED: dict[str, str] = {
    "AIRFLOW_HOME": "this run's folder (the image's /opt/airflow)",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False: the test triggers every run itself, nothing by cron",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "a free port (a container has its own)",
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "a free port (a container has its own)",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "a free port per worker (a container has its own)",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "workers only: the worker's own name as the task's hostname",
    "GOSPUBLIC_PROD_WORKER_HOSTNAME": "workers only: that name (a container's hostname)",
    "PYTHONPATH": "workers only: tests/prod (the hostname callable, the Telegram boundary) and the checkout "
    "(the boundary's `sandbox` package, which compose's image has not)",
    "GOSPUBLIC_PROD_TG_DATA": "the Telegram sandbox's data set (the sample region), for the boundary",
    "GOSPUBLIC_PROD_TG_CLOCK": "the Telegram sandbox's clock file, written by the driver before each run",
    "PATH": "the venv's bin first (the image's PATH)",
}


# -- compose ------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_environment(spec: Mapping[str, Any] | None = None) -> dict[str, str]:
    """``x-airflow-common.environment`` as written (not interpolated)."""
    spec = spec or compose()
    env = spec["x-airflow-common"]["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def compose_mounts(spec: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """(source, target) of ``x-airflow-common.volumes``, longest target first."""
    spec = spec or compose()
    mounts = []
    for volume in spec["x-airflow-common"].get("volumes", []):
        source, target = str(volume).split(":")[:2]
        mounts.append((source, target))
    return sorted(mounts, key=lambda m: -len(m[1]))


def read_dotenv(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """``NAME=value`` lines of an env file (comments and blank lines skipped)."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip('"').strip("'")
    return values


_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation: ``${V}``, ``${V:-d}``, ``${V-d}``, ``${V:?e}``, ``${V?e}``,
    ``${V:+r}``, ``${V+r}`` and ``$$``."""

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        present, value = name in variables, variables.get(name, "")
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if present else arg
        if op in (":?", "?") and (not present or (op == ":?" and not value)):
            raise ValueError(f"compose would refuse to start: ${{{name}}} {arg}")
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if present else ""
        return value

    return _VAR.sub(resolve, value)


# -- this run's environment ---------------------------------------------------------------------


@dataclass
class Endpoints:
    """Where this run's services listen and what it created; fills the overrides."""

    folder: Path
    metadata_db: str
    warehouse_db: str
    warehouse_role: str
    bucket: str
    api_port: int
    scheduler_health_port: int
    triggerer_log_port: int
    worker_log_ports: tuple[int, int]
    s3_endpoint: str = ""
    vk_base_url: str = ""
    ok_base_url: str = ""
    max_base_url: str = ""
    sample_dir: Path = PROJECT / "var" / "sample" / "2025-11"
    env_file: Path | None = None  # the deployer's .env (default: <folder>/.env, made on first use)

    @classmethod
    def new(cls, folder: Path, env_file: Path | None = None) -> Endpoints:
        tag = uuid.uuid4().hex[:8]
        return cls(
            env_file=env_file,
            folder=folder,
            metadata_db=f"gospublic_prod_airflow_{tag}",
            warehouse_db=f"gospublic_prod_warehouse_{tag}",
            warehouse_role=f"gospublic_prod_warehouse_{tag}",
            bucket=f"gospublic-lake-{tag}",
            api_port=free_port(),
            scheduler_health_port=free_port(),
            triggerer_log_port=free_port(),
            worker_log_ports=(free_port(), free_port()),
        )

    @property
    def registry_dir(self) -> Path:
        """Where the driver writes the registry the ``registry`` DAG loads."""
        return self.folder / "registry"

    @property
    def tg_clock_file(self) -> Path:
        """The Telegram sandbox's clock (``{"now": ISO}``), read by each task's boundary."""
        return self.folder / "tg-clock.json"


def dotenv(endpoints: Endpoints) -> dict[str, str]:
    """The ``.env`` compose would read, made as a deployer makes it: ``docker/generate-env.sh``
    (``.env.example`` with every secret generated), then this run's sandboxes and credentials: VK's
    base URL and tokens, and the OK, MAX and Telegram connections (:func:`network_connections`)."""
    target = endpoints.env_file or endpoints.folder / ".env"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["bash", str(GENERATE_ENV), str(target)], check=True, capture_output=True)
    values = read_dotenv(target)
    values.update({"VK_API_BASE_URL": endpoints.vk_base_url, "VK_TOKENS": json.dumps(VK_TOKENS)})
    values.update(network_connections(endpoints))
    return values


def network_connections(endpoints: Endpoints) -> dict[str, str]:
    """The ``.env`` variables of the OK, MAX and Telegram connections (``GOSPUBLIC_*_CONN``, which
    compose passes as ``AIRFLOW_CONN_*``): the demo's application, bot and reading account at this
    run's sandboxes; Telegram's ``extra.boundary`` names test-prod's own (:data:`TG_BOUNDARY`)."""
    from sandbox import demo

    telegram = json.loads(demo.tg_connection_json(demo.tg_session()))
    telegram["extra"]["boundary"] = TG_BOUNDARY
    return {
        "GOSPUBLIC_OK_CONN": demo.ok_connection_json(endpoints.ok_base_url),
        "GOSPUBLIC_MAX_CONN": demo.max_connection_json(endpoints.max_base_url),
        "GOSPUBLIC_TELEGRAM_MTPROTO_CONN": json.dumps(telegram),
    }


def map_path(value: str, mounts: list[tuple[str, str]], folder: Path) -> str:
    """A container path under a mount's target → the same path under its source on this host."""
    for source, target in mounts:
        if value == target or value.startswith(target.rstrip("/") + "/"):
            rest = value[len(target) :].lstrip("/")
            base = (PROJECT / source) if source.startswith(".") else folder / "volumes" / source
            return str(base / rest) if rest else str(base)
    if value == CONTAINER_PROJECT or value.startswith(CONTAINER_PROJECT + "/"):
        return str(PROJECT / value[len(CONTAINER_PROJECT) :].lstrip("/"))
    return value


def _database_url(compose_url: str, database: str) -> str:
    """Compose's URL (driver and scheme kept) pointed at this machine's server and ``database``."""
    admin = urlsplit(PG_ADMIN_URL)
    url = urlsplit(compose_url)
    return urlunsplit((url.scheme, admin.netloc, f"/{database}", "", ""))


def _with_host(compose_url: str, netloc: str, path: str | None = None) -> str:
    url = urlsplit(compose_url)
    return urlunsplit((url.scheme, netloc, url.path if path is None else path, url.query, url.fragment))


def overrides(interpolated: Mapping[str, str], endpoints: Endpoints) -> dict[str, str]:
    """The new values of :data:`OVERRIDES`, each derived from compose's own value."""
    admin = urlsplit(PG_ADMIN_URL)
    warehouse = json.loads(interpolated["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"])
    warehouse.update(
        host=admin.hostname or "127.0.0.1",
        port=admin.port or 5432,
        login=endpoints.warehouse_role,
        schema=endpoints.warehouse_db,
    )
    lake = json.loads(interpolated["AIRFLOW_CONN_GOSPUBLIC_LAKE"])
    lake["extra"].update(endpoint_url=endpoints.s3_endpoint, bucket=endpoints.bucket)
    redis = urlsplit(REDIS_URL)
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _database_url(
            interpolated["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], endpoints.metadata_db
        ),
        "AIRFLOW__CELERY__RESULT_BACKEND": _database_url(
            interpolated["AIRFLOW__CELERY__RESULT_BACKEND"], endpoints.metadata_db
        ),
        "AIRFLOW__CELERY__BROKER_URL": _with_host(
            interpolated["AIRFLOW__CELERY__BROKER_URL"], redis.netloc, redis.path
        ),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": _with_host(
            interpolated["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], f"127.0.0.1:{endpoints.api_port}"
        ),
        "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": json.dumps(warehouse),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": json.dumps(lake),
    }


def test_settings(endpoints: Endpoints) -> dict[str, str]:
    """The values of :data:`TEST_SETTINGS`."""
    return {
        "GOSPUBLIC_REGISTRY_DIR": str(endpoints.registry_dir),
        "GOSPUBLIC_VK_BATCH_PAGES": str(VK_BATCH_PAGES),
        "GOSPUBLIC_TASK_RETRIES": "0",
        "GOSPUBLIC_GATE_VK_MISSING_DAYS": str(30 - VK_DAY_COUNT),
    }


def environment(endpoints: Endpoints, spec: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The Airflow services' environment on this host (workers add their own, :meth:`worker_env`)."""
    spec = spec or compose()
    variables = dotenv(endpoints)
    mounts = compose_mounts(spec)
    env = {
        name: map_path(interpolate(value, variables), mounts, endpoints.folder)
        for name, value in compose_environment(spec).items()
    }
    changed = overrides(env, endpoints)
    assert set(changed) == set(OVERRIDES), set(changed) ^ set(OVERRIDES)
    env.update(changed)
    settings = test_settings(endpoints)
    assert set(settings) == set(TEST_SETTINGS), set(settings) ^ set(TEST_SETTINGS)
    env.update(settings)
    env.update(
        {
            "AIRFLOW_HOME": str(endpoints.folder / "airflow"),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(endpoints.scheduler_health_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(endpoints.triggerer_log_port),
            "GOSPUBLIC_PROD_TG_DATA": str(endpoints.sample_dir),
            "GOSPUBLIC_PROD_TG_CLOCK": str(endpoints.tg_clock_file),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    return env


def worker_env(base: Mapping[str, str], index: int, endpoints: Endpoints) -> dict[str, str]:
    """One Celery worker's additions: its hostname (as a container's) and log server port."""
    return {
        **base,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(endpoints.worker_log_ports[index]),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "prod_hostname.worker_hostname",
        "GOSPUBLIC_PROD_WORKER_HOSTNAME": WORKER_HOSTNAMES[index],
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parent), str(PROJECT), base.get("PYTHONPATH")])
        ),
    }


def host_environment() -> dict[str, str]:
    """This process's environment without what the test harness set for the embedded setup."""
    drop = ("AIRFLOW", "GOSPUBLIC_", "AWS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def init_pools(spec: Mapping[str, Any] | None = None) -> list[tuple[str, int, str]]:
    """The ``airflow pools set`` lines of compose's ``airflow-init`` job: (name, slots, description)."""
    spec = spec or compose()
    command = spec["services"]["airflow-init"]["command"]
    script = "\n".join(command) if isinstance(command, list) else str(command)
    pools = []
    for line in script.splitlines():
        words = shlex.split(line.strip()) if line.strip().startswith("airflow pools set") else []
        if words:
            pools.append((words[3], int(words[4]), words[5] if len(words) > 5 else ""))
    return pools


def write_tg_clock(path: Path, when: datetime) -> None:
    """Set the Telegram sandbox's clock for the tasks that start after this (atomically)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"now": when.isoformat()}))
    partial.replace(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Topology:
    """Every service of the compose topology on this host; :meth:`stop` undoes what :meth:`start` did."""

    endpoints: Endpoints
    services: list[Service] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    _cleanups: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.endpoints.folder / "logs"

    # start ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._databases()
        self._redis()
        self._moto()
        self._sandboxes()
        self.env = {**host_environment(), **environment(self.endpoints)}
        for source, _ in compose_mounts():  # compose's named volumes: folders of this run
            if not source.startswith("."):
                (self.endpoints.folder / "volumes" / source).mkdir(parents=True, exist_ok=True)
        Path(self.env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        self.run_airflow("db", "migrate")
        self.spawn(
            "api-server",
            ["airflow", "api-server", "--host", "127.0.0.1", "--port", str(self.endpoints.api_port)],
            self.env,
        )
        for component in ("scheduler", "dag-processor", "triggerer"):
            self.spawn(component, ["airflow", component], self.env)
        for index, hostname in enumerate(WORKER_HOSTNAMES):
            self.spawn(
                hostname,
                ["airflow", "celery", "worker", "--celery-hostname", f"{hostname}@%h"],
                worker_env(self.env, index, self.endpoints),
            )
        self._wait_for_api()

    def _databases(self) -> None:
        import psycopg

        e = self.endpoints
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{e.metadata_db}"')
            self._cleanups.append(("database", e.metadata_db))
            # As compose's docker/postgres-init: a login role owning the warehouse database, no
            # superuser, no CREATEROLE; bi_reader exists before the migrator grants to it.
            password = dotenv(e)["WAREHOUSE_PASSWORD"]
            admin.execute(
                f'CREATE ROLE "{e.warehouse_role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                f"PASSWORD '{password}'"
            )
            self._cleanups.append(("role", e.warehouse_role))
            admin.execute(f'CREATE DATABASE "{e.warehouse_db}" OWNER "{e.warehouse_role}"')
            self._cleanups.append(("database", e.warehouse_db))
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader'").fetchone():
                admin.execute("CREATE ROLE bi_reader NOLOGIN")

    def _redis(self) -> None:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        self._cleanups.append(("redis", REDIS_URL))

    def _moto(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._cleanups.append(("moto", server))
        host, port = server.get_host_and_port()
        self.endpoints.s3_endpoint = f"http://{host}:{port}"
        values = dotenv(self.endpoints)
        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoints.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=values["MINIO_ROOT_USER"],
            aws_secret_access_key=values["MINIO_ROOT_PASSWORD"],
        )
        # As compose's minio-init: the bucket, versioned.
        s3.create_bucket(Bucket=self.endpoints.bucket)
        s3.put_bucket_versioning(Bucket=self.endpoints.bucket, VersioningConfiguration={"Status": "Enabled"})

    def _sandboxes(self) -> None:
        """The VK, OK and MAX sandbox servers, as ``make demo`` starts them (its credentials for OK
        and MAX, test-prod's VK tokens); the Telegram sandbox's clock file."""
        for name, command in self._sandbox_commands().items():
            self.spawn(name, command, host_environment())
        self.endpoints.vk_base_url = self._wait_for_line("vk-sandbox", r"listening on (\S+)")
        self.endpoints.ok_base_url = self._wait_for_line("ok-sandbox", r"listening on (\S+)")
        self.endpoints.max_base_url = self._wait_for_line("max-sandbox", r"listening on (\S+)")
        write_tg_clock(self.endpoints.tg_clock_file, datetime.now(UTC))

    def _sandbox_commands(self) -> dict[str, list[str]]:
        from sandbox import demo

        serve = [sys.executable, "-m", "sandbox"]
        data = ["--data", str(self.endpoints.sample_dir), "--port", "0"]
        vk_tokens = [f"--token={t['token']}" + (f":{t['rps']}" if "rps" in t else "") for t in VK_TOKENS]
        ok_app = f"--app={demo.OK_APP_KEY}:{demo.OK_APP_SECRET}:{demo.OK_APP_RPS}"
        return {
            "vk-sandbox": [*serve, "serve-vk", *data, *vk_tokens],
            "ok-sandbox": [*serve, "serve-ok", *data, ok_app, f"--token={demo.OK_TOKEN}"],
            "max-sandbox": [*serve, "serve-max", *data, f"--token={demo.MAX_TOKEN}:{demo.MAX_BOT_RPS}"],
        }

    def spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> Service:
        log = self.logs / f"{name}.log"
        handle = open(log, "wb")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def run_airflow(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            ["airflow", *args],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def _wait_for_line(self, name: str, pattern: str, timeout: float = 60) -> str:
        service = next(s for s in self.services if s.name == name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, service.log.read_text(errors="replace"))
            if match:
                return match.group(1)
            self.check_alive()
            time.sleep(0.2)
        raise TimeoutError(f"{name} did not print {pattern!r} in {timeout} s:\n{self.tail(name)}")

    def _wait_for_api(self, timeout: float = 180) -> None:
        import requests

        url = f"http://127.0.0.1:{self.endpoints.api_port}/api/v2/monitor/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=5).status_code == 200:
                    return
            self.check_alive()
            time.sleep(1)
        raise TimeoutError(f"the api-server did not answer {url} in {timeout} s:\n{self.tail('api-server')}")

    def check_alive(self) -> None:
        """Fail naming the first service that exited, with the end of its log."""
        for service in self.services:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited with {service.process.returncode}:\n{self.tail(service.name)}"
                )

    def tail(self, name: str, lines: int = 40) -> str:
        service = next(s for s in self.services if s.name == name)
        return "\n".join(service.log.read_text(errors="replace").splitlines()[-lines:])

    # stop ----------------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop every process group (TERM, then KILL), drop what was created; the errors, if any."""
        errors: list[str] = []
        for service in reversed(self.services):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for service in reversed(self.services):
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                errors.append(f"{service.name} ignored SIGTERM for 30 s: killed")
            # The group too: task processes and Celery's pool outlive a parent that exited.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
        for kind, what in reversed(self._cleanups):
            try:
                self._undo(kind, what)
            except Exception as exc:
                errors.append(f"{kind} {what}: {exc}")
        self.services.clear()
        self._cleanups.clear()
        return errors

    @staticmethod
    def _undo(kind: str, what: Any) -> None:
        if kind == "moto":
            what.stop()
        elif kind == "redis":
            import redis

            redis.Redis.from_url(what).flushdb()
        elif kind in ("database", "role"):
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                if kind == "database":
                    admin.execute(f'DROP DATABASE IF EXISTS "{what}" WITH (FORCE)')
                else:
                    admin.execute(f'DROP ROLE IF EXISTS "{what}"')


@contextlib.contextmanager
def running(
    folder: Path | None = None, env_file: Path | None = None, keep: bool = False
) -> Iterator[Topology]:
    """A started :class:`Topology` in ``folder`` (a new temporary one by default), stopped on exit."""
    owned = folder is None
    folder = Path(tempfile.mkdtemp(prefix="gospublic-prod-")) if folder is None else folder
    topology = Topology(Endpoints.new(folder, env_file))
    try:
        topology.start()
        yield topology
    finally:
        errors = topology.stop()
        if owned and not keep:
            shutil.rmtree(folder, ignore_errors=True)
        if errors:
            print("test-prod teardown:", *errors, sep="\n  ", file=sys.stderr)


def embedded_environment(
    folder: Path, env_file: Path, spec: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The embedded setup's environment for the reference run: compose's gospublic settings and
    the pseudonym key of the same ``env_file`` (so pseudonyms match), with SQLite, the DuckDB file
    and the lake folder under ``folder``; the same test settings as the topology."""
    spec = spec or compose()
    prod = environment(Endpoints.new(folder, env_file), spec)
    settings = {k: v for k, v in prod.items() if k.startswith("GOSPUBLIC_")}
    return {
        **host_environment(),
        **settings,
        "AIRFLOW_HOME": str(folder / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": prod["AIRFLOW__CORE__DAGS_FOLDER"],
        **(
            {"AIRFLOW__CORE__PLUGINS_FOLDER": prod["AIRFLOW__CORE__PLUGINS_FOLDER"]}
            if "AIRFLOW__CORE__PLUGINS_FOLDER" in prod
            else {}
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_GOSPUBLIC_PSEUDONYM": prod["AIRFLOW_CONN_GOSPUBLIC_PSEUDONYM"],
        "GOSPUBLIC_VAR_DIR": str(folder / "var"),
        "GOSPUBLIC_ALERT_LOG": str(folder / "alerts.jsonl"),
        # the reference runs through dag.test(), which fails a DAG with a deadline
        # (apache/airflow#73428); the topology's scheduler keeps them on, as compose sets it
        "GOSPUBLIC_DEADLINE_ALERTS": "off",
        "PATH": prod["PATH"],
    }
