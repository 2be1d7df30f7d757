"""The real OK client over HTTP against the OK sandbox: signatures, rates, faults, retries."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import requests

from gospublic.ok.client import GAVE_UP_CODE, OkCall, OkClient, OkConfig, OkExtractionError, OkResult
from tests.ok.conftest import APP_KEY, APP_SECRET, TOKEN, connection


def client(base_url: str, **kwargs: object) -> OkClient:
    settings = {"application_secret_key": APP_SECRET, "access_token": TOKEN, "rps": 10.0, **kwargs}
    return OkClient(OkConfig(APP_KEY, base_url=base_url, **settings), backoff=0.05, max_backoff=0.5)  # type: ignore[arg-type]


def run(ok_client: OkClient, calls: list[OkCall]) -> list[OkResult]:
    results: list[OkResult] = []
    ok_client.run(calls, on_result=results.append)
    return results


def info_call(gids: list[str]) -> OkCall:
    return OkCall("group.getInfo", {"uids": ",".join(gids), "fields": "uid,members_count"}, key=tuple(gids))


def topics_calls(gids: list[str]) -> list[OkCall]:
    return [OkCall("mediatopic.getTopics", {"gid": gid, "count": "5"}, key=gid) for gid in gids]


def test_a_signed_call_is_answered(sandbox, ok_world) -> None:
    gids = sorted(ok_world.pages())
    [result] = run(client(sandbox.base_url), [info_call(gids)])
    assert result.ok
    assert {g["uid"]: g["members_count"] for g in result.response} == {
        gid: n for gid, n in ok_world.subscribers(sandbox_day(sandbox)).items()
    }


def sandbox_day(sandbox):
    from datetime import UTC, datetime

    from tests.ok.conftest import MOSCOW

    return datetime.fromtimestamp(sandbox.sandbox.now, UTC).astimezone(MOSCOW).date()


def test_a_wrong_secret_is_refused_with_error_104_and_stops_the_run(sandbox, ok_world) -> None:
    wrong = client(sandbox.base_url, application_secret_key=APP_SECRET + "0")
    with pytest.raises(OkExtractionError, match="error 104"):
        run(wrong, [info_call(sorted(ok_world.pages())[:3])])
    assert sandbox.stats()["errors"] == {"104": 1}


def test_a_tampered_request_is_refused(sandbox, ok_world) -> None:
    """The sandbox checks the md5 rule itself: a parameter changed after signing is refused."""
    good = client(sandbox.base_url)
    params = good.signed(info_call(sorted(ok_world.pages())[:2]))
    assert requests.post(f"{sandbox.base_url}/fb.do", data=params, timeout=10).json()[0]["uid"]
    tampered = {**params, "uids": sorted(ok_world.pages())[2]}
    body = requests.post(f"{sandbox.base_url}/fb.do", data=tampered, timeout=10).json()
    assert body["error_code"] == 104 and body["error_msg"].startswith("PARAM_SIGNATURE")
    unknown_app = {**params, "application_key": "NOSUCHAPP"}
    assert (
        requests.post(f"{sandbox.base_url}/fb.do", data=unknown_app, timeout=10).json()["error_code"] == 101
    )


def test_an_unknown_access_token_is_refused_with_error_102(sandbox, ok_world) -> None:
    with pytest.raises(OkExtractionError, match="error 102"):
        run(
            client(sandbox.base_url, access_token="tkn_not_registered"),
            [info_call(sorted(ok_world.pages())[:1])],
        )


def test_a_session_secret_key_signs_as_well(sandbox, ok_world) -> None:
    """Without the application secret, the session secret key alone (client-server scheme) is
    accepted when the sandbox knows it; the md5(token + app secret) key also works."""
    derived = hashlib.md5((TOKEN + APP_SECRET).encode()).hexdigest()
    session_only = client(sandbox.base_url, application_secret_key=None, session_secret_key=derived)
    [result] = run(session_only, [info_call(sorted(ok_world.pages())[:1])])
    assert result.ok


def test_a_rate_limit_storm_slows_the_client_and_loses_nothing(sandbox, ok_world) -> None:
    """The client asks for three times the application's rate: the sandbox answers error 8
    (FLOOD_BLOCKED) to what is over it, and every call still ends with its answer."""
    gids = sorted(g for g, readable in ok_world.pages().items() if readable)
    greedy = client(sandbox.base_url, rps=30.0)
    greedy.workers = 8
    calls = topics_calls(gids) * 2
    results = run(greedy, calls)
    stats = sandbox.stats()
    assert stats["errors"].get("8", 0) > 0, stats  # the storm happened
    assert len(results) == len(calls) and all(r.ok for r in results)
    assert stats["requests"]["mediatopic.getTopics"] == len(calls) + stats["errors"]["8"]


def test_flood_errors_injected_at_random_are_retried(sandbox, ok_world) -> None:
    gids = sorted(g for g, readable in ok_world.pages().items() if readable)
    sandbox.sandbox.faults.seed(7)
    sandbox.inject("error_8", probability=0.4)
    results = run(client(sandbox.base_url), topics_calls(gids))
    assert sandbox.stats()["faults"]["error_8"] > 0
    assert sorted(r.call.key for r in results) == gids and all(r.ok for r in results)


def test_transient_faults_are_healed_by_retries(sandbox, ok_world) -> None:
    gids = sorted(g for g, readable in ok_world.pages().items() if readable)[:4]
    reference = {r.call.key: r.response for r in run(client(sandbox.base_url), topics_calls(gids))}
    sandbox.reset_stats()
    sandbox.inject("http_5xx", count=2, status=503)
    sandbox.inject("drop", count=1)
    sandbox.inject("error_2", count=2)
    results = run(client(sandbox.base_url), topics_calls(gids))
    assert sandbox.stats()["faults"] == {"http_5xx": 2, "drop": 1, "error_2": 2}
    assert {r.call.key: r.response for r in results} == reference


def test_a_call_failing_every_time_is_given_up_and_the_rest_go_on(sandbox, ok_world) -> None:
    gids = sorted(g for g, readable in ok_world.pages().items() if readable)[:3]
    sandbox.inject("http_5xx", probability=1.0, method="group.getInfo")
    ok_client = client(sandbox.base_url)
    ok_client.max_attempts = 3
    results = run(ok_client, [info_call(gids), *topics_calls(gids)])
    given_up = [r for r in results if not r.ok]
    assert [(r.call.method, r.error_code) for r in given_up] == [("group.getInfo", GAVE_UP_CODE)]
    assert sandbox.stats()["faults"]["http_5xx"] == 3
    assert sum(r.ok for r in results) == len(gids)


def test_a_page_error_is_that_call_s_answer(sandbox, ok_world) -> None:
    closed = sorted(g for g, readable in ok_world.pages().items() if not readable)
    assert closed, "the sample region has closed OK pages"
    results = run(client(sandbox.base_url), topics_calls(closed))
    assert {(r.call.key, r.error_code) for r in results} == {(gid, 10) for gid in closed}


def test_the_connection_is_read_and_its_secrets_never_logged(
    sandbox, ok_world, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_OK", connection(sandbox.base_url))
    caplog.set_level(logging.DEBUG)
    ok_client = OkClient.from_connection()
    assert ok_client.config.application_key == APP_KEY and ok_client.config.base_url == sandbox.base_url
    assert ok_client.backoff == 0.05
    assert TOKEN not in repr(ok_client.config) and APP_SECRET not in repr(ok_client.config)
    sandbox.inject("http_5xx", count=1)
    run(ok_client, [info_call(sorted(ok_world.pages())[:2])])
    logging.getLogger("test").warning("token %s secret %s", TOKEN, APP_SECRET)
    derived = hashlib.md5((TOKEN + APP_SECRET).encode()).hexdigest()
    for secret in (TOKEN, APP_SECRET, derived):
        assert secret not in caplog.text


def test_a_connection_without_a_secret_is_refused(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(connection(sandbox.base_url))
    del conn["extra"]["application_secret_key"]
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_OK", json.dumps(conn))
    with pytest.raises(OkExtractionError, match="application_secret_key"):
        OkClient.from_connection()
