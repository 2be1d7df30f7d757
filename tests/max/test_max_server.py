"""The MAX sandbox's methods and admin endpoints over plain HTTP, with the bot token in the
``Authorization`` header as the Bot API wants it."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as clock_time

import requests

from tests.max.conftest import MOSCOW, SLOW_TOKEN, TOKEN


def get(base_url: str, path: str, token: str | None = TOKEN, **params: object) -> requests.Response:
    headers = {"Authorization": token} if token else {}
    while True:  # the sandbox holds the bot to 30 requests a second: wait out a 429
        answer = requests.get(f"{base_url}{path}", params=params, headers=headers, timeout=10)
        if answer.status_code != 429:
            return answer
        time.sleep(0.2)


def all_messages(base_url: str, chat_id: str, count: int = 7) -> list[dict]:
    """Every post, paging back by ``from`` (inclusive: the edge post repeats and is dropped)."""
    seen: dict[str, dict] = {}
    before = None
    while True:
        extra = {"from": before} if before is not None else {}
        page = get(base_url, "/messages", chat_id=chat_id, count=count, **extra).json()["messages"]
        fresh = [m for m in page if m["body"]["mid"] not in seen]
        seen.update((m["body"]["mid"], m) for m in page)
        if len(page) < count or not fresh:
            return list(seen.values())
        before = page[-1]["timestamp"]


def test_messages_come_newest_first_and_paging_back_reads_each_post_once(sandbox, max_world) -> None:
    chat = max_world.readable()[0]
    first = get(sandbox.base_url, "/messages", chat_id=chat, count=5).json()["messages"]
    stamps = [m["timestamp"] for m in first]
    assert stamps == sorted(stamps, reverse=True) and len(first) == 5
    messages = all_messages(sandbox.base_url, chat)
    assert len(messages) == max_world.posts(date(2025, 10, 1), date(2025, 11, 20))[chat]
    recipient = {"chat_id": int(chat), "chat_type": "channel", "user_id": None}
    assert all(m["recipient"] == recipient for m in messages)
    assert all(m["stat"]["views"] >= 1 and not any(k.startswith("_") for k in m) for m in messages)


def test_to_bounds_the_oldest_post(sandbox, max_world) -> None:
    chat = max_world.readable()[0]
    since = datetime.combine(date(2025, 11, 14), clock_time(), MOSCOW)
    page = get(sandbox.base_url, "/messages", chat_id=chat, count=100, to=int(since.timestamp() * 1000))
    messages = page.json()["messages"]
    assert len(messages) == max_world.posts(date(2025, 11, 14), date(2025, 11, 20)).get(chat, 0)


def test_the_chat_gives_participants_of_the_clock_s_day(sandbox, max_world) -> None:
    chat = max_world.readable()[0]
    body = get(sandbox.base_url, f"/chats/{chat}").json()
    assert body["participants_count"] == max_world.subscribers(date(2025, 11, 20))[chat]
    assert body["type"] == "channel" and body["chat_id"] == int(chat) and body["is_public"] is True
    sandbox.set_clock(datetime.combine(date(2025, 11, 10), clock_time(12), MOSCOW))
    earlier = get(sandbox.base_url, f"/chats/{chat}").json()
    assert earlier["participants_count"] == max_world.subscribers(date(2025, 11, 10))[chat]
    assert earlier["messages_count"] < body["messages_count"]


def test_the_clock_hides_later_posts_and_views_grow_with_it(sandbox, max_world) -> None:
    chat = max_world.readable()[0]
    noon = datetime.combine(date(2025, 11, 10), clock_time(12), MOSCOW)
    sandbox.set_clock(noon)
    early = {m["body"]["mid"]: m for m in all_messages(sandbox.base_url, chat)}
    sandbox.set_clock(datetime.combine(date(2025, 11, 20), clock_time(23, 59, 59), MOSCOW))
    late = {m["body"]["mid"]: m for m in all_messages(sandbox.base_url, chat)}
    assert set(early) < set(late)
    assert all(m["timestamp"] <= noon.timestamp() * 1000 for m in early.values())
    assert all(late[mid]["stat"]["views"] >= m["stat"]["views"] for mid, m in early.items())


def test_wrong_requests_get_max_s_json_errors(sandbox, max_world) -> None:
    base, chat = sandbox.base_url, max_world.readable()[0]
    unreadable = sorted(c for c, ok in max_world.pages().items() if not ok)[0]
    cases = [
        (get(base, f"/chats/{chat}", token=None), 401, "verify.token"),
        (get(base, f"/chats/{chat}", token="not-a-token"), 401, "verify.token"),
        (get(base, f"/chats/{chat}", token=None, access_token=TOKEN), 401, "verify.token"),  # query: refused
        (get(base, "/chats/-1"), 404, "not.found"),
        (get(base, f"/chats/{unreadable}"), 403, "chat.denied"),
        (get(base, "/messages", chat_id=unreadable), 403, "chat.denied"),
        (get(base, "/messages", chat_id=chat, count=101), 400, "proto.payload"),
        (get(base, "/messages"), 400, "proto.payload"),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.url
        assert answer.json()["message"]
    assert TOKEN not in get(base, f"/chats/{chat}", token=None, access_token=TOKEN).text


def test_the_token_s_window_answers_429(sandbox, max_world) -> None:
    """A bot allowed one request a second, asking five times at once: 429 for what is over."""
    chat = max_world.readable()[0]
    session = requests.Session()
    session.headers["Authorization"] = SLOW_TOKEN
    answers = [session.get(f"{sandbox.base_url}/chats/{chat}", timeout=10) for _ in range(5)]
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 200 and statuses.count(429) >= 1, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"too.many.requests"}
    assert sandbox.stats()["errors"]["429"] == statuses.count(429)


def test_admin_endpoints_move_the_clock_and_set_faults(sandbox) -> None:
    base = sandbox.base_url
    moment = {"now": "2025-11-15T09:00:00+03:00"}
    clock = requests.post(f"{base}/_sandbox/clock", json=moment, timeout=10).json()
    assert clock["now"] == "2025-11-15T06:00:00+00:00"
    later = requests.post(f"{base}/_sandbox/clock", json={"advance_seconds": 3600}, timeout=10).json()
    assert later["ts"] == clock["ts"] + 3600
    burst = {"kind": "http_429", "count": 2}
    faults = requests.post(f"{base}/_sandbox/faults", json=burst, timeout=10).json()
    assert faults["faults"][0]["kind"] == "http_429"
    assert requests.post(f"{base}/_sandbox/faults", json={"kind": "nonsense"}, timeout=10).status_code == 400
    assert requests.get(f"{base}/_sandbox/stats", timeout=10).json()["total_requests"] >= 0
