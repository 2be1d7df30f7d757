"""The sample region's MAX world served by the MAX sandbox, and an Airflow connection to it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

MOSCOW = ZoneInfo("Europe/Moscow")
TOKEN = "max_sandbox_bot_token_0123456789abcdef"
BOT_RPS = 30
SLOW_TOKEN = "max_sandbox_slow_bot_token"  # a bot allowed one request a second
DAY = date(2025, 11, 20)


@dataclass(frozen=True)
class MaxWorld:
    """The generated data folder and its truth, read back from the generator's files."""

    root: Path

    def pages(self) -> dict[str, bool]:
        """chat_id → readable (channels that did not admit the bot are not)."""
        with (self.root / "max" / "truth" / "pages.csv").open(encoding="utf-8") as handle:
            return {row["chat_id"]: row["readable"] == "1" for row in csv.DictReader(handle)}

    def readable(self) -> list[str]:
        return sorted(chat for chat, ok in self.pages().items() if ok)

    def subscribers(self, day: date) -> dict[str, int]:
        with (self.root / "max" / "truth" / "subscribers_daily.csv").open(encoding="utf-8") as handle:
            return {
                r["chat_id"]: int(r["participants_count"])
                for r in csv.DictReader(handle)
                if r["date"] == day.isoformat()
            }

    def posts(self, first: date, last: date) -> dict[str, int]:
        """Posts per channel created on the Moscow dates first..last."""
        totals: dict[str, int] = {}
        with (self.root / "max" / "truth" / "posts_daily.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if first.isoformat() <= row["date"] <= last.isoformat():
                    totals[row["chat_id"]] = totals.get(row["chat_id"], 0) + int(row["posts"])
        return totals

    def registry_pages(self) -> list[dict[str, str]]:
        """The registry rows of the MAX pages (network ``max``) the world carries."""
        with (self.root / "max" / "registry" / "pages.csv").open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


def run_time(day: date) -> datetime:
    """The scheduled moment of ``day``'s run: 23:30 Moscow time."""
    return datetime.combine(day, time(23, 30), MOSCOW)


def day_end(day: date) -> datetime:
    """The last second of ``day`` in Moscow: the sandbox's clock when a test compares a whole day."""
    return datetime.combine(day, time(23, 59, 59), MOSCOW)


@pytest.fixture(scope="session")
def max_world(tmp_path_factory: pytest.TempPathFactory) -> MaxWorld:
    """The sample region: its registry and its MAX world, from the generator."""
    from sandbox.generator import params
    from sandbox.generator.max_pages import generate_max
    from sandbox.generator.pipeline import write_registry

    root = tmp_path_factory.mktemp("max-region")
    p = params.build("region", "2025-11", 42)
    (root / "registry").mkdir()
    write_registry(p, str(root / "registry"))
    generate_max(p, str(root))
    return MaxWorld(root)


@pytest.fixture(scope="session")
def max_server(max_world: MaxWorld) -> Iterator:
    from sandbox.max_server import serve

    with serve(max_world.root, tokens=[f"{TOKEN}:{BOT_RPS}", f"{SLOW_TOKEN}:1"]) as server:
        yield server


@pytest.fixture
def sandbox(max_server) -> Iterator:
    """The session's sandbox, clean: no faults, stats reset, the clock at the day's end."""
    max_server.clear_faults()
    max_server.reset_stats()
    max_server.set_clock(day_end(DAY))
    yield max_server
    max_server.clear_faults()


def connection(base_url: str, **extra: object) -> str:
    """``gospublic_max`` as Airflow connection JSON."""
    return json.dumps(
        {
            "conn_type": "http",
            "host": base_url,
            "password": TOKEN,
            "extra": {"rps": BOT_RPS, "retry": {"backoff": 0.05, "max_backoff": 0.5}, **extra},
        }
    )


@pytest.fixture
def max_connection(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_MAX", connection(sandbox.base_url))
