"""The generated Telegram world (``DIR/tg/``) in memory, and the sandbox's simulated clock."""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MOSCOW = timezone(timedelta(hours=3))


@dataclass
class SimClock:
    """The sandbox's time (unix seconds); sleeping on it moves it instead of waiting."""

    now: float = 0.0
    slept: float = 0.0

    def set(self, when: datetime) -> None:
        self.now = when.timestamp()

    def time(self) -> float:
        """The clock's reading (what a reader paces by)."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """What a client waits with in the sandbox: the clock moves ``seconds`` at once."""
        if seconds > 0:
            self.now += seconds
            self.slept += seconds
        await asyncio.sleep(0)


@dataclass
class TgWorld:
    """Channels by username and id, participants per (username, Moscow date), posts by channel."""

    channels: dict[str, dict[str, Any]]
    participants: dict[tuple[str, str], int]
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path | str) -> TgWorld:
        folder = Path(data_dir) / "tg"
        channels = {}
        for line in (folder / "channels.jsonl").read_text(encoding="utf-8").splitlines():
            channel = json.loads(line)
            channels[channel["username"].lower()] = channel
        with (folder / "participants_daily.csv").open(encoding="utf-8") as handle:
            participants = {
                (r["username"].lower(), r["date"]): int(r["participants_count"])
                for r in csv.DictReader(handle)
            }
        messages: dict[str, list[dict[str, Any]]] = {}
        with gzip.open(folder / "messages.jsonl.gz", "rt", encoding="utf-8") as lines:
            for line in lines:
                message = json.loads(line)
                messages.setdefault(message["username"].lower(), []).append(message)
        for posts in messages.values():
            posts.sort(key=lambda m: m["id"])
        return cls(channels, participants, messages)

    def channel(self, username: str, now: float) -> dict[str, Any] | None:
        """The channel with ``username`` if it exists at ``now``."""
        channel = self.channels.get(username.lower())
        if channel and channel["_sandbox_alive_from"] <= now < channel["_sandbox_alive_to"]:
            return channel
        return None

    def by_id(self, channel_id: int) -> dict[str, Any] | None:
        return next((c for c in self.channels.values() if c["id"] == channel_id), None)

    def participants_at(self, channel: dict[str, Any], now: float) -> int | None:
        day = datetime.fromtimestamp(now, MOSCOW).date().isoformat()
        return self.participants.get((channel["username"].lower(), day))

    def posts_at(self, channel: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """The channel's posts published by ``now``, oldest first."""
        return [m for m in self.messages.get(channel["username"].lower(), []) if m["date"] <= now]


def grown(final: int, posted: float, now: float, tau_hours: float) -> int:
    """A metric ``final`` of a post grown to ``now``: it saturates with time constant ``tau``."""
    hours = max(0.0, now - posted) / 3600
    return int(final * (1 - math.exp(-hours / tau_hours)))


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
