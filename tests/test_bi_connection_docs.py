"""README "For BI users" gives the connection compose really publishes (issue 27).

The README's PostgreSQL connection strings must name the host and port docker-compose.yml publishes
the PostgreSQL service on, the warehouse database the DAGs use, and the BI login compose creates
(``BI_USER``, a member of ``bi_reader``). Its embedded connection must name the DuckDB file the
warehouse uses when no connection is set, opened read-only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from gospublic.infra import settings
from tests.test_compose import ENV_EXAMPLE, PROJECT, SERVICES, airflow_env, interpolate

SECTION = "## For BI users"
POSTGRES_URL = re.compile(
    r"postgresql(?:\+\w+)?://(?P<user>[^:@/\s`]+)(?::[^@\s`]*)?@(?P<host>[^:/\s`]+):(?P<port>\d+)/(?P<db>[\w-]+)"
)
DUCKDB_URL = re.compile(r"duckdb:///(?P<path>[^?\s`]+)(?:\?(?P<query>[^\s`]+))?")


@dataclass(frozen=True)
class PgConnection:
    user: str
    host: str
    port: int
    database: str


def bi_section() -> str:
    """The README's "For BI users" section, up to the next section of the same level."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert readme.count(SECTION) == 1, f"README has no single {SECTION!r} section"
    section = readme.split(SECTION, 1)[1]
    return SECTION + re.split(r"^## ", section, maxsplit=1, flags=re.M)[0]


def compose_bi_connection() -> PgConnection:
    """What a BI tool on the compose host connects to: the published PostgreSQL port, the database
    the DAGs' warehouse connection names, the login docker/postgres-init creates (BI_USER)."""
    (published,) = [interpolate(port, ENV_EXAMPLE) for port in SERVICES["postgres"]["ports"]]
    host, port, container_port = published.split(":")
    assert container_port == "5432", published
    warehouse = json.loads(airflow_env("airflow-init")["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"])
    user = interpolate(SERVICES["postgres"]["environment"]["BI_USER"], ENV_EXAMPLE)
    return PgConnection(user=user, host=host, port=int(port), database=warehouse["schema"])


def test_compose_creates_the_bi_login_in_bi_reader_and_the_database() -> None:
    init = (PROJECT / "docker" / "postgres-init" / "01-warehouse.sh").read_text(encoding="utf-8")
    database = compose_bi_connection().database
    assert re.search(rf"^CREATE DATABASE {database} OWNER ", init, re.M), database
    assert re.search(r'^CREATE ROLE :"bi_user" LOGIN .* IN ROLE bi_reader;$', init, re.M)


def test_the_readme_postgres_urls_are_what_compose_publishes() -> None:
    section = bi_section()
    urls = [
        PgConnection(m["user"], m["host"], int(m["port"]), m["db"]) for m in POSTGRES_URL.finditer(section)
    ]
    assert urls, "the section gives no postgresql:// connection string"
    assert set(urls) == {compose_bi_connection()}
    assert "bi_reader" in section and "BI_USER" in section


def test_the_readme_duckdb_url_is_the_default_file_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ENV_VAR_DIR, raising=False)
    monkeypatch.setenv(settings.ENV_HOME, str(PROJECT))
    default = settings.default_warehouse_path().relative_to(PROJECT).as_posix()
    urls = list(DUCKDB_URL.finditer(bi_section()))
    assert urls, "the section gives no duckdb:/// connection string"
    for url in urls:
        assert Path(url["path"]).as_posix().endswith(default), url[0]
        assert url["query"] == "access_mode=read_only", f"{url[0]}: open the embedded warehouse read-only"
    assert settings.ENV_VAR_DIR in bi_section(), "say where the file is when the var folder is moved"
