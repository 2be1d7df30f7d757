"""The OK sandbox's methods and admin endpoints, over plain HTTP with correctly signed requests."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as clock_time

import requests

from gospublic.ok.client import OkCall, OkClient, OkConfig
from tests.ok.conftest import APP_KEY, APP_SECRET, MOSCOW, TOKEN


def call(base_url: str, method: str, path: str = "/fb.do", **params: str) -> object:
    signer = OkClient(
        OkConfig(APP_KEY, application_secret_key=APP_SECRET, access_token=TOKEN, base_url=base_url)
    )
    data = signer.signed(OkCall(method, params))
    while True:  # the sandbox holds the application to 10 requests a second: wait out error 8
        body = requests.post(f"{base_url}{path}", data=data, timeout=10).json()
        if not (isinstance(body, dict) and body.get("error_code") == 8):
            return body
        time.sleep(0.2)


def all_topics(base_url: str, gid: str, count: str = "7") -> list[dict]:
    topics: list[dict] = []
    anchor = None
    while True:
        extra = {"anchor": anchor} if anchor else {}
        page = call(base_url, "mediatopic.getTopics", gid=gid, count=count, **extra)
        assert isinstance(page, dict)
        topics += page["media_topics"]
        if not page["has_more"] or not page["media_topics"]:
            return topics
        anchor = page["anchor"]


def readable(ok_world) -> str:
    return sorted(g for g, ok in ok_world.pages().items() if ok)[0]


def test_paging_by_anchor_reads_every_topic_once_newest_first(sandbox, ok_world) -> None:
    gid = readable(ok_world)
    topics = all_topics(sandbox.base_url, gid)
    created = [t["created_ms"] for t in topics]
    assert created == sorted(created, reverse=True)
    assert (
        len({t["id"] for t in topics})
        == len(topics)
        == ok_world.posts(date(2025, 10, 1), date(2025, 11, 20))[gid]
    )
    assert all(t["owner_ref"] == f"group:{gid}" for t in topics)


def test_the_clock_hides_later_topics_and_metrics_grow_with_it(sandbox, ok_world) -> None:
    gid = readable(ok_world)
    sandbox.set_clock(datetime.combine(date(2025, 11, 10), clock_time(12), MOSCOW))
    early = {t["id"]: t for t in all_topics(sandbox.base_url, gid)}
    sandbox.set_clock(datetime.combine(date(2025, 11, 20), clock_time(23, 59, 59), MOSCOW))
    late = {t["id"]: t for t in all_topics(sandbox.base_url, gid)}
    assert set(early) < set(late)
    assert all(late[i]["like_summary"]["count"] >= t["like_summary"]["count"] for i, t in early.items())
    assert all(
        t["created_ms"] <= datetime.combine(date(2025, 11, 10), clock_time(12), MOSCOW).timestamp() * 1000
        for t in early.values()
    )


def test_wrong_requests_get_ok_s_json_errors(sandbox, ok_world) -> None:
    gids = sorted(ok_world.pages())
    too_many = ",".join(gids * 4 + ["1"] * 10)
    assert call(sandbox.base_url, "group.getInfo", uids=too_many, fields="uid")["error_code"] == 100
    assert call(sandbox.base_url, "group.getInfo", uids=gids[0])["error_code"] == 100  # fields required
    assert call(sandbox.base_url, "group.getMystery", uids=gids[0])["error_code"] == 3
    assert call(sandbox.base_url, "mediatopic.getTopics", gid="1")["error_code"] == 300
    assert (
        call(sandbox.base_url, "group.getInfo", "/api/group/getInfo", uids=gids[0], fields="uid,name")[0][
            "uid"
        ]
        == gids[0]
    )


def test_admin_endpoints_move_the_clock_and_set_faults(sandbox) -> None:
    base = sandbox.base_url
    clock = requests.post(
        f"{base}/_sandbox/clock", json={"now": "2025-11-15T09:00:00+03:00"}, timeout=10
    ).json()
    assert clock["now"] == "2025-11-15T06:00:00+00:00"
    later = requests.post(f"{base}/_sandbox/clock", json={"advance_seconds": 3600}, timeout=10).json()
    assert later["ts"] == clock["ts"] + 3600
    faults = requests.post(f"{base}/_sandbox/faults", json={"kind": "error_2", "count": 2}, timeout=10).json()
    assert faults["faults"][0]["kind"] == "error_2"
    assert requests.post(f"{base}/_sandbox/faults", json={"kind": "nonsense"}, timeout=10).status_code == 400
    assert requests.get(f"{base}/_sandbox/stats", timeout=10).json()["total_requests"] >= 0
