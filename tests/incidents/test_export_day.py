"""The export day in a file's name may not be after today: today in Moscow, or in the region's own
zone when it is already the next day there (ЦУР names a file by its region's local day)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gospublic.incidents import files
from transforms.incident_spec import FileRejectedError

# 21:30 UTC on 9 November 2025: 00:30 on the 10th in Moscow, 23:30 on the 9th in Kaliningrad
MOSCOW_PAST_MIDNIGHT = datetime(2025, 11, 9, 21, 30, tzinfo=UTC)
# 13:00 UTC on 9 November 2025: 16:00 on the 9th in Moscow, 01:00 on the 10th in Kamchatka
KAMCHATKA_PAST_MIDNIGHT = datetime(2025, 11, 9, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "day"),
    [
        (MOSCOW_PAST_MIDNIGHT, "Europe/Moscow", date(2025, 11, 10)),  # Moscow's day, not UTC's
        (MOSCOW_PAST_MIDNIGHT, "Europe/Moscow", date(2025, 11, 9)),
        (MOSCOW_PAST_MIDNIGHT, "Europe/Kaliningrad", date(2025, 11, 10)),  # a region behind Moscow
        (KAMCHATKA_PAST_MIDNIGHT, "Asia/Kamchatka", date(2025, 11, 10)),  # a region ahead of Moscow
        (KAMCHATKA_PAST_MIDNIGHT, "Europe/Moscow", date(2020, 1, 31)),
    ],
)
def test_an_export_day_up_to_today_is_accepted(now: datetime, zone: str, day: date) -> None:
    files.check_export_day(f"im_58_{day:%Y%m%d}.csv", "im", day, zone, now=now)


@pytest.mark.parametrize(
    ("now", "zone", "day", "today_ru"),
    [
        (MOSCOW_PAST_MIDNIGHT, "Europe/Moscow", date(2025, 11, 11), "10 ноября 2025"),
        (MOSCOW_PAST_MIDNIGHT, "Europe/Kaliningrad", date(2025, 11, 11), "10 ноября 2025"),
        (KAMCHATKA_PAST_MIDNIGHT, "Europe/Moscow", date(2025, 11, 10), "9 ноября 2025"),
        (KAMCHATKA_PAST_MIDNIGHT, "Asia/Kamchatka", date(2025, 11, 11), "10 ноября 2025"),
        (MOSCOW_PAST_MIDNIGHT, "Europe/Moscow", date(2052, 11, 1), "10 ноября 2025"),
    ],
)
def test_an_export_day_after_today_is_a_bad_name(now: datetime, zone: str, day: date, today_ru: str) -> None:
    name = f"pos_58_{day:%Y%m%d}.xlsx"

    with pytest.raises(FileRejectedError) as caught:
        files.check_export_day(name, "pos", day, zone, now=now)

    rejected = caught.value
    assert rejected.kind == "bad_name"
    assert rejected.reason.startswith(f"{name}: export day {day:%Y-%m-%d} is after today"), rejected.reason
    assert rejected.reason_ru is not None
    assert rejected.reason_ru.startswith(f"{name}: день выгрузки в имени файла"), rejected.reason_ru
    assert f"сегодня {today_ru}" in rejected.reason_ru, rejected.reason_ru
    assert "pos_<код региона>_<ГГГГММДД>" in rejected.reason_ru, rejected.reason_ru
