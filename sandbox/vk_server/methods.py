"""The VK API methods the sandbox serves, answering from a :class:`Dataset` at a given clock.

Each method takes ``params`` as VK receives them (strings) and the simulated ``now`` (unix
seconds) and returns the ``response`` value, or raises :class:`VkError`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from sandbox.model import metric_at
from sandbox.vk_server.data import Dataset
from sandbox.vk_server.errors import PAGE_ERROR_DETAILS, VkError

Params = dict[str, str]
Method = Callable[[Dataset, Params, int], Any]

GROUP_BASE_FIELDS = ("id", "name", "screen_name", "is_closed", "type", "photo_50", "photo_100", "photo_200")
MAX_GROUP_IDS = 500


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without the sandbox's own keys (those starting with ``_``)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _int(params: Params, name: str, default: int | None = None, low: int | None = None) -> int:
    raw = params.get(name, "")
    if raw == "":
        if default is None:
            raise VkError(100, f"{name} is a required parameter")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise VkError(100, f"{name} not integer") from None
    if low is not None and value < low:
        raise VkError(100, f"{name} should be greater or equal to {low}")
    return value


def _flag(params: Params, name: str) -> bool:
    return params.get(name, "0").strip().lower() in ("1", "true")


def exists(group: dict[str, Any] | None, now: int) -> bool:
    """A page exists from ``_sandbox_created_at`` on (always, without it)."""
    return group is not None and int(group.get("_sandbox_created_at") or 0) <= now


def deleted(group: dict[str, Any], now: int) -> bool:
    """Deleted: from ``_sandbox_deactivated_at`` on when given, else when the data says so."""
    if group.get("_sandbox_deactivated_at") is not None:
        return int(group["_sandbox_deactivated_at"]) <= now
    return bool(group.get("deactivated")) or group.get("_sandbox_error") == 18


def _page(data: Dataset, group_id: int, now: int) -> dict[str, Any]:
    """The group a wall method reads, or the page's own error from the data."""
    group = data.groups.get(group_id)
    if group is None or not exists(group, now):
        raise VkError(100, "owner_id is incorrect")
    if deleted(group, now):
        raise VkError(18, PAGE_ERROR_DETAILS[18])
    code = group.get("_sandbox_error")
    if code and int(code) != 18:
        raise VkError(int(code), PAGE_ERROR_DETAILS.get(int(code), ""))
    return group


def _owner(data: Dataset, params: Params) -> int:
    """Group id from ``owner_id`` (negative for communities) or ``domain``."""
    if params.get("owner_id", "") != "":
        owner_id = _int(params, "owner_id")
        if owner_id >= 0:
            raise VkError(100, "owner_id is incorrect")  # the sandbox holds communities only
        return -owner_id
    domain = params.get("domain", "")
    if domain:
        gid = data.resolve(domain)
        if gid is None:
            raise VkError(100, "domain is incorrect")
        return gid
    raise VkError(100, "owner_id is undefined")


# --- groups.getById -------------------------------------------------------------------------


