"""One day of every Telegram channel of the registry into the lake through the steps a DAG will
call, Telethon's real client answered by the sandbox: the landed answers equal the world's truth,
FLOOD_WAIT storms are sat out, private and unknown channels are recorded in
``audit.extract_errors``, runs repeat, and no secret reaches the lake or the logs."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from gospublic.telegram import steps
from gospublic.telegram.client import TelegramExtractionError
from gospublic.telegram.daily import TooManyFailedPagesError, window_start_for
from gospublic.telegram.extract import read_lines, read_manifest
from gospublic.telegram.results import DaySummary
from tests.telegram.conftest import API_HASH, DAY, SESSION, connection, run_time

TG_ERRORS = (
    "SELECT page_key, method, kind, error_code, error_msg, vk_group_id FROM audit.extract_errors "
    "WHERE network = 'tg' ORDER BY page_key, method"
)


@pytest.fixture
def day_world(
    migrated: Warehouse, tg_world, tg_connection, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    """The registry loaded, and a lake of this test's own."""
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "own-lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    load_registry(migrated, tg_world.root / "registry")
    return migrated


def extract_day(sandbox, run_id: str) -> DaySummary:
    when = run_time(DAY).astimezone(UTC)
    options = sandbox.reader_options()
    outcomes = [steps.extract(batch, when, run_id, **options) for batch in steps.plan(when)]
    return steps.finish(when, run_id, outcomes)


def landed(lake: Lake, method: str) -> list[dict]:
    manifest = read_manifest(lake, DAY)
    return [line for key in manifest["files"][method] for line in read_lines(lake, key)]


def subscribers(lake: Lake) -> dict[str, int]:
    return {
        line["params"]["username"]: line["response"]["full_chat"]["participants_count"]
        for line in landed(lake, "channels.getFullChannel")
        if "response" in line
    }


def posts(lake: Lake) -> dict[str, int]:
    window = window_start_for(DAY)
    found: dict[str, set[int]] = {}
    for line in landed(lake, "messages.getHistory"):
        for message in line.get("response", {}).get("messages", []):
            if datetime.fromisoformat(message["date"]) >= window:
                found.setdefault(line["params"]["username"], set()).add(message["id"])
    return {name: len(ids) for name, ids in found.items() if ids}


def expected_posts(tg_world, sandbox, started: float | None = None) -> dict[str, int]:
    """Posts of the re-read window published by the moment the run started (none is published
    while it runs: the sandbox's clock starts at a quiet moment)."""
    start = sandbox.clock.now - sandbox.clock.slept if started is None else started
    return tg_world.posts_until(window_start_for(DAY), start)


def expected_errors(tg_world) -> list[tuple]:
    rows = []
    for name, why in sorted(tg_world.reasons().items()):
        if why == "private":
            rows.append((name, "channels.getFullChannel", "page", 400, "CHANNEL_PRIVATE", None))
        else:
            rows.append((name, "contacts.resolveUsername", "page", 400, "USERNAME_INVALID", None))
    return rows


def error_rows(warehouse: Warehouse) -> list[tuple]:
    return [
        (r["page_key"], r["method"], r["kind"], r["error_code"], r["error_msg"], r["vk_group_id"])
        for r in warehouse.query(TG_ERRORS)
    ]


def test_the_day_in_the_lake_equals_the_truth(day_world: Warehouse, lake: Lake, tg_sandbox, tg_world) -> None:
    summary = extract_day(tg_sandbox, "manual__1")
    pages, reasons = tg_world.pages(), tg_world.reasons()
    assert summary["status"] == "passed" and summary["pages"] == len(pages) == 28
    assert summary["failed_pages"] == len(reasons) > 0
    assert {why for why in reasons.values()} == {"private", "invalid_username"}

    truth = tg_world.subscribers(DAY)
    assert subscribers(lake) == {name: n for name, n in truth.items() if name not in reasons}
    expected = expected_posts(tg_world, tg_sandbox)
    assert posts(lake) == expected and sum(expected.values()) > 50
    # views, forwards and reactions come with every post
    messages = [m for line in landed(lake, "messages.getHistory") for m in line["response"]["messages"]]
    assert all(m["views"] >= 1 and m["forwards"] is not None for m in messages)
    assert any(m["reactions"] and m["reactions"]["results"] for m in messages)

    assert error_rows(day_world) == expected_errors(tg_world)
    assert tg_sandbox.requests["contacts.resolveUsername"] == len(pages) - 1  # the invalid one is never sent


