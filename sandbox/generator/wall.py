"""Posts and comments of a region's VK pages, simulated as arrays and written as VK objects.

Posts follow a heavy-tailed posting rhythm in local time; comments arrive over days after the post;
the page answers a share of them in the thread with delays from minutes to days (some never).
Post and comment ids share one increasing counter per wall, as in VK.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from sandbox.generator.timeutil import HOUR
from sandbox.generator.vkpages import VkPages

# share of posts by local hour (0..23): few at night, peaks in the morning and at lunch
POST_HOURS = np.array(
    [
        0.2,
        0.1,
        0.05,
        0.05,
        0.05,
        0.2,
        0.6,
        1.5,
        3.0,
        5.0,
        6.0,
        6.0,
        5.5,
        5.0,
        5.5,
        5.5,
        5.0,
        4.5,
        3.5,
        2.5,
        2.0,
        1.5,
        0.8,
        0.4,
    ]
)
WEEKDAY_FACTOR = np.array([1.15, 1.15, 1.15, 1.15, 1.1, 0.6, 0.45])  # Monday..Sunday
WEEKDAY_FACTOR = WEEKDAY_FACTOR / WEEKDAY_FACTOR.mean()
KIND_POST, KIND_TOP, KIND_REPLY, KIND_FOLLOW = 0, 1, 2, 3


@dataclass
class Wall:
    """All posts and comments of a region, sorted by (page, id)."""

    post_page: np.ndarray
    post_id: np.ndarray
    post_ts: np.ndarray
    post_views: np.ndarray
    post_likes: np.ndarray
    post_reposts: np.ndarray
    post_tau: np.ndarray
    post_attach: np.ndarray  # 0 none, 1 photo, 2 video, 3 link
    post_photos: np.ndarray
    post_repost_of: np.ndarray  # index of the original page (-1: an own post)
    post_pinned: np.ndarray
    c_page: np.ndarray
    c_id: np.ndarray
    c_ts: np.ndarray
    c_kind: np.ndarray
    c_post: np.ndarray  # index into the post arrays
    c_parent: np.ndarray  # index into the comment arrays (-1 for top level)
    c_reply_to: np.ndarray  # index of the comment replied to (-1 none)
    c_from: np.ndarray  # author id (negative for the page itself)


@dataclass(frozen=True)
class Rhythm:
    """How much a region's pages post and how much citizens comment."""

    first_weekday: int  # weekday of the first day (Monday 0)
    posts_per_month: float
    comments_per_post: float
    world_end: int  # nothing exists at or after this moment (unix seconds)


@dataclass
class _Posts:
    page: np.ndarray
    day: np.ndarray
    ts: np.ndarray
    views: np.ndarray
    likes: np.ndarray
    reposts: np.ndarray
    tau: np.ndarray
    attach: np.ndarray
    photos: np.ndarray
    repost_of: np.ndarray


@dataclass
class _Comments:
    ts: np.ndarray
    kind: np.ndarray
    post: np.ndarray
    parent: np.ndarray
    reply_to: np.ndarray
    author: np.ndarray


def _posts(
    pages: VkPages, members: np.ndarray, day_starts: np.ndarray, rhythm: Rhythm, rng: np.random.Generator
) -> _Posts:
    """Posting times (heavy-tailed rate per page, weekly and daily rhythm) and final metrics."""
    n_pages, n_days = members.shape
    readable = pages.error == 0
    rate = rng.lognormal(0.0, 1.1, n_pages) * np.where(pages.rated, 1.6, 0.8)
    rate = np.where(rng.random(n_pages) < 0.08, 0.02, rate)
    rate *= rhythm.posts_per_month / 30.4 / max(float(np.mean(rate)), 1e-9)
    weekday = WEEKDAY_FACTOR[(rhythm.first_weekday + np.arange(n_days)) % 7]
    counts = rng.poisson(rate[:, None] * weekday[None, :])
    counts = np.where((members >= 0) & readable[:, None], counts, 0)
    page, day = np.nonzero(counts)
    repeat = counts[page, day]
    page, day = np.repeat(page, repeat), np.repeat(day, repeat)
    hours = rng.choice(24, size=len(page), p=POST_HOURS / POST_HOURS.sum())
    ts = day_starts[day] + hours * HOUR + rng.integers(0, HOUR, len(page))
    keep = (ts >= pages.alive_from[page]) & (ts < np.minimum(pages.alive_to[page], rhythm.world_end))
    page, day, ts = page[keep], day[keep], ts[keep]
    n = len(ts)
    audience = np.maximum(members[page, day], 10)
    views = np.rint(audience * rng.lognormal(np.log(0.25), 0.7, n) + rng.integers(0, 30, n))
    likes = np.rint(views * rng.lognormal(np.log(0.015), 0.6, n))
    reposts = np.rint(views * rng.lognormal(np.log(0.0015), 0.8, n))
    tau = np.round(rng.lognormal(np.log(5.0), 0.5, n), 2)
    attach = rng.choice(4, size=n, p=[0.15, 0.65, 0.1, 0.1])
    photos = np.where(attach == 1, rng.integers(1, 5, n), 0)
    sources = np.flatnonzero(readable) if readable.any() else np.arange(n_pages)
    repost_of = np.where(rng.random(n) < 0.07, sources[rng.integers(0, len(sources), n)], -1)
    repost_of = np.where(repost_of == page, -1, repost_of)
    return _Posts(page, day, ts, views, likes, reposts, tau, attach, photos, repost_of)


