"""Calendar helpers: month bounds, fixed region UTC offsets, the Russian production calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

DAY = 86_400
HOUR = 3_600

# Non-working days besides Saturdays and Sundays, and working Saturdays/Sundays moved by decree.
# Official calendars for 2025 and 2026; other years fall back to fixed public holidays.
_HOLIDAYS = {
    2025: [
        "01-01",
        "01-02",
        "01-03",
        "01-04",
        "01-05",
        "01-06",
        "01-07",
        "01-08",
        "05-01",
        "05-02",
        "05-08",
        "05-09",
        "06-12",
        "06-13",
        "11-03",
        "11-04",
        "12-31",
    ],
    2026: [
        "01-01",
        "01-02",
        "01-03",
        "01-04",
        "01-05",
        "01-06",
        "01-07",
        "01-08",
        "01-09",
        "02-23",
        "03-09",
        "05-01",
        "05-11",
        "06-12",
        "11-04",
        "12-31",
    ],
}
_FIXED_HOLIDAYS = [
    "01-01",
    "01-02",
    "01-03",
    "01-04",
    "01-05",
    "01-06",
    "01-07",
    "01-08",
    "02-23",
    "03-08",
    "05-01",
    "05-09",
    "06-12",
    "11-04",
]
_WORKING_WEEKENDS = {2025: ["11-01"], 2026: []}


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """First day of ``YYYY-MM`` and the first day of the next month."""
    from transforms.months import next_month
    from transforms.months import parse_month as parse

    start = parse(month)
    end = next_month(start)
    return start, end


def utc_offset_seconds(timezone: str, start: dt.date, end: dt.date) -> int:
    """The UTC offset of ``timezone`` over [start, end]; Russian zones have no DST since 2014."""
    zone = ZoneInfo(timezone)
    offsets = {
        int(zone.utcoffset(dt.datetime(day.year, day.month, day.day, 12)).total_seconds())
        for day in (start, end)
    }
    if len(offsets) != 1:
        raise ValueError(f"{timezone} changes its UTC offset between {start} and {end}")
    return offsets.pop()


def epoch(day: dt.date) -> int:
    """Unix seconds of midnight UTC of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def is_working_day(day: dt.date) -> bool:
    """Whether ``day`` is a working day of the Russian production calendar."""
    key = day.strftime("%m-%d")
    if key in _WORKING_WEEKENDS.get(day.year, []):
        return True
    if day.weekday() >= 5:
        return False
    return key not in _HOLIDAYS.get(day.year, _FIXED_HOLIDAYS)


def working_day_table(first: dt.date, days: int) -> np.ndarray:
    """Boolean array: working-day flag for ``days`` consecutive days from ``first``."""
    return np.array([is_working_day(first + dt.timedelta(days=i)) for i in range(days)], dtype=bool)


def add_working_days(day_index: np.ndarray, n_days: np.ndarray, working: np.ndarray) -> np.ndarray:
    """Index of the day ``n_days`` working days after ``day_index`` (vectorized, table-based)."""
    cumulative = np.cumsum(working)  # working days up to and including each day
    target = cumulative[day_index] + n_days
    return np.searchsorted(cumulative, target, side="left")
