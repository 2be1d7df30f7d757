"""Schema migrations: the DDL files of ``sql/migrations`` applied once each, in order.

Each applied file is recorded in ``audit.schema_migrations`` with its checksum; a file that
changed after it was applied is an error (write a new migration instead), never re-run silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from gospublic.infra import mart_ru, settings
from gospublic.infra.mart_contract import apply_comments
from gospublic.infra.sql_files import SqlFile, migration_files
from gospublic.infra.warehouse import Warehouse, run_script, writer

log = logging.getLogger(__name__)

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.schema_migrations (
    migration   TEXT PRIMARY KEY,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


_RECORD = sa.text("INSERT INTO audit.schema_migrations (migration, checksum) VALUES (:migration, :checksum)")


class MigrationError(RuntimeError):
    """An applied migration was edited, or a migration failed."""


class MigrationEditedError(MigrationError):
    """An applied migration was edited: its checksum no longer matches (retrying cannot heal it)."""


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]


def status(warehouse: Warehouse, root: Path | None = None) -> MigrationStatus:
    """Which migrations are applied and which are pending; checks applied checksums."""
    files = migration_files(root or settings.sql_dir(), warehouse.dialect)
    warehouse.execute_script(_BOOTSTRAP)
    recorded = {
        row["migration"]: row["checksum"]
        for row in warehouse.query("SELECT migration, checksum FROM audit.schema_migrations")
    }
    edited = [f.name for f in files if f.name in recorded and recorded[f.name] != f.checksum]
    if edited:
        raise MigrationEditedError(
            f"applied migrations were edited: {edited}; add a new migration instead of changing them"
        )
    return MigrationStatus(
        applied=[f.name for f in files if f.name in recorded],
        pending=[f.name for f in files if f.name not in recorded],
    )


@writer("migrations")
def migrate(warehouse: Warehouse, root: Path | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied."""
    files = {f.name: f for f in migration_files(root or settings.sql_dir(), warehouse.dialect)}
    applied: list[str] = []
    pending = status(warehouse, root).pending
    if pending:  # a migration may change a mart column a mart_ru view reads; re-created below
        mart_ru.drop_views(warehouse)
    for name in pending:
        _apply(warehouse, files[name])
        applied.append(name)
    log.info("warehouse %s: %d migrations applied %s", warehouse.description, len(applied), applied)
    if _has_every_shipped_migration(warehouse):  # comments and views are the shipped contract's
        apply_comments(warehouse)
        mart_ru.apply_views(warehouse)
    apply_grants(warehouse, root)
    return applied


def _has_every_shipped_migration(warehouse: Warehouse) -> bool:
    """Whether every migration this code ships is recorded (by name: a test may migrate renamed
    copies). A partial history has not the contract's columns, so no comments or views on it."""
    shipped = {f.name for f in migration_files(settings.sql_dir(), warehouse.dialect)}
    recorded = {row["migration"] for row in warehouse.query("SELECT migration FROM audit.schema_migrations")}
    return shipped <= recorded


def apply_grants(warehouse: Warehouse, root: Path | None = None) -> list[str]:
    """Apply ``sql/grants/*.<dialect>.sql`` (roles and privileges; idempotent) for this engine."""
    folder = (root or settings.sql_dir()) / "grants"
    files = sorted(folder.glob(f"*.{warehouse.dialect}.sql")) if folder.is_dir() else []
    with warehouse.begin() as conn:
        for path in files:
            run_script(conn, path.read_text(encoding="utf-8"))
    return [path.name for path in files]


def _apply(warehouse: Warehouse, migration: SqlFile) -> None:
    try:
        with warehouse.begin() as conn:
            run_script(conn, migration.text)
            conn.execute(_RECORD, {"migration": migration.name, "checksum": migration.checksum})
    except Exception as exc:
        raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
