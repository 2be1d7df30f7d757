"""``audit.extract_errors`` holds every network's extraction faults (issue 28): a VK (re)load of a
day replaces that day's VK rows only, the OK rows of the day stay; each row names its network
and the network's own page id (``page_key``); migration 0027 backfills the rows written before
it and ``audit.health_extract_errors`` counts per network — on both engines."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gospublic.infra import settings
from gospublic.infra.lake import LocalLake
from gospublic.infra.migrations import migrate
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Warehouse
from gospublic.ok import daily as ok_daily
from gospublic.ok.client import OkClient
from gospublic.ok.results import Batch
from gospublic.vk.load import load_day
from tests.ok.conftest import DAY as OK_DAY
from tests.ok.conftest import ok_connection, ok_server, ok_world, sandbox  # noqa: F401  (fixtures)
from tests.vk.conftest import VkWorld, vk_data, vk_server, vk_world  # noqa: F401  (fixtures)

DAY = date(2025, 11, 20)  # a day of both sample worlds (tests/vk/test_vk_faults.py uses it too)
COLUMNS = "dt, run_id, network, page_key, vk_group_id, method, kind, error_code, error_msg"
NOW = datetime(2025, 11, 21, 6, 0, tzinfo=UTC)


def rows(wh: Warehouse, network: str) -> list[str]:
    found = wh.query(f"SELECT {COLUMNS} FROM audit.extract_errors WHERE network = :n", {"n": network})
    return sorted(map(repr, found))


@pytest.mark.slow
def test_a_vk_reload_of_a_day_keeps_its_ok_rows(
    vk_world: VkWorld,  # noqa: F811
    ok_world,  # noqa: F811
    sandbox,  # noqa: F811
    ok_connection,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A VK day loaded, then the same day's OK errors recorded by OK's finish step (the real
    client against the OK sandbox, which refuses its closed pages); loading the VK day again
    replaces its VK rows and leaves the OK rows as they were."""
    assert DAY == OK_DAY
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")  # the vk_world connection's lake

    from bench.vk_raw import land_month

    land_month(vk_world.data, lake, [DAY])
    first = load_day(wh, lake, DAY, pseudonymizer())
    vk_rows = rows(wh, "vk")
    assert len(vk_rows) == first["errors"] > 0, "the VK world's closed pages give the day VK errors"
    vk_pages = wh.query("SELECT page_key, vk_group_id FROM audit.extract_errors WHERE network = 'vk'")
    assert all(r["page_key"] == str(r["vk_group_id"]) for r in vk_pages)

    closed = {gid for gid, readable in ok_world.pages().items() if not readable}
    start = ok_daily.window_start_for(DAY).isoformat()
    batch: Batch = {"batch": 0, "gids": sorted(ok_world.pages()), "window_start": start}
    outcome = ok_daily.extract(OkClient.from_connection(), lake, batch, DAY, "ok-run")
    summary = ok_daily.finish(wh, lake, DAY, "ok-run", [outcome])
    ok_rows = rows(wh, "ok")
    assert summary["errors_recorded"] == len(ok_rows) == len(closed) > 0
    recorded = wh.query("SELECT page_key, method, vk_group_id FROM audit.extract_errors WHERE network = 'ok'")
    assert {r["page_key"] for r in recorded} == closed
    assert {r["method"] for r in recorded} == {"mediatopic.getTopics"}
    assert all(r["vk_group_id"] is None for r in recorded)

    again = load_day(wh, lake, DAY, pseudonymizer())  # the VK day again (a replay, a re-run)

    assert rows(wh, "ok") == ok_rows, "a VK reload deleted the day's OK rows"
    assert rows(wh, "vk") == vk_rows and again["errors"] == first["errors"]  # replaced, not added
    health = wh.query(
        "SELECT network, errors, pages FROM audit.health_extract_errors WHERE dt = :dt ORDER BY network",
        {"dt": DAY},
    )
    assert [(h["network"], int(h["errors"]), int(h["pages"])) for h in health if h["network"] == "ok"] == [
        ("ok", len(closed), len(closed))
    ]
    assert sum(int(h["errors"]) for h in health if h["network"] == "vk") == len(vk_rows)


