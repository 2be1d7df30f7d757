"""The steps of the ``warehouse_build`` DAG, callable without Airflow (tests, CLI)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.marts.check import check_month
from gospublic.marts.results import MonthBuilt
from transforms.months import format_month, month_start, parse_month, previous_month

MOSCOW = ZoneInfo("Europe/Moscow")


def months_to_build(month: str | None, run_after: datetime) -> list[str]:
    """``month`` ("YYYY-MM") when given; else the Moscow month of ``run_after`` and the one before.

    The month before is rebuilt too: month-end exports arrive on the 1st and VK metrics of last
    month's posts keep growing for a while.
    """
    if month:
        return [format_month(month)]
    current = month_start(run_after.astimezone(MOSCOW).date())
    previous = previous_month(current)
    return [f"{previous:%Y-%m}", f"{current:%Y-%m}"]


def _first_day(month: str) -> date:
    return parse_month(month)


def build(months: list[str]) -> list[MonthBuilt]:
    """Incident timing, then every mart model, month by month."""
    firsts = [_first_day(m) for m in months]  # a bad month fails before the warehouse opens
    with Warehouse.from_connection() as warehouse:
        return [build_month(warehouse, first) for first in firsts]


def check(months: list[str]) -> dict[str, dict[str, int]]:
    """GE suites and reconciliation of each rebuilt month: checks run per mart, by month."""
    firsts = {m: _first_day(m) for m in months}
    with Warehouse.from_connection() as warehouse:
        return {m: check_month(warehouse, first) for m, first in firsts.items()}
