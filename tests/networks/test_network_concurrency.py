"""Two networks' loads one after another keep each other's rows (both engines), and at once on
PostgreSQL: two networks' loads share staging, core and audit tables but only
their own partitions (and each its own rows of the work table), so they run side by side; two
loads of one network take turns on its writer lock. Both give the tables one load after another
gives. (On DuckDB one process writes a warehouse file at a time: loads cannot meet there.)"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.max.load import load_day as load_max
from gospublic.ok.load import load_day as load_ok
from tests.keys import repeated_keys
from tests.networks.conftest import DAYS, NetworkCase

TABLES = (
    "staging.network_page_observations",
    "staging.network_post_observations",
    "staging.network_rebuild_posts",
    "core.fct_network_page_daily",
    "core.fct_network_post",
    "audit.extract_errors",
)


def tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """The two networks' rows of each table, each row led by its network, sorted."""
    found = {}
    for table in TABLES:
        rows = warehouse.query(f"SELECT * FROM {table} WHERE network IN ('ok', 'max')")
        found[table] = sorted(((r["network"], *r.values()) for r in rows), key=repr)
    return found


@pytest.mark.slow
def test_loads_of_two_networks_and_of_one_network_at_once(
    engine: str, ok_case: NetworkCase, max_case: NetworkCase, migrated: Warehouse
) -> None:
    day = DAYS[-1]
    ok_case.extract(day, "manual__ok")
    max_case.extract(day, "manual__max")
    lake = Lake.from_connection()
    load_ok(migrated, lake, day)
    ok_alone = tables(migrated)
    load_max(migrated, lake, day)
    before = tables(migrated)
    for table in TABLES:  # MAX's load left OK's rows as they were
        assert [r for r in before[table] if r[0] == "ok"] == [r for r in ok_alone[table] if r[0] == "ok"], (
            table
        )
    for table in ("core.fct_network_page_daily", "core.fct_network_post", "audit.extract_errors"):
        assert {r[0] for r in before[table]} == {"ok", "max"}, table
    if engine != "postgres":
        return  # DuckDB: one writing process at a time (the file lock); its loads cannot meet

    def run(load: Callable[..., object]) -> object:
        with Warehouse.from_connection() as own:  # a connection of its own, as a task's process
            return load(own, Lake.from_connection(), day)

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = [pool.submit(run, load) for load in (load_ok, load_max, load_ok, load_max)]
        for future in done:
            future.result()
    assert tables(migrated) == before
    assert repeated_keys(migrated) == {}
