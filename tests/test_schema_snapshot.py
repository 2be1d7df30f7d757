"""The committed schema snapshots (``sql/schema.<engine>.sql``) are the DDL after all migrations."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gospublic.cli import main
from gospublic.infra import settings
from gospublic.infra.schema_snapshot import DEFAULT_PG_URL, generate, snapshot_path, stale_diff

PG_URL = os.environ.get("GOSPUBLIC_TEST_PG", DEFAULT_PG_URL)  # the server conftest's databases are on

SHOWN_DIFF_LINES = 120
# A migration someone adds without regenerating: a column (a name no wider than the table's
# others, so no other line of the table moves) and an index.
EXTRA_MIGRATION = """
ALTER TABLE core.dim_org ADD COLUMN probe TEXT;
CREATE INDEX dim_org_probe ON core.dim_org (probe);
"""


@pytest.fixture
def snapshot_engine(engine: str, request: pytest.FixtureRequest) -> str:
    """``engine``, with PostgreSQL reachable (skips locally, fails under CI=true otherwise)."""
    if engine == "postgres":
        request.getfixturevalue("postgres_available")
    return engine


@pytest.fixture
def sql_with_extra_migration(tmp_path: Path) -> Path:
    """A copy of sql/ (its committed snapshots too) plus one migration after the others."""
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    (root / "migrations" / "9999_schema_snapshot_probe.sql").write_text(EXTRA_MIGRATION, encoding="utf-8")
    return root


def test_committed_snapshot_is_current(snapshot_engine: str) -> None:
    diff = stale_diff(snapshot_engine, generate(snapshot_engine, pg_url=PG_URL))
    if diff:
        lines = diff.splitlines()
        shown = "\n".join(lines[:SHOWN_DIFF_LINES])
        more = f"\n… {len(lines) - SHOWN_DIFF_LINES} more lines" if len(lines) > SHOWN_DIFF_LINES else ""
        pytest.fail(
            f"{snapshot_path(snapshot_engine)} is stale: run `make schema` and commit it.\n{shown}{more}",
            pytrace=False,
        )


def test_a_new_migration_shows_as_exactly_its_lines(
    snapshot_engine: str, sql_with_extra_migration: Path
) -> None:
    """Stale once a migration is added, and the diff holds that migration's DDL and nothing else
    (the rendering is sorted and stable)."""
    generated = generate(snapshot_engine, sql_with_extra_migration, PG_URL)
    diff = stale_diff(snapshot_engine, generated, sql_with_extra_migration).splitlines()
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    assert removed == []
    assert len(added) == 2, added
    column, index = added  # the column comes before the key, hence its comma
    assert column.rstrip(",").split() == ["probe", "TEXT" if snapshot_engine == "postgres" else "VARCHAR"]
    assert index.startswith("CREATE INDEX dim_org_probe ON core.dim_org")
    assert "(probe)" in index


def test_cli_check_fails_on_a_stale_snapshot_and_passes_once_written(
    sql_with_extra_migration: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["schema-snapshot", "--engine", "duckdb", "--sql-dir", str(sql_with_extra_migration)]
    committed = snapshot_path("duckdb", sql_with_extra_migration).read_text(encoding="utf-8")

    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "schema.duckdb.sql: STALE — run `make schema`" in out
    assert "+    probe" in out
    assert snapshot_path("duckdb", sql_with_extra_migration).read_text(encoding="utf-8") == committed

    assert main(args) == 0
    assert "schema.duckdb.sql: written" in capsys.readouterr().out
    assert "probe" in snapshot_path("duckdb", sql_with_extra_migration).read_text(encoding="utf-8")
    assert main([*args, "--check"]) == 0
    assert "schema.duckdb.sql: current" in capsys.readouterr().out


def test_cli_names_an_unreachable_postgres(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:1/postgres"  # nothing listens on port 1
    assert main(["schema-snapshot", "--check", "--engine", "postgres", "--pg-url", url]) == 2
    out = capsys.readouterr().out
    assert "PostgreSQL unreachable at postgresql://postgres@127.0.0.1:1/postgres" in out
    assert "--pg-url" in out
