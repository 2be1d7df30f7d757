"""Airflow Assets for warehouse tables: downstream DAGs are scheduled on data, not on clocks."""

from __future__ import annotations

from airflow.sdk import Asset


def table_asset(table: str) -> Asset:
    """The Asset of a warehouse table such as ``core.fct_post``.

    Named by the table alone: a URI with a scheme would make Airflow load every provider at DAG
    parse time to normalise it (boto3 and friends in the DAG processor).
    """
    schema, name = table.split(".")
    return Asset(name=table, group="warehouse", extra={"schema": schema, "table": name})


REGISTRY = [table_asset(t) for t in ("core.dim_org", "core.dim_org_alias", "core.dim_page")]
VK_PAGES = [table_asset(t) for t in ("core.fct_page_daily", "core.fct_post", "core.fct_comment")]
INCIDENTS = [table_asset(t) for t in ("core.fct_incident", "core.fct_incident_event")]
MARTS = [
    table_asset(t)
    for t in (
        "mart.dim_org",
        "mart.dim_page",
        "mart.subscribers_daily",
        "mart.page_activity_monthly",
        "mart.page_compliance_monthly",
        "mart.response_metrics_monthly",
    )
]
