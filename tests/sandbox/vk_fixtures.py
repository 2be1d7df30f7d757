"""A tiny VK dataset in the generator's format (the schema validator is in vk_schema.py)."""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MSK = timezone(timedelta(hours=3))
REPO = Path(__file__).resolve().parents[2]

MAIN = 101  # the page with posts, a pinned post and comments
ERROR_PAGES = {102: 30, 103: 18, 104: 15, 105: 100}  # page id → _sandbox_error
SMALL_PAGES = list(range(110, 140))
LIFECYCLE_AT = datetime(2025, 11, 20, 0, 0, tzinfo=MSK)  # page 106 appears, page 107 is deleted
NEW_PAGE, GONE_PAGE = 106, 107  # 30 pages with two posts each, for pools
FIRST_POST = datetime(2025, 11, 1, 9, 0, tzinfo=MSK)
POST_STEP = timedelta(hours=18)
N_POSTS = 40
PINNED_POST = 5
TAU_HOURS = 12.0


@dataclass
class Facts:
    """What the dataset holds, for the tests' expectations."""

    root: Path
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    members: dict[tuple[int, str], int] = field(default_factory=dict)


def _group(gid: int, screen_name: str, name: str, **extra: Any) -> dict[str, Any]:
    base = {
        "id": gid,
        "name": name,
        "screen_name": screen_name,
        "is_closed": 0,
        "type": "page",
        "photo_50": f"https://sun.userapi.local/{gid}_50.jpg",
        "photo_100": f"https://sun.userapi.local/{gid}_100.jpg",
        "photo_200": f"https://sun.userapi.local/{gid}_200.jpg",
        "has_photo": 1,
        "verified": 0,
        "description": f"Официальная страница: {name}",
        "site": "https://example.gov.ru",
        "can_message": 1,
        "wall": 1,
        "activity": "Государственная организация",
        "counters": {"photos": 3, "videos": 1},
        "links": [{"id": 1, "url": "https://gosuslugi.ru", "name": "Госуслуги"}],
        "contacts": [{"user_id": 1, "desc": "Пресс-служба", "phone": "+7 000 000-00-00"}],
        "cover": {"enabled": 0},
        "_sandbox_page_id": f"page-{gid}",
    }
    base.update(extra)
    return base


def _post(gid: int, post_id: int, when: datetime, **extra: Any) -> dict[str, Any]:
    post = {
        "id": post_id,
        "owner_id": -gid,
        "from_id": -gid,
        "date": int(when.timestamp()),
        "text": f"Новость №{post_id} страницы {gid}",
        "attachments": [{"type": "link", "link": {"url": "https://gosuslugi.ru", "title": "Госуслуги"}}],
        "is_pinned": 0,
        "post_type": "post",
        "marked_as_ads": 0,
        "_final": {"views": 1000 + 10 * post_id, "likes": 50 + post_id, "reposts": post_id},
        "_tau_hours": TAU_HOURS,
    }
    post.update(extra)
    return post


