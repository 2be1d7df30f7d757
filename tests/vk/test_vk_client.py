"""The VK client on its own: connection parsing, token kinds against the sandbox, secrets."""

from __future__ import annotations

import json
from datetime import date

import pytest

from gospublic.vk.client import VkCall, VkClient, VkExtractionError, config_from_connection
from tests.vk.conftest import run_time

pytestmark = pytest.mark.parametrize("engine", ["duckdb"])  # no warehouse involved


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, body: dict) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))


def test_tokens_from_several_connections_are_pooled_once(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    set_conn(
        monkeypatch,
        "gospublic_vk",
        {
            "conn_type": "http",
            "host": "http://127.0.0.1:9",
            "extra": {
                "tokens": [{"kind": "user", "token": "usr_one"}],
                "more_connections": ["gospublic_vk_2", "gospublic_vk_3"],
                "retry": {"backoff": 0.1, "unknown": 5},
            },
        },
    )
    set_conn(
        monkeypatch,
        "gospublic_vk_2",
        {"conn_type": "http", "host": "http://127.0.0.1:9", "password": "usr_two"},
    )
    set_conn(
        monkeypatch,
        "gospublic_vk_3",
        {
            "conn_type": "http",
            "host": "http://127.0.0.1:9",
            "extra": {"tokens": [{"kind": "service", "token": "svc_x", "rps": 40}, {"token": "usr_one"}]},
        },
    )
    config = config_from_connection()
    assert [(t.kind, t.rps) for t in config.tokens] == [("user", 3.0), ("user", 3.0), ("service", 40.0)]
    assert config.ceiling == 3 * 25 * 2 + 40
    assert config.retry == {"backoff": 0.1}
    assert "usr_one" not in repr(config) and "svc_x" not in repr(config)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"conn_type": "http"}, "has no tokens"),
        (
            {"conn_type": "http", "extra": {"tokens": [{"kind": "group", "token": "g"}]}},
            "unknown kind 'group'",
        ),
        ({"conn_type": "http", "extra": {"tokens": [{"kind": "user", "token": ""}]}}, "is empty"),
    ],
)
def test_bad_connections_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, body: dict, message: str, engine: str
) -> None:
    set_conn(monkeypatch, "gospublic_vk", body)
    with pytest.raises(VkExtractionError, match=message):
        config_from_connection()


def test_missing_connection_fails_clearly(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_VK", raising=False)
    with pytest.raises(VkExtractionError, match="'gospublic_vk' is not defined"):
        config_from_connection()


def test_user_tokens_batch_through_execute_service_tokens_call_plainly(
    vk_data, vk_server, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    vk_server.set_clock(run_time(date(2025, 11, 20)))
    records = map(json.loads, (vk_data / "vk" / "groups.jsonl").read_text().splitlines())
    groups = [g["id"] for g in records if "_sandbox_error" not in g][:30]
    calls = [VkCall("wall.get", {"owner_id": -g, "count": 1}, key=g) for g in groups]
    for spec, method in ((["usr_alpha"], "execute"), (["svc_gamma"], "wall.get")):
        kind = "user" if spec[0].startswith("usr_") else "service"
        set_conn(
            monkeypatch,
            "gospublic_vk",
            {
                "conn_type": "http",
                "host": vk_server.base_url,
                "extra": {"tokens": [{"kind": kind, "token": spec[0]}]},
            },
        )
        vk_server.reset_stats()
        results = VkClient.from_connection().run(calls)
        assert sorted(r.call.key for r in results) == sorted(groups)
        stats = vk_server.stats()
        assert set(stats["requests"][spec[0]]) == {method}
        assert stats["calls"][spec[0]]["wall.get"] == len(calls)
        if method == "execute":  # 30 calls: at least two executes, none over 25 calls
            assert 2 <= stats["requests"][spec[0]]["execute"] < len(calls)
