"""Every load attempt leaves a row in ``audit.load_runs``: ``started`` while it runs, the result
when it commits, ``failed`` when it raises, ``abandoned`` (closed by the next attempt on the same
source and partition) when its process died. On DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from gospublic.infra import model_runner
from gospublic.infra.audit import LoadRun, begin_attempt
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from gospublic.vk.daily import plan

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT / "config" / "registry"

# The registry load in a child process that dies (os._exit, no cleanup: what SIGKILL leaves) in
# the middle of its transaction, after the core models ran.
_DIES_MID_LOAD = textwrap.dedent(
    """
    import os, sys
    from gospublic.infra import model_runner
    from gospublic.registry import load as registry_load
    from gospublic.infra.warehouse import Warehouse

    def die(conn, *args, **kwargs):
        os._exit(137)

    model_runner.run_models = die
    with Warehouse.from_connection() as warehouse:
        registry_load.load_registry(warehouse, sys.argv[1], run_id="killed-run")
    """
)


def registry_runs(warehouse: Warehouse) -> list[dict]:
    return warehouse.query(
        "SELECT load_id, source, partition_key, status, message, run_id, finished_at, rows_read "
        "FROM audit.load_runs WHERE source LIKE 'registry/%' ORDER BY source, started_at, load_id"
    )


def die_mid_load(warehouse: Warehouse) -> None:
    warehouse.close()  # DuckDB: the child needs the file
    env = {**os.environ, "PYTHONPATH": f"{PROJECT / 'plugins'}{os.pathsep}{PROJECT}"}
    result = subprocess.run(
        [sys.executable, "-c", _DIES_MID_LOAD, str(SAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 137, result.stderr[-2000:]


def test_a_killed_attempt_stays_started_and_the_next_run_closes_it_abandoned(migrated: Warehouse) -> None:
    die_mid_load(migrated)
    runs = registry_runs(migrated)
    assert [(r["source"], r["status"]) for r in runs] == [
        ("registry/orgs.csv", "started"),
        ("registry/pages.csv", "started"),
    ]
    assert all(r["finished_at"] is None and r["run_id"] == "killed-run" for r in runs)
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_org") == 0  # nothing of it committed

    result = load_registry(migrated, SAMPLE, run_id="next-run")
    runs = registry_runs(migrated)
    assert sorted((r["source"], r["status"]) for r in runs) == [
        ("registry/orgs.csv", "abandoned"),
        ("registry/orgs.csv", "success"),
        ("registry/pages.csv", "abandoned"),
        ("registry/pages.csv", "success"),
    ]
    for run in runs:
        assert run["finished_at"] is not None
        if run["status"] == "abandoned":
            assert run["run_id"] == "killed-run" and run["rows_read"] == 0
            assert "never finished" in run["message"]
            assert f"by load {result['load_id']}:" in run["message"] and "(run next-run)" in run["message"]
    # A later run finds nothing left to close, and keeps the closed attempts.
    load_registry(migrated, SAMPLE)
    assert sorted(r["status"] for r in registry_runs(migrated)) == ["abandoned"] * 2 + ["success"] * 2


def test_a_failed_attempt_is_marked_failed_with_its_error(
    migrated: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("model exploded")

    monkeypatch.setattr(model_runner, "run_models", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        load_registry(migrated, SAMPLE)
    runs = registry_runs(migrated)
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert all(r["message"] == "failed: RuntimeError: model exploded" for r in runs)
    monkeypatch.undo()
    load_registry(migrated, SAMPLE)
    assert sorted(r["status"] for r in registry_runs(migrated)) == ["failed", "failed", "success", "success"]


def test_a_day_whose_load_never_finished_does_not_count_as_extracted(migrated: Warehouse) -> None:
    """vk_pages re-reads back to the last day really loaded: a started or abandoned attempt of a
    later day must not shorten that window."""
    load_registry(migrated, SAMPLE)

    def wall_run(day: str, status: str) -> LoadRun:
        return LoadRun(
            load_id=f"vk:{day}:run:wall.get", source="vk/wall.get", partition_key=day,
            target_table="staging.vk_post_observations", rows_read=0, rows_written=0, rows_rejected=0,
            started_at=datetime.now(UTC), status=status,
        )  # fmt: skip

    migrated.bulk_load("audit.load_runs", pd.DataFrame([wall_run("2025-10-01", "success").as_row()]))
    begin_attempt(migrated, [wall_run("2025-11-01", "success")])  # killed: stays started
    assert plan(migrated, date(2025, 11, 20), window_days=7)["window_start"].startswith("2025-10-01")
    begin_attempt(migrated, [wall_run("2025-11-01", "success")])  # closes the first as abandoned
    assert migrated.scalar("SELECT COUNT(*) FROM audit.load_runs WHERE status = 'abandoned'") == 1
    assert plan(migrated, date(2025, 11, 20), window_days=7)["window_start"].startswith("2025-10-01")


def test_a_failed_attempt_records_no_secret(migrated: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from gospublic.infra.connections import mask_secret

    secret = "attempt-secret-9f8e7d6c5b"
    mask_secret(secret)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"could not connect with {secret}")

    monkeypatch.setattr(model_runner, "run_models", broken)
    with pytest.raises(RuntimeError):
        load_registry(migrated, SAMPLE)
    assert {r["message"] for r in registry_runs(migrated)} == {
        "failed: RuntimeError: could not connect with ***"
    }


def test_a_failed_marts_build_is_marked_failed_and_the_next_one_succeeds(
    migrated: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gospublic.infra import model_runner
    from gospublic.marts import build as marts_build

    load_registry(migrated, SAMPLE)
    real_run_models = model_runner.run_models  # the build runs its models through the transaction

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("mart model exploded")

    monkeypatch.setattr(model_runner, "run_models", broken)
    with pytest.raises(RuntimeError):
        marts_build.build_month(migrated, date(2025, 11, 1))
    monkeypatch.setattr(model_runner, "run_models", real_run_models)
    marts_build.build_month(migrated, date(2025, 11, 1))
    runs = migrated.query(
        "SELECT status, message, partition_key FROM audit.load_runs WHERE source = 'marts' "
        "ORDER BY started_at"
    )
    assert [(r["status"], r["partition_key"]) for r in runs] == [
        ("failed", "2025-11"),
        ("success", "2025-11"),
    ]
    assert runs[0]["message"] == "failed: RuntimeError: mart model exploded"