def write_dataset(root: Path) -> Facts:
    """Write ``root/vk/`` (groups, members_daily, posts, comments) and return its facts."""
    vk = root / "vk"
    vk.mkdir(parents=True, exist_ok=True)
    facts = Facts(root)
    groups = [
        _group(MAIN, "minzdrav_test", "Минздрав (тест)", verified=1, _sandbox_old_screen_name="old_minzdrav"),
        _group(102, "closed_test", "Закрытая страница", is_closed=1, _sandbox_error=30),
        _group(103, "deleted_test", "Удалённая страница", deactivated="deleted", _sandbox_error=18),
        _group(104, "denied_test", "Страница без доступа", _sandbox_error=15),
        _group(105, "invalid_test", "Неверная страница", _sandbox_error=100),
        _group(NEW_PAGE, "new_test", "Новая страница", _sandbox_created_at=int(LIFECYCLE_AT.timestamp())),
        _group(
            GONE_PAGE,
            "gone_test",
            "Удалена в ноябре",
            deactivated="deleted",
            _sandbox_deactivated_at=int(LIFECYCLE_AT.timestamp()),
        ),
        *[_group(gid, f"small_{gid}", f"Малая страница {gid}") for gid in SMALL_PAGES],
    ]
    with (vk / "groups.jsonl").open("w", encoding="utf-8") as out:
        for group in groups:
            out.write(json.dumps(group, ensure_ascii=False) + "\n")

    with (vk / "members_daily.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["group_id", "date", "members_count"])
        for group in groups:
            for day in range(1, 31):
                day_iso = f"2025-11-{day:02d}"
                count = group["id"] * 100 + day * 10
                facts.members[(group["id"], day_iso)] = count
                writer.writerow([group["id"], day_iso, count])

    posts = []
    for post_id in range(1, N_POSTS + 1):
        extra: dict[str, Any] = {"is_pinned": 1} if post_id == PINNED_POST else {}
        if post_id == 7:  # a repost of another page's post
            extra["copy_history"] = [_post(110, 1, FIRST_POST, _final={})]
        posts.append(_post(MAIN, post_id, FIRST_POST + (post_id - 1) * POST_STEP, **extra))
    for gid in SMALL_PAGES:
        posts += [_post(gid, 1, FIRST_POST), _post(gid, 2, FIRST_POST + timedelta(days=3))]
    facts.posts = {p["id"]: p for p in posts if p["owner_id"] == -MAIN}
    with gzip.open(vk / "posts.jsonl.gz", "wt", encoding="utf-8") as out:
        for post in posts:
            out.write(json.dumps(post, ensure_ascii=False) + "\n")

    comments = []
    for post_id in (N_POSTS - 1, N_POSTS):
        start = facts.posts[post_id]["date"]
        base_id = post_id * 100
        for n in range(4):  # 4 top-level comments an hour apart
            comments.append(_comment(base_id + n, post_id, 1000 + n, start + 3600 * (n + 1), []))
        # thread under the first comment: the page answers, the citizen replies
        first = base_id
        comments.append(
            _comment(
                base_id + 10,
                post_id,
                -MAIN,
                start + 7200,
                [first],
                reply_to_user=1000,
                reply_to_comment=first,
            )
        )
        comments.append(
            _comment(
                base_id + 11,
                post_id,
                1000,
                start + 9000,
                [first],
                reply_to_user=-MAIN,
                reply_to_comment=base_id + 10,
            )
        )
        comments.append(
            _comment(
                base_id + 12,
                post_id,
                -MAIN,
                start + 12000,
                [first],
                reply_to_user=1000,
                reply_to_comment=base_id + 11,
            )
        )
    facts.comments = comments
    with gzip.open(vk / "comments.jsonl.gz", "wt", encoding="utf-8") as out:
        for comment in comments:
            out.write(json.dumps(comment, ensure_ascii=False) + "\n")
    return facts


def _comment(
    cid: int,
    post_id: int,
    from_id: int,
    date: int,
    parents: list[int],
    *,
    reply_to_user: int | None = None,
    reply_to_comment: int | None = None,
) -> dict[str, Any]:
    comment = {
        "id": cid,
        "owner_id": -MAIN,
        "post_id": post_id,
        "from_id": from_id,
        "date": date,
        "text": "Спасибо, вопрос решён" if from_id < 0 else f"Вопрос жителя №{cid}",
        "parents_stack": parents,
    }
    if reply_to_user is not None:
        comment["reply_to_user"] = reply_to_user
        comment["reply_to_comment"] = reply_to_comment
    return comment


ALL_GROUP_FIELDS = ",".join(
    [
        *("members_count", "verified", "has_photo", "cover", "description", "links", "contacts"),
        *("site", "can_message", "wall", "counters", "activity"),
    ]
)
