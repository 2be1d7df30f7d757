"""Working time on the Russian production calendar: official totals, hand-computed cases, and a
randomized comparison of the fast table-based functions with a slow interval-by-interval walk."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import duckdb
import holidays
import numpy as np
import pandas as pd
import pytest

from transforms import worktime
from transforms.production_calendar import (
    DEFAULT_CONFIG,
    ProductionCalendar,
    UnsettledCalendarWarning,
    default_calendar,
    is_statutory_holiday,
    load_overrides,
)
from transforms.worktime import (
    WorkSchedule,
    add_work_hours,
    calendar_table,
    is_working_day,
    work_hours_between,
    work_hours_between_many,
    working_days,
    working_hours,
)

MSK = ZoneInfo("Europe/Moscow")
D = dt.date
ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Simferopol",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
]


def msk(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MSK)


# --- the production calendar ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "days", "hours"),
    [
        (2023, 247, 1973),  # Минтруд production calendar 2023
        (2024, 248, 1979),  # Минтруд production calendar 2024
        (2025, 247, 1972),  # Минтруд production calendar 2025
    ],
)
def test_official_totals_for_a_40_hour_week(year: int, days: int, hours: int) -> None:
    assert working_days(year) == days
    assert working_hours(year) == hours


def test_2026_working_days_follow_decree_1466() -> None:
    # 3 Jan -> Fri 9 Jan, 4 Jan -> Thu 31 Dec; 8 Mar and 9 May fall on weekends and move to Monday.
    assert working_days(2026) == 247
    for day in (D(2026, 1, 9), D(2026, 3, 9), D(2026, 5, 11), D(2026, 12, 31)):
        assert not is_working_day(day), day
    assert is_working_day(D(2026, 1, 12))


def test_reference_totals_in_the_override_table_hold() -> None:
    overrides = load_overrides()
    assert {2024, 2025} <= set(overrides.reference_totals)
    for year, totals in overrides.reference_totals.items():
        assert working_days(year) == totals["working_days"], year
        if "hours_40h" in totals:
            assert working_hours(year) == totals["hours_40h"], year


def test_shortened_days_2024_and_2025() -> None:
    calendar = default_calendar()
    assert calendar.shortened_days(2024) == [
        D(2024, 2, 22),
        D(2024, 3, 7),
        D(2024, 5, 8),
        D(2024, 6, 11),
        D(2024, 11, 2),
    ]
    assert calendar.shortened_days(2025) == [D(2025, 3, 7), D(2025, 4, 30), D(2025, 6, 11), D(2025, 11, 1)]


def test_moved_days_of_2025() -> None:
    calendar = default_calendar()
    assert is_working_day(D(2025, 11, 1))  # a Saturday made working
    assert calendar.is_shortened(D(2025, 11, 1))
    assert worktime.day_intervals(D(2025, 11, 1)) == ((9 * 3600e6, 13 * 3600e6), (14 * 3600e6, 17 * 3600e6))
    assert not is_working_day(D(2025, 11, 3))  # moved from Saturday 1 November
    assert not is_working_day(D(2025, 11, 4))  # Unity Day
    assert not is_working_day(D(2025, 12, 31))  # moved from Sunday 5 January
    assert not is_working_day(D(2025, 5, 8)) and not is_working_day(D(2025, 6, 13))
    assert is_working_day(D(2025, 2, 24))  # 23 February (Sunday) was moved to 8 May, not to Monday
    assert not calendar.is_shortened(D(2025, 5, 7))  # 8 May is a moved day off, not a holiday


def test_working_saturdays_of_2024_are_full_or_short_as_the_override_table_says() -> None:
    calendar = default_calendar()
    for day in (D(2024, 4, 27), D(2024, 11, 2), D(2024, 12, 28)):
        assert is_working_day(day) and day.weekday() == 5
    assert not calendar.is_shortened(D(2024, 4, 27))
    assert calendar.is_shortened(D(2024, 11, 2))
    assert not calendar.is_shortened(D(2024, 12, 28))  # replaces a full Monday, 30 December
    assert not is_working_day(D(2024, 12, 30)) and not is_working_day(D(2024, 12, 31))


SETTLED_YEARS = range(2013, 2027)


def test_every_weekend_workday_the_library_knows_is_settled_in_the_table() -> None:
    """A new decree with working Saturdays must come with an entry in ru.yaml."""
    overrides = load_overrides()
    calendar = ProductionCalendar(overrides)
    found = set()
    for year in SETTLED_YEARS:
        found |= {d for d in _days(year) if d.weekday() >= 5 and calendar.is_working_day(d)}
    assert found == set(overrides.weekend_workdays_shortened)


def test_weekend_workdays_follow_the_weekday_they_replace() -> None:
    """Минтруд's reading: shortened exactly when the swapped weekday precedes a statutory holiday."""
    library = holidays.country_holidays("RU", years=SETTLED_YEARS, language="en_US")
    swapped = {}
    for day, label in library.items():
        match = re.search(r"substituted from (\d\d/\d\d/\d{4})", label)
        if match:
            swapped[dt.datetime.strptime(match.group(1), "%m/%d/%Y").date()] = day
    settled = load_overrides().weekend_workdays_shortened
    assert set(settled) <= set(swapped)
    for saturday, shortened in settled.items():
        assert shortened == is_statutory_holiday(swapped[saturday] + dt.timedelta(days=1)), saturday


