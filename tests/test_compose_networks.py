"""docker-compose.yml deploys every network (issue 28), checked statically: every pool a DAG's
task asks for is created by the ``airflow-init`` job, and the OK, MAX and Telegram connections
come from ``.env`` variables that ``.env.example`` names (empty: no credentials shipped) and shows
in a form the network's own client reads."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.prod import topology

# connection id → the .env variable compose reads it from, and the module that reads it
NETWORK_CONNECTIONS = {
    "gospublic_ok": ("GOSPUBLIC_OK_CONN", "gospublic.ok.client"),
    "gospublic_max": ("GOSPUBLIC_MAX_CONN", "gospublic.max.client"),
    "gospublic_telegram_mtproto": ("GOSPUBLIC_TELEGRAM_MTPROTO_CONN", "gospublic.telegram.client"),
}
NETWORK_POOLS = {"vk_api", "ok_api", "max_api", "tg_api"}


@pytest.mark.airflow
def test_every_pool_a_task_asks_for_is_created_by_airflow_init(dagbag) -> None:
    created = {name for name, _, _ in topology.init_pools()}
    asked = {task.pool for dag in dagbag.dags.values() for task in dag.tasks} - {"default_pool"}
    assert NETWORK_POOLS | {"warehouse_writer"} <= asked, f"the scan missed pools: {sorted(asked)}"
    assert asked <= created, f"pools no airflow-init line creates: {sorted(asked - created)}"


@pytest.mark.parametrize("conn_id", sorted(NETWORK_CONNECTIONS))
def test_each_network_connection_comes_from_a_documented_env_variable(
    conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable, module = NETWORK_CONNECTIONS[conn_id]
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    assert topology.compose_environment()[name] == f"${{{variable}:-}}", name

    assert topology.read_dotenv(topology.ENV_EXAMPLE).get(variable) == "", f"name {variable}, empty"
    shown = re.findall(rf"^# {variable}='(\{{.+\}})'$", topology.ENV_EXAMPLE.read_text(), re.M)
    assert len(shown) == 1, f".env.example shows no example of {variable}"

    # the example, set as compose sets it, is a connection the network's client accepts
    monkeypatch.setenv(name, shown[0])
    config = importlib.import_module(module).config_from_connection(conn_id)
    assert config is not None
