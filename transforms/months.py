"""Months as the project writes them: ``YYYY-MM`` from 2000-01 to 2100-12, parsed in one place.

DAG params, the CLI, the rating and the mart builders all take a month through
:func:`parse_month`, so a month such as ``2025-13``, ``0000-01``, ``9999-12``, ``2025-1`` or
``2025-11-05`` fails with one message naming the value, the form and the range (not a Python
message such as "unconverted data remains" or an ``OverflowError`` from date arithmetic).
"""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timedelta

FIRST_MONTH = date(2000, 1, 1)
LAST_MONTH = date(2100, 12, 1)
# For JSON schema (Airflow Params): the form and the range in one pattern.
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"
MONTH_FORM = f"YYYY-MM between {FIRST_MONTH:%Y-%m} and {LAST_MONTH:%Y-%m}"
_FORM = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})")


class MonthError(ValueError):
    """A month that is not ``YYYY-MM`` within the supported range."""

    def __init__(self, value: object, why: str = "") -> None:
        self.value = value
        detail = f" ({why})" if why else ""
        super().__init__(f"month {value!r} is not a month{detail}: give it as {MONTH_FORM}, e.g. 2025-11")


def parse_month(value: str | date) -> date:
    """The first day of the month ``value`` names: a ``YYYY-MM`` string, or a date (its month)
    within the supported range; raises :class:`MonthError` otherwise."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        first = value.replace(day=1)
    elif isinstance(value, str):
        match = _FORM.fullmatch(value)
        if match is None:
            raise MonthError(value)
        year, month = int(match["year"]), int(match["month"])
        if not 1 <= month <= 12:
            raise MonthError(value, f"there is no month {month:02d}")
        if not FIRST_MONTH.year <= year <= LAST_MONTH.year:
            raise MonthError(value, "out of range")
        first = date(year, month, 1)
    else:
        raise MonthError(value)
    if not FIRST_MONTH <= first <= LAST_MONTH:
        raise MonthError(f"{first:%Y-%m}" if isinstance(value, date) else value, "out of range")
    return first


def format_month(value: str | date) -> str:
    """``YYYY-MM`` of a month (checked by :func:`parse_month`)."""
    return f"{parse_month(value):%Y-%m}"


def month_argument(value: str) -> str:
    """An argparse ``type`` for ``--month``: ``YYYY-MM`` in range, or argparse's usage error."""
    try:
        return format_month(value)
    except MonthError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def month_start(value: date) -> date:
    """The first day of ``value``'s month (any date; no range check)."""
    return value.replace(day=1)


def previous_month(start: date) -> date:
    """The first day of the month before the one starting ``start``."""
    return month_start(start - timedelta(days=1))


def next_month(start: date) -> date:
    """The first day of the month after the one starting ``start``."""
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
