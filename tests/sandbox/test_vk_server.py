"""The VK sandbox server, driven by the real ``vk_api`` client over HTTP.

Every response the sandbox sends is validated against the official VK API 5.199 JSON schema (the
whole of it, see tests/sandbox/vk_schema.py): each method against its response in the schema's
``methods.json``, errors as ``base_error``, and a generated region served whole.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import vk_api
from vk_api.requests_pool import vk_request_one_param_pool

from gospublic.vk.session import make_session
from sandbox.generator import params as generator_params
from sandbox.generator.pipeline import generate
from sandbox.model import metric_at
from sandbox.vk_server import serve
from sandbox.vk_server.data import DatasetError, load_dataset
from sandbox.vk_server.errors import VkError
from sandbox.vk_server.vkscript import run_script
from tests.sandbox import vk_fixtures as fx
from tests.sandbox import vk_schema

pytestmark = pytest.mark.timeout(60)

GROUPS_GET_BY_ID = "groups/responses.json#/definitions/groups_getById_object_response"
WALL_GET = "wall/responses.json#/definitions/wall_get_response"
WALL_GET_COMMENTS = "wall/responses.json#/definitions/wall_getComments_response"
RESOLVE_SCREEN_NAME = "utils/responses.json#/definitions/utils_resolveScreenName_response"
BASE_ERROR = "base/objects.json#/definitions/base_error"
NOW = datetime(2025, 11, 30, 21, 0, tzinfo=UTC)
_serial = itertools.count()


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> fx.Facts:
    return fx.write_dataset(tmp_path_factory.mktemp("vkdata"))


@pytest.fixture(scope="module")
def module_server(facts: fx.Facts) -> Any:
    with serve(
        facts.root, tokens=["usr_main", "svc_slow:5", "svc_fast:10"], now=NOW, accept_any_token=True
    ) as server:
        yield server


@pytest.fixture
def server(module_server: Any) -> Any:
    """The shared server with its clock reset and no faults left behind."""
    module_server.set_clock(NOW)
    yield module_server
    module_server.clear_faults()
    module_server.set_clock(NOW)


def user_token() -> str:
    """A fresh user token: its own rate window, so tests do not throttle each other."""
    return f"usr_t{next(_serial)}"


def client(server: Any, token: str | None = None, rps_delay: float | None = None) -> vk_api.VkApi:
    vk = vk_api.VkApi(token=token or user_token(), api_version="5.199", session=make_session(server.base_url))
    if rps_delay is not None:
        vk.RPS_DELAY = rps_delay
    vk.error_handlers.pop(6, None)  # vk_api retries error 6 forever by default; tests want to see it
    return vk


def api_error(call: Any) -> vk_api.ApiError:
    with pytest.raises(vk_api.ApiError) as caught:
        call()
    return caught.value


# --- methods and their schema ------------------------------------------------------------------


def test_groups_get_by_id_many_ids_requested_fields_only(server: Any, facts: fx.Facts) -> None:
    vk = client(server)
    raw = vk.method(
        "groups.getById",
        {"group_ids": "101,closed_test,103,old_minzdrav,club110,999999", "fields": "members_count,verified"},
        raw=True,
    )
    vk_schema.validate(raw, GROUPS_GET_BY_ID)
    groups = raw["response"]["groups"]
    assert raw["response"]["profiles"] == []
    assert [g["id"] for g in groups] == [101, 102, 103, 110]  # duplicates once, unknown skipped
    main = groups[0]
    assert set(main) == {
        *("id", "name", "screen_name", "is_closed", "type", "photo_50", "photo_100", "photo_200"),
        *("members_count", "verified"),
    }
    # members_count of the MSK date of "now": 2025-11-30T21:00Z is 2025-12-01 00:00 MSK; the last
    # row (Nov 30) applies
    assert main["members_count"] == facts.members[(101, "2025-11-30")]
    assert groups[2]["deactivated"] == "deleted" and "members_count" not in groups[2]
    assert not any(key.startswith("_") for g in groups for key in g)

    full = vk.method("groups.getById", {"group_id": "minzdrav_test", "fields": fx.ALL_GROUP_FIELDS}, raw=True)
    vk_schema.validate(full, GROUPS_GET_BY_ID)
    assert {"cover", "links", "contacts", "counters", "activity", "site", "can_message", "wall"} <= set(
        full["response"]["groups"][0]
    )

    server.set_clock(datetime(2025, 11, 10, 12, 0, tzinfo=UTC))
    assert (
        vk.method("groups.getById", {"group_id": 101, "fields": "members_count"})["groups"][0][
            "members_count"
        ]
        == facts.members[(101, "2025-11-10")]
    )

    error = api_error(lambda: vk.method("groups.getById", {"group_ids": "999999"}))
    assert error.code == 100
    vk_schema.validate(error.error, BASE_ERROR)


def test_schema_validation_can_fail() -> None:
    """The validator is strict: an unknown field or a wrong type fails (so the tests above mean something)."""
    good = {"response": {"groups": [{"id": 1, "name": "x", "is_closed": 0}], "profiles": []}}
    vk_schema.validate(good, GROUPS_GET_BY_ID)
    for bad in (
        {"response": {"groups": [{"id": 1, "_sandbox_error": 15}], "profiles": []}},
        {"response": {"groups": [{"id": "1"}], "profiles": []}},
        {"response": {"groups": [{"name": "no id"}], "profiles": []}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            vk_schema.validate(bad, GROUPS_GET_BY_ID)
    with pytest.raises(jsonschema.ValidationError):
        vk_schema.validate({"response": {"items": []}}, WALL_GET)  # count is required


def test_wall_get_pinned_first_newest_first_and_paging(server: Any, facts: fx.Facts) -> None:
    api = client(server).get_api()
    first = api.wall.get(owner_id=-fx.MAIN, count=5)
    vk_schema.validate({"response": first}, WALL_GET)
    assert first["count"] == fx.N_POSTS
    assert [p["id"] for p in first["items"]] == [fx.PINNED_POST, 40, 39, 38, 37]
    assert first["items"][0]["is_pinned"] == 1

    everything = []
    for offset in range(0, fx.N_POSTS + 10, 17):
        page = api.wall.get(domain="minzdrav_test", offset=offset, count=17)
        vk_schema.validate({"response": page}, WALL_GET)
        everything += [p["id"] for p in page["items"]]
    assert everything == [fx.PINNED_POST, *[i for i in range(40, 0, -1) if i != fx.PINNED_POST]]

    assert len(api.wall.get(owner_id=-fx.MAIN)["items"]) == 20  # VK's default count
    assert len(api.wall.get(owner_id=-fx.MAIN, count=500)["items"]) == fx.N_POSTS  # capped at 100
    assert api.wall.get(owner_id=-fx.MAIN, filter="others") == {"count": 0, "items": []}
    assert api.wall.get(domain="old_minzdrav", count=1)["items"][0]["owner_id"] == -fx.MAIN

    post = next(p for p in first["items"] if p["id"] == 40)
    stored = facts.posts[40]
    now = int(NOW.timestamp())
    assert post["views"] == {"count": metric_at(stored["_final"]["views"], stored["date"], fx.TAU_HOURS, now)}
    assert post["likes"] == {
        "count": metric_at(stored["_final"]["likes"], stored["date"], fx.TAU_HOURS, now),
        "user_likes": 0,
        "can_like": 1,
        "can_publish": 1,
    }
    assert post["reposts"]["count"] == metric_at(
        stored["_final"]["reposts"], stored["date"], fx.TAU_HOURS, now
    )
    assert post["comments"]["count"] == 7  # 4 top-level + 3 replies
    assert not any(key.startswith("_") for p in first["items"] for key in p)

    repost = api.wall.get(owner_id=-fx.MAIN, offset=34, count=1)["items"][0]  # post 7
    assert repost["id"] == 7 and repost["copy_history"][0]["owner_id"] == -110
    assert not any(key.startswith("_") for key in repost["copy_history"][0])


def test_wall_get_comments_levels_threads_and_sorting(server: Any) -> None:
    api = client(server).get_api()
    top = api.wall.getComments(owner_id=-fx.MAIN, post_id=40, thread_items_count=2, need_likes=1)
    vk_schema.validate({"response": top}, WALL_GET_COMMENTS)
    assert top["count"] == 7 and top["current_level_count"] == 4
    assert [c["id"] for c in top["items"]] == [4000, 4001, 4002, 4003]
    thread = top["items"][0]["thread"]
    assert thread["count"] == 3 and [c["id"] for c in thread["items"]] == [4010, 4011]
    assert top["items"][0]["likes"]["count"] == 0
    assert top["items"][1]["thread"] == {
        "count": 0,
        "items": [],
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }

    desc = api.wall.getComments(owner_id=-fx.MAIN, post_id=40, sort="desc", count=2, offset=1)
    assert [c["id"] for c in desc["items"]] == [4002, 4001]
    assert "likes" not in desc["items"][0]

    replies = api.wall.getComments(owner_id=-fx.MAIN, post_id=40, comment_id=4000)
    vk_schema.validate({"response": replies}, WALL_GET_COMMENTS)
    assert [c["id"] for c in replies["items"]] == [4010, 4011, 4012]
    assert replies["items"][0]["from_id"] == -fx.MAIN and replies["items"][0]["parents_stack"] == [4000]

    extended = api.wall.getComments(owner_id=-fx.MAIN, post_id=40, extended=1)
    assert {p["id"] for p in extended["profiles"]} == {1000, 1001, 1002, 1003}
    assert extended["groups"][0]["id"] == fx.MAIN

    assert api.wall.getComments(owner_id=-fx.MAIN, post_id=1) == {
        "count": 0,
        "items": [],
        "current_level_count": 0,
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }
    assert api_error(lambda: api.wall.getComments(owner_id=-fx.MAIN, post_id=999)).code == 100


def test_resolve_screen_name(server: Any) -> None:
    api = client(server).get_api()
    assert api.utils.resolveScreenName(screen_name="minzdrav_test") == {"type": "group", "object_id": 101}
    assert api.utils.resolveScreenName(screen_name="old_minzdrav") == {"type": "group", "object_id": 101}
    assert api.utils.resolveScreenName(screen_name="public110") == {"type": "group", "object_id": 110}
    # VK answers an unknown name with an empty list, which the schema's response (an object) does
    # not describe; the client code relies on the list, so the sandbox keeps it
    assert api.utils.resolveScreenName(screen_name="no_such_page") == []
    assert api_error(api.utils.resolveScreenName).code == 100


def test_resolve_screen_name_answers_as_the_schema_says(server: Any) -> None:
    vk_schema.require(RESOLVE_SCREEN_NAME)
    raw = client(server).method("utils.resolveScreenName", {"screen_name": "minzdrav_test"}, raw=True)
    vk_schema.validate(raw, RESOLVE_SCREEN_NAME)


@pytest.mark.parametrize(("page", "code"), sorted(fx.ERROR_PAGES.items()))
def test_page_errors_from_the_data(server: Any, page: int, code: int) -> None:
    vk = client(server)
    for method, params in (
        ("wall.get", {"owner_id": -page}),
        ("wall.getComments", {"owner_id": -page, "post_id": 1}),
    ):
        error = api_error(lambda method=method, params=params: vk.method(method, params))
        assert error.code == code
        vk_schema.validate(error.error, BASE_ERROR)
        assert all(p["key"] != "access_token" for p in error.error["request_params"])
    group = vk.method("groups.getById", {"group_id": page})["groups"][0]  # the page itself is listed
    assert ("deactivated" in group) == (code == 18)


def test_pages_appear_and_disappear_with_the_clock(server: Any) -> None:
    api = client(server).get_api()
    server.set_clock(fx.LIFECYCLE_AT - timedelta(seconds=1))
    assert api.utils.resolveScreenName(screen_name="new_test") == []
    assert [g["id"] for g in api.groups.getById(group_ids="new_test,gone_test,106")["groups"]] == [
        fx.GONE_PAGE
    ]
    assert api_error(lambda: api.wall.get(owner_id=-fx.NEW_PAGE)).code == 100
    assert api.wall.get(owner_id=-fx.GONE_PAGE)["count"] == 0
    server.set_clock(fx.LIFECYCLE_AT)
    assert api.utils.resolveScreenName(screen_name="new_test")["object_id"] == fx.NEW_PAGE
    groups = api.groups.getById(group_ids=[fx.NEW_PAGE, fx.GONE_PAGE], fields="members_count")["groups"]
    assert "deactivated" not in groups[0] and groups[1]["deactivated"] == "deleted"
    assert api_error(lambda: api.wall.get(owner_id=-fx.GONE_PAGE)).code == 18


def test_unknown_owner_method_and_token(server: Any) -> None:
    vk = client(server)
    assert api_error(lambda: vk.method("wall.get", {"owner_id": -424242})).code == 100
    assert api_error(lambda: vk.method("wall.get", {"domain": "nobody_here"})).code == 100
    assert api_error(lambda: vk.method("wall.get", {})).code == 100
    assert api_error(lambda: vk.method("wall.get", {"owner_id": -fx.MAIN, "count": "x"})).code == 100
    assert api_error(lambda: vk.method("users.get", {})).code == 3
    bad = api_error(
        lambda: client(server, token="not_a_sandbox_token").method("wall.get", {"owner_id": -101})
    )
    assert bad.code == 5
    vk_schema.validate(bad.error, BASE_ERROR)
    assert "not_a_sandbox_token" not in json.dumps(bad.error)
    answer = requests.post(
        f"{server.base_url}/method/wall.get", data={"owner_id": "-101", "v": "5.199"}, timeout=5
    )
    assert answer.json()["error"]["error_code"] == 5


# --- execute -----------------------------------------------------------------------------------


def test_requests_pool_batches_through_execute(server: Any) -> None:
    token = user_token()
    vk = client(server, token)
    with vk_api.VkRequestsPool(vk) as pool:  # one method: the loop shape, 30 calls → 2 executes
        walls = [pool.method("wall.get", {"owner_id": -gid, "count": 1}) for gid in fx.SMALL_PAGES]
    assert all(w.ok and w.result["count"] == 2 for w in walls)
    assert [w.result["items"][0]["owner_id"] for w in walls] == [-gid for gid in fx.SMALL_PAGES]

    pool = vk_api.VkRequestsPool(vk)  # mixed methods: the "return [API..., ...]" shape
    groups = pool.method("groups.getById", {"group_ids": [101, 110], "fields": ["members_count"]})
    private = pool.method("wall.get", {"owner_id": -102})
    comments = pool.method("wall.getComments", {"owner_id": -fx.MAIN, "post_id": 40, "count": 1})
    pool.execute()
    assert [g["id"] for g in groups.result["groups"]] == [101, 110]
    assert "members_count" in groups.result["groups"][0]
    assert not private.ok and private.error == {
        "method": "wall.get",
        "error_code": 30,
        "error_msg": "This profile is private",
    }
    assert comments.result["items"][0]["id"] == 4000

    results, errors = vk_request_one_param_pool(  # the third shape vk_api sends
        vk, "wall.get", key="owner_id", values=[-110, -102, -111], default_values={"count": 1}
    )
    assert set(results) == {-110, -111} and errors[-102]["error_code"] == 30

    stats = server.stats()
    assert stats["requests"][token]["execute"] == 4
    assert stats["calls"][token]["wall.get"] == 30 + 1 + 3
    assert "wall.get" not in stats["requests"][token]  # inner calls are not HTTP requests


def test_execute_limits_and_errors(server: Any) -> None:
    vk = client(server)
    calls = ",".join(f'API.utils.resolveScreenName({{"screen_name":"small_{110 + i}"}})' for i in range(26))
    assert api_error(lambda: vk.method("execute", {"code": f"return [{calls}];"})).code == 13
    assert api_error(lambda: vk.method("execute", {"code": "return [API.wall.get({"})).code == 12
    assert api_error(lambda: vk.method("execute", {"code": "while (true) { }"})).code == 13
    assert (
        vk.method(
            "execute",
            {
                "code": 'var a = API.utils.resolveScreenName({"screen_name": "closed_test"});'
                "return a.object_id + 1;"
            },
        )
        == 103
    )


def test_service_token_may_not_call_execute(server: Any) -> None:
    vk = client(server, "svc_fast")
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS
    error = api_error(lambda: vk.method("execute", {"code": "return 1;"}))
    assert error.code == 28 and "service token" in error.error["error_msg"]
    vk_schema.validate(error.error, BASE_ERROR)


def test_vkscript_interpreter_runs_the_shapes_without_eval() -> None:
    seen: list[tuple[str, dict]] = []

    def api(method: str, params: dict) -> Any:
        seen.append((method, dict(params)))
        return params.get("owner_id")

    loop = (
        'var values = [{"owner_id":-1},{"owner_id":-2,"q":"a\\"b;}"}],i = 0,result = [];'
        "while(i < values.length) {result.push(API.wall.get(values[i]));i = i + 1;}return result;"
    )
    assert run_script(loop, api) == [-1, -2]
    assert seen[1] == ("wall.get", {"owner_id": -2, "q": 'a"b;}'})
    assert run_script("return {a: [1, 2], 'b': 3 * 2 - 1, c: !false && 1 < 2};", api) == {
        "a": [1, 2],
        "b": 5,
        "c": True,
    }
    for code, expected in (
        ("import os", 13),
        ("return __import__('os');", 13),
        ("return [1,;", 12),
        ("return `x`;", 12),
    ):
        with pytest.raises(VkError) as caught:
            run_script(code, api)
        assert caught.value.code == expected, code


# --- rates and quotas --------------------------------------------------------------------------


def test_user_token_over_three_rps_gets_error_6(server: Any) -> None:
    fast = client(server, rps_delay=0)
    for _ in range(3):
        fast.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})
    error = api_error(lambda: fast.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"}))
    assert error.code == 6 and error.error["error_msg"] == "Too many requests per second"
    vk_schema.validate(error.error, BASE_ERROR)

    polite = client(server, rps_delay=0.4)  # under 3 a second, with room for scheduling jitter
    for _ in range(5):
        polite.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})


def test_service_token_rate_is_its_configured_rate(server: Any) -> None:
    fast = client(server, "svc_slow", rps_delay=0)  # registered at 5 rps
    answers = []
    for _ in range(7):
        try:
            fast.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})
            answers.append("ok")
        except vk_api.ApiError as error:
            answers.append(error.code)
    assert answers[:5] == ["ok"] * 5 and 6 in answers[5:]

    time.sleep(1.05)
    polite = client(server, "svc_slow", rps_delay=0.22)  # under 5 a second
    for _ in range(7):
        polite.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})


def test_daily_quota_gives_error_29(facts: fx.Facts) -> None:
    with serve(facts.root, tokens=["usr_quota"], now=NOW, daily_quota=2) as server:
        vk = client(server, "usr_quota")
        for _ in range(2):
            vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
        assert api_error(lambda: vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})).code == 29
        assert vk.method("utils.resolveScreenName", {"screen_name": "closed_test"})["object_id"] == 102
        assert api_error(lambda: client(server, "usr_other").method("wall.get", {"owner_id": -101})).code == 5


# --- faults ------------------------------------------------------------------------------------


def test_fault_http_5xx(server: Any) -> None:
    vk = client(server)
    server.inject("http_5xx", count=2, status=502)
    for _ in range(2):
        with pytest.raises(vk_api.ApiHttpError) as caught:
            vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
        assert caught.value.response.status_code == 502
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS


def test_fault_dropped_connection(server: Any) -> None:
    vk = client(server)
    server.inject("drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS
    assert server.stats()["faults"]["drop"] >= 1


def test_fault_slow_answer(server: Any) -> None:
    vk = client(server)
    server.inject("slow", seconds=0.4, count=1)
    started = time.monotonic()
    vk.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})
    assert time.monotonic() - started >= 0.35


def test_fault_burst_of_error_6(server: Any) -> None:
    vk = client(server)
    server.inject("error_6", count=2)
    assert [api_error(lambda: vk.method("wall.get", {"owner_id": -101})).code for _ in range(2)] == [6, 6]
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS


def test_fault_burst_of_error_29(server: Any) -> None:
    vk = client(server)
    server.inject("error_29", count=2)
    assert [api_error(lambda: vk.method("wall.get", {"owner_id": -101})).code for _ in range(2)] == [29, 29]
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS


def test_fault_captcha_for_one_token(server: Any) -> None:
    token = user_token()
    vk, other = client(server, token), client(server)
    server.inject("captcha", count=1, token=token)
    assert other.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS
    with pytest.raises(vk_api.Captcha) as caught:
        vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
    captcha = caught.value
    assert captcha.code == 14 and captcha.sid
    server.inject("captcha", count=1, token=token)  # a solved captcha passes even while one is armed
    assert captcha.try_again("any key")["count"] == fx.N_POSTS
    raw = requests.post(  # the armed one fires on the next request
        f"{server.base_url}/method/wall.get", data={"owner_id": "-101", "access_token": token}, timeout=5
    ).json()
    vk_schema.validate(raw["error"], BASE_ERROR)
    assert raw["error"]["error_code"] == 14 and raw["error"]["captcha_sid"] and raw["error"]["captcha_img"]


def test_faults_through_the_admin_endpoint(server: Any) -> None:
    vk = client(server)
    answer = requests.post(
        f"{server.base_url}/_sandbox/faults",
        json={"faults": [{"kind": "http_5xx", "probability": 1.0}]},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["faults"][0]["kind"] == "http_5xx"
    for _ in range(3):
        with pytest.raises(vk_api.ApiHttpError):
            vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
    assert requests.post(f"{server.base_url}/_sandbox/faults", json={"clear": True}, timeout=5).json() == {
        "faults": []
    }
    assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == fx.N_POSTS
    bad = requests.post(f"{server.base_url}/_sandbox/faults", json={"kind": "meteor"}, timeout=5)
    assert bad.status_code == 400
    stats = requests.get(f"{server.base_url}/_sandbox/stats", timeout=5).json()
    assert stats["faults"]["http_5xx"] >= 3 and stats["total_requests"] > 0


# --- the simulated clock -----------------------------------------------------------------------


def test_clock_decides_what_exists_and_metrics_grow(server: Any, facts: fx.Facts) -> None:
    api = client(server).get_api()
    post_40 = facts.posts[40]
    published = datetime.fromtimestamp(post_40["date"], UTC)
    clock_url = f"{server.base_url}/_sandbox/clock"

    requests.post(clock_url, json={"now": (published - timedelta(seconds=1)).isoformat()}, timeout=5)
    before = api.wall.get(owner_id=-fx.MAIN, count=2)
    assert before["count"] == fx.N_POSTS - 1 and 40 not in [p["id"] for p in before["items"]]

    readings = []
    for hours in (1, 4, 24):
        assert requests.post(
            clock_url, json={"now": (published + timedelta(hours=hours)).isoformat()}, timeout=5
        ).ok
        post = next(p for p in api.wall.get(owner_id=-fx.MAIN, count=2)["items"] if p["id"] == 40)
        readings.append((post["views"]["count"], post["likes"]["count"], post["comments"]["count"]))
    assert readings[0] < readings[1] < readings[2]
    assert readings[0][2] == 1 and readings[2][2] == 7  # comments appear as their dates pass
    assert requests.get(clock_url, timeout=5).json()["ts"] == int(
        (published + timedelta(hours=24)).timestamp()
    )
    assert requests.post(clock_url, json={"advance_seconds": 60}, timeout=5).json()["ts"] == int(
        (published + timedelta(hours=24, seconds=60)).timestamp()
    )
    assert requests.post(clock_url, json={"now": "2025-11-30T21:00:00"}, timeout=5).status_code == 400


def test_default_clock_is_end_of_the_data_month(facts: fx.Facts) -> None:
    data = load_dataset(facts.root)
    assert datetime.fromtimestamp(data.default_now(), UTC) == datetime(2025, 11, 30, 20, 59, 59, tzinfo=UTC)


# --- data loading, session, CLI ----------------------------------------------------------------


def test_bad_data_names_file_and_line(tmp_path: Path) -> None:
    fx.write_dataset(tmp_path)
    with gzip.open(tmp_path / "vk" / "posts.jsonl.gz", "at", encoding="utf-8") as out:
        out.write("{not json\n")
    with pytest.raises(DatasetError, match=r"posts\.jsonl\.gz, line 101: not JSON"):
        load_dataset(tmp_path)
    (tmp_path / "vk" / "members_daily.csv").unlink()
    with pytest.raises(DatasetError, match=r"members_daily\.csv: file not found"):
        load_dataset(tmp_path)


def test_make_session_rebases_vk_urls_only() -> None:
    session = make_session("http://127.0.0.1:9/prefix/")
    adapter = session.get_adapter("https://api.vk.ru/method/wall.get")
    assert adapter.rebase("https://api.vk.ru/method/wall.get?v=5.199") == (
        "http://127.0.0.1:9/prefix/method/wall.get?v=5.199"
    )
    assert session.get_adapter("https://example.org/") is not adapter
    assert not hasattr(make_session(None).get_adapter("https://api.vk.ru/method/x"), "rebase")
    with pytest.raises(ValueError, match="scheme and host"):
        make_session("127.0.0.1:8081")


def test_make_session_never_logs_the_token(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    vk = vk_api.VkApi(token="usr_secret_value", api_version="5.199", session=make_session(server.base_url))
    vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})
    with pytest.raises(vk_api.ApiError):
        vk.method("wall.get", {"owner_id": -104})
    assert "usr_secret_value" not in caplog.text


def test_cli_serves_until_terminated(facts: fx.Facts) -> None:
    repo = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.vk_server",
            "--data",
            str(facts.root),
            "--port",
            "0",
            "--token",
            "usr_cli",
            "--token",
            "svc_cli:7",
            "--now",
            "2025-11-15T12:00:00+03:00",
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("VK sandbox listening on http://127.0.0.1:"), line
        base_url = line.split()[-1]
        vk = vk_api.VkApi(token="usr_cli", api_version="5.199", session=make_session(base_url))
        assert vk.method("utils.resolveScreenName", {"screen_name": "minzdrav_test"})["object_id"] == 101
        clock = datetime(2025, 11, 15, 9, 0, tzinfo=UTC).timestamp()
        expected = sum(p["date"] <= clock for p in facts.posts.values())
        assert 0 < expected < fx.N_POSTS
        assert vk.method("wall.get", {"owner_id": -fx.MAIN, "count": 1})["count"] == expected
        assert (
            api_error(
                lambda: vk_api.VkApi(token="usr_any", session=make_session(base_url)).method(
                    "wall.get", {"owner_id": -101}
                )
            ).code
            == 5
        )  # registered tokens only
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


# --- a generated region, served whole, against the schema's responses ------------------------

GENERATED = {"pages": 15, "incidents": 60, "bodies": 6, "start_days_before": 5}
BULK_TOKENS = [f"svc_bulk{n}:60" for n in range(10)]  # 10 x 60 rps: the crawl is never throttled


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(generator_params.build("region", "2025-11", 42, **GENERATED), str(out))
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with (
        gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")
    ) as f:
        return [json.loads(line) for line in f]


class _Crawl:
    """Calls through the real client, round robin over service tokens, validating every answer
    against the method's response in the schema (``extendedResponse`` when ``extended=1``)."""

    def __init__(self, server: Any) -> None:
        self.clients = itertools.cycle(
            [client(server, token=spec.partition(":")[0], rps_delay=0) for spec in BULK_TOKENS]
        )
        self.errors: list[dict[str, Any]] = []
        self.unchecked: set[str] = set()  # methods whose schema files the folder lacks

    def call(self, method: str, params: dict[str, Any]) -> Any:
        refs = vk_schema.response_refs(method)
        ref = refs.get("extendedResponse" if params.get("extended") else "response")
        try:
            raw = next(self.clients).method(method, params, raw=True)
        except vk_api.ApiError as error:
            assert vk_schema.errors(error.error, BASE_ERROR) == [], error.error
            self.errors.append(error.error)
            return None
        if ref is None or ref.partition("#")[0] in vk_schema.unchecked():
            self.unchecked.add(method)
        else:
            assert vk_schema.errors(raw, ref) == [], (method, params)
        return raw["response"]


