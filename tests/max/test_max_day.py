"""One day of every MAX channel into the lake through the steps a DAG will call: the landed
answers equal the sandbox's truth, faults are recorded in ``audit.extract_errors``, a run that
fails its checks leaves the day's ``latest.json`` where it was, and a day run twice lands the
same answers.

The registry's suite admits no ``max`` pages yet, so the MAX world's registry rows are put into
``core.dim_page`` as the registry load would put them (``register_max_pages``)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.max import steps
from gospublic.max.client import GAVE_UP_CODE, MaxClient
from gospublic.max.daily import TooManyFailedPagesError, window_start_for
from gospublic.max.extract import extract_batch, manifest_key, read_lines, read_manifest
from gospublic.max.results import DaySummary
from gospublic.registry.load import load_registry
from tests.max.conftest import DAY, TOKEN, run_time

MAX_COLUMNS = "method, kind, error_code, error_msg, page_key, vk_group_id"
MAX_ERRORS = f"SELECT {MAX_COLUMNS} FROM audit.extract_errors WHERE network = 'max'"
_INSERT_PAGE = """
INSERT INTO core.dim_page (page_id, org_id, network, vk_group_id, screen_name, previous_screen_name, url,
    status, valid_from, valid_to, replaced_by, is_current, load_id)
VALUES (:page_id, :org_id, :network, NULL, :screen_name, NULL, :url, :status, :valid_from, NULL, NULL,
    TRUE, 'tests-max-registry')
"""


def register_max_pages(warehouse: Warehouse, rows: list[dict[str, str]]) -> None:
    for row in rows:
        warehouse.execute(_INSERT_PAGE, {**row, "valid_from": date.fromisoformat(row["valid_from"])})


@pytest.fixture
def day_world(
    migrated: Warehouse, max_world, max_connection, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    """The registry loaded with the MAX pages beside it, and a lake of this test's own (the
    ``lake`` fixture, when a test asks for it, comes after and replaces it)."""
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "own-lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    load_registry(migrated, max_world.root / "registry")
    register_max_pages(migrated, max_world.registry_pages())
    return migrated


def planned(max_world) -> dict[str, bool]:
    """chat_id → readable, for the channels official on the day."""
    official = {r["screen_name"] for r in max_world.registry_pages() if r["valid_from"] <= DAY.isoformat()}
    return {chat: ok for chat, ok in max_world.pages().items() if chat in official}


def extract_day(run_id: str) -> DaySummary:
    when = run_time(DAY).astimezone(UTC)
    outcomes = [steps.extract(batch, when, run_id) for batch in steps.plan(when)]
    return steps.finish(when, run_id, outcomes)


def landed(lake: Lake, operation: str, run_id: str | None = None) -> list[dict]:
    manifest = read_manifest(lake, DAY, run_id)
    return [line for key in manifest["files"][operation] for line in read_lines(lake, key)]


def test_the_day_in_the_lake_equals_the_sandbox_truth(
    day_world: Warehouse, lake: Lake, sandbox, max_world
) -> None:
    summary = extract_day("manual__1")
    pages = planned(max_world)
    unreadable = {chat for chat, ok in pages.items() if not ok}
    assert summary["status"] == "passed" and summary["pages"] == len(pages) > 20
    assert summary["failed_pages"] == len(unreadable) > 0

    # subscribers per page: getChat's participants_count on the day
    chats = [line["response"] for line in landed(lake, "getChat") if "response" in line]
    truth = max_world.subscribers(DAY)
    assert {str(c["chat_id"]): c["participants_count"] for c in chats} == {
        chat: truth[chat] for chat in pages if chat not in unreadable
    }

    # posts per page: every post of the re-read window, each once (the edge of a page may repeat)
    window = window_start_for(DAY)
    seen: dict[str, set[str]] = {}
    for line in landed(lake, "getMessages"):
        for message in line.get("response", {}).get("messages", []):
            assert message["timestamp"] >= window.timestamp() * 1000
            seen.setdefault(line["chat_id"], set()).add(message["body"]["mid"])
    posts = max_world.posts(window.date(), DAY)
    assert {chat: len(mids) for chat, mids in seen.items()} == {
        chat: n for chat, n in posts.items() if chat in pages and chat not in unreadable
    }
    assert sum(len(mids) for mids in seen.values()) > 300  # the comparison is about real volume

    # faults recorded: the channels that did not admit the bot, told apart from VK's rows
    rows = day_world.query(MAX_ERRORS)
    assert sorted((r["method"], r["kind"], r["error_code"]) for r in rows) == sorted(
        [("getChat", "page", 403), ("getMessages", "page", 403)] * len(unreadable)
    )
    assert {r["page_key"] for r in rows} == unreadable
    assert all(r["error_msg"].startswith("chat.denied: ") for r in rows)
    assert all(r["vk_group_id"] is None for r in rows)


def test_paging_back_reads_every_post_of_the_window_once(day_world, lake: Lake, sandbox, max_world) -> None:
    """Pages of 10 posts: many channels need several, each post of the window lands, none is lost
    at a page's edge (``from`` repeats the edge post; each ``mid`` counts once)."""
    chats = sorted(chat for chat, ok in planned(max_world).items() if ok)
    window = window_start_for(DAY)
    outcome = extract_batch(
        MaxClient.from_connection(), lake, chat_ids=chats, dt=DAY, window_start=window, run_id="paged",
        batch=0, page_size=10,
    )  # fmt: skip
    assert outcome.calls["getMessages"] > len(chats) and not outcome.errors  # pages followed
    seen: dict[str, set[str]] = {}
    for line in read_lines(lake, outcome.files["getMessages"]):
        assert len(line["response"]["messages"]) <= 10
        seen.setdefault(line["chat_id"], set()).update(m["body"]["mid"] for m in line["response"]["messages"])
    posts = max_world.posts(window.date(), DAY)
    assert {chat: len(mids) for chat, mids in seen.items() if mids} == {
        c: posts[c] for c in chats if c in posts
    }


