"""max_pages end to end: one day run with dag.test() against the MAX sandbox, on DuckDB and
PostgreSQL, with the MAX channels in the registry (network ``max``): the day's files in the lake
under the run's manifest, and the run's rows in ``audit.extract_errors``."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.max import steps
from gospublic.max.extract import manifest_key, read_lines, read_manifest
from gospublic.orchestration.failures import fail_fast
from gospublic.registry.load import load_registry
from tests.max.conftest import DAY, run_time
from tests.registry_csv import rows, write

pytestmark = pytest.mark.airflow

ERRORS = (
    "SELECT run_id, network, page_key, method, kind, error_code FROM audit.extract_errors "
    "WHERE dt = :dt AND network = 'max'"
)


@pytest.fixture
def run_lake(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """A local lake of this test's own: one run, on each engine (not on each lake as well)."""
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    return Lake.from_connection()


@pytest.mark.slow
@pytest.mark.usefixtures("max_connection")
def test_a_day_lands_in_the_lake_and_records_its_errors(
    migrated: Warehouse, max_world, dagbag, run_lake: Lake, tmp_path
) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(max_world.root / "registry", registry)
    write(registry / "pages.csv", rows(registry / "pages.csv") + max_world.registry_pages())
    assert load_registry(migrated, registry)["quarantined"] == 0

    run = dagbag.get_dag("max_pages").test(logical_date=run_time(DAY).astimezone(UTC))

    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert set(states) == {"plan", "extract", "land", "record_errors", "check", "load"}
    assert set(states.values()) == {"success"}, states

    # the day's latest.json points at this run's manifest, whose files are the day's answers
    lake = run_lake
    manifest = read_manifest(lake, DAY)
    official = {r["screen_name"] for r in max_world.registry_pages() if r["valid_from"] <= DAY.isoformat()}
    pages = {chat: readable for chat, readable in max_world.pages().items() if chat in official}
    unreadable = {chat for chat, readable in pages.items() if not readable}
    assert (manifest["run_id"], manifest["status"], manifest["pages"]) == (run.run_id, "passed", len(pages))
    for operation in ("getChat", "getMessages"):
        keys = manifest["files"][operation]
        assert keys and all(k.startswith(f"raw/max/{operation}/dt={DAY.isoformat()}/") for k in keys), keys
        assert all(lake.exists(k) for k in keys), keys
    chats = [
        line["response"]
        for key in manifest["files"]["getChat"]
        for line in read_lines(lake, key)
        if "response" in line
    ]
    truth = max_world.subscribers(DAY)
    assert {str(c["chat_id"]): c["participants_count"] for c in chats} == {
        chat: truth[chat] for chat in pages if chat not in unreadable
    }

    # the load: the day's subscribers in core are the lake's (the sandbox's truth)
    core = migrated.query(
        "SELECT page_key, subscribers FROM core.fct_network_page_daily WHERE network = :network AND dt = :dt",
        {"network": "max", "dt": DAY},
    )
    assert {r["page_key"]: r["subscribers"] for r in core} == {
        chat: truth[chat] for chat in pages if chat not in unreadable
    }
    assert (
        migrated.scalar(
            "SELECT COUNT(*) FROM core.fct_network_post WHERE network = :network", {"network": "max"}
        )
        > 0
    )

    # the run's errors: each channel that did not admit the bot, for both operations, under this run
    found = migrated.query(ERRORS, {"dt": DAY})
    assert unreadable and {r["page_key"] for r in found} == unreadable
    assert sorted((r["run_id"], r["method"], r["kind"], r["error_code"]) for r in found) == sorted(
        [(run.run_id, "getChat", "page", 403), (run.run_id, "getMessages", "page", 403)] * len(unreadable)
    )


def test_check_fails_for_good_when_the_run_did_not_pass(run_lake: Lake) -> None:
    """A run with every page given up: its manifest lands (latest.json stays away) and the DAG's
    check step fails with AirflowFailException, so Airflow does not retry it."""
    from airflow.sdk.exceptions import AirflowFailException

    when, run_id = run_time(DAY).astimezone(UTC), "manual__all_given_up"
    error = {
        "max_chat_id": "1", "method": "getChat", "kind": "gave_up", "error_code": 0, "error_msg": "timeout",
        "occurred_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    outcome = {
        "batch": 0, "pages": 1, "window_start": when.isoformat(), "files": {}, "calls": {},
        "errors": [error], "requests": 1,
    }  # fmt: skip
    assert steps.land(when, run_id, [outcome]) == manifest_key(DAY, run_id)
    assert run_lake.exists(manifest_key(DAY, run_id)) and not run_lake.exists(manifest_key(DAY))
    with pytest.raises(AirflowFailException, match=r"did not pass its checks.*not retried"):
        fail_fast(steps.check)(when, run_id, 1)