def test_a_flood_wait_storm_is_sat_out(day_world: Warehouse, lake: Lake, tg_sandbox, tg_world) -> None:
    from sandbox.tg_sandbox.client import FloodStorm

    tg_sandbox.storms += [
        FloodStorm(seconds=40, times=3, method="contacts.resolveUsername"),
        FloodStorm(seconds=25, times=4, method="messages.getHistory"),
        FloodStorm(seconds=12, times=5),
    ]
    started = tg_sandbox.clock.now
    summary = extract_day(tg_sandbox, "manual__storm")
    assert summary["status"] == "passed"
    assert len(tg_sandbox.flood_waits) == 12 and tg_sandbox.early == []  # every wait was sat out
    waited = sum(seconds for _, seconds in tg_sandbox.flood_waits)
    assert tg_sandbox.clock.now - started >= waited
    assert subscribers(lake) == {
        n: c for n, c in tg_world.subscribers(DAY).items() if n not in tg_world.reasons()
    }
    assert posts(lake) == expected_posts(tg_world, tg_sandbox, started)
    assert error_rows(day_world) == expected_errors(tg_world)


def test_a_wait_beyond_the_limit_stops_the_run(day_world: Warehouse, tg_sandbox, monkeypatch) -> None:
    from sandbox.tg_sandbox.client import FloodStorm

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", connection(max_flood_wait=600))
    tg_sandbox.storms.append(FloodStorm(seconds=7200, times=1, method="channels.getFullChannel"))
    with pytest.raises(TelegramExtractionError, match="wait 7200 s"):
        extract_day(tg_sandbox, "manual__long_wait")


def test_unknown_and_private_channels_are_recorded(
    day_world: Warehouse, lake: Lake, tg_sandbox, tg_world
) -> None:
    """A username no longer in use (besides the world's private channels and invalid username)."""
    gone = sorted(name for name, ok in tg_world.pages().items() if ok)[0]
    tg_sandbox.unknown.add(gone)
    summary = extract_day(tg_sandbox, "manual__faults")
    assert summary["status"] == "passed" and summary["failed_pages"] == len(tg_world.reasons()) + 1
    rows = error_rows(day_world)
    assert rows == sorted(
        [
            *expected_errors(tg_world),
            (gone, "contacts.resolveUsername", "page", 400, "USERNAME_NOT_OCCUPIED", None),
        ]
    )
    assert gone not in subscribers(lake) and gone not in posts(lake)
    assert {r[4] for r in rows} == {"CHANNEL_PRIVATE", "USERNAME_INVALID", "USERNAME_NOT_OCCUPIED"}

    # the day again without faults replaces the Telegram rows of the day
    tg_sandbox.clear()
    extract_day(tg_sandbox, "manual__again")
    assert error_rows(day_world) == expected_errors(tg_world)


def test_too_many_refusals_fail_the_checks(day_world: Warehouse, lake: Lake, tg_sandbox, tg_world) -> None:
    extract_day(tg_sandbox, "manual__good")
    tg_sandbox.private.update(sorted(name for name, ok in tg_world.pages().items() if ok)[:5])
    with pytest.raises(TooManyFailedPagesError, match="refused by Telegram"):
        extract_day(tg_sandbox, "manual__bad")
    assert read_manifest(lake, DAY)["run_id"] == "manual__good"
    assert read_manifest(lake, DAY, "manual__bad")["status"] == "failed"


def test_runs_repeat(day_world: Warehouse, lake: Lake, tg_sandbox) -> None:
    """Two runs from the same clock land the same answers (only the observation time differs)."""
    start = tg_sandbox.clock.now

    def answers(run_id: str) -> list:
        manifest = read_manifest(lake, DAY, run_id)
        return [
            {k: v for k, v in line.items() if k != "observed_at"}
            for files in manifest["files"].values()
            for key in files
            for line in read_lines(lake, key)
        ]

    extract_day(tg_sandbox, "manual__a")
    tg_sandbox.clock.now = start
    extract_day(tg_sandbox, "manual__b")
    assert answers("manual__a") == answers("manual__b") != []


def test_a_refused_session_stops_the_run(day_world: Warehouse, tg_sandbox, monkeypatch) -> None:
    from tests.telegram.conftest import make_session

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", connection(session=make_session(5)))
    with pytest.raises(TelegramExtractionError, match="not logged in"):
        extract_day(tg_sandbox, "manual__refused")


@pytest.mark.usefixtures("day_world", "lake")
def test_no_secret_in_the_lake_or_the_logs(
    tg_sandbox, tg_world, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    from telethon.sessions import StringSession

    from sandbox.tg_sandbox.client import FloodStorm

    tg_sandbox.storms.append(FloodStorm(seconds=20, times=2))
    tg_sandbox.unknown.add(sorted(n for n, ok in tg_world.pages().items() if ok)[0])
    with caplog.at_level(logging.DEBUG):
        extract_day(tg_sandbox, "manual__secrets")
    key = StringSession(SESSION).auth_key.key
    secrets = [API_HASH, SESSION, key.hex(), SESSION[1:40]]
    texts = [caplog.text] + [r.getMessage() for r in caplog.records]
    lake_root = tmp_path / "own-lake"
    for path in lake_root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            texts.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode())
    assert len(texts) > 3 and "FLOOD_WAIT" in caplog.text
    for text in texts:
        for secret in secrets:
            assert secret not in text
