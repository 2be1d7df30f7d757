"""Load one extracted day of Telegram channels from the lake into staging and core
(``gospublic.infra.network_load``).

What Telegram's raw answers (Telethon's ``to_dict()``) mean: ``channels.getFullChannel`` gives
``full_chat.participants_count`` (subscribers) and the fields of Telegram's own compliance
checks: ``full_chat.about`` (has_description), ``full_chat.chat_photo`` (a ``Photo``, not
``PhotoEmpty``: has_photo), ``full_chat.linked_chat_id`` (a discussion group: comments_open) and
the channel's ``verified`` (``chats``); ``messages.getHistory`` gives posts with
``views``, ``forwards`` (reposts), ``replies.replies`` (comments of the discussion group; NULL
when the channel has none) and ``reactions`` (their counts summed as likes; 0 without any), and
``media`` (a photo, or a document of a video type).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from gospublic.infra.lake import Lake
from gospublic.infra.network_day import NETWORK_WRITERS
from gospublic.infra.network_load import (
    NetworkSource,
    PageItem,
    PostItem,
    as_int,
    filled,
    load_from_connections,
    load_network_day,
)
from gospublic.infra.network_results import NetworkDayLoad
from gospublic.infra.warehouse import Warehouse, writer
from gospublic.telegram.errors import NETWORK, error_rows
from gospublic.telegram.extract import FULL, HISTORY, read_manifest


def pages(line: Mapping[str, Any]) -> list[PageItem]:
    """The channel of one ``channels.getFullChannel`` answer (keyed by the registry's username)."""
    response = line["response"] or {}
    full = response.get("full_chat") or {}
    chats = [c for c in response.get("chats") or [] if c.get("id") == full.get("id")]
    return [
        PageItem(
            str(line["params"]["username"]),
            as_int(full.get("participants_count")),
            has_photo=(full.get("chat_photo") or {}).get("_") == "Photo",
            has_description=filled(full.get("about")),
            verified=bool(chats[0].get("verified")) if chats else None,
            comments_open=full.get("linked_chat_id") is not None,
        )
    ]


def posts(line: Mapping[str, Any]) -> list[PostItem]:
    """The posts of one ``messages.getHistory`` answer (the window's posts of one channel)."""
    username = str(line["params"]["username"])
    found = []
    for message in (line["response"] or {}).get("messages") or []:
        replies = message.get("replies")
        reactions = (message.get("reactions") or {}).get("results") or []
        media = message.get("media") or {}
        document = media.get("document") or {}
        found.append(
            PostItem(
                page_key=username,
                post_key=str(message["id"]),
                published_at=datetime.fromisoformat(str(message["date"])),
                text_length=len(message.get("message") or ""),
                has_photo=media.get("_") == "MessageMediaPhoto",
                has_video=str(document.get("mime_type") or "").startswith("video/"),
                views=as_int(message.get("views")),
                likes=sum(int(r.get("count") or 0) for r in reactions),
                comments=None if replies is None else as_int(replies.get("replies")),
                reposts=as_int(message.get("forwards")),
            )
        )
    return found


SOURCE = NetworkSource(
    network=NETWORK,
    pipeline="tg_pages",
    pages_method=FULL,
    posts_method=HISTORY,
    read_manifest=read_manifest,
    error_rows=error_rows,
    pages=pages,
    posts=posts,
)


# as the recording of the day's Telegram errors: one run at a time
@writer(NETWORK_WRITERS[SOURCE.network])
def load_day(
    warehouse: Warehouse, lake: Lake, dt: date, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """Load ``dt``'s Telegram channels from the day's latest manifest; counts per method."""
    return load_network_day(warehouse, lake, SOURCE, dt, dag_id=dag_id, task_id=task_id)


def load_step(
    logical_date: datetime, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """What a DAG's ``load`` task runs (through the package's ``steps``)."""
    return load_from_connections(load_day, logical_date, dag_id=dag_id, task_id=task_id)
