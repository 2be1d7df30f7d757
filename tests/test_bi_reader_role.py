"""bi_reader on a PostgreSQL where the migrator is not a superuser (issue 22, item 8).

On a managed PostgreSQL (RDS, Cloud SQL, Yandex Managed Service) the warehouse's migrator is an
ordinary role that owns the warehouse database; the group role bi_reader is created by the
migration `0016_bi_reader_role.postgres.sql`, which takes CREATEROLE, or by the DBA beforehand.
Roles belong to the whole server, and other tests use `bi_reader` itself, so the tests of the
migration's own logic run it under a throw-away role name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).resolve().parents[1]
MIGRATION = settings.sql_dir() / "migrations" / "0016_bi_reader_role.postgres.sql"
POSTGRES_INIT = PROJECT / "docker" / "postgres-init" / "01-warehouse.sh"


@dataclass(frozen=True)
class Owner:
    """A non-superuser login role that owns a fresh database; ``url`` connects as it."""

    role: str
    database: str
    url: str


def _admin(pg_admin_url: str) -> sa.Engine:
    url = sa.make_url(pg_admin_url).set(drivername="postgresql+psycopg")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def _owner(pg_admin_url: str, attributes: str) -> Iterator[Owner]:
    suffix = uuid.uuid4().hex[:10]
    role, database = f"gp_migrator_{suffix}", f"gospublic_test_{suffix}"
    admin = _admin(pg_admin_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN NOSUPERUSER {attributes}"))
        conn.execute(sa.text(f'CREATE DATABASE "{database}" OWNER {role}'))
    url = sa.make_url(pg_admin_url).set(
        drivername="postgresql+psycopg", username=role, password=None, database=database
    )
    try:
        yield Owner(role, database, url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.fixture
def owner_with_createrole(postgres_available: None, pg_admin_url: str) -> Iterator[Owner]:
    """The privilege the migrator needs when bi_reader does not exist yet."""
    yield from _owner(pg_admin_url, "CREATEROLE")


@pytest.fixture
def owner_only(postgres_available: None, pg_admin_url: str) -> Iterator[Owner]:
    """No CREATEROLE: the DBA creates bi_reader."""
    yield from _owner(pg_admin_url, "NOCREATEROLE")


@pytest.fixture
def group_name(pg_admin_url: str) -> Iterator[str]:
    """A throw-away name standing for bi_reader; dropped afterwards."""
    name = f"bi_reader_t{uuid.uuid4().hex[:10]}"
    yield name
    admin = _admin(pg_admin_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
    admin.dispose()


def migration_for(group: str) -> str:
    return re.sub(r"\bbi_reader\b", group, MIGRATION.read_text(encoding="utf-8"))


def run_as(owner: Owner, sql: str) -> None:
    warehouse = Warehouse.postgres(owner.url)
    try:
        warehouse.execute_script(sql)
    finally:
        warehouse.close()


def role_row(pg_admin_url: str, name: str) -> dict | None:
    admin = _admin(pg_admin_url)
    with admin.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, shobj_description(oid, 'pg_authid') AS comment "
                "FROM pg_roles WHERE rolname = :name"
            ),
            {"name": name},
        ).first()
    admin.dispose()
    return None if row is None else dict(row._mapping)


def test_the_migration_creates_the_group_role_nologin_once(
    owner_with_createrole: Owner, group_name: str, pg_admin_url: str
) -> None:
    assert role_row(pg_admin_url, group_name) is None
    run_as(owner_with_createrole, migration_for(group_name))
    created = role_row(pg_admin_url, group_name)
    assert created is not None, "the migration did not create the group role"
    assert created["rolcanlogin"] is False, "a group role: nobody logs in as it"
    assert not created["rolsuper"] and not created["rolcreaterole"]
    assert "mart" in created["comment"]
    run_as(owner_with_createrole, migration_for(group_name))  # idempotent: the role exists now
    assert role_row(pg_admin_url, group_name) == created


def test_without_createrole_the_migration_tells_what_the_dba_must_run(
    owner_only: Owner, group_name: str, pg_admin_url: str
) -> None:
    with pytest.raises(sa.exc.ProgrammingError) as refused:
        run_as(owner_only, migration_for(group_name))
    message = str(refused.value)
    assert f"CREATE ROLE {group_name} NOLOGIN" in message and owner_only.role in message
    assert role_row(pg_admin_url, group_name) is None

    admin = _admin(pg_admin_url)
    with admin.connect() as conn:  # what the DBA runs once
        conn.execute(sa.text(f"CREATE ROLE {group_name} NOLOGIN"))
    admin.dispose()
    run_as(owner_only, migration_for(group_name))  # now it passes and keeps the DBA's role
    assert role_row(pg_admin_url, group_name)["rolcanlogin"] is False


def _ensure_bi_reader(pg_admin_url: str) -> None:
    """bi_reader as the DBA would create it (the server's roles are shared with other tests)."""
    admin = _admin(pg_admin_url)
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "DO $$ BEGIN CREATE ROLE bi_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    admin.dispose()


def _reads(url: str, login: str) -> dict[str, bool]:
    engine = sa.create_engine(sa.make_url(url).set(username=login, password=None))
    readable: dict[str, bool] = {}
    try:
        for table in (
            "mart.dim_page",
            "mart_ru.dim_page",
            "mart_ru.rating_monthly",
            "core.dim_page",
            "restricted.incident_text",
            "audit.load_runs",
        ):
            with engine.connect() as conn:
                try:
                    conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}"))
                    readable[table] = True
                except sa.exc.ProgrammingError as exc:
                    assert "permission denied" in str(exc)
                    readable[table] = False
    finally:
        engine.dispose()
    return readable


