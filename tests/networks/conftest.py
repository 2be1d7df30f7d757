"""OK, MAX and Telegram worlds for the warehouse tests: each network's sandbox (the fixtures of
tests/ok, tests/max and tests/telegram), its registry loaded, and a way to extract a day into the
lake through the network's own steps, as its DAG does. ``network_case`` gives one per network."""

from __future__ import annotations

import csv
import functools
import gzip
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from sandbox.tg_sandbox.world import grown
from tests.max.conftest import connection as max_connection
from tests.max.conftest import max_server, max_world  # noqa: F401 (fixtures used by name)
from tests.ok.conftest import connection as ok_connection
from tests.ok.conftest import ok_server, ok_world  # noqa: F401 (fixtures used by name)
from tests.registry_csv import rows, write
from tests.telegram.conftest import API_HASH, API_ID, SESSION, tg_world  # noqa: F401
from tests.telegram.conftest import connection as tg_connection

MOSCOW = ZoneInfo("Europe/Moscow")
DAYS = (date(2025, 11, 18), date(2025, 11, 19), date(2025, 11, 20))  # extracted, in this order
WINDOW_DAYS = 7  # the extractions' re-read window (their daily.WINDOW_DAYS)
MONTH = date(2025, 11, 1)


def moscow_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), MOSCOW)


def run_time(day: date) -> datetime:
    """The scheduled moment of ``day``'s run (23:30 Moscow), as the DAG's logical date."""
    return datetime.combine(day, time(23, 30), MOSCOW).astimezone(UTC)


def day_end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), MOSCOW)


@dataclass
class NetworkCase:
    """One network's world, how to extract a day of it, and its truth by page id."""

    network: str  # the registry's code
    root: Path  # the generated data folder (its <folder>/truth)
    folder: str  # ok, max, tg
    key: str  # the truth's column of the network's page key (gid, chat_id, username)
    count: str  # the truth's column of subscribers
    closed_cards: bool  # an unreadable page still answers the network's card call (OK)
    extract: Callable[[date, str], None]  # extract a day (plan, batches, finish) as run_id
    steps: Any  # the network's steps module
    last_run_start: Callable[[], datetime]  # when the last extracted day's run started reading
    post_times: Callable[[], dict[str, list[int]]] | None = None  # page key → unix seconds (Telegram)
    # (page key, post key) → (published unix s, growth constant h, final comments); None: no counts (MAX)
    comment_world: Callable[[], dict[tuple[str, str], tuple[float, float, int | None]]] | None = None
    # day → the sandbox's clock when that day's run started and ended reading (unix s)
    clocks: dict[date, tuple[float, float]] = field(default_factory=dict)

    def _csv(self, name: str) -> list[dict[str, str]]:
        with (self.root / self.folder / "truth" / name).open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def readable(self) -> dict[str, bool]:
        """page_id → readable."""
        return {r["page_id"]: r["readable"] == "1" for r in self._csv("pages.csv")}

    def subscribers(self, days: tuple[date, ...]) -> dict[tuple[str, date], int]:
        """(page_id, day) → subscribers, for the pages whose card the network answers."""
        readable = self.readable()
        wanted = {d.isoformat() for d in days}
        return {
            (r["page_id"], date.fromisoformat(r["date"])): int(r[self.count])
            for r in self._csv("subscribers_daily.csv")
            if r["date"] in wanted and (self.closed_cards or readable[r["page_id"]])
        }

    def page_fields(self) -> dict[str, dict[str, bool]]:
        """page_id → the card's compliance fields the world gave it (truth/page_fields.csv)."""
        return {
            r["page_id"]: {k: v == "1" for k, v in r.items() if k not in ("page_id", self.key)}
            for r in self._csv("page_fields.csv")
        }

    def comments(self, page_key: str, post_key: str, observed: date) -> tuple[int, int] | None:
        """The comments count a post showed when last read on day ``observed``: the least and most
        it could be over that run's clock (the same for OK and MAX, whose clock stands still);
        None where the post carries no count (MAX; a Telegram channel without discussion)."""
        if self.comment_world is None:
            return None
        posted, tau, final = self.comment_world()[(page_key, post_key)]
        if final is None:
            return None
        start, end = self.clocks[observed]
        return grown(final, posted, start, tau), grown(final, posted, end, tau)

    def posts(self, first: date, last: date) -> dict[tuple[str, date], int]:
        """(page_id, Moscow day) → posts of the readable pages, days first..last; where the last
        run started before the day ended (Telegram's quiet moment), only posts published by then."""
        readable = self.readable()
        if self.post_times is not None:
            page_ids = {r[self.key]: r["page_id"] for r in self._csv("pages.csv")}
            start, until = moscow_midnight(first).timestamp(), self.last_run_start().timestamp()
            found: dict[tuple[str, date], int] = {}
            for key, times in self.post_times().items():
                if not readable[page_ids[key]]:
                    continue
                for t in times:
                    if start <= t <= until:
                        day = datetime.fromtimestamp(t, MOSCOW).date()
                        found[(page_ids[key], day)] = found.get((page_ids[key], day), 0) + 1
            return found
        return {
            (r["page_id"], date.fromisoformat(r["date"])): int(r["posts"])
            for r in self._csv("posts_daily.csv")
            if first.isoformat() <= r["date"] <= last.isoformat() and readable[r["page_id"]]
            and int(r["posts"]) > 0
        }  # fmt: skip


