"""Statuses and clocks of the incident timing (issue 24): a rejected incident («Отклонён») counts in
no share and is never overdue; working days for ПОС; a region's overdue deadline is a deadline, not
a methodology's scoring rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from gospublic.marts.build import build_month, marts_config
from gospublic.marts.check import check_month
from tests.incidents.conftest import IncidentWorld
from transforms.deadlines import Deadlines

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow(*parts: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(*parts, tzinfo=MOSCOW)).tz_convert("UTC")


def only_row(wh, sql: str, org_id: str) -> pd.Series:
    """The one row of the test's body: the marts also hold rows of the registry's other bodies
    (their pages), in no fixed order, so an unfiltered first row is any body's."""
    frame = wh.query_df(sql, {"org_id": org_id})
    assert len(frame) == 1, frame
    return frame.iloc[0]


def incident(org_id: str, incident_id: str, status: str, registered, answered, *, source: str = "im") -> dict:
    return {
        "source": source, "incident_id": incident_id, "region_code": "58", "org_id": org_id,
        "executor": "x", "status": status, "registered_at": registered,
        "first_reaction_at": answered, "answered_at": answered,
        "due_at": registered + pd.Timedelta(days=8), "is_answered": answered is not None,
        "is_overdue": False, "observations": 1,
        "first_export_date": dt.date(2025, 12, 1), "last_export_date": dt.date(2025, 12, 1),
        "last_exported_at": moscow(2025, 12, 1, 9), "last_file": "hand.csv", "load_id": "hand",
    }  # fmt: skip


def test_rejected_incidents_are_excluded_from_shares_and_never_overdue(incident_world: IncidentWorld) -> None:
    """The finding: 154 of 810 overdue IM incidents of the demo month were rejected ones. Here one
    IM incident answered in 2 h, one never answered (overdue) and two rejected long ago and never
    answered: overdue 1 of the 2 counted, not 3 of 4."""
    wh = incident_world.warehouse
    org_id = wh.scalar("SELECT MIN(org_id) FROM core.dim_org WHERE region_code = '58'")
    rows = [
        incident(org_id, "1", "answered", moscow(2025, 11, 10, 10), moscow(2025, 11, 10, 12)),
        incident(org_id, "2", "overdue", moscow(2025, 11, 10, 10), None),
        incident(org_id, "3", "rejected", moscow(2025, 11, 11, 10), None),
        incident(org_id, "4", "rejected", moscow(2025, 11, 12, 10), None),
    ]
    wh.bulk_load("core.fct_incident", pd.DataFrame(rows))
    build_month(wh, dt.date(2025, 11, 1))
    timing = wh.query_df("SELECT * FROM core.fct_incident_timing").set_index("incident_id")
    assert timing["is_overdue"].to_dict() == {"1": False, "2": True, "3": False, "4": False}
    metrics = only_row(
        wh, "SELECT * FROM mart.response_metrics_monthly WHERE source = 'im' AND org_id = :org_id", org_id
    )
    assert (metrics["incidents"], metrics["overdue"]) == (4, 1)
    assert metrics["overdue_share"] == pytest.approx(0.5)  # 1 of the 2 counted
    assert metrics["answered_share"] == pytest.approx(0.5)
    assert (metrics["counted"], metrics["excluded"]) == (2, 2)
    base = only_row(wh, "SELECT * FROM mart.rating_base WHERE org_id = :org_id", org_id)
    assert base["im_overdue_share"] == pytest.approx(0.5) and base["overdue_share"] == pytest.approx(0.5)
    assert timing.loc["3", "status"] == "rejected" and not timing.loc["3", "is_counted"]
    # the mart suite holds: overdue <= counted <= incidents, answered <= counted
    assert check_month(wh, dt.date(2025, 11, 1))["mart.response_metrics_monthly"] >= 1


def test_a_body_whose_every_incident_was_rejected_builds_with_no_shares(
    incident_world: IncidentWorld,
) -> None:
    """Found on the sample month (org-0096, org-0197, org-0199): a body with a source's every
    incident rejected has nothing to take a share of — its shares are unknown (NULL), and the
    month's build must not fail on them."""
    wh = incident_world.warehouse
    org_id = wh.scalar("SELECT MIN(org_id) FROM core.dim_org WHERE region_code = '58'")
    rows = [
        incident(org_id, "r1", "rejected", moscow(2025, 11, 11, 10), None),
        incident(org_id, "r2", "rejected", moscow(2025, 11, 12, 10), None),
    ]
    wh.bulk_load("core.fct_incident", pd.DataFrame(rows))
    build_month(wh, dt.date(2025, 11, 1))
    metrics = only_row(
        wh, "SELECT * FROM mart.response_metrics_monthly WHERE source = 'im' AND org_id = :org_id", org_id
    )
    assert (metrics["incidents"], metrics["counted"], metrics["excluded"], metrics["overdue"]) == (2, 0, 2, 0)
    assert pd.isna(metrics["answered_share"]) and pd.isna(metrics["overdue_share"])
    assert check_month(wh, dt.date(2025, 11, 1))["mart.response_metrics_monthly"] >= 1


