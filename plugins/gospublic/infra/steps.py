"""The tasks of the ``warehouse_migrate`` DAG; each opens the warehouse itself."""

from __future__ import annotations

from gospublic.infra.migrations import migrate as apply_pending
from gospublic.infra.migrations import status
from gospublic.infra.warehouse import SCHEMAS, Warehouse


class WarehouseIncompleteError(RuntimeError):
    """A schema is missing or a migration is pending after migrating."""


def migrate() -> list[str]:
    """Apply pending migrations; returns their names."""
    with Warehouse.from_connection() as warehouse:
        return apply_pending(warehouse)


def check_schemas() -> list[str]:
    """Every warehouse schema, once they all exist and no migration is pending; fails otherwise."""
    with Warehouse.from_connection() as warehouse:
        missing = sorted(set(SCHEMAS) - set(warehouse.schemas()))
        pending = status(warehouse).pending
    if missing or pending:
        raise WarehouseIncompleteError(f"warehouse incomplete: missing schemas {missing}, pending {pending}")
    return sorted(SCHEMAS)
