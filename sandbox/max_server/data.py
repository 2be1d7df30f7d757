"""Load the generator's MAX world (``DIR/max/``) into memory, indexed for the API methods.

Files (contract with ``sandbox.generator.max_pages``): ``chats.jsonl``, ``participants_daily.csv``
and ``messages.jsonl.gz``. Keys starting with ``_`` are the sandbox's own and never sent.
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
class Channel:
    """Posts of one channel, oldest first (``stamps`` are their timestamps in ms, ascending)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)


@dataclass
class MaxDataset:
    """Everything the server answers from."""

    chats: dict[int, dict[str, Any]]
    participants: dict[int, tuple[list[str], list[int]]]
    channels: dict[int, Channel]
    last_ts: int

    def participants_at(self, chat_id: int, at_ts: int) -> int | None:
        """participants_count on the Moscow date of ``at_ts`` (that day's row, else the last before)."""
        days, counts = self.participants.get(chat_id, ([], []))
        if not days:
            return None
        day = datetime.fromtimestamp(at_ts, MSK).date().isoformat()
        pos = bisect.bisect_right(days, day)
        return counts[pos - 1] if pos else None

    def alive(self, chat_id: int, at_ts: int) -> bool:
        chat = self.chats.get(chat_id)
        if chat is None:
            return False
        return int(chat.get("_sandbox_alive_from", 0)) <= at_ts < int(chat.get("_sandbox_alive_to", 2**62))

    def default_now(self) -> int:
        """The last second (Moscow) of the month of the latest post or participants row."""
        last = datetime.fromtimestamp(self.last_ts, MSK)
        days = calendar.monthrange(last.year, last.month)[1]
        return int(datetime(last.year, last.month, days, 23, 59, 59, tzinfo=MSK).timestamp())


def load_dataset(data_dir: str | Path) -> MaxDataset:
    """Read ``data_dir/max/``; errors name the file and line."""
    folder = Path(data_dir) / "max"
    chats: dict[int, dict[str, Any]] = {}
    for number, row in _jsonl(folder / "chats.jsonl"):
        if "chat_id" not in row:
            raise DatasetError(f"{folder / 'chats.jsonl'}, line {number}: no chat_id")
        chats[int(row["chat_id"])] = row
    participants, last_ts = _participants(folder / "participants_daily.csv")
    channels: dict[int, Channel] = defaultdict(Channel)
    for number, message in _jsonl(folder / "messages.jsonl.gz"):
        if not {"timestamp", "body", "_chat_id"} <= message.keys():
            raise DatasetError(
                f"{folder / 'messages.jsonl.gz'}, line {number}: needs timestamp, body, _chat_id"
            )
        channels[int(message["_chat_id"])].messages.append(message)
        last_ts = max(last_ts, int(message["timestamp"]) // 1000)
    for channel in channels.values():
        channel.messages.sort(key=lambda m: (int(m["timestamp"]), int(m["body"]["seq"])))
        channel.stamps = [int(m["timestamp"]) for m in channel.messages]
    return MaxDataset(chats, participants, dict(channels), last_ts)


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise DatasetError(f"{path}: file not found (expected by the MAX sandbox)")
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


def _participants(path: Path) -> tuple[dict[int, tuple[list[str], list[int]]], int]:
    if not path.exists():
        raise DatasetError(f"{path}: file not found (expected by the MAX sandbox)")
    raw: dict[int, list[tuple[str, int]]] = defaultdict(list)
    last_ts = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                raw[int(row["chat_id"])].append((row["date"], int(row["participants_count"])))
                noon = datetime.fromisoformat(row["date"]).replace(hour=12, tzinfo=MSK)
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{path}, row {number}: bad chat_id/date/participants_count") from exc
            last_ts = max(last_ts, int(noon.timestamp()))
    result = {}
    for chat_id, rows in raw.items():
        rows.sort()
        result[chat_id] = ([d for d, _ in rows], [c for _, c in rows])
    return result, last_ts
