"""The real MAX client over HTTP against the MAX sandbox: the token, rates, faults, retries."""

from __future__ import annotations

import json
import logging

import pytest

from gospublic.max.client import GAVE_UP_CODE, MaxCall, MaxClient, MaxConfig, MaxExtractionError, MaxResult
from gospublic.max.extract import chat_call
from tests.max.conftest import TOKEN, connection


def client(base_url: str, token: str = TOKEN, rps: float = 30.0) -> MaxClient:
    return MaxClient(MaxConfig(token, base_url=base_url, rps=rps), backoff=0.05, max_backoff=0.5)


def run(max_client: MaxClient, calls: list[MaxCall]) -> list[MaxResult]:
    results: list[MaxResult] = []
    max_client.run(calls, on_result=results.append)
    return results


def messages_calls(chat_ids: list[str], count: int = 5) -> list[MaxCall]:
    return [MaxCall("getMessages", "/messages", {"chat_id": c, "count": str(count)}, key=c) for c in chat_ids]


def test_a_call_with_the_token_is_answered(sandbox, max_world) -> None:
    chats = max_world.readable()
    results = run(client(sandbox.base_url), [chat_call(c) for c in chats])
    assert all(r.ok for r in results)
    day = max_world.subscribers(sandbox_day(sandbox))
    assert {str(r.response["chat_id"]): r.response["participants_count"] for r in results} == {
        c: day[c] for c in chats
    }


def sandbox_day(sandbox):
    from datetime import UTC, datetime

    from tests.max.conftest import MOSCOW

    return datetime.fromtimestamp(sandbox.sandbox.now, UTC).astimezone(MOSCOW).date()


def test_a_wrong_token_is_refused_with_401_and_stops_the_run(sandbox, max_world) -> None:
    wrong = client(sandbox.base_url, token=TOKEN + "x")
    with pytest.raises(MaxExtractionError, match=r"HTTP 401 verify\.token"):
        run(wrong, [chat_call(c) for c in max_world.readable()[:3]])
    assert sandbox.stats()["errors"].get("401", 0) >= 1
    assert sandbox.stats()["requests"]["getChat"] <= 3


def test_a_rate_limit_storm_slows_the_client_and_loses_nothing(sandbox, max_world) -> None:
    """The client asks for three times the bot's rate: the sandbox answers 429 to what is over
    it, and every call still ends with its answer."""
    chats = max_world.readable()
    greedy = client(sandbox.base_url, rps=90.0)
    greedy.workers = 8
    calls = messages_calls(chats) * 3
    results = run(greedy, calls)
    stats = sandbox.stats()
    assert stats["errors"].get("429", 0) > 0, stats  # the storm happened
    assert len(results) == len(calls) and all(r.ok for r in results)
    assert stats["requests"]["getMessages"] == len(calls) + stats["errors"]["429"]


def test_transient_faults_are_healed_by_retries(sandbox, max_world) -> None:
    chats = max_world.readable()[:4]
    reference = {r.call.key: r.response for r in run(client(sandbox.base_url), messages_calls(chats))}
    sandbox.reset_stats()
    sandbox.inject("http_5xx", count=2, status=503)
    sandbox.inject("drop", count=1)
    sandbox.inject("http_429", count=2)
    results = run(client(sandbox.base_url), messages_calls(chats))
    assert sandbox.stats()["faults"] == {"http_5xx": 2, "drop": 1, "http_429": 2}
    assert {r.call.key: r.response for r in results} == reference


def test_a_permanent_chat_fault_is_that_call_s_answer(sandbox, max_world) -> None:
    chats = max_world.readable()[:3]
    sandbox.inject("chat_error", chat_id=int(chats[0]), status=404, code="not.found")
    results = run(client(sandbox.base_url), [chat_call(c) for c in chats])
    failed = [(r.call.key, r.error_code, r.error_msg) for r in results if not r.ok]
    assert failed == [(chats[0], 404, f"not.found: chat {chats[0]}")]
    unreadable = sorted(c for c, ok in max_world.pages().items() if not ok)
    denied = run(client(sandbox.base_url), messages_calls(unreadable))
    assert {(r.call.key, r.error_code) for r in denied} == {(c, 403) for c in unreadable}


def test_a_call_failing_every_time_is_given_up_and_the_rest_go_on(sandbox, max_world) -> None:
    chats = max_world.readable()[:3]
    sandbox.inject("http_5xx", probability=1.0, method="getChat")
    max_client = client(sandbox.base_url)
    max_client.max_attempts = 3
    results = run(max_client, [chat_call(chats[0]), *messages_calls(chats)])
    given_up = [r for r in results if not r.ok]
    assert [(r.call.operation, r.error_code) for r in given_up] == [("getChat", GAVE_UP_CODE)]
    assert sandbox.stats()["faults"]["http_5xx"] == 3
    assert sum(r.ok for r in results) == len(chats)


def test_the_connection_is_read_and_its_token_never_logged(
    sandbox, max_world, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_MAX", connection(sandbox.base_url))
    caplog.set_level(logging.DEBUG)
    max_client = MaxClient.from_connection()
    assert max_client.config.base_url == sandbox.base_url and max_client.config.rps == 30
    assert max_client.backoff == 0.05
    assert TOKEN not in repr(max_client.config)
    sandbox.inject("http_5xx", count=1)
    assert all(r.ok for r in run(max_client, [chat_call(c) for c in max_world.readable()[:2]]))
    logging.getLogger("test").warning("token %s", TOKEN)
    assert TOKEN not in caplog.text


def test_a_connection_without_a_token_is_refused(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(connection(sandbox.base_url))
    del conn["password"]
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_MAX", json.dumps(conn))
    with pytest.raises(MaxExtractionError, match="no bot token"):
        MaxClient.from_connection()