@pytest.mark.parametrize("privilege", ["createrole", "owner-only"])
def test_a_database_owner_that_is_not_superuser_migrates_and_grants(
    privilege: str, request: pytest.FixtureRequest, pg_admin_url: str
) -> None:
    """The whole migrator (every migration, comments, grants) as the owner of the database."""
    if privilege == "owner-only":
        _ensure_bi_reader(pg_admin_url)  # the one thing the DBA must do for such a migrator
    owner: Owner = request.getfixturevalue(
        "owner_with_createrole" if privilege == "createrole" else "owner_only"
    )
    assert role_row(pg_admin_url, owner.role)["rolsuper"] is False
    warehouse = Warehouse.postgres(owner.url)
    login = f"bi_test_{uuid.uuid4().hex[:8]}"
    admin = _admin(pg_admin_url)
    try:
        assert migrate(warehouse), "nothing migrated"
        assert migrate(warehouse) == [], "a second run applies nothing and re-grants without error"
        assert role_row(pg_admin_url, "bi_reader")["rolcanlogin"] is False
        with admin.connect() as conn:  # a BI tool's login, a member of the group
            conn.execute(sa.text(f"CREATE ROLE {login} LOGIN IN ROLE bi_reader"))
        assert _reads(owner.url, login) == {
            "mart.dim_page": True,
            "mart_ru.dim_page": True,
            "mart_ru.rating_monthly": True,
            "core.dim_page": False,
            "restricted.incident_text": False,
            "audit.load_runs": False,
        }
    finally:
        warehouse.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {login}"))
        admin.dispose()


def test_bi_reader_reads_what_the_migrator_creates_later_in_mart_and_mart_ru(
    owner_with_createrole: Owner, pg_admin_url: str
) -> None:
    """Default privileges: a table or view the migrator's role creates in mart or mart_ru after the
    grants ran (a mart_ru view re-created from the contract, a new mart) is readable at once."""
    warehouse = Warehouse.postgres(owner_with_createrole.url)
    login = f"bi_test_{uuid.uuid4().hex[:8]}"
    admin = _admin(pg_admin_url)
    try:
        migrate(warehouse)
        warehouse.execute("CREATE TABLE mart.later_table (x INTEGER)")
        warehouse.execute('CREATE VIEW mart_ru.later_view AS SELECT 1 AS "Поле"')
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE {login} LOGIN IN ROLE bi_reader"))
        engine = sa.create_engine(sa.make_url(owner_with_createrole.url).set(username=login, password=None))
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT COUNT(*) FROM mart.later_table")).scalar() == 0
                assert conn.execute(sa.text('SELECT "Поле" FROM mart_ru.later_view')).scalar() == 1
                assert conn.execute(sa.text("SELECT COUNT(*) FROM mart_ru.dim_org_current")).scalar() == 0
        finally:
            engine.dispose()
    finally:
        warehouse.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {login}"))
        admin.dispose()


