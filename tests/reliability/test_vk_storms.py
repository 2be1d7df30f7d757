"""VK fault storms: every fault the sandbox can inject at once (5xx, dropped connections, slow
answers, rate limits 6 and 29, a captcha) on top of the pages the data has closed or private, at
seeded intensities, on both engines.

Each trial re-runs a day already loaded cleanly. What must hold whatever the storm did:

* the run fails — and then ``latest.json`` and the tables are exactly as before, and a replay
  afterwards (the documented repair) keeps the day, without calling VK; or
* the run succeeds — and then its data is complete: the tables equal the fault-free run's.

The gentlest storm must succeed and the harshest must fail, so both branches are exercised.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date

import pytest

from gospublic.infra.lake import Lake
from gospublic.vk.extract import manifest_key

# the fixtures of tests/vk, used here by name
from tests.vk.conftest import VkWorld, business_checksums, vk_data, vk_server, vk_world  # noqa: F401

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY = date(2025, 11, 20)


@dataclass(frozen=True)
class Storm:
    seed: int
    intensity: float  # probability of each transport fault per request

    def inject(self, server) -> None:
        server.seed_faults(self.seed)
        p = self.intensity
        server.inject("http_5xx", probability=p, status=503)
        server.inject("drop", probability=p)
        server.inject("slow", probability=p / 10, seconds=0.2)
        server.inject("error_6", probability=p / 4)  # retried without limit of attempts, only slower
        server.inject("error_29", probability=p / 8)
        server.inject("captcha", count=1, token="usr_beta")


# Gentle to harsh. Give-up odds per call are about (2p)^6 at 6 attempts: ~1e-6 at p = 0.05, ~0.2
# at p = 0.4; the default give-up budget (1 % of 36 pages) tolerates none.
STORMS = (Storm(11, 0.05), Storm(12, 0.15), Storm(13, 0.25), Storm(14, 0.4))


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_fault_storms_fail_cleanly_or_load_complete_days(vk_world: VkWorld, dagbag) -> None:  # noqa: F811
    world, dag, lake = vk_world, dagbag.get_dag("vk_pages"), Lake.from_connection()
    assert world.run(dag, DAY).state == "success"
    clean = business_checksums(world.warehouse)
    outcomes: dict[Storm, str] = {}
    for storm in STORMS:
        latest = lake.get_bytes(manifest_key(DAY))
        world.server.reset_stats()
        storm.inject(world.server)
        started = time.monotonic()
        run = world.run(dag, DAY)
        world.server.clear_faults()
        outcomes[storm] = run.state
        faults = world.server.stats()["faults"]
        print(f"{storm}: {run.state} in {time.monotonic() - started:.1f} s, faults fired {faults}")
        if run.state == "success":
            manifest = json.loads(lake.get_bytes(manifest_key(DAY)))
            assert manifest["run_id"] == run.run_id and manifest["complete"], (storm, task_states(run))
            assert business_checksums(world.warehouse) == clean, f"{storm}: success with data missing"
            continue
        assert run.state == "failed", storm
        assert task_states(run)["load"] != "success", storm
        assert lake.get_bytes(manifest_key(DAY)) == latest, f"{storm}: a failed run moved latest.json"
        if task_states(run)["finish"] == "failed":  # the run's own manifest says why
            own = json.loads(lake.get_bytes(manifest_key(DAY, run.run_id)))
            assert own["status"] == "failed" and own["problems"], storm
        assert business_checksums(world.warehouse) == clean, f"{storm}: a failed run changed the tables"
        world.server.reset_stats()
        assert world.run(dag, DAY, replay=True).state == "success", storm
        assert world.server.stats()["total_requests"] == 0
        assert business_checksums(world.warehouse) == clean, f"{storm}: the replay lost data"
    print(f"VK storms on {world.warehouse.dialect}: {len(outcomes)} trials, {outcomes}")
    assert outcomes[STORMS[0]] == "success" and outcomes[STORMS[-1]] == "failed", outcomes
