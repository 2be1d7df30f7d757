"""kill -9 at seeded random moments of each load, on DuckDB and PostgreSQL.

For each load — the registry, a VK day (``vk_load.load_day``), the incident ingest
(``incident_files.ingest_landed``) and a month's marts (``marts_build.build_month``) — a clean
run in a child process gives the after-state and the load's duration; then each trial copies the
before-state, runs the load in a child and SIGKILLs it at a moment drawn from the seed within that
duration, and checks:

* the warehouse opens; no key is repeated (``tests/keys.py``);
* nothing partial is visible: every table's checksum is the before-state's or the after-state's
  (the incident ingest commits file by file: there, each export file is loaded whole or not at
  all — its events, texts and load run agree);
* ``audit.load_runs`` holds the killed attempt as ``started`` unless its load committed;
* a re-run closes that attempt as ``abandoned`` and leaves every table with the clean run's
  checksums.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from gospublic.incidents.files import ingest_landed
from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.registry.load import load_registry
from gospublic.vk.load import load_day
from tests.keys import repeated_keys
from tests.reliability.conftest import PSEUDONYM_KEY, VK_DAYS, KillStates
from tests.reliability.harness import (
    KILL_TALLY,
    differing,
    kill_moments,
    open_warehouse,
    run_and_kill,
    start_fork_server,
    table_checksums,
)
from transforms.pseudonymize import make_pseudonymizer

pytestmark = pytest.mark.slow

SEED = "issue-20"
TRIALS = 5  # per load and engine
PRELOAD = [  # what a task process has imported before it runs the load
    "great_expectations",
    "gospublic.registry.load",
    "gospublic.vk.load",
    "gospublic.incidents.files",
    "gospublic.marts.build",
    "tests.reliability.test_load_kills",
]


# -- the loads, as a child runs them ------------------------------------------------------------


def registry_step(conn: dict, lake: str, attempt: str) -> None:
    folder = Path(os.environ["GOSPUBLIC_KILL_REGISTRY"])
    with open_warehouse(conn) as warehouse:
        load_registry(warehouse, folder, run_id=attempt)


def vk_day_step(conn: dict, lake: str, attempt: str) -> None:
    with open_warehouse(conn) as warehouse:
        load_day(warehouse, LocalLake(lake), VK_DAYS[-1], make_pseudonymizer(PSEUDONYM_KEY), task_id=attempt)


def incidents_step(conn: dict, lake: str, attempt: str) -> None:
    with open_warehouse(conn) as warehouse:
        ingest_landed(
            LocalLake(lake), warehouse, pseudonymize=make_pseudonymizer(PSEUDONYM_KEY), run_id=attempt
        )


def marts_step(conn: dict, lake: str, attempt: str) -> None:
    with open_warehouse(conn) as warehouse:
        build_month(warehouse, date(2025, 11, 1))


def in_child(step: Callable[..., None], began: str, **kwargs: Any) -> None:
    """Run ``step`` in the killed child, touching the file ``began`` once the first attempt's
    ``started`` rows are committed (calls through ``audit.begin_attempt`` where the loaders call
    it), so that the parent knows whether the kill came before or after that commit."""
    from gospublic.incidents import files as incident_files
    from gospublic.infra import audit, load_skeleton
    from gospublic.marts import build as marts_build

    def begin_attempt(*args: Any, **kw: Any) -> Any:
        attempt = audit.begin_attempt(*args, **kw)
        Path(began).touch()
        return attempt

    # the registry and VK loads begin their attempt in the shared skeleton (PartitionLoad.run)
    for module in (load_skeleton, incident_files, marts_build):
        module.begin_attempt = begin_attempt  # type: ignore[attr-defined]
    step(**kwargs)


@dataclass(frozen=True)
class Load:
    name: str
    step: Callable[..., None]
    template: str  # the before-state (KillStates.templates)
    sources: str  # audit.load_runs.source LIKE
    file_by_file: bool = False  # commits per export file, not once


LOADS = [
    Load("registry", registry_step, "migrated", "registry/%"),
    Load("vk_day", vk_day_step, "registry", "vk/%"),
    Load("incidents", incidents_step, "registry", "incidents/%", file_by_file=True),
    Load("marts", marts_step, "loaded", "marts"),
]


# -- checks -------------------------------------------------------------------------------------


def attempt_rows(warehouse: Warehouse, load: Load, since: datetime) -> list[dict[str, Any]]:
    return warehouse.query(
        "SELECT load_id, source, partition_key, status, message FROM audit.load_runs "
        "WHERE source LIKE :sources AND started_at >= :since ORDER BY load_id",
        {"sources": load.sources, "since": since},
    )


def files_whole(warehouse: Warehouse) -> list[str]:
    """Export files whose rows are in core without their finished load run, or with a different
    count: empty when each file is loaded whole or not at all."""
    events = {
        r["load_id"]: int(r["n"])
        for r in warehouse.query(
            "SELECT load_id, COUNT(*) AS n FROM core.fct_incident_event GROUP BY load_id"
        )
    }
    runs = {
        r["load_id"]: int(r["rows_written"])
        for r in warehouse.query(
            "SELECT load_id, rows_written FROM audit.load_runs "
            "WHERE source LIKE 'incidents/%' AND status = 'success'"
        )
    }
    texts = {r["load_id"] for r in warehouse.query("SELECT DISTINCT load_id FROM restricted.incident_text")}
    broken = [
        f"{load_id}: {n} events, load run {runs.get(load_id)}"
        for load_id, n in events.items()
        if runs.get(load_id) != n
    ]
    broken += [f"{load_id}: texts without events" for load_id in texts - events.keys()]
    return broken


@pytest.mark.parametrize("load", LOADS, ids=[load.name for load in LOADS])
def test_kill_9_at_random_moments_leaves_before_or_after_and_a_rerun_matches_a_clean_run(
    load: Load, kill_states: KillStates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_KILL_REGISTRY", str(kill_states.data.data / "registry"))
    monkeypatch.setenv("GOSPUBLIC_WORKER_PROCESSES", "1")  # no spawned workers outliving a killed child
    store, engine = kill_states.store, kill_states.engine
    start_fork_server(PRELOAD)  # its start must not count in the clean run's duration
    template = kill_states.templates[load.template]
    with open_warehouse(template) as warehouse:
        before = table_checksums(warehouse)

    clean, began = store.copy(template, f"{load.name}-clean"), kill_states.folder / f"{load.name}-clean.began"
    lake = str(kill_states.lake_copy(f"{load.name}-clean"))
    run = run_and_kill(in_child, {"step": load.step, "began": str(began), "conn": clean, "lake": lake,
                                  "attempt": "clean"}, None, preload=PRELOAD)  # fmt: skip
    assert run.exitcode == 0, f"the clean {load.name} run failed"
    assert began.exists(), f"{load.name} began no attempt in audit.load_runs"
    with open_warehouse(clean) as warehouse:
        after = table_checksums(warehouse)
    assert differing(before, after), f"{load.name} changed nothing: a kill could not be told apart"

    # One moment anywhere in the run, the others once its attempt has begun (a load's first
    # tenths of a second can be all reading before its transaction).
    began_at = began.stat().st_mtime - run.started_at
    moments = kill_moments(f"{SEED}:{load.name}:{engine}", run.seconds, 1)
    moments += kill_moments(
        f"{SEED}:{load.name}:{engine}:attempt", run.seconds, TRIALS - 1, earliest=began_at
    )
    for n, moment in enumerate(moments):
        trial = f"{load.name}-{n}"
        conn, lake = store.copy(template, trial), str(kill_states.lake_copy(trial))
        since = datetime.now(UTC)
        began = kill_states.folder / f"{trial}.began"
        kwargs = {
            "step": load.step,
            "began": str(began),
            "conn": conn,
            "lake": lake,
            "attempt": f"killed-{n}",
        }
        child = run_and_kill(in_child, kwargs, moment, preload=PRELOAD)

        with open_warehouse(conn) as warehouse:
            assert warehouse.scalar("SELECT 1") == 1  # it opens
            now = table_checksums(warehouse, skip=("staging.incident",) if load.file_by_file else ())
            assert repeated_keys(warehouse) == {}
            killed_attempt = attempt_rows(warehouse, load, since)
            broken = files_whole(warehouse) if load.file_by_file else []
        state = _state(now, before, after)
        if load.file_by_file:
            assert broken == [], f"{trial}: an export file is partly loaded: {broken}"
        else:
            assert state != "partial", f"{trial} killed at {moment}s: partial tables {differing(now, after)}"
        if state == "after" or not child.killed:
            assert all(r["status"] == "success" for r in killed_attempt), killed_attempt
        elif not killed_attempt:  # then it must have died before its "started" rows committed
            assert not began.exists(), f"{trial} killed at {moment}s after its attempt began: no trace"
            assert state == "before", state
            state = "before its attempt"
        elif not load.file_by_file:
            assert {r["status"] for r in killed_attempt} == {"started"}, killed_attempt
        started = [r["load_id"] for r in killed_attempt if r["status"] == "started"]

        load.step(conn=conn, lake=lake, attempt=f"rerun-{n}")
        with open_warehouse(conn) as warehouse:
            rerun = table_checksums(warehouse)
            assert repeated_keys(warehouse) == {}
            closed = {
                r["load_id"]: r
                for r in warehouse.query(
                    "SELECT load_id, status, message FROM audit.load_runs WHERE status = 'abandoned'"
                )
            }
        assert differing(rerun, after) == [], f"{trial}: the re-run differs from a clean run"
        for load_id in started:
            assert closed[load_id]["status"] == "abandoned" and "never finished" in closed[load_id]["message"]
        outcome = state if child.killed else "finished"
        KILL_TALLY.append(
            {"load": load.name, "engine": engine, "trial": n, "kill_after": moment, "duration": run.seconds,
             "killed": child.killed, "outcome": outcome, "abandoned": len(started)}
        )  # fmt: skip


def _state(now: dict[str, str], before: dict[str, str], after: dict[str, str]) -> str:
    tables = now.keys()
    if all(now[t] == before.get(t) for t in tables):
        return "before"
    if all(now[t] == after.get(t) for t in tables):
        return "after"
    return "partial"