def test_unsettled_weekend_workday_warns(tmp_path) -> None:
    config = tmp_path / "ru.yaml"
    config.write_text("weekend_workdays: {}\n", encoding="utf-8")
    calendar = ProductionCalendar(load_overrides(config))
    with pytest.warns(UnsettledCalendarWarning, match="2024-04-27"):
        assert not calendar.is_shortened(D(2024, 4, 27))


def test_override_table_corrects_the_library(tmp_path) -> None:
    config = tmp_path / "ru.yaml"
    config.write_text(
        "extra_days_off: {2025-06-11: test}\nextra_working_days: {2025-12-31: test}\n"
        "extra_shortened_days: {2025-12-30: test}\n",
        encoding="utf-8",
    )
    calendar = ProductionCalendar(load_overrides(config))
    assert not calendar.is_working_day(D(2025, 6, 11))
    assert calendar.is_working_day(D(2025, 12, 31))
    assert calendar.is_shortened(D(2025, 12, 30))


def test_bad_override_table_is_reported(tmp_path) -> None:
    config = tmp_path / "ru.yaml"
    config.write_text("weekend_workdays: {2025-11-01: {reason: x}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="shortened"):
        load_overrides(config)
    config.write_text("extra_days_off: {not-a-date: x}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not-a-date"):
        load_overrides(config)


def test_statutory_holidays() -> None:
    assert DEFAULT_CONFIG.exists()
    assert is_statutory_holiday(D(2025, 1, 8)) and is_statutory_holiday(D(2025, 11, 4))
    assert not is_statutory_holiday(D(2025, 11, 3)) and not is_statutory_holiday(D(2025, 12, 31))


# --- hand-computed working hours ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # Friday 17:00-18:00, Monday 09:00-10:00.
        (msk(2025, 11, 28, 17), msk(2025, 12, 1, 10), 2),
        # Friday 1 h, working Saturday 1 Nov shortened 09-13 + 14-17 = 7 h, Monday 3 Nov a day off.
        (msk(2025, 10, 31, 17), msk(2025, 11, 3, 12), 8),
        # ... 4 Nov a holiday, Wednesday 5 Nov 09:00-10:00.
        (msk(2025, 10, 31, 17), msk(2025, 11, 5, 10), 9),
        # New Year: Tue 30 Dec 2025 16-18 (not shortened: 31 Dec is a moved day off), off to 11 Jan.
        (msk(2025, 12, 30, 16), msk(2026, 1, 12, 11), 4),
        # Fri 27 Dec 2024 1 h, working Saturday 28 Dec a full 8 h, off 29 Dec - 8 Jan, Thu 9 Jan 1 h.
        (msk(2024, 12, 27, 17), msk(2025, 1, 9, 10), 10),
        # Inside the lunch break, and across it.
        (msk(2025, 12, 2, 13, 10), msk(2025, 12, 2, 13, 50), 0),
        (msk(2025, 12, 2, 12, 30), msk(2025, 12, 2, 14, 15), 0.75),
        # Pre-holiday Friday 7 Mar 2025 ends at 17:00.
        (msk(2025, 3, 7, 16), msk(2025, 3, 7, 18), 1),
        # A whole weekend and nights count nothing.
        (msk(2025, 11, 29, 0), msk(2025, 12, 1, 9), 0),
    ],
)
def test_hand_computed_cases(start: dt.datetime, end: dt.datetime, hours: float) -> None:
    assert work_hours_between(start, end) == hours
    assert work_hours_between_many([start], [end], "Europe/Moscow")[0] == hours


