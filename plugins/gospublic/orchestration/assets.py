"""Airflow Assets for warehouse tables: downstream DAGs are scheduled on data, not on clocks."""

from __future__ import annotations

from airflow.sdk import Asset

from gospublic.infra.model_graph import graph


def table_asset(table: str) -> Asset:
    """The Asset of a warehouse table such as ``core.fct_post``.

    Named by the table alone: a URI with a scheme would make Airflow load every provider at DAG
    parse time to normalise it (boto3 and friends in the DAG processor).
    """
    schema, name = table.split(".")
    return Asset(name=table, group="warehouse", extra={"schema": schema, "table": name})


def pipeline_assets(pipeline: str) -> list[Asset]:
    """The Assets of the tables a pipeline's models update (``assets:`` in ``sql/models.yml``)."""
    return [table_asset(t) for t in graph().assets(pipeline)]


REGISTRY = pipeline_assets("registry")
VK_PAGES = pipeline_assets("vk")
INCIDENTS = pipeline_assets("incidents")
MARTS = pipeline_assets("marts")
