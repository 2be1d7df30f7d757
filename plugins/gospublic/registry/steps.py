"""The task of the ``registry`` DAG; it opens the warehouse itself."""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from gospublic.registry.results import RegistryCounts


def load(*, dag_id: str | None = None, run_id: str | None = None) -> RegistryCounts:
    """Validate the registry files and replace the dimensions; returns the counts."""
    with Warehouse.from_connection() as warehouse:
        loaded = load_registry(warehouse, dag_id=dag_id, run_id=run_id)
    return RegistryCounts(
        load_id=loaded.load_id,
        checksum=loaded.checksum,
        orgs_read=loaded.orgs_read,
        orgs_loaded=loaded.orgs_loaded,
        pages_read=loaded.pages_read,
        pages_loaded=loaded.pages_loaded,
        aliases=loaded.aliases,
        quarantined=loaded.quarantined,
    )