def test_time_zone_matters() -> None:
    start = dt.datetime(2025, 11, 28, 6, tzinfo=dt.UTC)
    end = dt.datetime(2025, 11, 28, 10, tzinfo=dt.UTC)
    assert work_hours_between(start, end, "Europe/Moscow") == 4  # 09:00-13:00
    assert work_hours_between(start, end, "Asia/Yekaterinburg") == 3  # 11:00-15:00, lunch 13-14
    assert work_hours_between(start, end, "Asia/Kamchatka") == 0  # 18:00-22:00
    many = work_hours_between_many(pd.Series([start, start]), pd.Series([end, end]), "Asia/Yekaterinburg")
    assert many.tolist() == [3, 3]


def test_naive_datetimes_raise() -> None:
    with pytest.raises(ValueError, match="naive"):
        work_hours_between(dt.datetime(2025, 11, 28, 9), msk(2025, 11, 28, 10))
    with pytest.raises(ValueError, match="naive"):
        work_hours_between(msk(2025, 11, 28, 9), dt.datetime(2025, 11, 28, 10))
    with pytest.raises(ValueError, match="naive"):
        add_work_hours(dt.datetime(2025, 11, 28, 9), 1)
    with pytest.raises(ValueError, match="naive"):
        work_hours_between_many(pd.Series([pd.Timestamp("2025-11-28 09:00")]), [msk(2025, 11, 28, 10)])


def test_end_at_or_before_start_is_zero() -> None:
    assert work_hours_between(msk(2025, 12, 2, 12), msk(2025, 12, 2, 10)) == 0.0
    assert work_hours_between(msk(2025, 12, 2, 12), msk(2025, 12, 2, 12)) == 0.0
    starts = [msk(2025, 12, 2, 12), msk(2025, 12, 2, 10)]
    ends = [msk(2025, 12, 2, 10), msk(2025, 12, 2, 12)]
    assert work_hours_between_many(starts, ends).tolist() == [0.0, 2.0]


def test_missing_timestamps_give_nan() -> None:
    starts = pd.Series(
        [msk(2025, 12, 2, 10), pd.NaT, msk(2025, 12, 2, 10)], dtype="datetime64[ns, Europe/Moscow]"
    )
    ends = pd.Series(
        [msk(2025, 12, 2, 12), msk(2025, 12, 2, 12), pd.NaT], dtype="datetime64[ns, Europe/Moscow]"
    )
    result = work_hours_between_many(starts, ends)
    assert result[0] == 2 and np.isnan(result[1]) and np.isnan(result[2])
    with pytest.raises(ValueError, match="length"):
        work_hours_between_many(starts, ends[:2])


# --- deadlines ----------------------------------------------------------------------------------


def test_sevastopol_nine_working_hours_across_the_working_saturday() -> None:
    registered = dt.datetime(2025, 10, 31, 15, tzinfo=ZoneInfo("Europe/Simferopol"))
    # Friday 15-18 (3 h), Saturday 1 Nov 09-13 (4 h) and 14-16 (2 h).
    deadline = add_work_hours(registered, 9, "Europe/Simferopol")
    assert deadline == dt.datetime(2025, 11, 1, 16, tzinfo=ZoneInfo("Europe/Simferopol"))
    assert deadline.tzinfo == ZoneInfo("Europe/Simferopol")