def test_migration_0027_backfills_the_rows_written_before_it(warehouse: Warehouse, tmp_path: Path) -> None:
    """VK rows get network 'vk' and their group id as page_key; OK rows (method prefixed 'ok/')
    get network 'ok', their method without the prefix and, where the message starts exactly
    ``group <digits>: ``, the group id as page_key and OK's own message; MAX rows (written by
    e605fae's gospublic.max: 'max/', ``chat <chat id>: ``) likewise; other rows keep page_key NULL
    and their message."""
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), root)
    for later in (root / "migrations").glob("*.sql"):
        if int(later.name[:4]) >= 27:
            later.unlink()
    migrate(warehouse, root)
    before = [
        # vk_group_id, method, kind, error_code, error_msg
        (101, "wall.get", "page", 15, "Access denied"),
        (None, "execute", "gave_up", -1, None),
        (None, "ok/mediatopic.getTopics", "page", 10, "group 5000123: PERMISSION_DENIED : group is closed"),
        (None, "ok/group.getInfo", "page", -2, "group 77: "),
        (None, "ok/group.getInfo", "gave_up", -1, "group None: gave up"),
        (None, "ok/group.getInfo", "gave_up", -1, "group 12a: gave up"),
        (None, "ok/group.getInfo", "gave_up", -1, None),
        (None, "max/getMessages", "page", 403, "chat -7000123: chat.denied: bot is not a member"),
        (None, "max/getChat", "page", 404, "chat 81: "),
        (None, "max/getChat", "gave_up", -1, "chat None: gave up"),
        (None, "max/getChat", "gave_up", -1, "chat -: gave up"),
        (None, "max/getChat", "gave_up", -1, "chat 1-2: gave up"),
    ]
    for group, method, kind, code, message in before:
        warehouse.execute(
            "INSERT INTO audit.extract_errors (dt, run_id, vk_group_id, method, kind, error_code, error_msg, "
            "occurred_at) VALUES (:dt, 'r1', :group, :method, :kind, :code, :message, :now)",
            {"dt": DAY, "group": group, "method": method, "kind": kind, "code": code, "message": message,
             "now": NOW},
        )  # fmt: skip

    assert "migrations/0027_extract_errors_networks.sql" in migrate(warehouse)

    found = warehouse.query(
        "SELECT network, page_key, vk_group_id, method, error_code, error_msg FROM audit.extract_errors"
    )
    assert sorted((tuple(r.values()) for r in found), key=repr) == sorted([
        ("vk", "101", 101, "wall.get", 15, "Access denied"),
        ("vk", None, None, "execute", -1, None),
        ("ok", "5000123", None, "mediatopic.getTopics", 10, "PERMISSION_DENIED : group is closed"),
        ("ok", "77", None, "group.getInfo", -2, None),
        ("ok", None, None, "group.getInfo", -1, "group None: gave up"),
        ("ok", None, None, "group.getInfo", -1, "group 12a: gave up"),
        ("ok", None, None, "group.getInfo", -1, None),
        ("max", "-7000123", None, "getMessages", 403, "chat.denied: bot is not a member"),
        ("max", "81", None, "getChat", 404, None),
        ("max", None, None, "getChat", -1, "chat None: gave up"),
        ("max", None, None, "getChat", -1, "chat -: gave up"),
        ("max", None, None, "getChat", -1, "chat 1-2: gave up"),
    ], key=repr)  # fmt: skip
    with pytest.raises(Exception, match=r"(?i)null"):  # every row names its network from now on
        warehouse.execute(
            "INSERT INTO audit.extract_errors (dt, method, error_code, occurred_at) "
            "VALUES (:dt, 'wall.get', 15, :now)",
            {"dt": DAY, "now": NOW},
        )


def test_health_extract_errors_counts_per_network(migrated: Warehouse) -> None:
    """One row per day, run, network and kind; pages are the distinct pages of that network."""
    for network, key, group in [("vk", "7", 7), ("vk", "7", 7), ("vk", "8", 8), ("ok", "7", None),
                                ("ok", "9", None), ("ok", None, None)]:  # fmt: skip
        migrated.execute(
            "INSERT INTO audit.extract_errors (dt, run_id, network, page_key, vk_group_id, method, kind, "
            "error_code, occurred_at) VALUES (:dt, 'r1', :network, :key, :group, 'm', 'page', 10, :now)",
            {"dt": DAY, "network": network, "key": key, "group": group, "now": NOW},
        )
    found = migrated.query("SELECT network, errors, pages FROM audit.health_extract_errors ORDER BY network")
    assert [(r["network"], int(r["errors"]), int(r["pages"])) for r in found] == [("ok", 3, 2), ("vk", 3, 2)]
