"""Load the generator's OK world (``DIR/ok/``) into memory, indexed for the API methods.

Files (contract with ``sandbox.generator.ok_pages``): ``groups.jsonl``, ``members_daily.csv``
and ``topics.jsonl.gz``. Keys starting with ``_`` are the sandbox's own and never sent.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MSK = timezone(timedelta(hours=3), "MSK")


class DatasetError(ValueError):
    """The data folder misses a file or holds a malformed row."""


@dataclass
class Feed:
    """Topics of one group, newest first."""

    topics: list[dict[str, Any]] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)  # (-created_ms, -id): ascending


@dataclass
class OkDataset:
    """Everything the server answers from."""

    groups: dict[str, dict[str, Any]]
    members: dict[str, tuple[list[str], list[int]]]
    feeds: dict[str, Feed]
    last_ts: int

    def members_at(self, gid: str, at_ts: int) -> int | None:
        """members_count on the Moscow date of ``at_ts`` (that day's row, else the last before)."""
        days, counts = self.members.get(gid, ([], []))
        if not days:
            return None
        day = datetime.fromtimestamp(at_ts, MSK).date().isoformat()
        pos = bisect.bisect_right(days, day)
        return counts[max(pos - 1, 0)]

    def alive(self, gid: str, at_ts: int) -> bool:
        group = self.groups.get(gid)
        if group is None:
            return False
        return int(group.get("_sandbox_alive_from", 0)) <= at_ts < int(group.get("_sandbox_alive_to", 2**62))

    def default_now(self) -> int:
        """The last second (Moscow) of the month of the latest topic or members row."""
        last = datetime.fromtimestamp(self.last_ts, MSK)
        days = calendar.monthrange(last.year, last.month)[1]
        return int(datetime(last.year, last.month, days, 23, 59, 59, tzinfo=MSK).timestamp())


def load_dataset(data_dir: str | Path) -> OkDataset:
    """Read ``data_dir/ok/``; errors name the file and line."""
    folder = Path(data_dir) / "ok"
    groups: dict[str, dict[str, Any]] = {}
    for number, row in _jsonl(folder / "groups.jsonl"):
        if "uid" not in row:
            raise DatasetError(f"{folder / 'groups.jsonl'}, line {number}: no uid")
        groups[str(row["uid"])] = row
    members, last_ts = _members(folder / "members_daily.csv")
    feeds: dict[str, Feed] = defaultdict(Feed)
    for number, topic in _jsonl(folder / "topics.jsonl.gz"):
        if not {"id", "created_ms", "_gid"} <= topic.keys():
            raise DatasetError(f"{folder / 'topics.jsonl.gz'}, line {number}: needs id, created_ms, _gid")
        feeds[str(topic["_gid"])].topics.append(topic)
        last_ts = max(last_ts, int(topic["created_ms"]) // 1000)
    for feed in feeds.values():
        feed.topics.sort(key=lambda t: (-int(t["created_ms"]), -int(t["id"])))
        feed.keys = [(-int(t["created_ms"]), -int(t["id"])) for t in feed.topics]
    return OkDataset(groups, members, dict(feeds), last_ts)


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise DatasetError(f"{path}: file not found (expected by the OK sandbox)")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}, line {number}: not JSON ({exc.msg})") from exc
    return rows


def _members(path: Path) -> tuple[dict[str, tuple[list[str], list[int]]], int]:
    if not path.exists():
        raise DatasetError(f"{path}: file not found (expected by the OK sandbox)")
    raw: dict[str, list[tuple[str, int]]] = defaultdict(list)
    last_ts = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                raw[str(int(row["gid"]))].append((row["date"], int(row["members_count"])))
                noon = datetime.fromisoformat(row["date"]).replace(hour=12, tzinfo=MSK)
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{path}, row {number}: bad gid/date/members_count") from exc
            last_ts = max(last_ts, int(noon.timestamp()))
    members = {}
    for gid, rows in raw.items():
        rows.sort()
        members[gid] = ([d for d, _ in rows], [c for _, c in rows])
    return members, last_ts