def test_a_day_run_twice_lands_the_same_answers(day_world: Warehouse, lake: Lake, sandbox) -> None:
    extract_day("manual__1")
    extract_day("manual__2")

    def answers(run_id: str) -> list[str]:
        lines = landed(lake, "getChat", run_id) + landed(lake, "getMessages", run_id)
        return sorted(json.dumps({k: v for k, v in line.items() if k != "observed_at"}) for line in lines)

    assert answers("manual__1") == answers("manual__2")
    assert read_manifest(lake, DAY)["run_id"] == "manual__2"


def test_the_lake_holds_no_token(day_world: Warehouse, lake: Lake, sandbox) -> None:
    extract_day("manual__1")
    objects = lake.list("raw/max/")
    assert objects
    for obj in objects:
        data = lake.get_bytes(obj.key)
        if obj.key.endswith(".gz"):
            data = gzip.decompress(data)
        assert TOKEN.encode() not in data and b"Authorization" not in data, obj.key


def test_a_permanent_page_fault_is_recorded_and_a_rerun_replaces_the_day_s_rows(
    day_world: Warehouse, max_world, sandbox
) -> None:
    broken = sorted(chat for chat, ok in planned(max_world).items() if ok)[0]
    vk_row = {
        "dt": DAY, "run_id": "vk-run", "network": "vk", "vk_group_id": 123, "method": "wall.get",
        "kind": "page", "error_code": 15, "error_msg": "Access denied", "occurred_at": datetime.now(UTC),
    }  # fmt: skip
    day_world.execute(
        "INSERT INTO audit.extract_errors (dt, run_id, network, vk_group_id, method, kind, error_code, "
        "error_msg, occurred_at) VALUES (:dt, :run_id, :network, :vk_group_id, :method, :kind, :error_code, "
        ":error_msg, :occurred_at)",
        vk_row,
    )
    sandbox.inject("chat_error", chat_id=int(broken), status=404, code="not.found", method="getMessages")
    first = extract_day("manual__1")
    second = extract_day("manual__2")
    assert first["errors_recorded"] == second["errors_recorded"] > 0
    rows = day_world.query(MAX_ERRORS)
    assert len(rows) == second["errors_recorded"]  # the rerun replaced the day's MAX rows
    mine = [(r["method"], r["error_code"], r["error_msg"]) for r in rows if r["page_key"] == broken]
    assert mine == [("getMessages", 404, f"not.found: chat {broken}")]
    vk = day_world.query("SELECT run_id, vk_group_id FROM audit.extract_errors WHERE method = 'wall.get'")
    assert vk == [{"run_id": "vk-run", "vk_group_id": 123}]  # VK's rows are left alone


def test_a_run_failing_its_checks_keeps_the_latest_manifest(
    day_world: Warehouse, lake: Lake, sandbox, max_world
) -> None:
    extract_day("manual__good")
    sandbox.inject("http_5xx", probability=1.0, method="getChat")
    with pytest.raises(TooManyFailedPagesError, match="given up"):
        extract_day("manual__bad")
    assert read_manifest(lake, DAY)["run_id"] == "manual__good"
    bad = read_manifest(lake, DAY, "manual__bad")
    assert bad["status"] == "failed" and len(bad["given_up_pages"]) == len(planned(max_world))
    assert lake.exists(manifest_key(DAY, "manual__bad"))
    rows = day_world.query(MAX_ERRORS)
    given_up = [r for r in rows if r["error_code"] == GAVE_UP_CODE and r["kind"] == "gave_up"]
    assert len(given_up) == len(planned(max_world))


def test_the_day_s_errors_are_recorded_again_from_the_lake(day_world: Warehouse, sandbox) -> None:
    """The day's rows lost from the warehouse (deleted here), the MAX rows come back from the lake's
    manifest."""
    summary = extract_day("manual__1")
    before = day_world.query(MAX_ERRORS)
    day_world.execute("DELETE FROM audit.extract_errors WHERE dt = :dt", {"dt": DAY})
    assert steps.record_errors(run_time(DAY).astimezone(UTC)) == summary["errors_recorded"] == len(before)
    assert sorted(map(repr, day_world.query(MAX_ERRORS))) == sorted(map(repr, before))
