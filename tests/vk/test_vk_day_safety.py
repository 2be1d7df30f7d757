"""A loaded VK day is never lost to a bad run (issue 20, findings 1 and 5), on both engines.

* a run that fails its checks writes its own manifest but leaves ``latest.json`` where it was,
  so a replay afterwards loads the last passing run again;
* a replay refuses a manifest whose run did not pass (a lake written before ``latest.json``
  waited for the checks) and a manifest that would leave the day with fewer pages than loaded,
  unless ``allow_fewer_pages`` says so;
* calls given up after their retries are counted apart from pages VK reports closed or private,
  with their own budget; a day with some is loaded as incomplete and the next run's window
  reaches back to re-read it, then marks it complete.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.vk import load as vk_load
from gospublic.vk.extract import manifest_key
from tests.vk.conftest import CONNECTION_TOKENS, MOSCOW, VkWorld, business_checksums, run_time

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY = date(2025, 11, 20)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def pages_loaded(world: VkWorld, day: date) -> int:
    return world.warehouse.scalar(
        "SELECT COUNT(DISTINCT vk_group_id) FROM core.fct_page_daily WHERE dt = :dt", {"dt": day}
    )


def manifest_of(lake: Lake, day: date, run_id: str | None = None) -> dict:
    return json.loads(lake.get_bytes(manifest_key(day, run_id)))


def _legacy(manifest: dict) -> dict:
    """The manifest as written before runs recorded their checks: no status, no give-up fields,
    given-up calls (error -1) counted among the failed pages."""
    old = {k: v for k, v in manifest.items() if k not in ("status", "problems", "limits", "complete")}
    old.pop("given_up_pages", None)
    old.pop("given_up_calls", None)
    for batch in old["batches"]:
        batch["errors"] = [{k: v for k, v in e.items() if k != "kind"} for e in batch["errors"]]
    old["failed_pages"] = sorted({e["vk_group_id"] for b in old["batches"] for e in b["errors"]})
    return old


def test_a_failed_run_leaves_latest_json_and_a_replay_keeps_the_day(vk_world: VkWorld, dagbag) -> None:
    """The issue's reproduction: every call answered 5xx, the run fails, then the documented
    replay. Before the fix latest.json pointed at the failed run and the replay emptied the day.
    Then a lake written before the fix (latest.json naming the failed run, with or without its
    verdict): the replay must fail and leave the tables alone."""
    world, dag, lake = vk_world, dagbag.get_dag("vk_pages"), Lake.from_connection()
    assert world.run(dag, DAY).state == "success"
    clean, latest = business_checksums(world.warehouse), lake.get_bytes(manifest_key(DAY))
    assert pages_loaded(world, DAY) > 0

    world.server.inject("http_5xx", probability=1.0)
    failed = world.run(dag, DAY)
    world.server.clear_faults()
    assert failed.state == "failed" and task_states(failed)["finish"] == "failed"
    assert lake.get_bytes(manifest_key(DAY)) == latest, "a failed run moved latest.json"
    own = manifest_of(lake, DAY, failed.run_id)  # kept for diagnosis
    assert own["status"] == "failed" and own["problems"]
    assert own["failed_pages"] == [], "given-up calls are not pages VK reported closed or private"
    assert len(own["given_up_pages"]) == own["pages"] and not own["complete"]
    assert business_checksums(world.warehouse) == clean

    world.server.reset_stats()
    assert world.run(dag, DAY, replay=True).state == "success"
    assert world.server.stats()["total_requests"] == 0, "replay must not call VK"
    assert business_checksums(world.warehouse) == clean

    for pointer in (own, _legacy(own)):
        lake.put_bytes(manifest_key(DAY), json.dumps(pointer).encode())
        replay = world.run(dag, DAY, replay=True)
        assert replay.state == "failed", "a replay loaded a manifest whose run failed"
        assert task_states(replay)["load"] == "failed"
        assert business_checksums(world.warehouse) == clean
        refused = world.warehouse.query(
            "SELECT message FROM audit.load_runs WHERE partition_key = :d AND status = 'failed' "
            "AND run_id = :run",
            {"d": DAY.isoformat(), "run": failed.run_id},
        )
        assert refused and all("ManifestNotPassedError" in r["message"] for r in refused)
        with pytest.raises(vk_load.ManifestNotPassedError, match=r"did not pass its checks.*re-extract"):
            vk_load.load_day(world.warehouse, lake, DAY, pseudonymizer())


def test_a_load_never_replaces_a_day_with_fewer_pages_unless_allowed(
    vk_world: VkWorld, dagbag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Budgets wide open (a run may pass with every call given up): the load still refuses to
    empty a loaded day, and only ``allow_fewer_pages`` lets it."""
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_FAILED_SHARE", "1")
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_GIVEUP_SHARE", "1")
    world, dag, lake = vk_world, dagbag.get_dag("vk_pages"), Lake.from_connection()
    assert world.run(dag, DAY).state == "success"
    clean, pages = business_checksums(world.warehouse), pages_loaded(world, DAY)

    world.server.inject("http_5xx", probability=1.0)
    emptied = world.run(dag, DAY)
    world.server.clear_faults()
    states = task_states(emptied)
    assert states["finish"] == "success" and states["load"] == "failed"
    assert emptied.state == "failed"
    assert business_checksums(world.warehouse) == clean, "the day was replaced with fewer pages"
    with pytest.raises(vk_load.FewerPagesError, match=rf"0 pages.*{pages} .*allow_fewer_pages"):
        vk_load.load_day(world.warehouse, lake, DAY, pseudonymizer())
    assert world.run(dag, DAY, replay=True).state == "failed"
    assert business_checksums(world.warehouse) == clean

    assert world.run(dag, DAY, replay=True, allow_fewer_pages=True).state == "success"
    assert pages_loaded(world, DAY) == 0  # what was asked for, and only when asked


