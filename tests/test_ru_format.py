"""Russian formats for what ЦУР staff read (issue 25): 80,6; 88,4 %; «ноябрь 2025»; Moscow time."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from transforms import ru_format as ru

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(80.6, 1, "80,6"), (63.55, 1, "63,5"), (12345.6, 1, f"12{NBSP}345,6"), (-3.5, 1, "\u22123,5"),
     (7, 0, "7"), (None, 1, "—"), (float("nan"), 1, "—"), (0.0, 2, "0,00")],
)  # fmt: skip
def test_numbers_have_a_decimal_comma_and_non_breaking_thousands(
    value: object, digits: int, text: str
) -> None:
    assert ru.number(value, digits) == text


def test_shares_counts_and_changes() -> None:
    assert ru.share(0.884) == f"88,4{NBSP}%"
    assert ru.share(0.6, 0) == f"60{NBSP}%"
    assert ru.percent(88.44) == f"88,4{NBSP}%"
    assert ru.share(None) == "—"
    assert ru.count(1234) == f"1{NBSP}234"
    assert ru.change(1.26) == "+1,3"
    assert ru.change(-3) == "\u22123,0"
    assert ru.change(2, 0) == "+2"
    assert ru.change(0.01) == "0"
    assert ru.change(None) == "—"


def test_months_are_nominative_lower_case() -> None:
    assert ru.month(date(2025, 11, 1)) == "ноябрь 2025"
    assert ru.month("2025-05") == "май 2025"
    assert ru.month("2026-03") == "март 2026"


def test_dates_and_moscow_time() -> None:
    at = datetime(2026, 12, 3, 7, 1, 47, tzinfo=UTC)
    assert ru.moscow_time(at) == "3 декабря 2026, 10:01 МСК"
    assert ru.moscow_time("2026-12-03T07:01:47+00:00") == "3 декабря 2026, 10:01 МСК"
    assert ru.moscow_time(datetime(2026, 12, 31, 22, 30)) == "1 января 2027, 01:30 МСК"  # naive is UTC
    assert ru.day(date(2025, 11, 3)) == "3 ноября 2025"
    assert ru.day(at) == "3 декабря 2026"
    assert ru.short_day(date(2025, 11, 3)) == "03.11.2025"


def test_durations_and_plurals() -> None:
    assert ru.hours(4 + 31 / 60) == f"4{NBSP}ч 31{NBSP}мин"
    assert ru.hours(3) == f"3{NBSP}ч"
    assert ru.hours(0.75) == f"45{NBSP}мин"
    nouns = ("орган", "органа", "органов")
    assert [ru.plural(n, *nouns) for n in (1, 2, 5, 11, 21, 22, 25, 111)] == [
        "орган", "органа", "органов", "органов", "орган", "органа", "органов", "органов"]  # fmt: skip
    assert ru.counted(145, *nouns) == f"145{NBSP}органов"


def test_memoised_numbers_are_babels_text_for_every_value() -> None:
    """number() caches Babel's text by the rounded value: cold or warm, every value (−0.0 beside
    0.0, halves, huge, non-numbers) gets the text formatted anew without the cache."""
    rng = random.Random(29)
    values: list[object] = [None, math.nan, float("inf"), -0.0, 0.0, 0.05, -0.05, 0.04999, 0.15, 0.25, 2.675,
                            1e15, -12345.678, 80.64, 79.96, True, 7, "3.5", "x", object()]  # fmt: skip
    values += [rng.uniform(-1000, 1000) for _ in range(3000)] + [rng.random() for _ in range(3000)]
    values += [round(rng.uniform(0, 100), 1) for _ in range(1000)] + [
        rng.randint(0, 10**6) for _ in range(500)
    ]
    uncached = ru._rounded.__wrapped__
    ru._rounded.cache_clear()
    for value in values * 2:  # the second time from the cache
        for digits in (0, 1, 2):
            missing = ru._missing(value)
            expected = ru.MISSING if missing else uncached(round(float(value), digits), digits)  # type: ignore[arg-type]
            assert ru.number(value, digits) == expected, (value, digits)


def test_memoised_short_days_are_babels_text() -> None:
    """short_day() caches Babel's text by the day: cold or warm, a date or a time (taken in Moscow
    time, near midnight too) gets the text Babel gives without the cache."""
    from babel.dates import format_date

    start = datetime(2024, 12, 30, 20, 59, 59, tzinfo=UTC)
    times = [start + timedelta(hours=7 * k, seconds=k) for k in range(400)]  # across two new years
    days = [date(1999, 1, 1), date(2025, 11, 3), date(2026, 2, 28), *(t.date() for t in times)]
    ru._short_day.cache_clear()
    for value in [*times, *days] * 2:  # the second time from the cache
        moscow = value.astimezone(ru.MOSCOW).date() if isinstance(value, datetime) else value
        assert ru.short_day(value) == format_date(moscow, "dd.MM.y", locale="ru"), value
