"""Writes a region's wall as VK JSON lines and derives the VK ground truth from the same arrays."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import IO

import numpy as np
import pandas as pd

from sandbox.generator import texts, wall
from sandbox.generator.timeutil import DAY
from sandbox.generator.vkpages import VkPages

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(obj: dict) -> str:
    return _ENCODER.encode(obj)


def _day_text(ts: int, cache: dict[int, str]) -> str:
    """``ДД.ММ.ГГГГ`` of a UTC timestamp, memoised by day."""
    day = ts // DAY
    if day not in cache:
        cache[day] = dt.datetime.fromtimestamp(day * DAY, dt.UTC).strftime("%d.%m.%Y")
    return cache[day]


def write_posts(w: wall.Wall, pages: VkPages, place: str, out: IO[str], rnd: random.Random) -> None:
    """One ``wall_wallpost_full`` object per line, pages in registry order, ids ascending."""
    group_ids = pages.group_id
    for i in range(len(w.post_id)):
        page = int(w.post_page[i])
        owner = -int(group_ids[page])
        date = int(w.post_ts[i])
        source = int(w.post_repost_of[i])
        own = source < 0
        post: dict = {
            "inner_type": "wall_wallpost",
            "id": int(w.post_id[i]),
            "owner_id": owner,
            "from_id": owner,
            "date": date,
            "text": texts.post_text(rnd, pages.pages[page].domain, place)
            if own
            else rnd.choice(
                [
                    "",
                    "Делимся важной информацией.",
                    "Обратите внимание!",
                    "Репост новости правительства региона.",
                ]
            ),
            "attachments": wall.attachments(w, i, owner, rnd) if own else [],
            "is_pinned": int(w.post_pinned[i]),
            "post_type": "post",
            "marked_as_ads": 0,
        }
        if not own:
            source_owner = -int(group_ids[source])
            post["copy_history"] = [
                {
                    "inner_type": "wall_wallpost",
                    "id": rnd.randint(1_000, 90_000),
                    "owner_id": source_owner,
                    "from_id": source_owner,
                    "date": date - rnd.randint(600, 2 * DAY),
                    "text": texts.post_text(rnd, pages.pages[source].domain, place),
                    "attachments": [],
                    "post_type": "post",
                }
            ]
        post["_final"] = {
            "views": int(w.post_views[i]),
            "likes": int(w.post_likes[i]),
            "reposts": int(w.post_reposts[i]),
        }
        post["_tau_hours"] = float(w.post_tau[i])
        out.write(_dumps(post))
        out.write("\n")


def write_comments(w: wall.Wall, pages: VkPages, out: IO[str], rnd: random.Random) -> None:
    """One ``wall_wall_comment`` object per line, pages in registry order, ids ascending."""
    group_ids = pages.group_id
    names: dict[int, str] = {}
    days: dict[int, str] = {}
    for i in range(len(w.c_id)):
        owner = -int(group_ids[int(w.c_page[i])])
        kind = int(w.c_kind[i])
        author = int(w.c_from[i])
        comment: dict = {
            "id": int(w.c_id[i]),
            "from_id": author,
            "post_id": int(w.post_id[int(w.c_post[i])]),
            "owner_id": owner,
            "parents_stack": [],
            "date": int(w.c_ts[i]),
        }
        if kind == wall.KIND_TOP:
            names.setdefault(author, rnd.choice(texts.FIRST_NAMES))
            comment["text"] = texts.citizen_comment(rnd)
        else:
            parent = int(w.c_parent[i])
            replied = int(w.c_reply_to[i])
            comment["parents_stack"] = [int(w.c_id[parent])]
            comment["reply_to_user"] = int(w.c_from[replied])
            comment["reply_to_comment"] = int(w.c_id[replied])
            if kind == wall.KIND_REPLY:
                citizen = int(w.c_from[parent])
                day = _day_text(int(w.c_ts[i]) + 5 * DAY, days)
                comment["text"] = texts.page_reply(
                    rnd, names.get(citizen, rnd.choice(texts.FIRST_NAMES)), day
                )
            else:
                comment["text"] = texts.follow_up(rnd)
        out.write(_dumps(comment))
        out.write("\n")


def posts_daily(w: wall.Wall, pages: VkPages, utc_offset: int) -> pd.DataFrame:
    """Posts (and how many of them are reposts) per page and local day."""
    local_day = (w.post_ts + utc_offset) // DAY
    frame = pd.DataFrame(
        {"page": w.post_page, "day": local_day, "repost": (w.post_repost_of >= 0).astype(int)}
    )
    grouped = frame.groupby(["page", "day"], sort=True).agg(
        posts=("repost", "size"), reposts=("repost", "sum")
    )
    grouped = grouped.reset_index()
    return pd.DataFrame(
        {
            "page_id": [pages.pages[p].page_id for p in grouped["page"]],
            "group_id": pages.group_id[grouped["page"].to_numpy()],
            "date": pd.to_datetime(grouped["day"].to_numpy() * DAY, unit="s").strftime("%Y-%m-%d"),
            "posts": grouped["posts"].to_numpy(),
            "reposts": grouped["reposts"].to_numpy(),
        }
    )


def comments_truth(w: wall.Wall, pages: VkPages) -> pd.DataFrame:
    """Per post with comments: citizens' comments, how many the page answered and how fast."""
    if not len(w.c_id):
        return pd.DataFrame(columns=COMMENT_TRUTH_COLUMNS)
    citizen = w.c_from > 0
    top = w.c_kind == wall.KIND_TOP
    reply = w.c_kind == wall.KIND_REPLY
    frame = pd.DataFrame({"post": w.c_post, "citizen": citizen.astype(int), "top": top.astype(int)})
    per_post = frame.groupby("post").agg(citizen_comments=("citizen", "sum"), top_level=("top", "sum"))
    parents = w.c_parent[reply]
    delays = w.c_ts[reply] - w.c_ts[parents]
    replies = pd.DataFrame({"post": w.c_post[reply], "parent": parents, "delay": delays})
    first = replies.sort_values(["parent", "delay"]).drop_duplicates("parent")  # first answer per comment
    answered = first.groupby("post").agg(
        replied_comments=("parent", "size"),
        first_reply_delay_s=("delay", "min"),
        median_reply_delay_s=("delay", "median"),
        max_reply_delay_s=("delay", "max"),
    )
    page_replies = replies.groupby("post").size().rename("page_replies")
    result = per_post.join(answered).join(page_replies).reset_index()
    for column in ("replied_comments", "page_replies"):
        result[column] = result[column].fillna(0)
    posts = result["post"].to_numpy()
    page = w.post_page[posts]
    return pd.DataFrame(
        {
            "page_id": [pages.pages[p].page_id for p in page],
            "group_id": pages.group_id[page],
            "post_id": w.post_id[posts],
            "post_date": w.post_ts[posts],
            "citizen_comments": result["citizen_comments"].astype(int),
            "top_level_comments": result["top_level"].astype(int),
            "replied_comments": result["replied_comments"].astype(int),
            "page_replies": result["page_replies"].astype(int),
            # empty when the page answered none of the post's comments
            "first_reply_delay_s": result["first_reply_delay_s"].astype("Int64"),
            "median_reply_delay_s": result["median_reply_delay_s"].round().astype("Int64"),
            "max_reply_delay_s": result["max_reply_delay_s"].astype("Int64"),
        }
    ).sort_values(["page_id", "post_id"])


COMMENT_TRUTH_COLUMNS = [
    "page_id",
    "group_id",
    "post_id",
    "post_date",
    "citizen_comments",
    "top_level_comments",
    "replied_comments",
    "page_replies",
    "first_reply_delay_s",
    "median_reply_delay_s",
    "max_reply_delay_s",
]


def members_frame(
    pages: VkPages, members: np.ndarray, day_starts: np.ndarray, utc_offset: int
) -> pd.DataFrame:
    """``group_id,date,members_count`` for every page and every day it exists."""
    page_idx, day_idx = np.nonzero(members >= 0)
    dates = pd.to_datetime((day_starts + utc_offset) // DAY * DAY, unit="s").strftime("%Y-%m-%d").to_numpy()
    return pd.DataFrame(
        {
            "group_id": pages.group_id[page_idx],
            "date": dates[day_idx],
            "members_count": members[page_idx, day_idx],
        }
    )
