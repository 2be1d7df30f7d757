"""The Assets graph the UI draws reaches the published rating (issue 26), read as the UI reads it:
the project's DAGs serialized into the metadata as the dag-processor writes them, then
``/api/v2/assets`` of a real api-server. The published rating's Asset is produced by
monthly_rating's ``rate``, which consumes every mart Asset warehouse_build produces. The expected
Assets come from the model graph (``sql/models.yml``), not from a hand list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gospublic.infra.model_graph import graph
from tests.airflow_api import ApiServer, api_server

pytestmark = pytest.mark.airflow

PROJECT = Path(__file__).resolve().parents[1]
PUBLISHED = "publish/rating"


@pytest.fixture(scope="module")
def assets(airflow_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert not bag.import_errors, bag.import_errors
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    log = tmp_path_factory.mktemp("api") / "api-server.log"
    with api_server(airflow_home, log) as server:
        yield _all_assets(server)


def _all_assets(server: ApiServer) -> dict[str, dict]:
    found: dict[str, dict] = {}
    while True:
        response = server.get("/api/v2/assets", limit=100, offset=len(found))
        assert response.status_code == 200, response.text[:2000]
        page = response.json()
        found.update({a["name"]: a for a in page["assets"]})
        if not page["assets"] or len(found) >= page["total_entries"]:
            return found


def _tasks(refs: list[dict]) -> set[tuple[str, str]]:
    return {(r["dag_id"], r["task_id"]) for r in refs}


def test_the_published_rating_is_produced_by_monthly_rating(assets: dict[str, dict]) -> None:
    assert PUBLISHED in assets, sorted(assets)
    assert _tasks(assets[PUBLISHED]["producing_tasks"]) == {("monthly_rating", "rate")}


def test_monthly_rating_consumes_every_mart_asset_and_produces_the_rating_tables(
    assets: dict[str, dict],
) -> None:
    marts = graph().assets("marts")
    rating_tables = {t for t, loader in graph().loaded.items() if loader == "rating"}
    assert marts and rating_tables
    for name in marts:
        assert name in assets, f"{name} is not an Asset the api-server knows"
        assert ("monthly_rating", "rate") in _tasks(assets[name]["consuming_tasks"]), name
        assert {d for d, _ in _tasks(assets[name]["producing_tasks"])} == {"warehouse_build"}, name
    for name in rating_tables:
        assert _tasks(assets[name]["producing_tasks"]) == {("monthly_rating", "rate")}, name
