"""Working time on the Russian production calendar, in a region's own time zone.

A :class:`WorkSchedule` (default 09:00–18:00, break 13:00–14:00, Monday to Friday, pre-holiday
days one hour shorter) is laid over :mod:`transforms.production_calendar`. Every calendar day
gets its working intervals on the local wall clock; a table of cumulative working microseconds
per day then answers "working time between two instants" as ``cum(end) - cum(start)``, for one
pair (:func:`work_hours_between`) or a million (:func:`work_hours_between_many`) with the same
integer arithmetic, hence identical results. :func:`calendar_table` exports the same table for
the warehouse (``core.dim_calendar``) so SQL computes the same numbers.

Instants must be time-zone aware; the schedule is applied on the wall clock of ``tz`` (an IANA
name such as ``Europe/Kaliningrad`` … ``Asia/Kamchatka``). Russia has had no daylight saving
time since 2014; for older dates a wall-clock hour that a clock change removed or repeated
inside working hours would be counted on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from transforms.production_calendar import ProductionCalendar, default_calendar, is_statutory_holiday

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
MAX_ADD_YEARS = 20  # add_work_hours looks this far ahead for the deadline at most


@dataclass(frozen=True)
class WorkSchedule:
    """A body's working hours on the local wall clock.

    ``weekdays`` are Python weekdays (Monday = 0). A day works when its weekday is in
    ``weekdays`` and the production calendar does not make it a day off, or when a decree makes
    a weekend day working. ``pre_holiday_shortening_hours`` are cut from the end of a pre-holiday
    day. ``extra_days_off`` / ``extra_working_days`` hold a region's own days (e.g. a republic's
    holidays).
    """

    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)
    breaks: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(13, 0), dt.time(14, 0)),)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    pre_holiday_shortening_hours: float = 1.0
    extra_days_off: frozenset[dt.date] = field(default=frozenset())
    extra_working_days: frozenset[dt.date] = field(default=frozenset())

    def __post_init__(self) -> None:
        # Accept lists and sets from callers and YAML; keep the schedule hashable (it keys caches).
        object.__setattr__(self, "breaks", tuple((start, end) for start, end in self.breaks))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        if self.day_start >= self.day_end:
            raise ValueError(
                f"WorkSchedule: day_start {self.day_start} must be before day_end {self.day_end}"
            )
        previous_end = self.day_start
        for start, end in self.breaks:
            if not previous_end <= start < end <= self.day_end:
                raise ValueError(
                    f"WorkSchedule: break {start}–{end} must lie inside the day, in order, without overlap"
                )
            previous_end = end
        if not set(self.weekdays) <= set(range(7)):
            raise ValueError(f"WorkSchedule: weekdays must be 0 (Monday) … 6 (Sunday), got {self.weekdays}")
        if self.pre_holiday_shortening_hours < 0:
            raise ValueError("WorkSchedule: pre_holiday_shortening_hours must not be negative")

    def intervals(self, shortened: bool) -> tuple[tuple[int, int], ...]:
        """Working intervals of a working day, microseconds since local midnight."""
        bounds = [_us(self.day_start)]
        for start, end in self.breaks:
            bounds += [_us(start), _us(end)]
        bounds.append(_us(self.day_end))
        spans = [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if b > a]
        cut = round(self.pre_holiday_shortening_hours * US_PER_HOUR) if shortened else 0
        while cut > 0 and spans:
            span_start, span_end = spans.pop()
            if span_end - span_start > cut:
                spans.append((span_start, span_end - cut))
            cut -= span_end - span_start
        return tuple(spans)


DEFAULT_SCHEDULE = WorkSchedule()


def _us(value: dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _time(us: int) -> dt.time:
    if us >= US_PER_DAY:
        raise ValueError("a working interval ending at 24:00 cannot be written as a time of day")
    return (dt.datetime.min + dt.timedelta(microseconds=us)).time()


def day_intervals(
    day: dt.date, schedule: WorkSchedule | None = None, calendar: ProductionCalendar | None = None
) -> tuple[tuple[int, int], ...]:
    """Working intervals of ``day`` (microseconds since local midnight); empty on a day off."""
    schedule = schedule or DEFAULT_SCHEDULE
    calendar = calendar or default_calendar()
    if not _is_working_day(day, schedule, calendar):
        return ()
    return schedule.intervals(_is_shortened(day, calendar))


def _is_working_day(day: dt.date, schedule: WorkSchedule, calendar: ProductionCalendar) -> bool:
    if day in schedule.extra_days_off:
        return False
    if day in schedule.extra_working_days or calendar.is_weekend_workday(day):
        return True
    return day.weekday() in schedule.weekdays and not calendar.is_day_off(day)


def _is_shortened(day: dt.date, calendar: ProductionCalendar) -> bool:
    # The second clause covers schedules that work on weekends (a Saturday before 23 February).
    return calendar.is_shortened(day) or is_statutory_holiday(day + dt.timedelta(days=1))


# --- the cumulative table -------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Per-day working intervals and cumulative working microseconds for whole years."""

    first_year: int
    last_year: int
    first_day: int  # days since 1970-01-01 of 1 January of first_year
    starts: np.ndarray  # (n_days, k) int64, microseconds since local midnight
    ends: np.ndarray  # (n_days, k) int64; padding intervals are (0, 0)
    cum_before: np.ndarray  # (n_days + 1,) int64: working microseconds before each day


