"""Flatten VK API answers (as landed in the lake) into warehouse rows.

Input records are the lake's raw lines: ``{"method", "params", "key", "observed_at", "response"}``.
Output rows are plain dicts with the columns of the staging tables ``staging.vk_page_observations``,
``staging.vk_post_observations`` and ``staging.vk_comment_observations``.
Commenters' ids are personal data: only their keyed hash leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]
Pseudonymize = Callable[[str], str]

PAGE_COLUMNS = (
    "dt", "vk_group_id", "screen_name", "name", "members_count", "is_closed", "deactivated",
    "verified", "has_photo", "has_cover", "has_description", "has_contacts", "has_links", "has_site",
    "can_message", "wall", "activity", "observed_at", "load_id",
)  # fmt: skip
POST_COLUMNS = (
    "dt", "vk_group_id", "post_id", "published_at", "text_length", "photo_count", "video_count",
    "link_count", "other_attachment_count", "is_pinned", "is_repost", "views", "likes", "comments",
    "reposts", "observed_at", "load_id",
)  # fmt: skip
COMMENT_COLUMNS = (
    "dt", "vk_group_id", "post_id", "comment_id", "parent_comment_id", "published_at", "author_hash",
    "is_page_reply", "text_length", "observed_at", "load_id",
)  # fmt: skip


def page_rows(records: Iterable[Record], dt: str, load_id: str) -> Iterator[Record]:
    """One row per group in ``groups.getById`` answers (5.199: ``{"groups": [...]}``)."""
    for record in records:
        response = record.get("response")
        groups = response.get("groups", []) if isinstance(response, dict) else response or []
        for group in groups:
            yield {
                "dt": dt,
                "vk_group_id": int(group["id"]),
                "screen_name": group.get("screen_name"),
                "name": group.get("name"),
                "members_count": group.get("members_count"),
                "is_closed": group.get("is_closed"),
                "deactivated": group.get("deactivated"),
                "verified": _flag(group.get("verified")),
                "has_photo": _flag(group.get("has_photo")),
                "has_cover": _flag((group.get("cover") or {}).get("enabled")),
                "has_description": bool((group.get("description") or "").strip()),
                "has_contacts": bool(group.get("contacts")),
                "has_links": bool(group.get("links")),
                "has_site": bool((group.get("site") or "").strip()),
                "can_message": _flag(group.get("can_message")),
                "wall": group.get("wall"),
                "activity": group.get("activity"),
                "observed_at": _timestamp(record["observed_at"]),
                "load_id": load_id,
            }


def post_rows(records: Iterable[Record], dt: str, load_id: str) -> Iterator[Record]:
    """One row per post in ``wall.get`` answers, with attachments summarized."""
    for record in records:
        for post in (record.get("response") or {}).get("items", []):
            counts = attachment_counts(post.get("attachments") or [])
            yield {
                "dt": dt,
                "vk_group_id": -int(post["owner_id"]),
                "post_id": int(post["id"]),
                "published_at": datetime.fromtimestamp(int(post["date"]), UTC),
                "text_length": len(post.get("text") or ""),
                **counts,
                "is_pinned": _flag(post.get("is_pinned")),
                "is_repost": bool(post.get("copy_history")),
                "views": _count(post, "views"),
                "likes": _count(post, "likes"),
                "comments": _count(post, "comments"),
                "reposts": _count(post, "reposts"),
                "observed_at": _timestamp(record["observed_at"]),
                "load_id": load_id,
            }


def comment_rows(
    records: Iterable[Record], dt: str, load_id: str, pseudonymize: Pseudonymize
) -> Iterator[Record]:
    """One row per comment in ``wall.getComments`` answers, thread replies included.

    ``params.owner_id`` and ``params.post_id`` of the call say which post the comments belong to.
    """
    for record in records:
        params = record.get("params") or {}
        group_id = -int(params["owner_id"])
        post_id = int(params["post_id"])
        observed_at = _timestamp(record["observed_at"])
        for comment in _comments_with_threads((record.get("response") or {}).get("items", [])):
            from_id = int(comment.get("from_id") or 0)
            stack = comment.get("parents_stack") or []
            yield {
                "dt": dt,
                "vk_group_id": group_id,
                "post_id": post_id,
                "comment_id": int(comment["id"]),
                "parent_comment_id": int(stack[-1]) if stack else None,
                "published_at": datetime.fromtimestamp(int(comment["date"]), UTC),
                "author_hash": None if from_id == -group_id else pseudonymize(f"vk:{from_id}"),
                "is_page_reply": from_id == -group_id,
                "text_length": len(comment.get("text") or ""),
                "observed_at": observed_at,
                "load_id": load_id,
            }


def attachment_counts(attachments: list[dict[str, Any]]) -> dict[str, int]:
    """Photo, video, link and other attachment counts of a post."""
    kinds = [a.get("type") for a in attachments]
    photos = sum(k in ("photo", "album", "posted_photo") for k in kinds)
    videos = sum(k in ("video", "clip") for k in kinds)
    links = sum(k == "link" for k in kinds)
    return {
        "photo_count": photos,
        "video_count": videos,
        "link_count": links,
        "other_attachment_count": len(kinds) - photos - videos - links,
    }


def _comments_with_threads(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from (item.get("thread") or {}).get("items", [])


def _count(post: dict[str, Any], field: str) -> int | None:
    value = post.get(field)
    return int(value.get("count", 0)) if isinstance(value, dict) else None


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _timestamp(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).astimezone(UTC)