def _window_posts_in_truth(world: VkWorld, since: datetime, until: datetime, skip: set[int]) -> set:
    official = {
        int(r["vk_group_id"])
        for r in world.warehouse.query("SELECT vk_group_id FROM core.dim_page WHERE network = 'vk'")
    }
    with gzip.open(world.data / "vk" / "posts.jsonl.gz", "rt", encoding="utf-8") as f:
        posts = [json.loads(line) for line in f]
    return {
        (-p["owner_id"], p["id"])
        for p in posts
        if since.timestamp() <= p["date"] <= until.timestamp()
        and -p["owner_id"] in official
        and -p["owner_id"] not in skip
    }


def test_given_up_calls_mark_the_day_incomplete_until_the_next_run_rereads_it(
    vk_world: VkWorld, dagbag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped connections with a wide give-up budget: the run passes, but
    its day is incomplete (manifest, audit) and the next run, even with a zero-day window, reaches
    back to re-read it and marks it complete."""
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_GIVEUP_SHARE", "1")
    world, dag, lake = vk_world, dagbag.get_dag("vk_pages"), Lake.from_connection()
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    assert world.run(dag, before).state == "success"

    # two attempts a call: with 40 % of requests dropped about one call in six is given up
    retry = {"max_attempts": 2, "backoff": 0.05, "max_backoff": 1.0}
    vk = {
        "conn_type": "http",
        "host": world.server.base_url,
        "extra": {"tokens": CONNECTION_TOKENS, "retry": retry},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_VK", json.dumps(vk))
    world.server.seed_faults(20)
    world.server.inject("drop", probability=0.4)
    partial = world.run(dag, DAY)
    world.server.clear_faults()
    assert partial.state == "success"
    manifest = manifest_of(lake, DAY)
    assert manifest["run_id"] == partial.run_id and manifest["status"] == "passed"
    assert manifest["given_up_pages"] and manifest["complete"] is False
    gave_up = [e for b in manifest["batches"] for e in b["errors"] if e["kind"] == "gave_up"]
    kinds = {
        (r["kind"], int(r["error_code"]))
        for r in world.warehouse.query(
            "SELECT kind, error_code FROM audit.extract_errors WHERE dt = :dt", {"dt": DAY}
        )
    }
    assert ("gave_up", -1) in kinds and all(code != -1 for kind, code in kinds if kind == "page")
    assert world.warehouse.scalar(
        "SELECT COUNT(*) FROM audit.extract_errors WHERE dt = :dt AND kind = 'gave_up'", {"dt": DAY}
    ) == len(gave_up)
    status = world.warehouse.query("SELECT * FROM audit.vk_day_status WHERE dt = :dt", {"dt": DAY})
    assert len(status) == 1 and status[0]["complete"] is False and status[0]["given_up_calls"] == len(gave_up)

    assert world.run(dag, after, window_days=0).state == "success"
    window = datetime.fromisoformat(manifest_of(lake, after)["window_start"])
    day_start = datetime.combine(DAY, datetime.min.time(), MOSCOW)
    assert window <= day_start, f"the next run's window {window} does not reach back to {DAY}"
    rows = {
        r["dt"]: r
        for r in world.warehouse.query("SELECT * FROM audit.vk_day_status WHERE dt >= :dt", {"dt": DAY})
    }
    assert rows[DAY]["complete"] is True and rows[DAY]["covered_by_dt"] == after
    assert rows[after]["complete"] is True

    page_errors = {
        int(r["vk_group_id"])
        for r in world.warehouse.query("SELECT vk_group_id FROM audit.extract_errors WHERE kind = 'page'")
    }
    expected = _window_posts_in_truth(world, day_start, run_time(after).astimezone(UTC), page_errors)
    got = {
        (int(r["vk_group_id"]), int(r["post_id"]))
        for r in world.warehouse.query(
            "SELECT vk_group_id, post_id FROM core.fct_post WHERE published_at >= :since",
            {"since": day_start},
        )
    }
    assert expected and got == expected, "posts of the incomplete day are still missing"
