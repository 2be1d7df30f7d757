"""The benchmark's in-process VK landing (bench/vk_raw.py) lands what vk_pages lands over HTTP:
loading either gives the same core tables."""

from __future__ import annotations

from datetime import date

import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import LocalLake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, business_checksums

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY = date(2025, 11, 26)


def test_in_process_landing_loads_like_the_http_extraction(vk_world: VkWorld, dagbag, tmp_path) -> None:
    world, wh = vk_world, vk_world.warehouse
    assert world.run(dagbag.get_dag("vk_pages"), DAY).state == "success"
    over_http = business_checksums(wh)

    lake = LocalLake(tmp_path / "bench-lake")
    stats = land_month(world.data, lake, [DAY])
    assert stats["days"] == 1 and stats["requests"] > 0
    load_day(wh, lake, DAY, pseudonymizer())  # replaces the day's partitions from the other lake

    assert business_checksums(wh) == over_http
