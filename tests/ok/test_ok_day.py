"""One day of every OK page of the registry into the lake through the steps a DAG will call:
the landed answers equal the sandbox's truth, faults are recorded in ``audit.extract_errors``,
and a run that fails its checks leaves the day's ``latest.json`` where it was."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.ok import steps
from gospublic.ok.client import GAVE_UP_CODE
from gospublic.ok.daily import TooManyFailedPagesError, window_start_for
from gospublic.ok.errors import record_errors
from gospublic.ok.extract import manifest_key, read_lines, read_manifest
from gospublic.ok.results import DaySummary
from gospublic.registry.load import load_registry
from tests.ok.conftest import APP_KEY, APP_SECRET, DAY, TOKEN, run_time

OK_COLUMNS = "method, kind, error_code, error_msg, page_key, vk_group_id"
OK_ERRORS = f"SELECT {OK_COLUMNS} FROM audit.extract_errors WHERE network = 'ok'"


@pytest.fixture
def day_world(
    migrated: Warehouse, ok_world, ok_connection, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    """The registry loaded, and a lake of this test's own (the ``lake`` fixture, when a test asks
    for it, comes after and replaces it)."""
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "own-lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    load_registry(migrated, ok_world.root / "registry")
    return migrated


def extract_day(run_id: str) -> DaySummary:
    when = run_time(DAY).astimezone(UTC)
    outcomes = [steps.extract(batch, when, run_id) for batch in steps.plan(when)]
    return steps.finish(when, run_id, outcomes)


def landed(lake: Lake, method: str) -> list[dict]:
    manifest = read_manifest(lake, DAY)
    return [line for key in manifest["files"][method] for line in read_lines(lake, key)]


def test_the_day_in_the_lake_equals_the_sandbox_truth(
    day_world: Warehouse, lake: Lake, sandbox, ok_world
) -> None:
    summary = extract_day("manual__1")
    pages = ok_world.pages()
    closed = {gid for gid, readable in pages.items() if not readable}
    assert summary["status"] == "passed" and summary["pages"] == len(pages) == 26
    assert summary["failed_pages"] == len(closed) > 0

    # subscribers per page: group.getInfo's members_count on the day
    members = {
        g["uid"]: g["members_count"] for line in landed(lake, "group.getInfo") for g in line["response"]
    }
    assert members == ok_world.subscribers(DAY)

    # posts per page: every topic created in the re-read window, none twice, closed pages none
    window = window_start_for(DAY)
    seen: dict[str, set[str]] = {}
    for line in landed(lake, "mediatopic.getTopics"):
        gid = line["params"]["gid"]
        for topic in line.get("response", {}).get("media_topics", []):
            if topic["created_ms"] >= window.timestamp() * 1000:
                seen.setdefault(gid, set()).add(topic["id"])
    truth = ok_world.posts(window.date(), DAY)
    assert {gid: len(ids) for gid, ids in seen.items()} == {g: n for g, n in truth.items() if g not in closed}
    assert sum(truth.values()) > 100  # the comparison is about real volume

    # faults recorded: the closed pages, told apart from VK's rows
    rows = day_world.query(OK_ERRORS)
    assert sorted((r["method"], r["kind"], r["error_code"]) for r in rows) == [
        ("mediatopic.getTopics", "page", 10)
    ] * len(closed)
    assert {r["page_key"] for r in rows} == closed
    assert all(r["vk_group_id"] is None for r in rows)


def test_the_lake_holds_no_credential(day_world: Warehouse, lake: Lake, sandbox) -> None:
    extract_day("manual__1")
    for obj in lake.list("raw/ok/"):
        data = lake.get_bytes(obj.key)
        if obj.key.endswith(".gz"):
            data = gzip.decompress(data)
        for secret in (TOKEN, APP_SECRET, APP_KEY, '"sig"'):
            assert secret.encode() not in data, (obj.key, secret)


def test_a_permanent_page_fault_is_recorded_and_a_rerun_replaces_the_day_s_rows(
    day_world: Warehouse, ok_world, sandbox, tmp_path
) -> None:
    readable = sorted(gid for gid, ok in ok_world.pages().items() if ok)
    broken = readable[0]
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
    sandbox.inject("group_error", gid=broken, code=300, method="mediatopic.getTopics")
    first = extract_day("manual__1")
    second = extract_day("manual__2")
    assert first["errors_recorded"] == second["errors_recorded"] == first["failed_pages"]
    rows = day_world.query(OK_ERRORS)
    assert len(rows) == second["errors_recorded"]  # the rerun replaced the day's OK rows
    assert [r["error_code"] for r in rows if r["page_key"] == broken] == [300]
    vk = day_world.query("SELECT run_id, vk_group_id FROM audit.extract_errors WHERE method = 'wall.get'")
    assert vk == [{"run_id": "vk-run", "vk_group_id": 123}]  # VK's rows are left alone


def test_a_run_failing_its_checks_keeps_the_latest_manifest(
    day_world: Warehouse, lake: Lake, sandbox
) -> None:
    extract_day("manual__good")
    sandbox.inject("http_5xx", probability=1.0, method="group.getInfo")
    with pytest.raises(TooManyFailedPagesError, match="given up"):
        extract_day("manual__bad")
    assert read_manifest(lake, DAY)["run_id"] == "manual__good"
    bad = read_manifest(lake, DAY, "manual__bad")
    assert bad["status"] == "failed" and len(bad["given_up_pages"]) == 26
    assert lake.exists(manifest_key(DAY, "manual__bad"))
    rows = day_world.query(OK_ERRORS)
    assert sum(r["error_code"] == GAVE_UP_CODE and r["kind"] == "gave_up" for r in rows) == 26


def test_a_day_without_errors_leaves_no_ok_rows(day_world: Warehouse, lake: Lake, sandbox) -> None:
    extract_day("manual__1")
    manifest = read_manifest(lake, DAY)
    assert day_world.query(OK_ERRORS)
    clean = {**manifest, "batches": [{**batch, "errors": []} for batch in manifest["batches"]]}
    assert record_errors(day_world, clean) == 0
    assert day_world.query(OK_ERRORS) == []


def test_the_day_s_errors_are_recorded_again_from_the_lake(day_world: Warehouse, sandbox) -> None:
    """The day's rows lost from the warehouse (deleted here), the OK rows come back from the lake's
    manifest."""
    summary = extract_day("manual__1")
    before = day_world.query(OK_ERRORS)
    day_world.execute("DELETE FROM audit.extract_errors WHERE dt = :dt", {"dt": DAY})
    assert steps.record_errors(run_time(DAY).astimezone(UTC)) == summary["errors_recorded"] == len(before)
    assert sorted(map(repr, day_world.query(OK_ERRORS))) == sorted(map(repr, before))


def test_the_window_starts_a_week_before_at_moscow_midnight() -> None:
    start = window_start_for(DAY)
    assert start.isoformat() == "2025-11-13T00:00:00+03:00"
    assert start.date() == DAY - timedelta(days=7)