def test_a_generated_region_is_served_valid_whole(generated: Path) -> None:
    """Every group, post (attachments and reposts included) and comment the generator wrote, as the
    real client receives them, validates against the official schema's method responses."""
    groups = _jsonl(generated / "vk" / "groups.jsonl")
    posts = _jsonl(generated / "vk" / "posts.jsonl.gz")
    comments = _jsonl(generated / "vk" / "comments.jsonl.gz")
    with serve(generated, tokens=BULK_TOKENS, accept_any_token=True) as server:
        crawl = _Crawl(server)
        ids = ",".join(str(g["id"]) for g in groups)
        served = crawl.call("groups.getById", {"group_ids": ids, "fields": fx.ALL_GROUP_FIELDS})
        assert [g["id"] for g in served["groups"]] == [g["id"] for g in groups]
        for group in groups:
            assert crawl.call("utils.resolveScreenName", {"screen_name": group["screen_name"]}) == {
                "type": "group",
                "object_id": group["id"],
            }

        wall: dict[tuple[int, int], dict[str, Any]] = {}
        readable: set[int] = set()
        for group in groups:
            offset, total = 0, 1
            while offset < total:
                page = crawl.call(
                    "wall.get",
                    {"owner_id": -group["id"], "offset": offset, "count": 100, "extended": int(offset == 0)},
                )
                if page is None:  # the page's own error, validated as base_error
                    break
                readable.add(-group["id"])
                total, offset = page["count"], offset + 100
                wall |= {(p["owner_id"], p["id"]): p for p in page["items"]}
        assert crawl.errors and readable  # some pages answer with their error, most with posts
        assert set(wall) == {(p["owner_id"], p["id"]) for p in posts if p["owner_id"] in readable}
        attachments = {a["type"] for p in wall.values() for a in p["attachments"]}
        assert (
            attachments == {a["type"] for p in posts for a in p["attachments"]} == {"photo", "video", "link"}
        )
        assert any("copy_history" in p for p in wall.values())

        seen: set[tuple[int, int]] = set()
        for n, post in enumerate(p for p in wall.values() if p["comments"]["count"]):
            key = {"owner_id": post["owner_id"], "post_id": post["id"]}
            top = crawl.call(
                "wall.getComments",
                {**key, "count": 100, "thread_items_count": 10, "need_likes": 1, "extended": int(n == 0)},
            )
            for comment in top["items"]:
                seen.add((comment["owner_id"], comment["id"]))
                thread = comment["thread"]
                replies = thread["items"]
                if thread["count"] > len(replies):
                    replies = crawl.call(
                        "wall.getComments", {**key, "comment_id": comment["id"], "count": 100}
                    )["items"]
                seen |= {(r["owner_id"], r["id"]) for r in replies}
        assert seen == {(c["owner_id"], c["id"]) for c in comments if c["owner_id"] in readable}
        # only a method the schema folder lacks goes unchecked (utils: not in the official subset)
        lacking = {m for m in crawl.unchecked if not vk_schema.response_refs(m)}
        assert crawl.unchecked == lacking
        assert crawl.unchecked <= {"utils.resolveScreenName"}

        # execute: the pool's inner results against each method's own response (execute's own
        # response is "not defined yet" in the schema); its execute_errors entries as base_error
        vk = client(server)
        with vk_api.VkRequestsPool(vk) as pool:
            pages = [pool.method("wall.get", {"owner_id": -g["id"], "count": 2}) for g in groups]
        for result in pages:
            if result.ok:
                assert vk_schema.errors({"response": result.result}, WALL_GET) == []
            else:
                assert vk_schema.errors(result.error, BASE_ERROR) == [], result.error
        assert any(r.ok for r in pages) and any(not r.ok for r in pages)