def test_deadline_on_the_end_of_a_day_is_that_end() -> None:
    assert add_work_hours(msk(2025, 12, 1, 9), 8) == msk(2025, 12, 1, 18)
    assert add_work_hours(msk(2025, 12, 1, 9), 4) == msk(2025, 12, 1, 13)
    assert add_work_hours(msk(2025, 12, 1, 13, 30), 1) == msk(2025, 12, 1, 15)  # starts in the break
    assert add_work_hours(msk(2025, 12, 31, 10), 1) == msk(2026, 1, 12, 10)
    assert add_work_hours(msk(2025, 12, 1, 9, 30), 0) == msk(2025, 12, 1, 9, 30)
    with pytest.raises(ValueError, match="negative"):
        add_work_hours(msk(2025, 12, 1, 9), -1)


# Deadlines of late-2026 starts fall in 2027, whose working Saturday is not settled yet.
@pytest.mark.filterwarnings("ignore::transforms.production_calendar.UnsettledCalendarWarning")
def test_add_work_hours_inverts_work_hours_between() -> None:
    rng = np.random.default_rng(20251101)
    for _ in range(500):
        tz = ZONES[rng.integers(len(ZONES))]
        start = _random_instant(rng, tz)
        hours = float(rng.choice([rng.integers(0, 60), rng.integers(0, 2000) / 4, rng.uniform(0, 300)]))
        deadline = add_work_hours(start, hours, tz)
        assert work_hours_between(start, deadline, tz) == pytest.approx(hours, abs=1e-9)
        # The earliest such instant: a microsecond less is not enough.
        if hours > 0:
            earlier = deadline - dt.timedelta(microseconds=1)
            assert work_hours_between(start, earlier, tz) < hours - 1e-10


# --- fast paths against a slow reference ----------------------------------------------------------


def _reference_hours(start: dt.datetime, end: dt.datetime, tz: str) -> float:
    """Walk day by day, intersecting [start, end) with 09-13 and 14-18 (14-17 on a short day)."""
    zone = ZoneInfo(tz)
    calendar = default_calendar()
    total = dt.timedelta()
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        if calendar.is_working_day(day):
            afternoon_end = 17 if calendar.is_shortened(day) else 18
            for begin_h, end_h in ((9, 13), (14, afternoon_end)):
                begin = dt.datetime.combine(day, dt.time(begin_h), zone)
                finish = dt.datetime.combine(day, dt.time(end_h), zone)
                overlap = min(finish, end) - max(begin, start)
                total += max(overlap, dt.timedelta())
        day += dt.timedelta(days=1)
    return total / dt.timedelta(hours=1)


def _random_instant(rng: np.random.Generator, tz: str) -> dt.datetime:
    zone = ZoneInfo(tz)
    day = D(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 4 * 365 - 60)))
    kind = rng.integers(3)
    if kind == 0:  # on a boundary of the schedule
        clock = dt.time(int(rng.choice([0, 9, 13, 14, 17, 18, 23])))
    elif kind == 1:  # a whole minute
        clock = dt.time(int(rng.integers(24)), int(rng.integers(60)))
    else:  # anything, to the microsecond
        clock = dt.time(
            int(rng.integers(24)), int(rng.integers(60)), int(rng.integers(60)), int(rng.integers(10**6))
        )
    moment = dt.datetime.combine(day, clock, zone)
    # Mix in instants that arrive in another time zone (as exports give them in UTC).
    return moment.astimezone(dt.UTC) if rng.integers(2) else moment


