"""Per-incident timing of the marts on hand-computed cases: a moved working Saturday, a weekend and
holidays, configurable deadlines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from gospublic.marts.build import build_month, pack_regions
from tests.incidents.conftest import IncidentWorld
from transforms.deadlines import Deadlines

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow(*parts: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(*parts, tzinfo=MOSCOW)).tz_convert("UTC")


CASES = [
    # id, registered, answered, working hours by hand
    # Fri 31 Oct 17:00 → Wed 5 Nov 10:00: Fri 1 h; Sat 1 Nov a moved working day, pre-holiday 7 h;
    # 2–4 Nov off (Sunday, the day moved from 1 Nov, the holiday); Wed 1 h → 9 h.
    ("91000001", moscow(2025, 10, 31, 17), moscow(2025, 11, 5, 10), 9.0),
    # Fri 7 Nov 17:00 → Mon 10 Nov 11:00 over a weekend: 1 h + 2 h.
    ("91000002", moscow(2025, 11, 7, 17), moscow(2025, 11, 10, 11), 3.0),
    # Wed 30 Apr 16:00 (pre-holiday, ends 17:00) → Mon 5 May 10:00 over 1–4 May: 1 h + 1 h.
    ("91000003", moscow(2025, 4, 30, 16), moscow(2025, 5, 5, 10), 2.0),
]


def incident_rows(org_id: str) -> pd.DataFrame:
    rows = []
    for incident_id, registered, answered, _ in CASES:
        rows.append(
            {
                "source": "im", "incident_id": incident_id, "region_code": "58", "org_id": org_id,
                "executor": "x", "status": "answered", "registered_at": registered,
                "first_reaction_at": answered, "answered_at": answered,
                "due_at": registered + pd.Timedelta(hours=24),
                "is_answered": True, "is_overdue": True, "observations": 1,
                "first_export_date": dt.date(2025, 12, 1), "last_export_date": dt.date(2025, 12, 1),
                "last_exported_at": moscow(2025, 12, 1, 9), "last_file": "hand.csv", "load_id": "hand",
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_working_hours_on_the_production_calendar(incident_world: IncidentWorld) -> None:
    wh = incident_world.warehouse
    org_id = wh.scalar("SELECT MIN(org_id) FROM core.dim_org WHERE region_code = '58'")
    wh.bulk_load("core.fct_incident", incident_rows(org_id))

    for month in (dt.date(2025, 10, 1), dt.date(2025, 4, 1), dt.date(2025, 11, 1)):
        build_month(wh, month)

    timing = wh.query_df("SELECT * FROM core.fct_incident_timing").set_index("incident_id")
    for incident_id, registered, answered, hours in CASES:
        row = timing.loc[incident_id]
        assert row["answer_work_hours"] == pytest.approx(hours), incident_id
        assert row["reaction_work_hours"] == pytest.approx(hours), incident_id
        assert row["answer_hours"] == pytest.approx((answered - registered).total_seconds() / 3600)
        assert str(row["month"]) == f"{registered.tz_convert(MOSCOW):%Y-%m}-01"
        assert row["is_overdue"] == (answered - registered > pd.Timedelta(hours=24))
    metrics = wh.query_df(
        "SELECT month, answer_work_hours_median FROM mart.response_metrics_monthly ORDER BY month"
    )
    assert metrics["answer_work_hours_median"].tolist() == pytest.approx([2.0, 9.0, 3.0])


def test_deadlines_per_source_and_region() -> None:
    deadlines = Deadlines(
        {
            "im": {"default": {"hours": 24}, "regions": {"92": {"work_hours": 9, "source": "Sevastopol"}}},
            "pos": {"default": {"export_due": True, "days": 30}},
        }
    )
    registered = pd.Series([moscow(2025, 10, 31, 17)])
    due, rule = deadlines.deadline_at("im", "92", registered, pd.Series([pd.NaT]), "Europe/Moscow")
    assert (due.iloc[0], rule) == (moscow(2025, 11, 5, 10), "9 working hours")
    due, rule = deadlines.deadline_at("im", "58", registered, pd.Series([pd.NaT]), "Europe/Moscow")
    assert (due.iloc[0], rule) == (moscow(2025, 11, 1, 17), "24 hours")
    export_due = pd.Series([pd.NaT, moscow(2025, 11, 14)], dtype="datetime64[us, UTC]")
    due, _ = deadlines.deadline_at(
        "pos", "58", pd.concat([registered, registered], ignore_index=True), export_due, "UTC"
    )
    assert due.tolist() == [moscow(2025, 11, 30, 17), moscow(2025, 11, 14)]
    with pytest.raises(ValueError, match="no deadline rule for source 'tg'"):
        deadlines.rule("tg", "58")


def test_regions_packed_into_batches_whole_and_in_order() -> None:
    counts = [("01", 40), ("02", 50), ("03", 20), ("04", 250), ("05", 10)]
    assert pack_regions(counts, 100) == [["01", "02"], ["03"], ["04"], ["05"]]
    assert pack_regions(counts, 1) == [["01"], ["02"], ["03"], ["04"], ["05"]]
    assert pack_regions(counts, 10_000) == [["01", "02", "03", "04", "05"]]
    assert pack_regions([], 100) == []