def _extract(steps: Any, options: Callable[[], dict[str, Any]] | None = None) -> Callable[[date, str], None]:
    def run(day: date, run_id: str) -> None:
        when = run_time(day)
        extra = options() if options else {}
        outcomes = [steps.extract(batch, when, run_id, **extra) for batch in steps.plan(when)]
        steps.finish(when, run_id, outcomes)

    return run


@pytest.fixture
def networks_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lake folder of this test's own (the gospublic_lake connection)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE",
        json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}),
    )
    return tmp_path / "lake"


@pytest.fixture
def ok_case(migrated: Warehouse, ok_world, ok_server, networks_lake, monkeypatch) -> NetworkCase:  # noqa: F811
    from gospublic.ok import steps

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_OK", ok_connection(ok_server.base_url))
    ok_server.clear_faults()
    load_registry(migrated, ok_world.root / "registry")

    def extract(day: date, run_id: str) -> None:
        ok_server.set_clock(day_end(day))
        _extract(steps)(day, run_id)

    def comment_world() -> dict[tuple[str, str], tuple[float, float, int | None]]:
        """The OK sandbox grows a topic's comments as the Telegram one (``grown``), from its
        creation second."""
        found: dict[tuple[str, str], tuple[float, float, int | None]] = {}
        with gzip.open(ok_world.root / "ok" / "topics.jsonl.gz", "rt", encoding="utf-8") as lines:
            for line in lines:
                topic = json.loads(line)
                created, final = int(topic["created_ms"]) // 1000, int(topic["_final"]["comments"])
                found[(topic["_gid"], topic["id"])] = (created, topic["_tau_hours"], final)
        return found

    clocks = {day: (day_end(day).timestamp(), day_end(day).timestamp()) for day in DAYS}
    return NetworkCase(
        "ok", ok_world.root, "ok", "gid", "members_count", True, extract, steps, lambda: day_end(DAYS[-1]),
        comment_world=functools.cache(comment_world), clocks=clocks,
    )  # fmt: skip


@pytest.fixture
def max_case(migrated: Warehouse, max_world, max_server, networks_lake, monkeypatch) -> NetworkCase:  # noqa: F811
    from gospublic.max import steps

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_MAX", max_connection(max_server.base_url))
    max_server.clear_faults()
    registry = networks_lake.parent / "registry"  # the registry with the MAX world's pages (network max)
    shutil.copytree(max_world.root / "registry", registry)
    write(registry / "pages.csv", rows(registry / "pages.csv") + max_world.registry_pages())
    assert load_registry(migrated, registry)["quarantined"] == 0

    def extract(day: date, run_id: str) -> None:
        max_server.set_clock(day_end(day))
        _extract(steps)(day, run_id)

    return NetworkCase(
        "max", max_world.root, "max", "chat_id", "participants_count", False, extract, steps,
        lambda: day_end(DAYS[-1]),
    )  # fmt: skip


@pytest.fixture
def tg_case(migrated: Warehouse, tg_world, networks_lake, monkeypatch) -> NetworkCase:  # noqa: F811
    from gospublic.telegram import steps
    from sandbox.tg_sandbox import TelegramSandbox

    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO", tg_connection())
    load_registry(migrated, tg_world.root / "registry")
    started: dict[str, datetime] = {}

    def extract(day: date, run_id: str) -> None:
        # A sandbox per day, its clock at a quiet moment late in the day (no post is published
        # while the run reads, so what it reads is known: every post up to that moment).
        sandbox = TelegramSandbox.from_data(
            tg_world.root, api_id=API_ID, api_hash=API_HASH, sessions=[SESSION]
        )
        started["last"] = tg_world.quiet_moment(day)
        sandbox.set_clock(started["last"])
        options = sandbox.reader_options()  # its client, and its clock to wait on and pace by
        _extract(steps, lambda: options)(day, run_id)
        clocks[day] = (started["last"].timestamp(), sandbox.clock.now)

    def comment_world() -> dict[tuple[str, str], tuple[float, float, int | None]]:
        found: dict[tuple[str, str], tuple[float, float, int | None]] = {}
        with gzip.open(tg_world.root / "tg" / "messages.jsonl.gz", "rt", encoding="utf-8") as lines:
            for line in lines:
                post = json.loads(line)
                found[(post["username"], str(post["id"]))] = (
                    float(post["date"]), float(post["tau_hours"]), post["replies"]
                )  # fmt: skip
        return found

    clocks: dict[date, tuple[float, float]] = {}
    return NetworkCase(
        "tg", tg_world.root, "tg", "username", "participants_count", False, extract, steps,
        lambda: started["last"], tg_world.post_times, functools.cache(comment_world), clocks,
    )  # fmt: skip


@pytest.fixture(params=["ok", "max", "tg"])
def network_case(request: pytest.FixtureRequest) -> NetworkCase:
    case: NetworkCase = request.getfixturevalue(f"{request.param}_case")
    return case


def window_start(day: date) -> datetime:
    return moscow_midnight(day - timedelta(days=WINDOW_DAYS))
