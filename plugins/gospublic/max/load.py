"""Load one extracted day of MAX channels from the lake into staging and core
(``gospublic.infra.network_load``).

What MAX's raw answers mean: ``getChat`` gives the channel's ``participants_count`` (subscribers)
and the fields of MAX's own compliance checks: ``icon`` (has_photo), ``description``, ``is_public``
(page_open);
``getMessages`` gives posts with ``stat.views`` only — the Bot API has no likes, comments or
reposts of a channel post, so those are NULL — and ``body.attachments`` (an ``image`` or a
``video`` marks a photo or a video). A post at the edge of two pages is read twice: kept once.
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
    from_epoch_ms,
    load_from_connections,
    load_network_day,
)
from gospublic.infra.network_results import NetworkDayLoad
from gospublic.infra.warehouse import Warehouse, writer
from gospublic.max.errors import error_rows
from gospublic.max.extract import GET_CHAT, GET_MESSAGES, read_manifest


def pages(line: Mapping[str, Any]) -> list[PageItem]:
    """The channel of one ``getChat`` answer (keyed by the chat id the call asked for)."""
    chat = line["response"]
    icon = chat.get("icon") or {}
    public = chat.get("is_public")
    return [
        PageItem(
            str(line["chat_id"]),
            as_int(chat.get("participants_count")),
            has_photo=filled(icon.get("url")),
            has_description=filled(chat.get("description")),
            page_open=None if public is None else bool(public),
        )
    ]


def posts(line: Mapping[str, Any]) -> list[PostItem]:
    """The posts of one ``getMessages`` answer."""
    chat_id = str(line["chat_id"])
    found = []
    for message in (line["response"] or {}).get("messages") or []:
        body = message.get("body") or {}
        kinds = {str(a.get("type")) for a in body.get("attachments") or []}
        found.append(
            PostItem(
                page_key=chat_id,
                post_key=str(body["mid"]),
                published_at=from_epoch_ms(message["timestamp"]),
                text_length=len(body.get("text") or ""),
                has_photo="image" in kinds,
                has_video="video" in kinds,
                views=as_int((message.get("stat") or {}).get("views")),
            )
        )
    return found


SOURCE = NetworkSource(
    network="max",
    pipeline="max_pages",
    pages_method=GET_CHAT,
    posts_method=GET_MESSAGES,
    read_manifest=read_manifest,
    error_rows=error_rows,
    pages=pages,
    posts=posts,
)


# as the recording of the day's MAX errors: the day's MAX rows, one run at a time
@writer(NETWORK_WRITERS[SOURCE.network])
def load_day(
    warehouse: Warehouse, lake: Lake, dt: date, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """Load ``dt``'s MAX channels from the day's latest manifest; counts per operation."""
    return load_network_day(warehouse, lake, SOURCE, dt, dag_id=dag_id, task_id=task_id)


def load_step(
    logical_date: datetime, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """What a DAG's ``load`` task runs (through the package's ``steps``)."""
    return load_from_connections(load_day, logical_date, dag_id=dag_id, task_id=task_id)
