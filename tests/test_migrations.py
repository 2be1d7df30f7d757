"""Migrations and every SQL file of sql/ on both engines."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from gospublic.infra import settings
from gospublic.infra.migrations import MigrationError, migrate, status
from gospublic.infra.sql_files import all_files, inserted_tables, migration_files, split_statements
from gospublic.infra.warehouse import SCHEMAS, Warehouse
from gospublic.marts.build import mart_params


def test_migrations_create_the_schemas_once(warehouse: Warehouse) -> None:
    applied = migrate(warehouse)
    assert applied == [f.name for f in migration_files(settings.sql_dir(), warehouse.dialect)]
    assert set(SCHEMAS) <= set(warehouse.schemas())
    assert warehouse.table_exists("audit.load_runs")
    assert migrate(warehouse) == []
    assert status(warehouse).pending == []


def test_an_edited_applied_migration_is_refused(warehouse: Warehouse, tmp_path: Path) -> None:
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    migrate(warehouse, root)
    first = sorted((root / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\nCREATE SCHEMA IF NOT EXISTS extra;\n")
    with pytest.raises(MigrationError, match="edited"):
        migrate(warehouse, root)


def test_a_new_migration_applies_after_the_old_ones(warehouse: Warehouse, tmp_path: Path) -> None:
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    migrate(warehouse, root)
    (root / "migrations" / "9999_test.sql").write_text("CREATE TABLE staging.t9999 (id BIGINT);")
    assert migrate(warehouse, root) == ["migrations/9999_test.sql"]
    assert warehouse.table_exists("staging.t9999")


def test_a_failing_migration_rolls_back_and_names_itself(warehouse: Warehouse, tmp_path: Path) -> None:
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    migrate(warehouse, root)
    (root / "migrations" / "9998_bad.sql").write_text(
        "CREATE TABLE staging.half_done (id BIGINT);\nCREATE TABLE staging.broken (id NO_SUCH_TYPE);"
    )
    with pytest.raises(MigrationError, match=r"9998_bad\.sql"):
        migrate(warehouse, root)
    assert not warehouse.table_exists("staging.half_done")
    assert status(warehouse, root).pending == ["migrations/9998_bad.sql"]


def test_every_sql_file_runs_on_this_engine(warehouse: Warehouse) -> None:
    """Migrations apply, then every model file runs with the partition parameters models take."""
    migrate(warehouse)
    params = {
        "month_start": date(2025, 11, 1),
        "month_end": date(2025, 12, 1),
        "dt": date(2025, 11, 15),
        "batch_id": "batch:0123456789abcdef",
        "network": "ok",  # the other networks' core models (a network's day at a time)
        **mart_params(date(2025, 11, 1)),
    }
    for sql_file in all_files(settings.sql_dir()):
        if sql_file.layer == "migrations":
            continue
        # the VK models' scope (forward or full, gospublic.vk.load): each file runs in both
        scopes = [{"forward": False}, {"forward": True}] if ":forward" in sql_file.text else [{}]
        for scope in scopes:
            warehouse.execute_script(sql_file.text, {**params, **scope})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';' AS a; SELECT 2", ["SELECT ';' AS a", "SELECT 2"]),
        ("-- a; comment\nSELECT 1;\n-- trailing; comment\n", ["-- a; comment\nSELECT 1"]),
        ("SELECT 'it''s; ok'; /* x; y */", ["SELECT 'it''s; ok'"]),
        ('SELECT 1 AS "a;b"', ['SELECT 1 AS "a;b"']),
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 3",
            ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT 3"],
        ),
        ("SELECT $1, $2;", ["SELECT $1, $2"]),
        ("", []),
    ],
)
def test_split_statements(text: str, expected: list[str]) -> None:
    assert split_statements(text) == expected


def test_inserted_tables_are_the_targets_of_insert_statements() -> None:
    text = (
        "-- INSERT INTO staging.commented_out\n"
        "DELETE FROM core.a WHERE EXISTS (SELECT 1 FROM staging.k);\n"
        "/* lead */ insert into Core.B (x) SELECT x FROM staging.k;\n"
        "INSERT INTO core.a SELECT 1; INSERT INTO core.b SELECT 2;\n"
        "UPDATE core.c SET x = (SELECT 1 FROM core.d) -- INSERT INTO core.e\n"
    )
    assert inserted_tables(text) == ["core.b", "core.a"]
    assert inserted_tables("SELECT 'INSERT INTO core.x'") == []


def test_engine_specific_migrations_apply_on_their_engine_only(warehouse: Warehouse) -> None:
    applied = migrate(warehouse)
    assert ("migrations/0010_load_indexes.postgres.sql" in applied) == (warehouse.dialect == "postgres")
    assert "migrations/0010_load_indexes.postgres.sql" in [
        f.name for f in migration_files(settings.sql_dir())
    ]
    if warehouse.dialect == "postgres":
        indexes = {r["indexname"] for r in warehouse.query("SELECT indexname FROM pg_indexes")}
        assert {"fct_incident_event_load_id", "incident_text_load_id"} <= indexes
        assert {"vk_post_observations_dt", "vk_comment_observations_dt", "fct_post_observed_dt"} <= indexes