def test_randomized_scalar_vectorized_and_reference_agree() -> None:
    rng = np.random.default_rng(7)
    for tz in ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Kamchatka", "Europe/Kaliningrad"):
        starts, ends = [], []
        for _ in range(500):
            start = _random_instant(rng, tz)
            gap = dt.timedelta(
                seconds=float(rng.choice([rng.uniform(-3600, 86400), rng.uniform(-86400, 40 * 86400)]))
            )
            starts.append(start)
            ends.append(start + gap if rng.integers(4) else _random_instant(rng, tz))
        many = work_hours_between_many(pd.Series(starts), pd.Series(ends), tz)
        for start, end, fast in zip(starts, ends, many, strict=True):
            scalar = work_hours_between(start, end, tz)
            assert scalar == fast, (start, end, tz)
            expected = _reference_hours(start, end, tz) if end > start else 0.0
            assert scalar == pytest.approx(expected, abs=1e-9), (start, end, tz)


def test_many_accepts_arrays_indexes_and_series_in_any_zone() -> None:
    starts = pd.date_range("2025-10-27 05:00", periods=50, freq="7h", tz="UTC")
    ends = starts + pd.Timedelta(hours=30)
    expected = [work_hours_between(s, e, "Asia/Vladivostok") for s, e in zip(starts, ends, strict=True)]
    for make in (pd.Series, pd.DatetimeIndex, np.asarray, list):
        assert work_hours_between_many(make(starts), make(ends), "Asia/Vladivostok").tolist() == expected


# --- schedules ----------------------------------------------------------------------------------


def test_custom_schedule() -> None:
    schedule = WorkSchedule(
        day_start=dt.time(8),
        day_end=dt.time(17),
        breaks=[(dt.time(12), dt.time(12, 45))],
        weekdays={0, 1, 2, 3},
    )
    # Mon-Thu, 8 h 15 min a day, 1 h shorter before a holiday: Friday is off.
    assert work_hours_between(msk(2025, 11, 27, 16), msk(2025, 12, 1, 9), schedule=schedule) == 2
    assert working_hours(2025, WorkSchedule(pre_holiday_shortening_hours=0)) == 247 * 8
    assert working_days(2025, WorkSchedule(extra_days_off={D(2025, 8, 29)})) == 246


def test_six_day_week_works_saturdays_except_holidays() -> None:
    six_days = WorkSchedule(day_end=dt.time(16), weekdays=range(6))
    assert is_working_day(D(2025, 11, 29), six_days)
    assert not is_working_day(D(2025, 3, 8), six_days)  # a holiday on Saturday
    # Saturday 22 Feb 2025 precedes 23 February: one hour shorter (09-13, 14-15).
    assert worktime.day_intervals(D(2025, 2, 22), six_days) == (
        (9 * 3600e6, 13 * 3600e6),
        (14 * 3600e6, 15 * 3600e6),
    )


def test_invalid_schedules_are_rejected() -> None:
    with pytest.raises(ValueError, match="before day_end"):
        WorkSchedule(day_start=dt.time(18), day_end=dt.time(9))
    with pytest.raises(ValueError, match="break"):
        WorkSchedule(breaks=((dt.time(8), dt.time(10)),))
    with pytest.raises(ValueError, match="weekdays"):
        WorkSchedule(weekdays={7})


# --- the table for the warehouse ------------------------------------------------------------------


def test_calendar_table_matches_the_functions() -> None:
    table = calendar_table(2024, 2025)
    assert list(table.columns) == list(worktime.CALENDAR_COLUMNS)
    assert len(table) == 366 + 365
    by_year = table.groupby(pd.to_datetime(table["date"]).dt.year)
    assert by_year["is_working_day"].sum().to_dict() == {2024: 248, 2025: 247}
    assert by_year["work_hours"].sum().to_dict() == {2024: 1979, 2025: 1972}
    row = table.set_index("date").loc[D(2025, 11, 1)]
    assert (row.is_working_day, row.is_shortened, row.work_start, row.work_end, row.work_hours) == (
        True,
        True,
        dt.time(9),
        dt.time(17),
        7,
    )
    assert (row.break_start, row.break_end) == (dt.time(13), dt.time(14))
    off = table.set_index("date").loc[D(2025, 12, 31)]
    assert not off.is_working_day and off.work_start is None and off.work_hours == 0
    assert table["cum_work_hours_before"].iloc[-1] + table["work_hours"].iloc[-1] == 1979 + 1972


