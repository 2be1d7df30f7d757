"""The keys of the fact tables, unique on both engines (DuckDB keeps them without primary keys:
sql/migrations/0012_fact_keys.duckdb.sql)."""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse

FACT_KEYS = {
    "core.fct_page_daily": ("vk_group_id", "dt"),
    "core.fct_post": ("vk_group_id", "post_id"),
    "core.fct_comment": ("vk_group_id", "post_id", "comment_id"),
    "core.fct_incident_event": ("source", "incident_id", "load_id"),
    "core.fct_incident": ("source", "incident_id"),
    "restricted.incident_text": ("source", "incident_id", "load_id"),
    "core.fct_incident_timing": ("source", "incident_id"),
    "core.fct_network_page_daily": ("network", "page_key", "dt"),
    "core.fct_network_post": ("network", "page_key", "post_key"),
}


def repeated_keys(warehouse: Warehouse) -> dict[str, int]:
    """Keys that more than one row of a fact table has, per table (empty: all unique)."""
    repeated = {}
    for table, key in FACT_KEYS.items():
        columns = ", ".join(key)
        count = warehouse.scalar(
            f"SELECT COUNT(*) FROM (SELECT {columns} FROM {table} GROUP BY {columns} "
            "HAVING COUNT(*) > 1) AS k"
        )
        if count:
            repeated[table] = int(count)
    return repeated