def test_pos_answers_are_measured_in_working_days(incident_world: IncidentWorld) -> None:
    """ПОС deadlines run in working days (ГК РФ ст. 191: from the day after registration)."""
    wh = incident_world.warehouse
    org_id = wh.scalar("SELECT MIN(org_id) FROM core.dim_org WHERE region_code = '58'")
    cases = [
        # Fri 31 Oct → Wed 5 Nov: Sat 1 Nov works (moved), 2–4 Nov off, Wed 5 Nov → 2 working days
        ("p1", moscow(2025, 10, 31, 10), moscow(2025, 11, 5, 10), 2),
        # Fri 7 Nov 15:00 → Sat 8 Nov: no working day passed → 0; the same day → 0
        ("p2", moscow(2025, 11, 7, 15), moscow(2025, 11, 8, 12), 0),
        ("p3", moscow(2025, 11, 7, 15), moscow(2025, 11, 7, 17), 0),
        # Mon 10 Nov → Mon 17 Nov: 11–14 and 17 Nov → 5
        ("p4", moscow(2025, 11, 10, 9), moscow(2025, 11, 17, 9), 5),
    ]
    rows = [incident(org_id, i, "answered", r, a, source="pos") for i, r, a, _ in cases]
    wh.bulk_load("core.fct_incident", pd.DataFrame(rows))
    build_month(wh, dt.date(2025, 10, 1))
    build_month(wh, dt.date(2025, 11, 1))
    timing = wh.query_df("SELECT incident_id, answer_work_days FROM core.fct_incident_timing")
    assert timing.set_index("incident_id")["answer_work_days"].to_dict() == {i: d for i, _, _, d in cases}
    base = only_row(
        wh, "SELECT * FROM mart.rating_base WHERE month = '2025-11-01' AND org_id = :org_id", org_id
    )
    assert base["pos_answer_work_days_median"] == pytest.approx(0.0)  # 0, 0, 5
    assert base["pos_answer_work_days_mean"] == pytest.approx(5 / 3)


def test_a_regions_overdue_deadline_is_not_a_scoring_rule() -> None:
    """Ulyanovsk's "full points for answers within 8 hours" is how its rating scores (domain.md),
    not a deadline: its IM incidents are overdue after the federal 24 hours. Sevastopol's 9
    working hours is a deadline and stays. Every regional deadline names its source."""
    config = marts_config()["deadlines"]
    deadlines = Deadlines(config)
    assert deadlines.rule("im", "73").describe() == "24 hours"
    assert deadlines.rule("im", "92").describe() == "9 working hours"
    for source, spec in config.items():
        for region, rule in (spec.get("regions") or {}).items():
            assert rule.get("source"), f"deadlines.{source}.regions.{region} names no source"


def test_a_regional_deadline_without_its_source_is_refused() -> None:
    with pytest.raises(ValueError, match=r"deadlines\.im\.regions\.92.*source"):
        Deadlines({"im": {"default": {"hours": 24}, "regions": {"92": {"work_hours": 9}}}})


MEASURED = """
id: measured
version: 1
title: Тест
groups: {by: registry}
rated_when: {incidents: {im: 1}}
statuses: {rejected: excluded}
indicators:
  - {id: within_8, caption: "В пределах 8 рабочих часов", direction: higher, weight: 1,
     measure: {type: share_within, source: im, clock: work_hours, limit: 8},
     scoring: {type: linear, worst: 0, best: 1}}
  - {id: pos_days, caption: "Среднее время ответа ПОС, рабочих дней", direction: lower, weight: 1,
     measure: {type: mean, source: pos, clock: work_days}, scoring: {type: linear, worst: 8, best: 0}}
"""


def test_measures_are_read_from_the_incident_timing(incident_world: IncidentWorld, tmp_path) -> None:
    """A measure indicator's value comes from core.fct_incident_timing with the methodology's
    statuses; the snapshot's inputs carry it beside mart.rating_base's columns."""
    from gospublic.rating.snapshot import rating_inputs
    from transforms.methodology import load_methodology

    wh = incident_world.warehouse
    org_id = wh.scalar("SELECT MIN(org_id) FROM core.dim_org WHERE region_code = '58'")
    rows = [
        # Fri 7 Nov 19:00 → Sat 10:00: registered and answered off hours → 0 working hours, within
        incident(org_id, "1", "answered", moscow(2025, 11, 7, 19), moscow(2025, 11, 8, 10)),
        # Fri 7 Nov 17:00 → Mon 10 Nov 17:00: 1 h + 7 h (break 13–14) = 8 h → within
        incident(org_id, "2", "answered", moscow(2025, 11, 7, 17), moscow(2025, 11, 10, 17)),
        # Mon 10 Nov 9:00 → Tue 11 Nov 12:00: 8 h + 3 h = 11 h → late
        incident(org_id, "3", "answered", moscow(2025, 11, 10, 9), moscow(2025, 11, 11, 12)),
        incident(org_id, "4", "rejected", moscow(2025, 11, 10, 9), None),  # excluded
        incident(org_id, "p", "answered", moscow(2025, 11, 10, 9), moscow(2025, 11, 13, 9), source="pos"),
    ]
    wh.bulk_load("core.fct_incident", pd.DataFrame(rows))
    build_month(wh, dt.date(2025, 11, 1))
    hours = wh.query_df(
        "SELECT incident_id, answer_work_hours FROM core.fct_incident_timing WHERE source = 'im'"
    )
    assert hours.set_index("incident_id")["answer_work_hours"].dropna().to_dict() == {
        "1": 0.0,
        "2": 8.0,
        "3": 11.0,
    }
    path = tmp_path / "measured.yaml"
    path.write_text(MEASURED, encoding="utf-8")
    inputs = rating_inputs(wh, load_methodology(path), dt.date(2025, 11, 1)).set_index("org_id")
    assert inputs.loc[org_id, "within_8"] == pytest.approx(2 / 3)
    assert inputs.loc[org_id, "pos_days"] == pytest.approx(3.0)  # Tue, Wed, Thu
    assert (inputs.loc[org_id, "incidents_im"], inputs.loc[org_id, "kind"]) == (
        4,
        wh.scalar("SELECT kind FROM core.dim_org WHERE org_id = :o", {"o": org_id}),
    )