@functools.lru_cache(maxsize=64)
def _table(first_year: int, last_year: int, schedule: WorkSchedule) -> _Table:
    calendar = default_calendar()
    first = dt.date(first_year, 1, 1)
    n_days = (dt.date(last_year + 1, 1, 1) - first).days
    days = [first + dt.timedelta(days=i) for i in range(n_days)]
    per_day = [day_intervals(day, schedule, calendar) for day in days]
    k = max(1, len(schedule.breaks) + 1)
    starts = np.zeros((n_days, k), dtype=np.int64)
    ends = np.zeros((n_days, k), dtype=np.int64)
    for i, spans in enumerate(per_day):
        for j, (start, end) in enumerate(spans):
            starts[i, j], ends[i, j] = start, end
    cum_before = np.zeros(n_days + 1, dtype=np.int64)
    np.cumsum((ends - starts).sum(axis=1), out=cum_before[1:])
    return _Table(first_year, last_year, first.toordinal() - _EPOCH_DAY, starts, ends, cum_before)


def _table_for_years(years: Iterable[int], schedule: WorkSchedule) -> _Table:
    years = list(years)
    return _table(min(years), max(years), schedule)


def _cum_scalar(table: _Table, wall_us: int) -> int:
    day, us_of_day = divmod(wall_us, US_PER_DAY)
    i = day - table.first_day
    worked = 0
    for start, end in zip(table.starts[i].tolist(), table.ends[i].tolist(), strict=True):
        worked += min(max(us_of_day, start), end) - start
    return int(table.cum_before[i]) + worked


def _cum_many(table: _Table, wall_us: np.ndarray) -> np.ndarray:
    day, us_of_day = np.divmod(wall_us, US_PER_DAY)
    i = day - table.first_day
    starts, ends = table.starts[i], table.ends[i]
    worked = (np.clip(us_of_day[:, None], starts, ends) - starts).sum(axis=1)
    cum: np.ndarray = table.cum_before[i] + worked
    return cum


