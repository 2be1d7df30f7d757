"""Load one extracted day of OK pages from the lake into staging and core
(``gospublic.infra.network_load``).

What OK's raw answers mean: ``group.getInfo`` gives each group's ``members_count`` (subscribers;
a closed group is answered too) and the card's fields of OK's own compliance checks —
``pic_avatar`` (has_photo), ``description``, ``homepage_url`` or ``phone`` (has_contacts_or_links),
``access_type`` ``OPEN`` (page_open; a ``CLOSED`` group shows its feed to members only);
``mediatopic.getTopics`` gives topics with ``like_summary``,
``discussion_summary`` (comments) and ``reshare_summary`` (reposts) — OK gives no views, so
``views`` is NULL — and ``media`` (a ``photo`` or ``movie`` item marks a photo or a video).
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
from gospublic.ok.errors import error_rows
from gospublic.ok.extract import GROUP_INFO, TOPICS, read_manifest


def pages(line: Mapping[str, Any]) -> list[PageItem]:
    """The groups of one ``group.getInfo`` answer (OK answers an array; its reference shows ``groups``)."""
    response = line["response"]
    groups = response.get("groups") or [] if isinstance(response, dict) else response or []
    return [
        PageItem(
            str(g["uid"]),
            as_int(g.get("members_count")),
            has_photo=filled(g.get("pic_avatar")),
            has_description=filled(g.get("description")),
            has_contacts_or_links=filled(g.get("homepage_url")) or filled(g.get("phone")),
            page_open=None if g.get("access_type") is None else str(g["access_type"]).upper() == "OPEN",
        )
        for g in groups
    ]


def posts(line: Mapping[str, Any]) -> list[PostItem]:
    """The topics of one ``mediatopic.getTopics`` answer."""
    gid = str(line["params"]["gid"])
    found = []
    for topic in (line["response"] or {}).get("media_topics") or []:
        media = topic.get("media") or []
        kinds = {str(m.get("type")) for m in media}
        text = "".join(str(m.get("text") or "") for m in media if m.get("type") == "text")
        found.append(
            PostItem(
                page_key=gid,
                post_key=str(topic["id"]),
                published_at=from_epoch_ms(topic["created_ms"]),
                text_length=len(text),
                has_photo="photo" in kinds,
                has_video="movie" in kinds or "video" in kinds,
                likes=as_int((topic.get("like_summary") or {}).get("count")),
                comments=as_int((topic.get("discussion_summary") or {}).get("comments_count")),
                reposts=as_int((topic.get("reshare_summary") or {}).get("count")),
            )
        )
    return found


SOURCE = NetworkSource(
    network="ok",
    pipeline="ok_pages",
    pages_method=GROUP_INFO,
    posts_method=TOPICS,
    read_manifest=read_manifest,
    error_rows=error_rows,
    pages=pages,
    posts=posts,
)


# as the recording of the day's OK errors: the day's OK rows, one run at a time
@writer(NETWORK_WRITERS[SOURCE.network])
def load_day(
    warehouse: Warehouse, lake: Lake, dt: date, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """Load ``dt``'s OK pages from the day's latest manifest; counts per method."""
    return load_network_day(warehouse, lake, SOURCE, dt, dag_id=dag_id, task_id=task_id)


def load_step(
    logical_date: datetime, *, dag_id: str | None = None, task_id: str | None = None
) -> NetworkDayLoad:
    """What a DAG's ``load`` task runs (through the package's ``steps``)."""
    return load_from_connections(load_day, logical_date, dag_id=dag_id, task_id=task_id)
