"""VK's rows of the marts say network 'vk' (migration 0028's column), with the VK community id, on
DuckDB and PostgreSQL: a VK day extracted from the VK sandbox and loaded, the month built."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from gospublic.infra.lake import Lake
from gospublic.marts.build import build_month
from gospublic.vk import steps
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, run_time, vk_data, vk_server, vk_world  # noqa: F401
from transforms.pseudonymize import make_pseudonymizer

DAY = date(2025, 11, 26)
MONTH = date(2025, 11, 1)


@pytest.mark.slow
def test_vk_rows_carry_network_vk(vk_world: VkWorld) -> None:  # noqa: F811
    wh = vk_world.warehouse
    when = run_time(DAY)
    vk_world.server.set_clock(when)
    when = when.astimezone(UTC)
    outcomes = [steps.extract(batch, when, "manual__vk") for batch in steps.plan(when)]
    steps.finish(when, "manual__vk", outcomes)
    load_day(wh, Lake.from_connection(), DAY, make_pseudonymizer(b"networks-test-key-0123456789"))
    build_month(wh, MONTH)

    vk_pages = wh.scalar("SELECT COUNT(*) FROM core.dim_page WHERE network = 'vk'")
    for table in ("mart.subscribers_daily", "mart.page_activity_monthly", "mart.page_compliance_monthly"):
        networks = {
            r["network"]: int(r["n"])
            for r in wh.query(f"SELECT network, COUNT(*) AS n FROM {table} GROUP BY network")
        }
        assert set(networks) == {"vk"} and networks["vk"] > 0, table
        assert networks["vk"] <= vk_pages, table
    assert wh.scalar("SELECT COUNT(*) FROM mart.subscribers_daily WHERE vk_group_id IS NULL") == 0
    assert wh.scalar("SELECT COUNT(*) FROM mart.page_activity_monthly WHERE vk_group_id IS NULL") == 0
    assert wh.scalar("SELECT COUNT(*) FROM mart.page_activity_monthly WHERE citizen_comments IS NULL") == 0
    # every row of the day's VK pages: the subscribers of the day equal core's
    assert wh.scalar("SELECT COUNT(*) FROM mart.subscribers_daily WHERE dt = :d", {"d": DAY}) == wh.scalar(
        "SELECT COUNT(*) FROM core.fct_page_daily AS d "
        "JOIN core.dim_page AS p ON p.vk_group_id = d.vk_group_id WHERE d.dt = :d",
        {"d": DAY},
    )
