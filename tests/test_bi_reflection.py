"""BI tools reflect schema mart through SQLAlchemy, on both engines (issue 27).

Superset-style tools list a schema's tables and views, then reflect each one's columns and
comments with SQLAlchemy's inspector (``get_table_names``, ``get_view_names``, ``get_columns``,
``get_table_comment``) and query the columns they found. This test does exactly that over a
warehouse with the sample registry loaded and November 2025's marts built, through duckdb-engine
(``duckdb:///<file>``, read-only as the README advises) and psycopg (``postgresql+psycopg://``,
also as a member of ``bi_reader``), and checks what it sees against ``config/mart_contract.yaml``;
schema mart_ru likewise, against the views ``gospublic.infra.mart_ru`` generates from it.
With SQLAlchemy 2.1.9, duckdb-engine 0.17.0 failed ``get_columns`` with ``pg_catalog.pg_collation
not found``; requirements.in pins SQLAlchemy 2.0.x for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from gospublic.infra.mart_contract import Table, load_contract
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE

SCHEMA = "mart"
MONTH = date(2025, 11, 1)
# mart tables that hold rows after the sample registry's load and the month's build (no VK or
# incident data is loaded here): reading them proves the reflected tables are the built ones
FILLED = ("dim_org", "dim_page", "page_activity_monthly", "page_compliance_monthly", "rating_base")


@dataclass(frozen=True)
class Relation:
    """One table or view of schema mart as SQLAlchemy's inspector reflects it."""

    name: str
    kind: str  # "table" or "view"
    comment: str | None
    columns: tuple[tuple[str, str | None], ...]  # (name, comment) in the table's order
    rows: int


def bi_url(warehouse_conn: dict[str, Any]) -> sa.URL:
    """The URL a BI tool is given for this test's warehouse (README, "For BI users")."""
    if warehouse_conn["conn_type"] == "duckdb":
        return sa.make_url(f"duckdb:///{warehouse_conn['extra']['path']}?access_mode=read_only")
    return sa.URL.create(
        "postgresql+psycopg",
        username=warehouse_conn["login"],
        password=warehouse_conn["password"],
        host=warehouse_conn["host"],
        port=warehouse_conn["port"],
        database=warehouse_conn["schema"],
    )


@pytest.fixture
def built(migrated: Warehouse, warehouse_conn: dict[str, Any]) -> sa.URL:
    """The sample registry loaded and the month's marts built; the BI tool's URL. The warehouse is
    closed afterwards, as the DAG tasks close it: DuckDB lets a reader in only when no writer holds
    the file."""
    load_registry(migrated, SAMPLE)
    build_month(migrated, MONTH)
    migrated.close()
    return bi_url(warehouse_conn)


def reflect(url: sa.URL, schema: str = SCHEMA) -> dict[str, Relation]:
    """Every table and view of ``schema`` as a BI tool's SQLAlchemy sees it, with its row count
    read by a query over the reflected columns."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        kinds = {name: "table" for name in inspector.get_table_names(schema=schema)}
        kinds |= {name: "view" for name in inspector.get_view_names(schema=schema)}
        relations = {}
        with engine.connect() as conn:
            for name, kind in sorted(kinds.items()):
                columns = inspector.get_columns(name, schema=schema)
                table = sa.table(name, *(sa.column(c["name"], c["type"]) for c in columns), schema=schema)
                relations[name] = Relation(
                    name=name,
                    kind=kind,
                    comment=inspector.get_table_comment(name, schema=schema)["text"],
                    columns=tuple((c["name"], c.get("comment")) for c in columns),
                    rows=conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one(),
                )
        return relations
    finally:
        engine.dispose()


def assert_matches_the_contract(relations: dict[str, Relation], contract: list[Table]) -> None:
    assert sorted(relations) == sorted(t.name for t in contract), "schema mart differs from the contract"
    for table in contract:
        seen = relations[table.name]
        assert seen.comment and table.description in seen.comment, f"{table.name}: {seen.comment!r}"
        assert [name for name, _ in seen.columns] == [c.name for c in table.columns], table.name
        for column, (_, comment) in zip(table.columns, seen.columns, strict=True):
            assert comment and column.description in comment, f"{table.name}.{column.name}: {comment!r}"
    empty = [name for name in FILLED if relations[name].rows == 0]
    assert not empty, f"no rows reflected in {empty}: not the built warehouse"


def test_sqlalchemy_reflects_every_mart_table_with_its_comments(built: sa.URL) -> None:
    assert_matches_the_contract(reflect(built), load_contract())


def test_sqlalchemy_reflects_mart_ru_with_its_russian_names_and_comments(built: sa.URL) -> None:
    """Schema mart_ru, which DataLens and the Superset starter read, reflected as schema mart is:
    one view per mart table, the Russian column names of gospublic.infra.mart_ru in order, their
    Russian comments, and the table's rows through a query over the reflected columns."""
    from gospublic.infra.mart_ru import build_views

    relations = reflect(built, "mart_ru")
    marts = reflect(built)
    views = {v.table: v for v in build_views()}
    assert sorted(relations) == sorted(views), "schema mart_ru differs from the generated views"
    for name, view in views.items():
        seen = relations[name]
        assert (seen.kind, seen.comment) == ("view", view.comment), name
        assert seen.columns == tuple((c.name, c.comment) for c in view.columns), name
        assert seen.rows == marts[name].rows, f"{name}: a view has its table's rows"
    assert all(relations[name].rows for name in FILLED), "not the built warehouse"


@pytest.mark.parametrize("engine", ["duckdb"])
def test_the_read_only_duckdb_url_refuses_writes(built: sa.URL) -> None:
    bi = sa.create_engine(built)
    try:
        with bi.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read-only"):
            conn.execute(sa.text("CREATE TABLE mart.scratch (x INTEGER)"))
    finally:
        bi.dispose()


@pytest.fixture
def bi_login(built: sa.URL) -> Iterator[sa.URL]:
    """A BI tool's login role, a member of bi_reader (as docker/postgres-init makes BI_USER)."""
    login = f"bi_test_{uuid.uuid4().hex[:8]}"
    owner = sa.create_engine(built, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {login} LOGIN IN ROLE bi_reader"))
    try:
        yield built.set(username=login, password=None)
    finally:
        with owner.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {login}"))
            conn.execute(sa.text(f"DROP ROLE {login}"))
        owner.dispose()


@pytest.mark.parametrize("engine", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_bi_reader_login_reflects_what_the_owner_sees(built: sa.URL, bi_login: sa.URL) -> None:
    as_reader = reflect(bi_login)
    assert_matches_the_contract(as_reader, load_contract())
    assert as_reader == reflect(built)
