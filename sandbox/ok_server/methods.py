"""The OK REST methods the sandbox answers, given checked parameters and the simulated clock.

* ``group.getInfo`` — ``uids`` (comma list, at most 100), ``fields`` (required): a JSON array of
  group objects with ``uid`` and the fields asked for; ``members_count`` from members_daily.csv
  at the clock's Moscow date. Unknown groups, and groups not alive at the clock, are left out.
* ``mediatopic.getTopics`` — ``gid`` (required), ``count`` (default 20, at most 100), ``anchor``
  (from the previous answer), ``direction`` ``FORWARD`` (older; the only one supported):
  ``{"media_topics": [...], "anchor": "...", "has_more": bool}``, newest first, only topics
  created at or before the clock, each with ``like_summary``, ``discussion_summary`` and
  ``reshare_summary`` grown to the clock. A closed group answers error 10, an unknown or deleted
  one error 300.
"""

from __future__ import annotations

import base64
import bisect
import math
from collections.abc import Callable
from typing import Any

from sandbox.ok_server.data import OkDataset
from sandbox.ok_server.errors import OkError

MAX_UIDS = 100
MAX_TOPICS = 100
DEFAULT_TOPICS = 20
GROUP_FIELDS = frozenset(
    {"uid", "name", "description", "shortname", "access_type", "category", "city", "homepage_url",
     "phone", "pic_avatar", "created_ms", "members_count"}
)  # fmt: skip


def group_get_info(data: OkDataset, params: dict[str, str], now: int) -> Any:
    uids = [u.strip() for u in params.get("uids", "").split(",") if u.strip()]
    if not uids:
        raise OkError(100, "uids is required")
    if len(uids) > MAX_UIDS:
        raise OkError(100, f"uids: at most {MAX_UIDS} ids")
    fields = {f.strip().lower() for f in params.get("fields", "").split(",") if f.strip()}
    if not fields:
        raise OkError(100, "fields is required")
    unknown = fields - GROUP_FIELDS
    if unknown:
        raise OkError(100, f"fields: unknown field(s) {', '.join(sorted(unknown))}")
    answer = []
    for uid in uids:
        if not data.alive(uid, now):
            continue
        group = data.groups[uid]
        item: dict[str, Any] = {"uid": uid}
        for name in sorted(fields):
            if name == "members_count":
                count = data.members_at(uid, now)
                if count is not None:
                    item[name] = count
            elif name in group and not name.startswith("_"):
                item[name] = group[name]
        answer.append(item)
    return answer


def mediatopic_get_topics(data: OkDataset, params: dict[str, str], now: int) -> Any:
    gid = params.get("gid", "").strip()
    if not gid:
        raise OkError(100, "gid is required")
    if (params.get("direction") or "FORWARD").upper() != "FORWARD":
        raise OkError(100, "direction: only FORWARD is supported by the sandbox")
    count = _int(params.get("count"), DEFAULT_TOPICS, "count")
    if not 1 <= count <= MAX_TOPICS:
        raise OkError(100, f"count must be 1..{MAX_TOPICS}")
    if not data.alive(gid, now):
        raise OkError(300, f"group {gid} not found")
    if data.groups[gid].get("access_type") == "CLOSED":
        raise OkError(10, f"group {gid} is closed")
    feed = data.feeds.get(gid)
    if feed is None:
        return {"media_topics": [], "has_more": False}
    now_ms = now * 1000
    start = bisect.bisect_left(feed.keys, (-now_ms, -(2**62)))  # first topic created at or before now
    if params.get("anchor"):
        start = max(start, bisect.bisect_right(feed.keys, _decode_anchor(params["anchor"])))
    chosen = feed.topics[start : start + count]
    body: dict[str, Any] = {
        "media_topics": [_topic(t, gid, now) for t in chosen],
        "has_more": start + count < len(feed.topics),
    }
    if chosen:
        last = chosen[-1]
        body["anchor"] = _encode_anchor((-int(last["created_ms"]), -int(last["id"])))
    return body


def _topic(topic: dict[str, Any], gid: str, now: int) -> dict[str, Any]:
    age_hours = max(now - int(topic["created_ms"]) // 1000, 0) / 3600
    grown = 1 - math.exp(-age_hours / float(topic.get("_tau_hours", 12.0)))
    final = topic.get("_final", {})
    return {
        "id": topic["id"],
        "owner_ref": f"group:{gid}",
        "created_ms": topic["created_ms"],
        "media": topic.get("media", []),
        "like_summary": {"count": int(final.get("likes", 0) * grown)},
        "discussion_summary": {"comments_count": int(final.get("comments", 0) * grown)},
        "reshare_summary": {"count": int(final.get("reshares", 0) * grown)},
    }


def _encode_anchor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{-key[0]}:{-key[1]}".encode()).decode()


def _decode_anchor(anchor: str) -> tuple[int, int]:
    try:
        created, topic_id = base64.urlsafe_b64decode(anchor.encode()).decode().split(":")
        return (-int(created), -int(topic_id))
    except (ValueError, UnicodeDecodeError) as exc:
        raise OkError(100, "anchor is invalid") from exc


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise OkError(100, f"{name} must be an integer") from exc


METHODS: dict[str, Callable[[OkDataset, dict[str, str], int], Any]] = {
    "group.getInfo": group_get_info,
    "mediatopic.getTopics": mediatopic_get_topics,
}
