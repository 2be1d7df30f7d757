"""tg_pages end to end: one day run with dag.test() against the Telegram sandbox (installed in the
test's process, found through the connection's ``extra.boundary`` as in the demo), on DuckDB and
PostgreSQL: the day's files in the lake under the run's manifest, the truth's subscribers, and
the run's rows in ``audit.extract_errors``; and a run that did not pass its checks fails for good
without moving ``latest.json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.orchestration.failures import fail_fast
from gospublic.registry.load import load_registry
from gospublic.telegram import steps
from gospublic.telegram.extract import manifest_key, read_manifest
from tests.telegram.conftest import DAY, connection, run_time
from tests.telegram.test_tg_day import expected_errors, expected_posts, posts, subscribers

pytestmark = pytest.mark.airflow

ERRORS = (
    "SELECT run_id, page_key, method, kind, error_code, error_msg, vk_group_id FROM audit.extract_errors "
    "WHERE dt = :dt AND network = 'tg' ORDER BY page_key, method"
)


@pytest.fixture
def run_lake(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """A local lake of this test's own: one run, on each engine (not on each lake as well)."""
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    return Lake.from_connection()


@pytest.fixture
def installed(tg_sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The sandbox installed in this process and named by the connection's ``extra.boundary``."""
    from sandbox.tg_sandbox import install

    boundary = connection(boundary="sandbox.tg_sandbox:reader_options")
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", boundary)
    install(tg_sandbox)
    yield tg_sandbox
    install(None)


@pytest.mark.slow
def test_a_day_lands_in_the_lake_and_records_its_errors(
    migrated: Warehouse, tg_world, installed, dagbag, run_lake: Lake
) -> None:
    load_registry(migrated, tg_world.root / "registry")

    run = dagbag.get_dag("tg_pages").test(logical_date=run_time(DAY).astimezone(UTC))

    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert set(states) == {"plan", "extract", "land", "record_errors", "check", "load"}
    assert set(states.values()) == {"success"}, states

    # the day's latest.json points at this run's manifest, whose files are the day's answers
    manifest = read_manifest(run_lake, DAY)
    pages, reasons = tg_world.pages(), tg_world.reasons()
    assert (manifest["run_id"], manifest["status"], manifest["pages"]) == (run.run_id, "passed", len(pages))
    assert manifest["network"] == "tg" and manifest["failed_pages"] == sorted(reasons)
    for method in ("channels.getFullChannel", "messages.getHistory"):
        keys = manifest["files"][method]
        assert keys and all(k.startswith(f"raw/tg/{method}/dt={DAY.isoformat()}/") for k in keys), keys
        assert all(run_lake.exists(k) for k in keys), keys
    truth = tg_world.subscribers(DAY)
    assert subscribers(run_lake) == {name: n for name, n in truth.items() if name not in reasons}

    # the load: the day's subscribers in core are the lake's (the sandbox's truth)
    core = migrated.query(
        "SELECT page_key, subscribers FROM core.fct_network_page_daily WHERE network = :network AND dt = :dt",
        {"network": "tg", "dt": DAY},
    )
    assert {r["page_key"]: r["subscribers"] for r in core} == {
        name: n for name, n in truth.items() if name not in reasons
    }
    assert (
        migrated.scalar(
            "SELECT COUNT(*) FROM core.fct_network_post WHERE network = :network", {"network": "tg"}
        )
        > 0
    )
    expected = expected_posts(tg_world, installed)
    assert posts(run_lake) == expected and sum(expected.values()) > 50
    assert installed.requests["messages.getHistory"] >= len(pages) - len(reasons)

    # the run's errors: each private channel and invalid username once, under this run
    rows = migrated.query(ERRORS, {"dt": DAY})
    assert [(r["run_id"],) for r in rows] == [(run.run_id,)] * len(rows)
    assert [
        (r["page_key"], r["method"], r["kind"], r["error_code"], r["error_msg"], r["vk_group_id"])
        for r in rows
    ] == expected_errors(tg_world)


def test_check_fails_for_good_when_the_run_did_not_pass(run_lake: Lake) -> None:
    """A run with every channel given up: its manifest lands (latest.json stays away) and the DAG's
    check step fails with AirflowFailException, so Airflow does not retry it."""
    from airflow.sdk.exceptions import AirflowFailException

    when, run_id = run_time(DAY).astimezone(UTC), "manual__all_given_up"
    error = {
        "username": "some_channel", "method": "channels.getFullChannel", "kind": "gave_up",
        "error_code": -1, "error_msg": "ConnectionError: gone",
        "occurred_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    outcome = {
        "batch": 0, "pages": 1, "window_start": when.isoformat(), "files": {}, "calls": {},
        "errors": [error], "requests": 1, "flood_waited": 0.0,
    }  # fmt: skip
    assert steps.land(when, run_id, [outcome]) == manifest_key(DAY, run_id)
    assert run_lake.exists(manifest_key(DAY, run_id)) and not run_lake.exists(manifest_key(DAY))
    assert read_manifest(run_lake, DAY, run_id)["status"] == "failed"
    with pytest.raises(AirflowFailException, match=r"did not pass its checks.*not retried"):
        fail_fast(steps.check)(when, run_id, 1)
