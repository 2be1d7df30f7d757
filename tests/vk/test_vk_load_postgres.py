"""What the VK load does for PostgreSQL's sake, on PostgreSQL.

The work tables (``staging.vk_rebuild_posts``, ``vk_day_posts``, ``vk_day_comments``) hold one
day's rows inside its load and are emptied at the start of each use: a ``DELETE`` of all their rows
left the old versions in place until a vacuum (the loader vacuums only tables past 64 MB), so every
load appended to a growing file that the next day's joins read whole; ``TRUNCATE`` gives each
load an empty table. The models sort with the load's own ``work_mem``, for its transaction only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import LocalLake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Transaction
from gospublic.vk import load
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, days

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_DAYS = days(date(2025, 11, 24), 2)
WORK = ("staging.vk_rebuild_posts", "staging.vk_day_posts", "staging.vk_day_comments")


def storage(world: VkWorld) -> dict[str, int]:
    """Bytes of each work table's main fork (PostgreSQL)."""
    return {
        table: int(world.warehouse.scalar("SELECT pg_relation_size(to_regclass(:t))", {"t": table}))
        for table in WORK
    }


def skip_duckdb(world: VkWorld) -> None:
    if world.warehouse.dialect != "postgres":
        pytest.skip("PostgreSQL's storage and settings")


def test_reloading_a_day_does_not_grow_the_work_tables(vk_world: VkWorld, tmp_path) -> None:
    skip_duckdb(vk_world)
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    land_month(vk_world.data, lake, RUN_DAYS)
    key = pseudonymizer()
    for day in RUN_DAYS:
        load_day(wh, lake, day, key)
    once = storage(vk_world)
    assert all(once.values()), once  # the last load left its rows there

    reloads = [load_day(wh, lake, RUN_DAYS[-1], key)["rebuild"] for _ in range(3)]

    assert reloads == ["full"] * 3  # the same rows again (tests/vk/test_vk_rebuild_scopes.py)
    assert storage(vk_world) == once


def test_the_models_run_with_the_loads_work_mem_for_its_transaction_only(
    vk_world: VkWorld, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_duckdb(vk_world)
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    land_month(vk_world.data, lake, RUN_DAYS[:1])
    default = wh.scalar("SHOW work_mem")
    assert default != load.WORK_MEM  # the server's own (4MB unless configured)
    seen: list[str] = []
    params = load.VkDayLoad.model_params

    def watched(self: load.VkDayLoad, tx: Transaction) -> Mapping[str, Any]:
        seen.append(tx.scalar("SHOW work_mem"))
        return params(self, tx)

    monkeypatch.setattr(load.VkDayLoad, "model_params", watched)
    load_day(wh, lake, RUN_DAYS[0], pseudonymizer())

    assert seen == [load.WORK_MEM]
    assert wh.scalar("SHOW work_mem") == default
