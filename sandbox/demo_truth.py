"""The demo's month beside the sandbox truth, per network (issue 28).

After ``python -m sandbox demo`` the warehouse should hold what the generated worlds say: for each
network, the subscribers of every page-day in ``mart.subscribers_daily`` and the posts of every
page-day in core (``core.fct_post`` for VK, ``core.fct_network_post`` for OK, MAX and Telegram),
the posts' days taken in Moscow time as the truth's are. ``compare`` counts, per network and
measure, the page-days equal to the truth, those that differ, those the truth has and the
warehouse has not (``missing``; ``unreadable`` when the truth marks the page as one the network
does not show) and those only the warehouse has (``extra``). Posts of the month's last day
published after that day's run are read by the next day's run, which the demo does not make:
such page-days with fewer posts than the truth are counted apart (``late``).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
Key = tuple[str, str]  # (page_id, ISO Moscow date)


@dataclass(frozen=True)
class World:
    """Where a network's truth lies in the data set, and what its files call things."""

    network: str
    folder: str  # under the data set ("" for VK's, at its root)
    count_column: str  # the subscribers column of truth/subscribers_daily.csv
    pages_file: str | None  # truth/pages.csv with ``readable`` (None: every page is readable)
    counts_unreadable: bool = False  # the network gives an unreadable page's subscribers all the same


WORLDS = (
    World("vk", "", "members_count", None),
    # a closed OK group's card (group.getInfo) still answers, with its members count
    World("ok", "ok", "members_count", "truth/pages.csv", counts_unreadable=True),
    World("max", "max", "participants_count", "truth/pages.csv"),
    World("tg", "tg", "participants_count", "truth/pages.csv"),
)


@dataclass
class Tally:
    """One measure of one network: page-days compared with the truth."""

    equal: int = 0
    differ: int = 0
    missing: int = 0
    unreadable: int = 0  # missing, on a page the truth marks as unreadable
    late: int = 0  # fewer posts than the truth on the month's last day (posted after its run)
    extra: int = 0

    @property
    def reconciled(self) -> bool:
        return self.differ == 0 and self.missing == 0 and self.extra == 0

    def __str__(self) -> str:
        text = (
            f"{self.equal} page-days equal, {self.differ} differ, {self.missing} missing, {self.extra} extra"
        )
        if self.unreadable:
            text += f"; {self.unreadable} absent on unreadable pages, as expected"
        if self.late:
            text += f"; {self.late} short on the last day by posts after its run"
        return text


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _in_month(day: str, month: str) -> bool:
    """``day`` (ISO) is of ``month`` (YYYY-MM), or of ``month/LAST`` up to its day LAST (ISO)."""
    month, _, last = month.partition("/")
    return day[:7] == month and (not last or day <= last)


def unreadable_pages(data: Path, world: World) -> set[str]:
    """Page ids the truth marks as unreadable (closed, bot not admitted, private, invalid)."""
    if world.pages_file is None:
        return set()
    return {r["page_id"] for r in _rows(data / world.folder / world.pages_file) if r["readable"] != "1"}


def truth_subscribers(data: Path, world: World, month: str) -> dict[Key, int]:
    path = data / world.folder / "truth" / "subscribers_daily.csv"
    return {
        (r["page_id"], r["date"]): int(r[world.count_column])
        for r in _rows(path)
        if _in_month(r["date"], month)
    }


def truth_posts(data: Path, world: World, month: str) -> dict[Key, int]:
    path = data / world.folder / "truth" / "posts_daily.csv"
    found = {(r["page_id"], r["date"]): int(r["posts"]) for r in _rows(path) if _in_month(r["date"], month)}
    return {key: n for key, n in found.items() if n}


def moscow_day(value: Any) -> str:
    """The Moscow calendar date of a timestamp (naive ones are UTC, as the warehouse keeps them)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(MOSCOW).date().isoformat()


def warehouse_subscribers(warehouse: Any, network: str, month: str) -> dict[Key, int]:
    first = date.fromisoformat(f"{month[:7]}-01")
    rows = warehouse.query(
        "SELECT page_id, dt, subscribers FROM mart.subscribers_daily "
        "WHERE network = :network AND month = :month",
        {"network": network, "month": first},
    )
    found = {(r["page_id"], str(r["dt"])[:10]): r["subscribers"] for r in rows}
    return {key: int(n) for key, n in found.items() if n is not None and _in_month(key[1], month)}


def warehouse_posts(warehouse: Any, network: str, month: str) -> dict[Key, int]:
    if network == "vk":
        rows = warehouse.query(
            "SELECT DISTINCT p.page_id, f.post_id AS post_key, f.published_at FROM core.fct_post AS f "
            "JOIN core.dim_page AS p ON p.network = 'vk' AND p.vk_group_id = f.vk_group_id"
        )
    else:
        rows = warehouse.query(
            "SELECT DISTINCT p.page_id, f.post_key, f.published_at FROM core.fct_network_post AS f "
            "JOIN core.dim_page AS p ON p.network = f.network AND p.screen_name = f.page_key "
            "WHERE f.network = :network",
            {"network": network},
        )
    per_day: Counter[Key] = Counter()
    for row in rows:
        day = moscow_day(row["published_at"])
        if _in_month(day, month):
            per_day[(row["page_id"], day)] += 1
    return dict(per_day)


def tally(truth: dict[Key, int], found: dict[Key, int], unreadable: set[str], last_day: str = "") -> Tally:
    """Page-days of ``found`` against ``truth``; for posts, ``last_day`` is the month's last day."""
    result = Tally()
    for key, value in truth.items():
        if key in found and found[key] == value:
            result.equal += 1
        elif key[1] == last_day and found.get(key, 0) < value:
            result.late += 1
        elif key not in found and key[0] in unreadable:
            result.unreadable += 1
        elif key not in found:
            result.missing += 1
        else:
            result.differ += 1
    result.extra = sum(1 for key in found if key not in truth)
    return result


def compare(warehouse: Any, data: Path, month: str, last: date | None = None) -> dict[str, dict[str, Tally]]:
    """network → {"subscribers": Tally, "posts": Tally} for the networks whose world ``data`` holds,
    over ``month`` (YYYY-MM), up to its day ``last`` when given (a shorter demo)."""
    month = f"{month}/{last.isoformat()}" if last else month
    results: dict[str, dict[str, Tally]] = {}
    for world in WORLDS:
        if world.folder and not (data / world.folder / "truth").is_dir():
            continue
        unreadable = unreadable_pages(data, world)
        subscribers = truth_subscribers(data, world, month)
        last_day = max((day for _, day in subscribers), default="")
        results[world.network] = {
            "subscribers": tally(
                subscribers,
                warehouse_subscribers(warehouse, world.network, month),
                set() if world.counts_unreadable else unreadable,
            ),
            "posts": tally(
                truth_posts(data, world, month),
                warehouse_posts(warehouse, world.network, month),
                unreadable,
                last_day,
            ),
        }
    return results


def report(data: Path, month: str, last: date | None = None) -> list[str]:
    """The demo's closing lines: each network's month (up to ``last``) beside the truth."""
    from gospublic.infra.warehouse import Warehouse

    with Warehouse.from_connection() as warehouse:
        results = compare(warehouse, data, month, last)
    lines = []
    for network, measures in results.items():
        for measure, counts in measures.items():
            verdict = "reconciled" if counts.reconciled else "NOT reconciled"
            span = f"{month} to {last.day}" if last else month
            lines.append(f"demo: truth {network} {measure} of {span}: {verdict}: {counts}")
    return lines
