"""The sample region's Telegram world, the sandbox answering Telethon from it, and the Airflow
connection ``gospublic_telegram_mtproto`` of a reading account the sandbox knows."""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

MOSCOW = ZoneInfo("Europe/Moscow")
API_ID, API_HASH = 611335, "5e9c7a1b2d3f40718293a4b5c6d7e8f9"
DAY = date(2025, 11, 20)
QUIET_SPAN = 1800  # seconds a run may take on the sandbox's clock (pauses and flood waits)


def make_session(seed: int) -> str:
    """A StringSession of a logged-in account: a data centre and a 2048-bit auth key."""
    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes((seed * 7 + i) % 256 for i in range(256)))
    return str(session.save())


SESSION = make_session(1)


@dataclass(frozen=True)
class TgWorldFiles:
    """The generated data folder and its truth, read back from the generator's files."""

    root: Path

    def pages(self) -> dict[str, bool]:
        """username → readable (private channels are not)."""
        with (self.root / "tg" / "truth" / "pages.csv").open(encoding="utf-8") as handle:
            return {row["username"]: row["readable"] == "1" for row in csv.DictReader(handle)}

    def reasons(self) -> dict[str, str]:
        """username → why it cannot be read ("private", "invalid_username"), readable ones left out."""
        with (self.root / "tg" / "truth" / "pages.csv").open(encoding="utf-8") as handle:
            return {row["username"]: row["reason"] for row in csv.DictReader(handle) if row["reason"]}

    def subscribers(self, day: date) -> dict[str, int]:
        with (self.root / "tg" / "truth" / "subscribers_daily.csv").open(encoding="utf-8") as handle:
            return {
                r["username"]: int(r["participants_count"])
                for r in csv.DictReader(handle)
                if r["date"] == day.isoformat()
            }

    def posts(self, first: date, last: date) -> dict[str, int]:
        """Posts per readable channel published on the Moscow dates first..last."""
        totals: dict[str, int] = {}
        with (self.root / "tg" / "truth" / "posts_daily.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if first.isoformat() <= row["date"] <= last.isoformat():
                    totals[row["username"]] = totals.get(row["username"], 0) + int(row["posts"])
        return totals

    def post_times(self) -> dict[str, list[int]]:
        """username → unix seconds of its posts (every channel, from messages.jsonl.gz)."""
        found: dict[str, list[int]] = {}
        with gzip.open(self.root / "tg" / "messages.jsonl.gz", "rt", encoding="utf-8") as lines:
            for line in lines:
                post = json.loads(line)
                found.setdefault(post["username"], []).append(int(post["date"]))
        return found

    def posts_until(self, first: datetime, until: float) -> dict[str, int]:
        """Posts per readable channel published from ``first`` up to unix second ``until``."""
        readable = {name for name, ok in self.pages().items() if ok}
        counts = {
            name: sum(first.timestamp() <= t <= until for t in times)
            for name, times in self.post_times().items()
            if name in readable
        }
        return {name: n for name, n in counts.items() if n}

    def quiet_moment(self, day: date, span: int = QUIET_SPAN) -> datetime:
        """The latest minute of ``day`` (Moscow) after which no channel posts for ``span`` seconds
        and the day does not end: a run reading from then sees the same posts whatever it waits."""
        times = sorted(t for ts in self.post_times().values() for t in ts)
        moment = datetime.combine(day, time(23, 59), MOSCOW) - timedelta(seconds=span)
        while any(moment.timestamp() < t <= moment.timestamp() + span for t in times):
            moment -= timedelta(minutes=1)
        return moment


def run_time(day: date) -> datetime:
    """The scheduled moment of ``day``'s tg_pages run: 23:45 Moscow time."""
    return datetime.combine(day, time(23, 45), MOSCOW)


def day_end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), MOSCOW)


@pytest.fixture(scope="session")
def tg_world(tmp_path_factory: pytest.TempPathFactory) -> TgWorldFiles:
    """The sample region (28 Telegram pages): its registry and its Telegram world."""
    from sandbox.generator import params
    from sandbox.generator.pipeline import write_registry
    from sandbox.generator.tg_pages import generate_tg

    root = tmp_path_factory.mktemp("tg-region")
    p = params.build("region", "2025-11", 42)
    (root / "registry").mkdir()
    write_registry(p, str(root / "registry"))
    generate_tg(p, str(root))
    return TgWorldFiles(root)


@pytest.fixture
def tg_sandbox(tg_world: TgWorldFiles):
    """A fresh sandbox over the world: no faults, the clock at a quiet moment late in the day
    (reading moves it: one second a request, and every FLOOD_WAIT sat out)."""
    from sandbox.tg_sandbox import TelegramSandbox

    sandbox = TelegramSandbox.from_data(tg_world.root, api_id=API_ID, api_hash=API_HASH, sessions=[SESSION])
    sandbox.set_clock(tg_world.quiet_moment(DAY))
    return sandbox


def connection(session: str = SESSION, **extra: object) -> str:
    """``gospublic_telegram_mtproto`` as Airflow connection JSON."""
    return json.dumps(
        {
            "conn_type": "generic",
            "login": str(API_ID),
            "password": API_HASH,
            "extra": {"session": session, **extra},
        }
    )


@pytest.fixture
def tg_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", connection())