def _wall_us(moment: dt.datetime, zone: ZoneInfo) -> int:
    """Microseconds since 1970-01-01 on the local wall clock of ``zone``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: pass a time-zone aware datetime "
            "(e.g. registered_at.replace(tzinfo=ZoneInfo('Europe/Moscow')))"
        )
    wall = moment.astimezone(zone).replace(tzinfo=None)
    return (wall - _EPOCH) // dt.timedelta(microseconds=1)


# --- public API ------------------------------------------------------------------------------


def work_hours_between(
    start: dt.datetime, end: dt.datetime, tz: str = "Europe/Moscow", schedule: WorkSchedule | None = None
) -> float:
    """Working hours between two aware instants on the schedule in time zone ``tz``.

    Returns 0.0 when ``end <= start`` (an answer logged before its registration is not negative
    time). Raises ValueError for naive datetimes. Microsecond precision.
    """
    zone = ZoneInfo(tz)
    start_us, end_us = _wall_us(start, zone), _wall_us(end, zone)
    if end <= start:
        return 0.0
    schedule = schedule or DEFAULT_SCHEDULE
    table = _table_for_years({_year(start_us), _year(end_us)}, schedule)
    return (_cum_scalar(table, end_us) - _cum_scalar(table, start_us)) / US_PER_HOUR


def work_hours_between_many(
    starts: ArrayLike | pd.Series,
    ends: ArrayLike | pd.Series,
    tz: str = "Europe/Moscow",
    schedule: WorkSchedule | None = None,
) -> np.ndarray:
    """Vectorized :func:`work_hours_between` for arrays or Series of tz-aware timestamps.

    Returns a float64 numpy array: 0.0 where ``end <= start``, NaN where either side is missing
    (NaT), e.g. an incident not answered yet. Results equal the scalar function's exactly.
    """
    start_us, start_missing = _wall_us_many(starts, tz, "starts")
    end_us, end_missing = _wall_us_many(ends, tz, "ends")
    if start_us.shape != end_us.shape:
        raise ValueError(f"starts and ends differ in length: {start_us.size} != {end_us.size}")
    missing = start_missing | end_missing
    result = np.full(start_us.shape, np.nan)
    if (~missing).any():
        years = _year_many(np.concatenate([start_us[~missing], end_us[~missing]]))
        table = _table_for_years((int(years.min()), int(years.max())), schedule or DEFAULT_SCHEDULE)
        a, b = start_us[~missing], end_us[~missing]
        worked = _cum_many(table, b) - _cum_many(table, a)
        result[~missing] = np.where(b > a, worked, 0) / US_PER_HOUR
    return result


def work_days_between_many(
    starts: ArrayLike | pd.Series,
    ends: ArrayLike | pd.Series,
    tz: str = "Europe/Moscow",
    schedule: WorkSchedule | None = None,
) -> np.ndarray:
    """Working days from each start to its end, counted as Russian terms in working days run
    (ГК РФ ст. 191, 193): from the day after the start's local day up to and including the end's
    local day. An answer on the day of registration is 0, on the next working day 1; a body that
    answered within "N working days" has a value of at most N.

    A float64 numpy array: 0 where ``end <= start``, NaN where either side is missing.
    """
    start_us, start_missing = _wall_us_many(starts, tz, "starts")
    end_us, end_missing = _wall_us_many(ends, tz, "ends")
    if start_us.shape != end_us.shape:
        raise ValueError(f"starts and ends differ in length: {start_us.size} != {end_us.size}")
    missing = start_missing | end_missing
    result = np.full(start_us.shape, np.nan)
    if (~missing).any():
        a, b = start_us[~missing], end_us[~missing]
        years = _year_many(np.concatenate([a, b]))
        table = _table_for_years((int(years.min()), int(years.max())), schedule or DEFAULT_SCHEDULE)
        days_before = np.zeros(len(table.starts) + 1, dtype=np.int64)
        np.cumsum((table.ends - table.starts).sum(axis=1) > 0, out=days_before[1:])
        first = a // US_PER_DAY - table.first_day
        last = b // US_PER_DAY - table.first_day
        counted = days_before[last + 1] - days_before[first + 1]
        result[~missing] = np.where(b > a, counted, 0)
    return result


def _wall_us_many(values: ArrayLike | pd.Series, tz: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock microseconds since 1970 and a mask of missing values."""
    try:
        index = pd.DatetimeIndex(values)
    except (TypeError, ValueError):  # aware datetimes with different offsets, or naive among aware
        objects = pd.Series(values, dtype=object)
        if any(getattr(v, "tzinfo", None) is None for v in objects if not pd.isna(v)):
            raise ValueError(f"{name}: naive timestamps among aware ones; pass only tz-aware ones") from None
        index = pd.DatetimeIndex(pd.to_datetime(objects, utc=True))
    if index.tz is None:
        raise ValueError(
            f"{name}: timestamps are naive; pass tz-aware ones (e.g. Series.dt.tz_localize('UTC'))"
        )
    wall = index.tz_convert(tz).tz_localize(None).as_unit("us")
    return wall.asi8.astype(np.int64), np.asarray(wall.isna())