def renamed(text: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def test_compose_postgres_init_then_the_migrator_give_bi_its_login(
    postgres_available: None, pg_admin_url: str, tmp_path: Path
) -> None:
    """docker/postgres-init as the container runs it (psql, as the superuser), then the migrator as
    the warehouse role it made: the BI login reads mart only. The server-wide names (the database,
    its owner and the group) are replaced by throw-away ones."""
    psql = shutil.which("psql")
    assert psql, "psql (PostgreSQL's client) is needed to run docker/postgres-init"
    suffix = uuid.uuid4().hex[:10]
    names = {"warehouse": f"gp_wh_{suffix}", "bi_reader": f"bi_reader_t{suffix}"}
    bi_user = f"bi_{suffix}"
    admin_url = sa.make_url(pg_admin_url)
    env = {
        **os.environ,
        "POSTGRES_USER": admin_url.username or "postgres",
        "POSTGRES_DB": admin_url.database or "postgres",
        "PGHOST": admin_url.host or "127.0.0.1",
        "PGPORT": str(admin_url.port or 5432),
        "WAREHOUSE_PASSWORD": 'it\'s a "secret"',
        "BI_USER": bi_user,
        "BI_PASSWORD": "O'Neil; DROP ROLE x",
    }
    if admin_url.password:
        env["PGPASSWORD"] = admin_url.password
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    for path in [*root.glob("migrations/*.sql"), *root.glob("grants/*.sql")]:
        path.write_text(renamed(path.read_text(encoding="utf-8"), names), encoding="utf-8")
    admin = _admin(pg_admin_url)
    owner_url = sa.make_url(pg_admin_url).set(
        drivername="postgresql+psycopg",
        username=names["warehouse"],
        password=None,
        database=names["warehouse"],
    )
    warehouse = None
    try:
        init = subprocess.run(
            ["bash", "-c", renamed(POSTGRES_INIT.read_text(), names)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert init.returncode == 0, init.stderr
        owner = role_row(pg_admin_url, names["warehouse"])
        assert owner and owner["rolcanlogin"] and not owner["rolsuper"] and not owner["rolcreaterole"]
        assert role_row(pg_admin_url, names["bi_reader"])["rolcanlogin"] is False
        with admin.connect() as conn:
            login = conn.execute(
                sa.text(
                    "SELECT a.rolcanlogin, a.rolpassword, pg_has_role(a.oid, :grp, 'MEMBER') AS member "
                    "FROM pg_authid AS a WHERE a.rolname = :login"
                ),
                {"grp": names["bi_reader"], "login": bi_user},
            ).one()
        assert login.rolcanlogin and login.member, "BI's login must be a member of the group"
        assert login.rolpassword and login.rolpassword.startswith("SCRAM-SHA-256$")

        warehouse = Warehouse.postgres(owner_url.render_as_string(hide_password=False))
        assert migrate(warehouse, root), "the warehouse role could not migrate"
        assert _reads(owner_url.render_as_string(hide_password=False), bi_user) == {
            "mart.dim_page": True,
            "mart_ru.dim_page": True,
            "mart_ru.rating_monthly": True,
            "core.dim_page": False,
            "restricted.incident_text": False,
            "audit.load_runs": False,
        }
    finally:
        if warehouse is not None:
            warehouse.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{names["warehouse"]}" WITH (FORCE)'))
            for role in (bi_user, names["bi_reader"], names["warehouse"]):
                conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
