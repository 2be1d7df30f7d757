"""The Russian production calendar (производственный календарь): which days work, which are shorter.

Sources, in order:

1. ``holidays.Russia`` (python-holidays): statutory holidays (ТК РФ ст. 112), their automatic
   moves, the yearly decree's transfers and the weekend days a decree makes working.
2. A rule for pre-holiday days (ТК РФ ст. 95): a working day immediately followed by a statutory
   non-working holiday is one hour shorter. The library does not know these days.
3. ``config/production_calendar/ru.yaml``: what the rule cannot settle (is a weekend day made
   working by a decree shortened?) and corrections of the library, each with its source.

The calendar is about dates only; hours and time zones live in :mod:`transforms.worktime`.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import holidays
import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "production_calendar" / "ru.yaml"

# ТК РФ ст. 112 (in force since 2013): non-working holidays, as (month, day).
STATUTORY_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, day) for day in range(1, 9)} | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}
)


class UnsettledCalendarWarning(UserWarning):
    """The calendar met a case the override table does not settle; the result may be off."""


@dataclass(frozen=True)
class CalendarOverrides:
    """The contents of ``ru.yaml``: corrections on top of the library, keyed by date."""

    weekend_workdays_shortened: dict[dt.date, bool] = field(default_factory=dict)
    extra_days_off: frozenset[dt.date] = frozenset()
    extra_working_days: frozenset[dt.date] = frozenset()
    extra_shortened_days: frozenset[dt.date] = frozenset()
    reference_totals: dict[int, dict[str, Any]] = field(default_factory=dict)
    decrees: dict[int, str] = field(default_factory=dict)


def load_overrides(path: Path | str | None = None) -> CalendarOverrides:
    """Read the override table (default ``config/production_calendar/ru.yaml``)."""
    path = Path(path or os.environ.get("GOSPUBLIC_PRODUCTION_CALENDAR", str(DEFAULT_CONFIG)))
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def dates(key: str) -> frozenset[dt.date]:
        return frozenset(_as_date(value, path, key) for value in raw.get(key) or {})

    workdays = raw.get("weekend_workdays") or {}
    for day, entry in workdays.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("shortened"), bool):
            raise ValueError(f"{path}: weekend_workdays.{day}: needs `shortened: true|false`")
    return CalendarOverrides(
        weekend_workdays_shortened={
            _as_date(day, path, "weekend_workdays"): entry["shortened"] for day, entry in workdays.items()
        },
        extra_days_off=dates("extra_days_off"),
        extra_working_days=dates("extra_working_days"),
        extra_shortened_days=dates("extra_shortened_days"),
        reference_totals={int(year): dict(v) for year, v in (raw.get("reference_totals") or {}).items()},
        decrees={int(year): str(v) for year, v in (raw.get("decrees") or {}).items()},
    )


def _as_date(value: Any, path: Path, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{path}: {key}: {value!r} is not an ISO date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class DayInfo:
    """One date of the production calendar (five-day week)."""

    date: dt.date
    is_working_day: bool
    is_shortened: bool  # pre-holiday day: one hour shorter
    is_day_off_on_weekday: bool  # a holiday or a transferred day off falling Monday to Friday
    is_weekend_workday: bool  # a Saturday or Sunday made working by a decree


class ProductionCalendar:
    """The Russian production calendar for a five-day week, built per year and cached."""

    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self.overrides = overrides if overrides is not None else load_overrides()
        self._years: dict[int, holidays.HolidayBase] = {}
        self._warned: set[dt.date] = set()

    def _library(self, year: int) -> holidays.HolidayBase:
        if year not in self._years:
            self._years[year] = holidays.country_holidays("RU", years=year)
        return self._years[year]

    def is_working_day(self, day: dt.date) -> bool:
        """True when ``day`` is a working day of the five-day week."""
        if day in self.overrides.extra_days_off:
            return False
        if day in self.overrides.extra_working_days:
            return True
        return bool(self._library(day.year).is_working_day(day))

    def is_day_off(self, day: dt.date) -> bool:
        """True for a holiday or a day off moved by a decree, on any weekday (not plain weekends)."""
        if day in self.overrides.extra_days_off:
            return True
        if day in self.overrides.extra_working_days:
            return False
        return day in self._library(day.year)

    def is_weekend_workday(self, day: dt.date) -> bool:
        """True for a Saturday or Sunday made working (by a decree or an override)."""
        return day.weekday() >= 5 and self.is_working_day(day)

    def is_shortened(self, day: dt.date) -> bool:
        """True for a pre-holiday working day, one hour shorter (ТК РФ ст. 95)."""
        if not self.is_working_day(day):
            return False
        if day in self.overrides.extra_shortened_days:
            return True
        if day.weekday() >= 5:
            settled = self.overrides.weekend_workdays_shortened.get(day)
            if settled is not None:
                return settled
            if not is_statutory_holiday(day + dt.timedelta(days=1)) and day not in self._warned:
                self._warned.add(day)
                _warn_unsettled(day)
        return is_statutory_holiday(day + dt.timedelta(days=1))

    def day(self, day: dt.date) -> DayInfo:
        """Everything the calendar knows about ``day``."""
        working = self.is_working_day(day)
        return DayInfo(
            date=day,
            is_working_day=working,
            is_shortened=self.is_shortened(day),
            is_day_off_on_weekday=day.weekday() < 5 and not working,
            is_weekend_workday=day.weekday() >= 5 and working,
        )

    def working_days(self, year: int) -> int:
        """Number of working days of the five-day week in ``year``."""
        return sum(self.is_working_day(day) for day in days_of_year(year))

    def shortened_days(self, year: int) -> list[dt.date]:
        """The pre-holiday (shortened) working days of ``year``."""
        return [day for day in days_of_year(year) if self.is_shortened(day)]


def is_statutory_holiday(day: dt.date) -> bool:
    """True for a non-working holiday of ТК РФ ст. 112 (not for days off moved by a decree)."""
    return (day.month, day.day) in STATUTORY_HOLIDAYS


def days_of_year(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


def _warn_unsettled(day: dt.date) -> None:
    warnings.warn(
        f"{day}: a weekend day made working by a decree is not settled in ru.yaml "
        "(weekend_workdays); treating it as a full day. Check Минтруд's calendar and add it.",
        UnsettledCalendarWarning,
        stacklevel=3,
    )


@functools.cache
def default_calendar() -> ProductionCalendar:
    """The calendar with the project's override table, shared by the process."""
    return ProductionCalendar()