SQL_WORK_HOURS = """
with local as (
    select id, side, cast(ts at time zone ? as timestamp) as local_ts from events
),
cum as (
    select l.id, l.side,
        c.cum_work_hours_before + case when c.is_working_day then (
            greatest(0, least(extract(epoch from cast(l.local_ts as time)),
                              extract(epoch from coalesce(c.break_start, c.work_end)))
                        - extract(epoch from c.work_start))
            + coalesce(greatest(0, least(extract(epoch from cast(l.local_ts as time)),
                                         extract(epoch from c.work_end))
                                   - extract(epoch from c.break_end)), 0)
        ) / 3600.0 else 0 end as cum_hours
    from local l join dim_calendar c on c.date = cast(l.local_ts as date)
)
select s.id, greatest(e.cum_hours - s.cum_hours, 0) as work_hours
from cum s join cum e on e.id = s.id and s.side = 'start' and e.side = 'end'
order by s.id
"""


def test_sql_on_dim_calendar_gives_the_same_numbers() -> None:
    """The query of docs/worktime.md, run by DuckDB on the exported table."""
    rng = np.random.default_rng(11)
    tz = "Asia/Yekaterinburg"
    starts = [_random_instant(rng, tz) for _ in range(300)]
    ends = [s + dt.timedelta(hours=float(rng.uniform(-5, 400))) for s in starts]
    events = pd.DataFrame(
        {
            "id": list(range(300)) * 2,
            "side": ["start"] * 300 + ["end"] * 300,
            "ts": pd.to_datetime(starts + ends, utc=True),
        }
    )
    dim_calendar = calendar_table(2022, 2026)
    con = duckdb.connect()
    con.register("events", events)
    con.register("dim_calendar", dim_calendar)
    sql_hours = con.execute(SQL_WORK_HOURS, [tz]).fetchdf()["work_hours"].to_numpy()
    expected = work_hours_between_many(starts, ends, tz)
    np.testing.assert_allclose(sql_hours, expected, atol=1e-6)


def _days(year: int) -> list[dt.date]:
    return [D(year, 1, 1) + dt.timedelta(days=i) for i in range((D(year + 1, 1, 1) - D(year, 1, 1)).days)]


def test_working_days_run_from_the_day_after_registration() -> None:
    """ГК РФ ст. 191: a term in days starts the day after the event; only working days count."""
    work_days_between_many = worktime.work_days_between_many
    moscow = "+03:00"
    starts = pd.to_datetime(
        [f"2025-10-31 10:00{moscow}", f"2025-11-07 15:00{moscow}", f"2025-11-07 15:00{moscow}",
         f"2025-12-30 12:00{moscow}", f"2025-11-10 12:00{moscow}", None],
        utc=True, format="ISO8601",
    )  # fmt: skip
    ends = pd.to_datetime(
        [f"2025-11-05 10:00{moscow}", f"2025-11-07 17:00{moscow}", f"2025-11-10 09:00{moscow}",
         f"2026-01-12 09:00{moscow}", f"2025-11-10 11:00{moscow}", f"2025-11-10 11:00{moscow}"],
        utc=True, format="ISO8601",
    )  # fmt: skip
    days = work_days_between_many(starts, ends, "Europe/Moscow")
    # Sat 1 Nov 2025 works (moved), 3–4 Nov off → 2; same day → 0; Fri → Mon → 1;
    # 30 Dec → 12 Jan: 31 Dec and 1–11 Jan 2026 off → 1; an end before its start → 0; missing → NaN
    assert days[:5].tolist() == [2.0, 0.0, 1.0, 1.0, 0.0] and np.isnan(days[5])
    # Thursday 23:30 in Moscow is Friday 06:30 in Vladivostok: the answer's local day → 0
    late = work_days_between_many(
        pd.to_datetime(["2025-11-06 23:30+03:00"], utc=True),
        pd.to_datetime(["2025-11-07 12:00+03:00"], utc=True),
        "Asia/Vladivostok",
    )
    assert late.tolist() == [0.0]
