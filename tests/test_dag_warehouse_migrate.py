"""warehouse_migrate runs for real (dag.test) on DuckDB and PostgreSQL."""

from __future__ import annotations

import pytest

from gospublic.infra import settings
from gospublic.infra.sql_files import migration_files
from gospublic.infra.warehouse import SCHEMAS, Warehouse

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_warehouse_migrate_creates_schemas_and_is_rerunnable(dagbag, warehouse: Warehouse) -> None:
    dag = dagbag.get_dag("warehouse_migrate")

    first = dag.test()
    assert first.state == "success"
    assert set(SCHEMAS) <= set(warehouse.schemas())
    applied = warehouse.query("SELECT migration FROM audit.schema_migrations ORDER BY migration")
    assert [r["migration"] for r in applied] == [
        f.name for f in migration_files(settings.sql_dir(), warehouse.dialect)
    ]

    second = dag.test()
    assert second.state == "success"
    assert warehouse.scalar("SELECT COUNT(*) FROM audit.schema_migrations") == len(applied)
