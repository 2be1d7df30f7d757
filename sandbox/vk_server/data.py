"""Load a generated dataset (``DIR/vk/``) into memory, indexed for the sandbox's API methods.

Files (contract with the generator, see docs/vk-sandbox.md): ``groups.jsonl``,
``members_daily.csv``, ``posts.jsonl.gz`` and ``comments.jsonl.gz``. Keys starting with ``_``
are the sandbox's own and are never sent to clients.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MSK = timezone(timedelta(hours=3), "MSK")


class DatasetError(ValueError):
    """The data directory is missing a file or holds a malformed row."""


@dataclass
class PostThread:
    """Comments of one post, sorted by (date, id)."""

    dates: list[int] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Wall:
    """Posts of one page sorted by (date, id), with the pinned post if any."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    dates: list[int] = field(default_factory=list)
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    pinned_index: int | None = None


@dataclass
class Dataset:
    """Everything the server answers from."""

    groups: dict[int, dict[str, Any]]
    screen_names: dict[str, int]
    members: dict[int, tuple[list[str], list[int]]]
    walls: dict[int, Wall]
    comments: dict[tuple[int, int], PostThread]
    last_ts: int

    def resolve(self, name: str) -> int | None:
        """Group id for a screen name, an old screen name, ``club123``/``public123`` or a number."""
        name = name.strip().lower()
        if name in self.screen_names:
            return self.screen_names[name]
        for prefix in ("club", "public", "event", "-", ""):
            rest = name[len(prefix) :] if name.startswith(prefix) else None
            if rest and rest.isdigit() and int(rest) in self.groups:
                return int(rest)
        return None

    def members_at(self, group_id: int, at_ts: int) -> int | None:
        """``members_count`` on the MSK (UTC+3) date of ``at_ts``: that day's row, else the last
        row before it, else the first row; None when the page has no rows."""
        days, counts = self.members.get(group_id, ([], []))
        if not days:
            return None
        day = datetime.fromtimestamp(at_ts, MSK).date().isoformat()
        pos = bisect.bisect_right(days, day)
        return counts[max(pos - 1, 0)]

    def default_now(self) -> int:
        """The last second of the month (MSK) of the latest post, comment or members row."""
        last = datetime.fromtimestamp(self.last_ts, MSK)
        days = calendar.monthrange(last.year, last.month)[1]
        end = datetime(last.year, last.month, days, 23, 59, 59, tzinfo=MSK)
        return int(end.timestamp())


def _open_lines(path: Path) -> Iterator[tuple[int, str]]:
    candidates = [path, path.with_suffix("")] if path.suffix == ".gz" else [path]
    for candidate in candidates:
        if candidate.exists():
            opener = gzip.open if candidate.suffix == ".gz" else open
            with opener(candidate, "rt", encoding="utf-8") as lines:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield number, line
            return
    raise DatasetError(f"{path}: file not found (expected by the VK sandbox)")


def _read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for number, line in _open_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}, line {number}: not JSON ({exc.msg})") from exc
        missing = [key for key in required if key not in row]
        if missing:
            raise DatasetError(f"{path}, line {number}: missing key(s) {', '.join(missing)}")
        yield row


def load_dataset(data_dir: str | Path) -> Dataset:
    """Read ``data_dir/vk/`` into a :class:`Dataset`; errors name the file and line."""
    vk_dir = Path(data_dir) / "vk"
    groups: dict[int, dict[str, Any]] = {}
    screen_names: dict[str, int] = {}
    for group in _read_jsonl(vk_dir / "groups.jsonl", ("id", "name", "screen_name")):
        gid = int(group["id"])
        groups[gid] = group
        screen_names[str(group["screen_name"]).lower()] = gid
    for gid, group in groups.items():  # old names never shadow a current one
        old = group.get("_sandbox_old_screen_name")
        if old:
            screen_names.setdefault(str(old).lower(), gid)

    members, last_ts = _load_members(vk_dir / "members_daily.csv")
    walls, last_post = _load_walls(vk_dir / "posts.jsonl.gz")
    comments, last_comment = _load_comments(vk_dir / "comments.jsonl.gz")
    last_ts = max(last_ts, last_post, last_comment) or int(datetime.now(UTC).timestamp())
    return Dataset(groups, screen_names, members, walls, comments, last_ts)


def _load_members(members_path: Path) -> tuple[dict[int, tuple[list[str], list[int]]], int]:
    last_ts = 0
    raw_members: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if not members_path.exists():
        raise DatasetError(f"{members_path}: file not found (expected by the VK sandbox)")
    with members_path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                day = date.fromisoformat(row["date"]).isoformat()
                raw_members[int(row["group_id"])].append((day, int(row["members_count"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{members_path}, row {number}: bad group_id/date/members_count") from exc
            noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=MSK)
            last_ts = max(last_ts, int(noon.timestamp()))
    members = {}
    for gid, rows in raw_members.items():
        rows.sort()
        members[gid] = ([d for d, _ in rows], [c for _, c in rows])
    return members, last_ts


def _load_walls(path: Path) -> tuple[dict[int, Wall], int]:
    last_ts = 0
    walls: dict[int, Wall] = defaultdict(Wall)
    for post in _read_jsonl(path, ("id", "owner_id", "date")):
        walls[-int(post["owner_id"])].posts.append(post)
        last_ts = max(last_ts, int(post["date"]))
    for wall in walls.values():
        wall.posts.sort(key=lambda p: (p["date"], p["id"]))
        wall.dates = [p["date"] for p in wall.posts]
        wall.by_id = {p["id"]: p for p in wall.posts}
        pinned = [i for i, p in enumerate(wall.posts) if p.get("is_pinned")]
        wall.pinned_index = pinned[-1] if pinned else None
    return dict(walls), last_ts


def _load_comments(path: Path) -> tuple[dict[tuple[int, int], PostThread], int]:
    last_ts = 0
    comments: dict[tuple[int, int], PostThread] = defaultdict(PostThread)
    rows = sorted(
        _read_jsonl(path, ("id", "owner_id", "post_id", "date")),
        key=lambda c: (c["date"], c["id"]),
    )
    for comment in rows:
        thread = comments[(int(comment["owner_id"]), int(comment["post_id"]))]
        thread.dates.append(comment["date"])
        parents = comment.get("parents_stack") or []
        if parents:
            thread.replies.setdefault(int(parents[0]), []).append(comment)
        else:
            thread.top.append(comment)
        last_ts = max(last_ts, int(comment["date"]))
    return dict(comments), last_ts
