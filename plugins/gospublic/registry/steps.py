"""The task of the ``registry`` DAG; it opens the warehouse itself."""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from gospublic.registry.results import RegistryCounts


def load(*, dag_id: str | None = None, run_id: str | None = None) -> RegistryCounts:
    """Validate the registry files and replace the dimensions; returns the counts."""
    with Warehouse.from_connection() as warehouse:
        return load_registry(warehouse, dag_id=dag_id, run_id=run_id)
