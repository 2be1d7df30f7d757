"""
### warehouse_migrate

Creates and upgrades the warehouse: applies the DDL files of `sql/migrations/` that are not yet
applied (schemas `staging`, `core`, `mart`, `audit`, `restricted`, then tables), each once, in
order, recorded in `audit.schema_migrations`. Then checks every schema exists.

* **Warehouse:** the Airflow connection `gospublic_warehouse` (DuckDB file `var/warehouse.duckdb`
  when unset; PostgreSQL in production).
* **Schedule:** none; run it after a deploy (`make demo` and docker-compose's init job do).
* **Safe to re-run:** applied migrations are skipped; an edited applied migration fails the run.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)
from gospublic.orchestration.failures import fail_fast


@dag(
    dag_id="warehouse_migrate",
    description="Applies pending warehouse migrations; run by hand",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "warehouse", "setup"],
    doc_md=__doc__,
    default_args=default_args(),
)
def warehouse_migrate() -> None:
    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def apply_migrations() -> list[str]:
        """Apply pending migrations; returns their names."""
        from gospublic.infra import steps

        return steps.migrate()

    @task
    @fail_fast
    def check_schemas(applied: list[str]) -> list[str]:
        """Fail unless every warehouse schema exists and no migration is pending."""
        from gospublic.infra import steps

        return steps.check_schemas()

    check_schemas(apply_migrations())


warehouse_migrate()
