"""mart.incident_topics_monthly (issue 25): incidents by body × source × month × rubric × channel,
checked by its suite and reconciled with mart.response_metrics_monthly, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from gospublic.infra.migrations import migrate
from gospublic.infra.model_runner import run_models
from gospublic.infra.validation import validate_frame
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.check import RECONCILIATIONS

NOVEMBER = date(2025, 11, 1)
RECONCILE = RECONCILIATIONS["topics add up to each body's incidents per source"]
# (org, source, rubric, channel, answered, overdue, satisfied) of each incident registered in November
INCIDENTS = [
    ("org-0001", "im", "ЖКХ", "ВКонтакте", True, False, 1),
    ("org-0001", "im", "ЖКХ", "ВКонтакте", True, True, 0),
    ("org-0001", "im", "ЖКХ", "Одноклассники", False, True, None),
    ("org-0001", "im", "Дороги", "ВКонтакте", True, False, None),
    ("org-0001", "pos", "Дороги", "Госуслуги", True, False, 1),
    ("org-0002", "im", None, "ВКонтакте", True, False, None),
    ("org-0002", "im", "  ", None, False, False, None),
    ("org-0002", "pos", "Здравоохранение", "Госуслуги", True, False, 0),
]


def seed(warehouse: Warehouse) -> None:
    """Incidents and their timing as the incident load and the marts' timing step leave them; an
    October incident and one without a body that the month's mart must leave out."""
    at = datetime(2025, 11, 10, 9, tzinfo=UTC)
    rows = [(*row, NOVEMBER) for row in INCIDENTS]
    rows += [("org-0001", "im", "ЖКХ", "ВКонтакте", True, False, None, date(2025, 10, 1))]
    rows += [(None, "im", "ЖКХ", "ВКонтакте", True, False, None, NOVEMBER)]
    with warehouse.begin() as conn:
        for n, (org, source, rubric, channel, answered, overdue, satisfied, month) in enumerate(rows):
            values = {
                "source": source, "id": f"{source}-{n}", "org": org, "rubric": rubric, "channel": channel,
                "answered": answered, "overdue": overdue, "satisfied": satisfied, "month": month,
                "at": at, "due": at + timedelta(days=1), "day": at.date(),
            }  # fmt: skip
            conn.execute(
                sa.text(
                    "INSERT INTO core.fct_incident (source, incident_id, region_code, org_id, executor, "
                    "status, channel, rubric, registered_at, due_at, satisfied, is_answered, is_overdue, "
                    "observations, first_export_date, last_export_date, last_exported_at, last_file, "
                    "load_id) VALUES (:source, :id, '58', :org, 'x', 'closed', :channel, :rubric, :at, "
                    ":due, :satisfied, :answered, :overdue, 1, :day, :day, :at, 'f.csv', 'test')"
                ),
                values,
            )
    timing = warehouse.query_df(
        "SELECT source, incident_id, org_id, region_code, registered_at, is_answered, is_overdue, satisfied "
        "FROM core.fct_incident"
    )
    month_of = {f"{source}-{n}": row[-1] for n, (_, source, *row) in enumerate(rows)}
    timing["month"] = timing["incident_id"].map(month_of)
    timing["deadline_at"] = timing["registered_at"] + timedelta(days=1)
    timing["deadline_rule"] = "hours:24"
    timing["has_answer_text"] = False
    if "is_counted" in warehouse.table_columns("core.fct_incident_timing"):  # the status rule (issue 25)
        timing["is_counted"] = True
    with warehouse.begin() as conn:
        warehouse.bulk_load_in(conn, "core.fct_incident_timing", timing)


@pytest.fixture
def built(warehouse: Warehouse) -> Warehouse:
    migrate(warehouse)
    seed(warehouse)
    with warehouse.begin() as conn:
        models = ["mart/050_response_metrics_monthly.sql", "mart/070_incident_topics_monthly.sql"]
        run_models(conn, models, {"month_start": NOVEMBER})
    return warehouse


def test_topics_count_each_incident_of_a_body_once_by_rubric_and_channel(built: Warehouse) -> None:
    got = {
        (r["org_id"], r["source"], r["rubric"], r["channel"]): (
            r["incidents"], r["answered"], r["overdue"], r["rated"], r["satisfied"]
        )
        for r in built.query("SELECT * FROM mart.incident_topics_monthly WHERE month = :m", {"m": NOVEMBER})
    }  # fmt: skip
    assert got == {
        ("org-0001", "im", "ЖКХ", "ВКонтакте"): (2, 2, 1, 2, 1),
        ("org-0001", "im", "ЖКХ", "Одноклассники"): (1, 0, 1, 0, 0),
        ("org-0001", "im", "Дороги", "ВКонтакте"): (1, 1, 0, 0, 0),
        ("org-0001", "pos", "Дороги", "Госуслуги"): (1, 1, 0, 1, 1),
        ("org-0002", "im", "не указано", "ВКонтакте"): (1, 1, 0, 0, 0),
        ("org-0002", "im", "не указано", "не указано"): (1, 0, 0, 0, 0),
        ("org-0002", "pos", "Здравоохранение", "Госуслуги"): (1, 1, 0, 1, 0),
    }
    frame = built.query_df("SELECT * FROM mart.incident_topics_monthly WHERE month = :m", {"m": NOVEMBER})
    outcome = validate_frame(frame, "mart_incident_topics_monthly")
    assert not outcome.table_failures and not outcome.row_failures


def test_topics_reconcile_with_response_metrics_and_a_difference_is_found(built: Warehouse) -> None:
    params = {"month_start": NOVEMBER}
    assert built.scalar(RECONCILE, params) == 0
    per_body = built.query(
        "SELECT t.org_id, t.source, SUM(t.incidents) AS topics, MIN(r.incidents) AS metrics "
        "FROM mart.incident_topics_monthly AS t JOIN mart.response_metrics_monthly AS r "
        "ON r.org_id = t.org_id AND r.source = t.source AND r.month = t.month "
        "WHERE t.month = :month_start GROUP BY t.org_id, t.source",
        params,
    )
    assert len(per_body) == 4 and all(r["topics"] == r["metrics"] for r in per_body)
    built.execute(
        "UPDATE mart.incident_topics_monthly SET incidents = incidents + 1 "
        "WHERE org_id = 'org-0002' AND channel = 'Госуслуги'"
    )
    assert built.scalar(RECONCILE, params) == 1
    built.execute("DELETE FROM mart.incident_topics_monthly WHERE org_id = 'org-0002' AND source = 'pos'")
    assert built.scalar(RECONCILE, params) == 1  # a body's source missing from the topics


def test_rebuilding_the_month_gives_the_same_rows(built: Warehouse) -> None:
    query = "SELECT * FROM mart.incident_topics_monthly ORDER BY org_id, source, rubric, channel"
    first = built.query(query)
    with built.begin() as conn:
        run_models(conn, ["mart/070_incident_topics_monthly.sql"], {"month_start": NOVEMBER})
    assert built.query(query) == first
