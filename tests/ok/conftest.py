"""The sample region's OK world served by the OK sandbox, and an Airflow connection to it."""

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
APP_KEY, APP_SECRET = "CBAOKSANDBOXAPP", "0f0e0d0c0b0a09080706050403020100"
TOKEN = "tkn_sandbox_access_token"
APP_RPS = 10
DAY = date(2025, 11, 20)


@dataclass(frozen=True)
class OkWorld:
    """The generated data folder and its truth, read back from the generator's files."""

    root: Path

    def pages(self) -> dict[str, bool]:
        """gid → readable (closed pages are not)."""
        with (self.root / "ok" / "truth" / "pages.csv").open(encoding="utf-8") as handle:
            return {row["gid"]: row["readable"] == "1" for row in csv.DictReader(handle)}

    def subscribers(self, day: date) -> dict[str, int]:
        with (self.root / "ok" / "truth" / "subscribers_daily.csv").open(encoding="utf-8") as handle:
            return {
                r["gid"]: int(r["members_count"])
                for r in csv.DictReader(handle)
                if r["date"] == day.isoformat()
            }

    def posts(self, first: date, last: date) -> dict[str, int]:
        """Topics per page created on the Moscow dates first..last."""
        totals: dict[str, int] = {}
        with (self.root / "ok" / "truth" / "posts_daily.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if first.isoformat() <= row["date"] <= last.isoformat():
                    totals[row["gid"]] = totals.get(row["gid"], 0) + int(row["posts"])
        return totals


def run_time(day: date) -> datetime:
    """The scheduled moment of ``day``'s run: 23:30 Moscow time."""
    return datetime.combine(day, time(23, 30), MOSCOW)


def day_end(day: date) -> datetime:
    """The last second of ``day`` in Moscow: the sandbox's clock when a test compares a whole day."""
    return datetime.combine(day, time(23, 59, 59), MOSCOW)


@pytest.fixture(scope="session")
def ok_world(tmp_path_factory: pytest.TempPathFactory) -> OkWorld:
    """The sample region (26 OK pages): its registry and its OK world, from the generator."""
    from sandbox.generator import params
    from sandbox.generator.ok_pages import generate_ok
    from sandbox.generator.pipeline import write_registry

    root = tmp_path_factory.mktemp("ok-region")
    p = params.build("region", "2025-11", 42)
    (root / "registry").mkdir()
    write_registry(p, str(root / "registry"))
    generate_ok(p, str(root))
    return OkWorld(root)


@pytest.fixture(scope="session")
def ok_server(ok_world: OkWorld) -> Iterator:
    from sandbox.ok_server import serve

    with serve(ok_world.root, apps=[f"{APP_KEY}:{APP_SECRET}:{APP_RPS}"], tokens=[TOKEN]) as server:
        yield server


@pytest.fixture
def sandbox(ok_server) -> Iterator:
    """The session's sandbox, clean: no faults, stats reset, the clock at the day's run."""
    ok_server.clear_faults()
    ok_server.reset_stats()
    ok_server.set_clock(day_end(DAY))
    yield ok_server
    ok_server.clear_faults()


def connection(base_url: str, **extra: object) -> str:
    """``gospublic_ok`` as Airflow connection JSON."""
    return json.dumps(
        {
            "conn_type": "http",
            "host": base_url,
            "login": APP_KEY,
            "password": TOKEN,
            "extra": {
                "application_secret_key": APP_SECRET,
                "rps": APP_RPS,
                "retry": {"backoff": 0.05, "max_backoff": 0.5},
                **extra,
            },
        }
    )


@pytest.fixture
def ok_connection(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_OK", connection(sandbox.base_url))
