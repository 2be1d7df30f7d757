"""The BI contract: every mart column documented and commented (in English; the Russian side is
schema mart_ru, tests/test_mart_ru.py), the dictionary current, and the bi_reader role confined to
schemas mart and mart_ru (PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.mart_contract import (
    DICTIONARY,
    column_comment,
    load_contract,
    render_dictionary,
    table_comment,
)
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse


def test_contract_equals_the_mart_tables(warehouse: Warehouse) -> None:
    migrate(warehouse)
    contract = {t.name: [c.name for c in t.columns] for t in load_contract()}
    tables = warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'mart' ORDER BY table_name"
    )
    assert sorted(contract) == [t["table_name"] for t in tables]
    for name, columns in contract.items():
        assert warehouse.table_columns(f"mart.{name}") == columns, name


def test_every_mart_column_carries_its_comment(warehouse: Warehouse) -> None:
    migrate(warehouse)
    if warehouse.dialect == "duckdb":
        sql = "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'mart'"
    else:
        sql = (
            "SELECT c.table_name, c.column_name, "
            "col_description(format('mart.%I', c.table_name)::regclass, c.ordinal_position) AS comment "
            "FROM information_schema.columns AS c WHERE c.table_schema = 'mart'"
        )
    comments = {(r["table_name"], r["column_name"]): r["comment"] for r in warehouse.query(sql)}
    if warehouse.dialect == "duckdb":
        sql = "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'mart'"
    else:
        sql = (
            "SELECT table_name, "
            "obj_description(format('mart.%I', table_name)::regclass, 'pg_class') AS comment "
            "FROM information_schema.tables WHERE table_schema = 'mart'"
        )
    table_comments = {r["table_name"]: r["comment"] for r in warehouse.query(sql)}
    for table in load_contract():
        assert (
            table_comments[table.name] == table_comment(table) == f"{table.description} Grain: {table.grain}."
        )
        for column in table.columns:
            assert comments[(table.name, column.name)] == column_comment(column) == column.description


def test_data_dictionary_is_generated_from_the_contract() -> None:
    current = (settings.project_home() / DICTIONARY).read_text(encoding="utf-8")
    assert current == render_dictionary(load_contract()), "run: python -m gospublic.cli data-dictionary"


@pytest.mark.postgres
def test_bi_reader_reads_mart_and_mart_ru_only(pg_database: str) -> None:
    warehouse = Warehouse.postgres(pg_database)
    migrate(warehouse)
    warehouse.execute("INSERT INTO mart.dim_page VALUES ('p1', 'o1', 'vk', 1, 'x', 'https://vk.com/x', "
                      "'active', DATE '2025-01-01', NULL, TRUE)")  # fmt: skip
    login = f"bi_test_{uuid.uuid4().hex[:8]}"
    warehouse.execute(f"CREATE ROLE {login} LOGIN IN ROLE bi_reader")
    url = sa.make_url(pg_database).set(username=login, password=None)
    reader = sa.create_engine(url)
    try:
        with reader.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM mart.dim_page")).scalar() == 1
            assert conn.execute(sa.text("SELECT COUNT(*) FROM mart_ru.dim_page")).scalar() == 1
        for table in ("core.dim_page", "core.fct_incident", "restricted.incident_text", "audit.load_runs"):
            with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}"))
    finally:
        reader.dispose()
        warehouse.execute(f"DROP OWNED BY {login}")
        warehouse.execute(f"DROP ROLE {login}")
        warehouse.close()
