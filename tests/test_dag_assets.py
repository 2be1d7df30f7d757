"""Lineage through Assets (issue 26): the loads update their tables' Assets, warehouse_build is
scheduled on them, monthly_rating reads the mart Assets and updates the rating's — all read from
the model graph (sql/models.yml), not from a hand list."""

from __future__ import annotations

import pytest

from gospublic.infra.model_graph import graph


def _names(assets) -> set[str]:
    return {a.name for a in assets}


@pytest.fixture
def monthly_rating(dagbag):
    assert not dagbag.import_errors, dagbag.import_errors
    return dagbag.dags["monthly_rating"]


def test_monthly_rating_reads_the_marts_and_updates_the_rating_and_its_publication(monthly_rating) -> None:
    rate = monthly_rating.get_task("rate")
    marts = set(graph().assets("marts"))
    rating_tables = {t for t, loader in graph().loaded.items() if loader == "rating"}
    assert marts and rating_tables == {"mart.rating_snapshot", "mart.rating_indicator", "mart.rating_monthly"}
    assert _names(rate.inlets) == marts
    assert _names(rate.outlets) == rating_tables | {"publish/rating"}
    assert not monthly_rating.get_task("rated_month").outlets


def test_monthly_rating_keeps_its_clock(monthly_rating) -> None:
    from airflow.timetables.trigger import CronTriggerTimetable

    timetable = monthly_rating.timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert timetable._expression == "0 6 3 * *" and timetable._timezone.name == "Europe/Moscow"


def test_the_mart_assets_have_a_producer_and_a_consumer(dagbag) -> None:
    """Each mart Asset is updated by warehouse_build and read by monthly_rating: lineage runs on."""
    producers: dict[str, set[str]] = {}
    consumers: dict[str, set[str]] = {}
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            for asset in task.outlets:
                producers.setdefault(asset.name, set()).add(dag_id)
            for asset in task.inlets:
                consumers.setdefault(asset.name, set()).add(dag_id)
    for table in graph().assets("marts"):
        assert producers.get(table) == {"warehouse_build"}, table
        assert "monthly_rating" in consumers.get(table, set()), table
    assert producers["publish/rating"] == {"monthly_rating"}
