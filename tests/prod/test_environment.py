"""test-prod's processes and docker-compose.yml cannot drift: one environment block, read by both.

Runs in ``make test`` (static, a second): the environment tests/prod/topology.py gives the Airflow
processes is compose's ``x-airflow-common.environment`` interpolated with a deployer's ``.env``
(``docker/generate-env.sh``), with container paths mapped through compose's own mounts and nothing
else changed but the documented :data:`~tests.prod.topology.OVERRIDES` and
:data:`~tests.prod.topology.ADDED`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.prod import topology

AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
)
# Fields of the connections test-prod points elsewhere; every other field is compose's.
CONNECTION_FIELDS = {
    "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE": {"host", "port", "login", "schema"},
    "AIRFLOW_CONN_GOSPUBLIC_LAKE": {"extra.endpoint_url", "extra.bucket"},
}


def endpoints(folder: Path) -> topology.Endpoints:
    e = topology.Endpoints.new(folder)
    e.s3_endpoint, e.vk_base_url = "http://127.0.0.1:9", "http://127.0.0.1:8"
    return e


def flat(conn: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in conn.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_every_airflow_service_takes_the_one_environment_block() -> None:
    spec = topology.compose()
    common = topology.compose_environment(spec)
    for name in AIRFLOW_SERVICES:
        env = spec["services"][name].get("environment") or {}
        for key, value in common.items():
            assert str(env.get(key)) == value, f"{name} sets {key} apart from x-airflow-common"


def test_test_prod_runs_compose_environment_with_only_the_documented_changes(tmp_path: Path) -> None:
    spec = topology.compose()
    e = endpoints(tmp_path)
    written = topology.compose_environment(spec)
    env = topology.environment(e, spec)
    variables = topology.dotenv(e)
    mounts = topology.compose_mounts(spec)

    assert set(topology.OVERRIDES) <= set(written), "an override of a key compose does not set"
    assert not set(topology.ADDED) & set(written), "compose sets a key test-prod adds: make it an override"
    assert not set(topology.OVERRIDES) & set(topology.TEST_SETTINGS)
    assert all(key.startswith("GOSPUBLIC_") for key in topology.TEST_SETTINGS), "Airflow's own: an override"
    assert set(written) <= set(env), set(written) - set(env)
    allowed = set(topology.ADDED) | set(topology.TEST_SETTINGS)
    assert set(env) - set(written) <= allowed, set(env) - set(written) - allowed

    for key, value in written.items():
        interpolated = topology.interpolate(value, variables)
        if key in topology.OVERRIDES or key in topology.TEST_SETTINGS:
            continue
        assert env[key] == topology.map_path(interpolated, mounts, tmp_path), key
        if "/opt/airflow" not in interpolated:
            assert env[key] == interpolated, f"{key} changed although it names no container path"

    for key, fields in CONNECTION_FIELDS.items():
        ours, theirs = (
            flat(json.loads(env[key])),
            flat(json.loads(topology.interpolate(written[key], variables))),
        )
        assert ours.keys() == theirs.keys(), key
        changed = {f for f in ours if ours[f] != theirs[f]}
        assert changed <= fields, f"{key}: {changed - fields} differ from compose"
    # the broker, backends and API keep compose's scheme and path; only host (and database) move
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND",
                "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):  # fmt: skip
        assert env[key].split("://")[0] == topology.interpolate(written[key], variables).split("://")[0], key
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith(
        "/"
        + topology.interpolate(written["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], variables).split("/", 3)[3]
    )


def test_the_gate_tolerance_matches_the_plan() -> None:
    from tests.prod import driver

    assert len(driver.VK_DAYS) == topology.VK_DAY_COUNT
    assert {d.month for d in driver.VK_DAYS} == {11}, "GOSPUBLIC_GATE_VK_MISSING_DAYS counts November's 30"


def test_a_container_path_maps_through_compose_mounts(tmp_path: Path) -> None:
    mounts = topology.compose_mounts()
    assert topology.map_path("/opt/airflow/project/dags", mounts, tmp_path) == str(topology.PROJECT / "dags")
    assert topology.map_path("/opt/airflow/project/config/x.yaml", mounts, tmp_path) == str(
        topology.PROJECT / "config" / "x.yaml"
    )
    assert topology.map_path("/opt/airflow/var", mounts, tmp_path) == str(
        tmp_path / "volumes" / "airflow-var"
    )
    assert topology.map_path("redis://redis:6379/0", mounts, tmp_path) == "redis://redis:6379/0"


def test_interpolation_follows_compose() -> None:
    v = {"SET": "x", "EMPTY": ""}
    assert topology.interpolate("${SET}-${EMPTY:-d}-${EMPTY-d}-${UNSET-d}-$${SET}", v) == "x-d--d-${SET}"
    assert topology.interpolate("${SET:+r}${EMPTY:+r}${EMPTY+r}", v) == "rr"
    with pytest.raises(ValueError, match="EMPTY"):
        topology.interpolate("${EMPTY:?needed}", v)
    with pytest.raises(ValueError, match="UNSET"):
        topology.interpolate("${UNSET?needed}", v)
    assert topology.interpolate("${EMPTY?needed}", v) == ""


def test_the_pools_are_compose_init_jobs() -> None:
    pools = dict((name, slots) for name, slots, _ in topology.init_pools())
    assert {"vk_api", "ok_api", "max_api", "tg_api", "warehouse_writer"} <= set(pools), pools
    assert all(slots >= 1 for slots in pools.values())


@pytest.mark.airflow
@pytest.mark.usefixtures("airflow_home")
def test_the_plan_runs_every_network_each_vk_day_at_its_schedule_s_time() -> None:
    """As make demo: each VK day's vk_pages, then ok_pages, max_pages and tg_pages at their crons'
    times of that day, all before the month's exports and builds; DAG ids the driver waits for."""
    from sandbox.demo import NETWORK_DAGS
    from tests.prod import driver

    steps = driver.plan(driver.scheduled_at(str(topology.PROJECT / "dags")))
    assert {s.dag_id for s in steps} == set(driver.DAG_IDS)
    daily = [s for s in steps if s.dag_id in ("vk_pages", *NETWORK_DAGS)]
    expected = [(d, day) for day in driver.VK_DAYS for d in ("vk_pages", *NETWORK_DAGS)]
    assert [(s.dag_id, s.when.astimezone(driver.MOSCOW).date()) for s in daily] == expected
    clocks = {s.dag_id: s.when.astimezone(driver.MOSCOW).strftime("%H:%M") for s in daily}
    assert clocks == {"vk_pages": "23:30", "ok_pages": "23:35", "max_pages": "23:40", "tg_pages": "23:45"}
    assert [s.when for s in steps] == sorted(s.when for s in steps), "the runs go forward in time"
    assert [s.label for s in steps] == [s.label for s in driver.plan()], "the default gives the labels"


def test_the_worker_hostname_callable_names_each_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    e = endpoints(tmp_path)
    base = topology.environment(e)
    first, second = (topology.worker_env(base, i, e) for i in (0, 1))
    assert first["GOSPUBLIC_PROD_WORKER_HOSTNAME"] != second["GOSPUBLIC_PROD_WORKER_HOSTNAME"]
    assert (
        first["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]
        != second["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]
    )
    module, _, function = first["AIRFLOW__CORE__HOSTNAME_CALLABLE"].rpartition(".")
    monkeypatch.syspath_prepend(first["PYTHONPATH"].split(":")[0])
    monkeypatch.setenv("GOSPUBLIC_PROD_WORKER_HOSTNAME", "worker-x")
    sys.modules.pop(module, None)
    assert getattr(importlib.import_module(module), function)() == "worker-x"
