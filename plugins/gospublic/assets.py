"""Airflow Assets for warehouse tables: downstream DAGs are scheduled on data, not on clocks."""

from __future__ import annotations

from airflow.sdk import Asset


def table_asset(table: str) -> Asset:
    """The Asset of a warehouse table such as ``core.fct_post``."""
    schema, name = table.split(".")
    return Asset(name=table, uri=f"gospublic-warehouse://{schema}/{name}", group="warehouse")


REGISTRY = [table_asset(t) for t in ("core.dim_org", "core.dim_org_alias", "core.dim_page")]
VK_PAGES = [table_asset(t) for t in ("core.fct_page_daily", "core.fct_post", "core.fct_comment")]
