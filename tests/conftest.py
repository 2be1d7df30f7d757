"""Test harness: real DuckDB, real PostgreSQL, moto's real S3 server, a throw-away Airflow home.

* ``warehouse`` runs a test on both engines: a DuckDB file in ``tmp_path`` and a fresh
  PostgreSQL database at ``GOSPUBLIC_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432``).
  Without PostgreSQL the PostgreSQL half skips locally and FAILS with ``CI=true``.
* ``lake`` runs a test on a local folder and on an S3 bucket of moto's ``ThreadedMotoServer``.
* ``airflow_home`` prepares SQLite metadata for ``dag.test()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
# One session folder per test run, also when this file is imported a second time under another
# module name (``tests.conftest`` beside pytest's ``conftest``): a new folder would point every
# later child process at an Airflow home with no metadata database.
_SESSION_DIR = Path(
    os.environ.get("GOSPUBLIC_TEST_SESSION_DIR") or tempfile.mkdtemp(prefix="gospublic-tests-")
)
os.environ["GOSPUBLIC_TEST_SESSION_DIR"] = str(_SESSION_DIR)
# Under pytest-xdist (make test runs ``-n``) each worker process inherits the controller's folder:
# a folder of its own keeps the workers' Airflow SQLite metadata and var/ apart.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and _SESSION_DIR.name != _WORKER:
    _SESSION_DIR = _SESSION_DIR / _WORKER
    _SESSION_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["GOSPUBLIC_TEST_SESSION_DIR"] = str(_SESSION_DIR)

# Airflow reads its configuration at import: settle it before anything imports airflow.
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "GOSPUBLIC_HOME": str(PROJECT),
        "GOSPUBLIC_VAR_DIR": str(_SESSION_DIR / "var"),
        "GOSPUBLIC_TASK_RETRIES": "0",
        # dag.test() fails a successful run of a DAG with a deadline (apache/airflow#73428);
        # tests/test_dag_hygiene.py parses the DAGs with their deadlines on
        "GOSPUBLIC_DEADLINE_ALERTS": "off",
    }
)
for _name in [k for k in os.environ if k.startswith("AIRFLOW_CONN_GOSPUBLIC")]:
    del os.environ[_name]

PG_ADMIN_URL = os.environ.get("GOSPUBLIC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


# -- PostgreSQL ---------------------------------------------------------------------------------


def _pg_admin_connect():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The maintenance database URL that tests create and drop their databases through."""
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skip (locally) or fail (CI=true) when PostgreSQL cannot be reached."""
    try:
        _pg_admin_connect().close()
    except Exception as exc:
        message = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_database(postgres_available: None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; its SQLAlchemy URL."""
    import sqlalchemy as sa

    name = f"gospublic_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin_connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _pg_admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- warehouse ----------------------------------------------------------------------------------


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def warehouse_conn(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    """The ``gospublic_warehouse`` connection (as Airflow JSON) for this test's engine."""
    if engine == "duckdb":
        return {"conn_type": "duckdb", "extra": {"path": str(tmp_path / "warehouse.duckdb")}}
    import sqlalchemy as sa

    url = sa.make_url(request.getfixturevalue("pg_database"))
    return {
        "conn_type": "postgres",
        "host": url.host,
        "port": url.port or 5432,
        "login": url.username,
        "password": url.password,
        "schema": url.database,
    }


@pytest.fixture
def warehouse(warehouse_conn: dict, monkeypatch: pytest.MonkeyPatch):
    """A ``Warehouse`` on this test's engine, also set as the Airflow connection for DAG runs."""
    import json

    from gospublic.infra.warehouse import Warehouse

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", json.dumps(warehouse_conn))
    wh = Warehouse.from_connection()
    yield wh
    wh.close()


@pytest.fixture
def migrated(warehouse):
    """``warehouse`` with every migration applied."""
    from gospublic.infra.migrations import migrate

    migrate(warehouse)
    return warehouse


# -- lake ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a real HTTP S3 API)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on the moto server, with test credentials in the environment."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def lake_conn(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    """The ``gospublic_lake`` connection (as Airflow JSON): a folder or a moto S3 bucket."""
    if request.param == "local":
        return {"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"bucket": bucket, "endpoint_url": endpoint, "region_name": "us-east-1", "prefix": "gp"},
    }


@pytest.fixture
def lake(lake_conn: dict, monkeypatch: pytest.MonkeyPatch):
    import json

    from gospublic.infra.lake import Lake

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    return Lake.from_connection()


# -- Airflow ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """SQLite metadata migrated once per session for ``dag.test()``."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if result.returncode != 0:
        pytest.fail(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return home


@pytest.fixture
def dagbag(airflow_home: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


# -- make test-prod -----------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--prod",
        action="store_true",
        help="run the tests marked prod: compose's topology as local processes (make test-prod)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``prod`` run only with ``--prod``: ``make test`` deselects them (not skips)."""
    if config.getoption("--prod"):
        return
    deselected = [item for item in items if item.get_closest_marker("prod")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("prod")]


# -- pytest-xdist: what workers report to the controller -------------------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its kill trials (tests/reliability) to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.reliability.harness import KILL_TALLY

        workeroutput["kill_tally"] = json.dumps(KILL_TALLY)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller collects a finished worker's kill trials."""
    from tests.reliability.harness import KILL_TALLY

    KILL_TALLY.extend(json.loads(getattr(node, "workeroutput", {}).get("kill_tally", "[]")))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.reliability.harness import print_kill_tally

    print_kill_tally(terminalreporter)