def _year(wall_us: int) -> int:
    return dt.date.fromordinal(_EPOCH_DAY + wall_us // US_PER_DAY).year


def _year_many(wall_us: np.ndarray) -> np.ndarray:
    return (wall_us // US_PER_DAY).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def add_work_hours(
    start: dt.datetime, hours: float, tz: str = "Europe/Moscow", schedule: WorkSchedule | None = None
) -> dt.datetime:
    """The earliest instant by which ``hours`` working hours have passed since ``start``.

    A deadline: registration + N working hours (Sevastopol: 9). Returned in time zone ``tz``.
    If the deadline falls on the end of a working interval, that end is returned (18:00 on the
    same day, not 09:00 the next morning). ``hours`` must not be negative.
    """
    if hours < 0:
        raise ValueError(f"hours must not be negative, got {hours}")
    zone = ZoneInfo(tz)
    start_us = _wall_us(start, zone)
    if hours == 0:
        return start.astimezone(zone)
    schedule = schedule or DEFAULT_SCHEDULE
    year = _year(start_us)
    for ahead in (0, 1, 5, MAX_ADD_YEARS):
        table = _table_for_years((year, year + ahead), schedule)
        target = _cum_scalar(table, start_us) + round(hours * US_PER_HOUR)
        if target > table.cum_before[-1]:
            continue
        i = int(np.searchsorted(table.cum_before[1:], target, side="left"))
        remaining = target - int(table.cum_before[i])
        for begin, end in zip(table.starts[i].tolist(), table.ends[i].tolist(), strict=True):
            if remaining <= end - begin:
                wall = _EPOCH + dt.timedelta(
                    microseconds=(table.first_day + i) * US_PER_DAY + begin + remaining
                )
                return wall.replace(tzinfo=zone)
            remaining -= end - begin
    raise ValueError(f"no deadline within {MAX_ADD_YEARS} years: the schedule has (almost) no working time")


def is_working_day(day: dt.date, schedule: WorkSchedule | None = None) -> bool:
    """True when ``day`` has working time on the schedule (default: the five-day week)."""
    return bool(day_intervals(day, schedule))


def working_days(year: int, schedule: WorkSchedule | None = None) -> int:
    """Number of working days in ``year`` (2024: 248, 2025: 247 for the five-day week)."""
    table = _table(year, year, schedule or DEFAULT_SCHEDULE)
    return int(((table.ends - table.starts).sum(axis=1) > 0).sum())


def working_hours(year: int, schedule: WorkSchedule | None = None) -> float:
    """Working hours in ``year`` (the 40-hour norm: 2024 = 1979, 2025 = 1972)."""
    table = _table(year, year, schedule or DEFAULT_SCHEDULE)
    return int(table.cum_before[-1]) / US_PER_HOUR


CALENDAR_COLUMNS = (
    "date",
    "is_working_day",
    "is_shortened",
    "work_start",
    "work_end",
    "break_start",
    "break_end",
    "work_hours",
    "cum_work_hours_before",
)


def calendar_table(start_year: int, end_year: int, schedule: WorkSchedule | None = None) -> pd.DataFrame:
    """One row per calendar day, to load into the warehouse as ``core.dim_calendar``.

    Columns: ``date``; ``is_working_day``; ``is_shortened`` (pre-holiday day); ``work_start``,
    ``work_end``, ``break_start``, ``break_end`` (local wall-clock times, NULL on a day off and
    the break NULL when the day has none); ``work_hours``; ``cum_work_hours_before`` (working
    hours from 1 January of ``start_year`` to the start of the day).

    SQL computes the same numbers as :func:`work_hours_between`: convert both instants to the
    region's wall clock (``AT TIME ZONE``), take ``cum(t) = cum_work_hours_before + hours worked
    on t's date up to t`` from the row of t's date, and subtract (see ``docs/worktime.md``).
    The table supports schedules with at most one break.
    """
    if end_year < start_year:
        raise ValueError(f"end_year {end_year} is before start_year {start_year}")
    schedule = schedule or DEFAULT_SCHEDULE
    if len(schedule.breaks) > 1:
        raise ValueError("calendar_table supports at most one break a day")
    table = _table(start_year, end_year, schedule)
    calendar = default_calendar()
    rows = []
    for i in range(len(table.cum_before) - 1):
        day = dt.date(start_year, 1, 1) + dt.timedelta(days=i)
        spans = [(int(a), int(b)) for a, b in zip(table.starts[i], table.ends[i], strict=True) if b > a]
        rows.append(
            {
                "date": day,
                "is_working_day": bool(spans),
                "is_shortened": bool(spans) and _is_shortened(day, calendar),
                "work_start": _time(spans[0][0]) if spans else None,
                "work_end": _time(spans[-1][1]) if spans else None,
                "break_start": _time(spans[0][1]) if len(spans) == 2 else None,
                "break_end": _time(spans[1][0]) if len(spans) == 2 else None,
                "work_hours": sum(b - a for a, b in spans) / US_PER_HOUR,
                "cum_work_hours_before": int(table.cum_before[i]) / US_PER_HOUR,
            }
        )
    return pd.DataFrame(rows, columns=list(CALENDAR_COLUMNS))
