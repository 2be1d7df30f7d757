"""The benchmark's in-process VK landing (bench/vk_raw.py) lands what vk_pages lands over HTTP:
loading either gives the same core tables."""

from __future__ import annotations

from datetime import date

import pytest

from bench.vk_raw import land_month
from gospublic.infra import settings
from gospublic.infra.lake import LocalLake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.workers import process_pool
from gospublic.vk import load as vk_load
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, business_checksums, checksum

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY = date(2025, 11, 26)
STAGING = ("staging.vk_page_observations", "staging.vk_post_observations", "staging.vk_comment_observations")


def test_in_process_landing_loads_like_the_http_extraction(vk_world: VkWorld, dagbag, tmp_path) -> None:
    world, wh = vk_world, vk_world.warehouse
    assert world.run(dagbag.get_dag("vk_pages"), DAY).state == "success"
    over_http = business_checksums(wh)

    lake = LocalLake(tmp_path / "bench-lake")
    stats = land_month(world.data, lake, [DAY])
    assert stats["days"] == 1 and stats["requests"] > 0
    load_day(wh, lake, DAY, pseudonymizer())  # replaces the day's partitions from the other lake

    assert business_checksums(wh) == over_http


def test_worker_processes_load_what_one_process_loads(
    vk_world: VkWorld, dagbag, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw files decoded by the worker pool stage the very rows the task's own process stages."""
    world, wh = vk_world, vk_world.warehouse
    assert world.run(dagbag.get_dag("vk_pages"), DAY).state == "success"
    lake = LocalLake(tmp_path / "lake")  # the vk_world connection's lake
    monkeypatch.setenv(settings.ENV_WORKER_PROCESSES, "2")
    monkeypatch.setattr(vk_load, "POOLED_MIN_FILES", 1)  # the small world's day is one file a method
    assert process_pool() is not None
    pooled = load_day(wh, lake, DAY, pseudonymizer())
    staged = {table: checksum(wh, table) for table in STAGING}
    monkeypatch.setenv(settings.ENV_WORKER_PROCESSES, "1")
    assert process_pool() is None
    alone = load_day(wh, lake, DAY, pseudonymizer())
    assert alone["counts"] == pooled["counts"] and pooled["counts"]["wall.getComments"]["written"] > 0
    assert {table: checksum(wh, table) for table in STAGING} == staged