def groups_get_by_id(data: Dataset, params: Params, now: int) -> dict[str, Any]:
    raw = params.get("group_ids", "") or params.get("group_id", "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise VkError(100, "group_ids is undefined")
    if len(names) > MAX_GROUP_IDS:
        raise VkError(100, f"group_ids is too long (at most {MAX_GROUP_IDS} ids)")
    fields = {f.strip() for f in params.get("fields", "").split(",") if f.strip()}
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for name in names:
        gid = data.resolve(name)
        if gid is None or gid in seen or not exists(data.groups[gid], now):
            continue
        seen.add(gid)
        out.append(_group_view(data, data.groups[gid], fields, now))
    if not out:
        raise VkError(100, "group_ids is invalid")
    return {"groups": out, "profiles": []}


def _group_view(data: Dataset, group: dict[str, Any], fields: set[str], now: int) -> dict[str, Any]:
    view = {k: group[k] for k in GROUP_BASE_FIELDS if k in group}
    if deleted(group, now):
        view["deactivated"] = group.get("deactivated") or "deleted"
    for name in fields:
        if name == "members_count":
            count = data.members_at(group["id"], now)
            if count is not None and "deactivated" not in view:
                view["members_count"] = count
        elif name in group and not name.startswith("_"):
            view[name] = group[name]
    return view


# --- wall.get --------------------------------------------------------------------------------


def wall_get(data: Dataset, params: Params, now: int) -> dict[str, Any]:
    gid = _owner(data, params)
    group = _page(data, gid, now)
    offset = _int(params, "offset", 0, low=0)
    count = min(_int(params, "count", 20, low=0), 100)
    wall_filter = params.get("filter", "all") or "all"
    if wall_filter not in ("all", "owner", "others", "postponed", "suggests", "donut"):
        raise VkError(100, "filter is invalid")
    ordered: list[dict[str, Any]] = []
    total = 0
    wall = data.walls.get(gid)
    if wall is not None and wall_filter in ("all", "owner"):
        visible = bisect.bisect_right(wall.dates, now)
        total = visible
        pinned = wall.pinned_index if wall.pinned_index is not None and wall.pinned_index < visible else None
        ordered = _wall_slice(wall.posts, visible, pinned, offset, count)
    response: dict[str, Any] = {"count": total, "items": [_post_view(data, p, now) for p in ordered]}
    if _flag(params, "extended"):
        response["profiles"] = []
        response["groups"] = [_group_view(data, group, set(), now)]
    return response


def _wall_slice(
    posts: list[dict[str, Any]], visible: int, pinned_index: int | None, offset: int, count: int
) -> list[dict[str, Any]]:
    """Items ``offset..offset+count`` of the first ``visible`` posts (ascending by date) as VK
    orders a wall: the pinned post first, then newest first."""
    last = visible - 1
    out = []
    for position in range(offset, min(offset + count, visible)):
        if pinned_index is None:
            out.append(posts[last - position])
        elif position == 0:
            out.append(posts[pinned_index])
        else:  # the (position-1)-th newest post, skipping the pinned one
            index = last - (position - 1)
            out.append(posts[index - 1 if index <= pinned_index else index])
    return out


def _post_view(data: Dataset, post: dict[str, Any], now: int) -> dict[str, Any]:
    view = _public(post)
    if "copy_history" in view:
        view["copy_history"] = [_public(p) for p in view["copy_history"]]
    final = post.get("_final") or {}
    tau = float(post.get("_tau_hours") or 24.0)

    def at(name: str) -> int:
        return metric_at(int(final.get(name, 0)), int(post["date"]), tau, now)

    thread = data.comments.get((int(post["owner_id"]), int(post["id"])))
    n_comments = bisect.bisect_right(thread.dates, now) if thread else 0
    view["comments"] = {"count": n_comments, "can_post": 1, "groups_can_post": True}
    view["likes"] = {"count": at("likes"), "user_likes": 0, "can_like": 1, "can_publish": 1}
    view["reposts"] = {"count": at("reposts"), "user_reposted": 0}
    view["views"] = {"count": at("views")}
    return view


# --- wall.getComments ------------------------------------------------------------------------


def wall_get_comments(data: Dataset, params: Params, now: int) -> dict[str, Any]:
    gid = _owner(data, params)
    group = _page(data, gid, now)
    post_id = _int(params, "post_id")
    wall = data.walls.get(gid)
    post = wall.by_id.get(post_id) if wall else None
    if post is None or post["date"] > now:
        raise VkError(100, "post_id is invalid")
    offset = _int(params, "offset", 0, low=0)
    count = min(_int(params, "count", 10, low=0), 100)
    sort = params.get("sort", "asc") or "asc"
    if sort not in ("asc", "desc"):
        raise VkError(100, "sort is invalid")
    thread_items = min(_int(params, "thread_items_count", 0, low=0), 10)
    need_likes = _flag(params, "need_likes")
    thread = data.comments.get((-gid, post_id))

    def visible(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in rows if c["date"] <= now]

    total = bisect.bisect_right(thread.dates, now) if thread else 0
    if params.get("comment_id", "") != "":
        comment_id = _int(params, "comment_id")
        level = visible(thread.replies.get(comment_id, [])) if thread else []
        total = len(level)
    else:
        level = visible(thread.top) if thread else []
    if sort == "desc":
        level = level[::-1]
    items = []
    for comment in level[offset : offset + count]:
        view = _public(comment)
        if need_likes:
            view["likes"] = {"count": 0, "user_likes": 0, "can_like": 1, "can_publish": 1}
        if not comment.get("parents_stack"):
            replies = visible(thread.replies.get(int(comment["id"]), [])) if thread else []
            view["thread"] = {
                "count": len(replies),
                "items": [_public(r) for r in replies[:thread_items]],
                "can_post": True,
                "show_reply_button": True,
                "groups_can_post": True,
            }
        items.append(view)
    response: dict[str, Any] = {
        "count": total,
        "items": items,
        "current_level_count": len(level),
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }
    if _flag(params, "extended"):
        users = sorted({int(c["from_id"]) for c in items if int(c["from_id"]) > 0})
        response["profiles"] = [{"id": u, "first_name": "Пользователь", "last_name": str(u)} for u in users]
        response["groups"] = [_group_view(data, group, set(), now)]
    return response


# --- utils.resolveScreenName -----------------------------------------------------------------


def utils_resolve_screen_name(data: Dataset, params: Params, now: int) -> Any:
    name = params.get("screen_name", "").strip()
    if not name:
        raise VkError(100, "screen_name is a required parameter")
    name = name.rsplit("/", 1)[-1]  # accept "vk.com/name"
    gid = data.resolve(name)
    if gid is None or not exists(data.groups[gid], now):
        return []
    return {"type": "group", "object_id": gid}


METHODS: dict[str, Method] = {
    "groups.getById": groups_get_by_id,
    "wall.get": wall_get,
    "wall.getComments": wall_get_comments,
    "utils.resolveScreenName": utils_resolve_screen_name,
}