def _alive(pages: VkPages, page: np.ndarray, ts: np.ndarray, world_end: int) -> np.ndarray:
    return ts < np.minimum(pages.alive_to[page], world_end)


def _comments(pages: VkPages, posts: _Posts, rhythm: Rhythm, rng: np.random.Generator) -> _Comments:
    """Citizens' top-level comments, the page's replies in threads and citizens' follow-ups."""
    n_pages, n_posts = len(pages.group_id), len(posts.ts)
    comment_rate = rng.lognormal(0.0, 0.9, n_pages)
    comment_rate *= rhythm.comments_per_post / 1.45 / max(float(np.mean(comment_rate)), 1e-9)
    median_views = max(float(np.median(posts.views)) if n_posts else 1.0, 1.0)
    views_factor = np.clip(posts.views / median_views, 0.2, 5.0) ** 0.5
    top_post = np.repeat(np.arange(n_posts), rng.poisson(comment_rate[posts.page] * views_factor))
    slow = rng.random(len(top_post)) < 0.3
    delay = np.where(
        slow, rng.lognormal(np.log(20 * HOUR), 1.0, len(top_post)), rng.exponential(3 * HOUR, len(top_post))
    )
    top_ts = posts.ts[top_post] + 60 + delay.astype(np.int64)
    ok = _alive(pages, posts.page[top_post], top_ts, rhythm.world_end)
    top_post, top_ts = top_post[ok], top_ts[ok]
    n_citizens = max(50, len(top_post) // 3)
    citizens = 1_000_000 + rng.choice(899_000_000, size=n_citizens, replace=False)
    top_from = citizens[np.minimum(rng.zipf(1.6, len(top_post)) - 1, n_citizens - 1)]

    propensity = rng.beta(1.2, 1.6, n_pages)
    reply_top = np.flatnonzero(rng.random(len(top_post)) < propensity[posts.page[top_post]])
    delay = rng.lognormal(np.log(2 * HOUR), 1.4, len(reply_top)).astype(np.int64)
    reply_ts = top_ts[reply_top] + 60 + delay
    ok = _alive(pages, posts.page[top_post[reply_top]], reply_ts, rhythm.world_end)
    reply_top, reply_ts = reply_top[ok], reply_ts[ok]

    follow_reply = np.flatnonzero(rng.random(len(reply_top)) < 0.2)  # index into the replies
    follow_ts = reply_ts[follow_reply] + 60 + rng.exponential(2 * HOUR, len(follow_reply)).astype(np.int64)
    ok = _alive(pages, posts.page[top_post[reply_top[follow_reply]]], follow_ts, rhythm.world_end)
    follow_reply, follow_ts = follow_reply[ok], follow_ts[ok]
    follow_top = reply_top[follow_reply]

    n_top, n_reply, n_follow = len(top_post), len(reply_top), len(follow_reply)
    return _Comments(
        ts=np.concatenate([top_ts, reply_ts, follow_ts]),
        kind=np.concatenate(
            [np.full(n_top, KIND_TOP), np.full(n_reply, KIND_REPLY), np.full(n_follow, KIND_FOLLOW)]
        ),
        post=np.concatenate([top_post, top_post[reply_top], top_post[follow_top]]),
        parent=np.concatenate([np.full(n_top, -1), reply_top, follow_top]),
        reply_to=np.concatenate([np.full(n_top, -1), reply_top, n_top + follow_reply]),
        author=np.concatenate(
            [top_from, -pages.group_id[posts.page[top_post[reply_top]]], top_from[follow_top]]
        ),
    )


def _number(
    page: np.ndarray, ts: np.ndarray, kind: np.ndarray, n_pages: int, rng: np.random.Generator
) -> np.ndarray:
    """Ids from one counter per wall: items ordered by (page, time, kind), small gaps (deleted items)."""
    order = np.lexsort((kind, ts, page))
    steps = 1 + (rng.random(len(order)) < 0.05) * rng.integers(1, 4, len(order))
    cumulative = np.cumsum(steps)
    sorted_page = page[order]
    offset = np.zeros(len(order), dtype=np.int64)
    if len(order):
        first = np.r_[0, np.flatnonzero(np.diff(sorted_page)) + 1]
        offset[first] = cumulative[first] - steps[first]
        np.maximum.accumulate(offset, out=offset)
    start_id = rng.integers(200, 40_000, n_pages)
    ids = np.empty(len(order), dtype=np.int64)
    ids[order] = start_id[sorted_page] + cumulative - offset
    return ids


def _pinned(posts: _Posts, n_pages: int, rng: np.random.Generator) -> np.ndarray:
    """About 30 % of pages pin their oldest own post of the window (at most one per page)."""
    pinned = np.zeros(len(posts.ts), dtype=np.int64)
    if len(posts.ts):
        for page in np.flatnonzero(rng.random(n_pages) < 0.3):
            candidates = np.flatnonzero((posts.page == page) & (posts.repost_of < 0))
            if len(candidates):
                pinned[candidates[np.argmin(posts.ts[candidates])]] = 1
    return pinned


def simulate(
    pages: VkPages, members: np.ndarray, day_starts: np.ndarray, rhythm: Rhythm, rng: np.random.Generator
) -> Wall:
    """Simulate the walls of ``pages`` over the days starting at ``day_starts`` (local midnights)."""
    n_pages = len(pages.group_id)
    posts = _posts(pages, members, day_starts, rhythm, rng)
    comments = _comments(pages, posts, rhythm, rng)
    n_posts = len(posts.ts)
    c_page = posts.page[comments.post]
    ids = _number(
        np.concatenate([posts.page, c_page]),
        np.concatenate([posts.ts, comments.ts]),
        np.concatenate([np.zeros(n_posts, dtype=np.int64), comments.kind]),
        n_pages,
        rng,
    )
    post_ids, c_ids = ids[:n_posts], ids[n_posts:]
    pinned = _pinned(posts, n_pages, rng)

    post_order = np.lexsort((post_ids, posts.page))
    remap = np.empty(n_posts, dtype=np.int64)
    remap[post_order] = np.arange(n_posts)
    c_order = np.lexsort((c_ids, c_page))
    c_remap = np.empty(len(c_order), dtype=np.int64)
    c_remap[c_order] = np.arange(len(c_order))

    def reindex(values: np.ndarray) -> np.ndarray:
        return np.where(values >= 0, c_remap[np.maximum(values, 0)], -1) if len(values) else values

    return Wall(
        post_page=posts.page[post_order],
        post_id=post_ids[post_order],
        post_ts=posts.ts[post_order],
        post_views=posts.views[post_order].astype(np.int64),
        post_likes=posts.likes[post_order].astype(np.int64),
        post_reposts=posts.reposts[post_order].astype(np.int64),
        post_tau=posts.tau[post_order],
        post_attach=posts.attach[post_order],
        post_photos=posts.photos[post_order],
        post_repost_of=posts.repost_of[post_order],
        post_pinned=pinned[post_order],
        c_page=c_page[c_order],
        c_id=c_ids[c_order],
        c_ts=comments.ts[c_order],
        c_kind=comments.kind[c_order],
        c_post=remap[comments.post[c_order]] if len(c_order) else comments.post,
        c_parent=reindex(comments.parent[c_order]),
        c_reply_to=reindex(comments.reply_to[c_order]),
        c_from=comments.author[c_order],
    )


def attachments(wall: Wall, i: int, owner_id: int, rnd: random.Random) -> list[dict]:
    """VK attachments (photo / video / link) of post ``i``, each with every field the official
    5.199 schema requires of it (a photo's ``has_tags`` included); constant fields draw nothing
    from ``rnd``, so adding one leaves every other value of the sample as it was."""
    kind, date = int(wall.post_attach[i]), int(wall.post_ts[i])
    if kind == 1:
        result = []
        for k in range(int(wall.post_photos[i])):
            photo_id = 457_239_000 + int(wall.post_id[i]) * 10 + k
            url = f"https://sun9-{photo_id % 80 + 1}.userapi.com/impg/{photo_id:x}/photo.jpg"
            result.append(
                {
                    "type": "photo",
                    "photo": {
                        "id": photo_id,
                        "album_id": -7,
                        "owner_id": owner_id,
                        "date": date,
                        "text": "",
                        "has_tags": False,
                        "sizes": [
                            {"type": "x", "url": url, "width": 604, "height": 403},
                            {"type": "y", "url": url + "?size=807", "width": 807, "height": 538},
                        ],
                    },
                }
            )
        return result
    if kind == 2:
        video_id = 456_239_000 + int(wall.post_id[i])
        return [
            {
                "type": "video",
                "video": {
                    "id": video_id,
                    "owner_id": owner_id,
                    "title": "Видеосюжет",
                    "duration": rnd.randint(15, 600),
                    "date": date,
                    "description": "",
                    "type": "video",
                    "image": [
                        {
                            "url": f"https://sun9-1.userapi.com/impg/v{video_id:x}.jpg",
                            "width": 320,
                            "height": 240,
                        }
                    ],
                },
            }
        ]
    if kind == 3:
        return [
            {
                "type": "link",
                "link": {
                    "url": rnd.choice(
                        [
                            "https://www.gosuslugi.ru/",
                            "https://pos.gosuslugi.ru/",
                            "https://xn--80ajghhoc2aj1c8b.xn--p1ai/",
                        ]
                    ),
                    "title": "Подробнее на портале",
                    "description": "",
                    "caption": "gosuslugi.ru",
                },
            }
        ]
    return []
