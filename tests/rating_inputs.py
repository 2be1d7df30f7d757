"""Input records of a rated month, as the loads leave them: a VK load for each day
(``audit.vk_day_status``) and loaded exports per source and region (``audit.export_file``). Tests
that seed ``mart.rating_base`` directly add these so the publication gate finds the month complete
(or, with days or sources left out, incomplete)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from transforms.publication_gate import month_days


def record_vk_days(warehouse, days: Iterable[date], *, complete: bool = True) -> None:
    with warehouse.begin() as conn:
        for day in days:
            conn.execute(
                sa.text(
                    "INSERT INTO audit.vk_day_status (dt, run_id, pages, failed_pages, given_up_pages, "
                    "given_up_calls, complete, covered_by_dt, loaded_at) "
                    "VALUES (:dt, :run, 10, 0, 0, 0, :complete, NULL, :at)"
                ),
                {"dt": day, "run": f"test__{day}", "complete": complete, "at": datetime.now(UTC)},
            )


def record_export(warehouse, source: str, export_date: date, region: str = "58") -> None:
    name = f"{source}_{region}_{export_date:%Y%m%d}.csv"
    warehouse.execute(
        "INSERT INTO audit.export_file (file_sha, source, file, landed_key, stored_key, state, format, "
        "region_code, export_date, rows_read, rows_loaded, bytes, processed_at) VALUES (:sha, :source, "
        ":file, :landed, :stored, 'loaded', 'csv', :region, :day, 1, 1, 10, :at)",
        {
            "sha": f"sha-{name}",
            "source": source,
            "file": name,
            "landed": f"incoming/{source}/{name}",
            "stored": f"archive/{source}/{name}",
            "region": region,
            "day": export_date,
            "at": datetime.now(UTC),
        },
    )


def record_complete_inputs(
    warehouse, month: date, *, skip_days: Iterable[date] = (), sources: Iterable[str] = ("im", "pos")
) -> None:
    """Every VK day of ``month`` but ``skip_days``; an export of each of ``sources`` dated the day
    after the month's end (region 58)."""
    skipped = set(skip_days)
    record_vk_days(warehouse, [d for d in month_days(month) if d not in skipped])
    for source in sources:
        record_export(warehouse, source, month_days(month)[-1] + timedelta(days=1))
