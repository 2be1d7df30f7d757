"""Airflow Assets for warehouse tables and the published rating: downstream DAGs are scheduled on
data, not on clocks, and lineage runs from the loads through the marts to the publication.

    registry, vk_pages, incidents_ingest ──▶ REGISTRY, VK_PAGES, INCIDENTS
    warehouse_build (scheduled on them and NETWORK_PAGES) ──▶ MARTS
    monthly_rating (cron, the 3rd; MARTS as inlets) ──▶ RATING (its tables) + RATING_PUBLICATION
    ok_pages, max_pages, tg_pages        ──▶ OK_RAW, MAX_RAW, TG_RAW (lake), NETWORK_PAGES (core)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


def loaded_assets(pipeline: str) -> list[Asset]:
    """The Assets of the tables a pipeline loads itself (``loaded:`` in ``sql/models.yml``)."""
    return [table_asset(t) for t, loader in graph().loaded.items() if loader == pipeline]


def record_counts(outlet_events: Any, assets: Iterable[Asset], counts: Mapping[str, Any]) -> None:
    """Put a run's counts (quarantined rows, failed pages…) on the events of its outlet Assets,
    where the Airflow UI shows them beside each Asset update (``outlet_events`` from the context)."""
    for asset in assets:
        outlet_events[asset].extra.update(counts)


REGISTRY = pipeline_assets("registry")
VK_PAGES = pipeline_assets("vk")
INCIDENTS = pipeline_assets("incidents")
# The OK, MAX and Telegram pages' core facts, updated by each of ok_pages, max_pages, tg_pages.
NETWORK_PAGES = pipeline_assets("networks")
MARTS = pipeline_assets("marts")
# The rating's snapshot tables and its publication in the lake (publish/rating/YYYY-MM/<methodology>/
# rev-N and latest.json beside): one Asset for every methodology, the event's extra names them.
RATING = loaded_assets("rating")
RATING_PUBLICATION = Asset(
    name="publish/rating", group="publication", extra={"lake_prefix": "publish/rating/"}
)


def raw_asset(network: str, folder: str | None = None) -> Asset:
    """A network's raw answers in the lake (``raw/<folder>/``, the folder named as the network
    unless given): its event says a run's day landed and passed its checks (the day's
    ``latest.json`` moved to it)."""
    return Asset(name=f"raw/{network}", group="lake", extra={"lake_prefix": f"raw/{folder or network}/"})


OK_RAW = raw_asset("ok")
MAX_RAW = raw_asset("max")
TG_RAW = raw_asset("tg")
