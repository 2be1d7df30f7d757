"""Build the marts of one month: per-incident timing in Python, then the SQL models of ``sql/mart/``.

Working hours come from ``transforms.worktime`` (production calendar, the region's time zone),
deadlines from ``config/marts.yaml``, answer-quality flags from ``transforms.answer_quality`` on
the latest answer text (read from ``restricted``; only the flags leave it). Everything for the month
is replaced in one transaction, so running it twice gives the same tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml

from gospublic import settings
from gospublic.incidents_load import region_timezones
from gospublic.models import run_models
from gospublic.warehouse import Warehouse
from transforms.answer_quality import assess_with_evidence, flag_templates_frame, load_rules
from transforms.deadlines import Deadlines
from transforms.worktime import work_hours_between_many

log = logging.getLogger(__name__)

MART_MODELS = (
    "mart/010_dim_org.sql",
    "mart/011_dim_page.sql",
    "mart/020_subscribers_daily.sql",
    "mart/030_page_activity_monthly.sql",
    "mart/040_page_compliance_monthly.sql",
    "mart/050_response_metrics_monthly.sql",
    "mart/060_rating_base.sql",
)
QUALITY_FLAGS = ("formal", "no_specifics", "impolite", "redirect")


@cache
def marts_config() -> dict[str, Any]:
    return yaml.safe_load((settings.project_home() / "config" / "marts.yaml").read_text(encoding="utf-8"))


def month_start(value: date) -> date:
    return value.replace(day=1)


def previous_month(start: date) -> date:
    """The first day of the month before the one starting ``start``."""
    return month_start(start - timedelta(days=1))


def next_month(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def mart_params(start: date) -> dict[str, Any]:
    """Bind parameters of the mart models for the month starting ``start``."""
    end = next_month(start)
    compliance = marts_config()["compliance"]
    weights = compliance["weights"]
    return {
        "month_start": start,
        "month_end": end,
        "window_start": datetime.combine(start - timedelta(days=1), time(), UTC),
        "window_end": datetime.combine(end + timedelta(days=1), time(), UTC),
        "posts_per_week_target": float(compliance["posts_per_week_target"]),
        "views_share_target": float(compliance["views_share_target"]),
        **{f"w_{name}": float(weight) for name, weight in weights.items()},
        "w_total": float(sum(weights.values())),
    }


@dataclass(frozen=True)
class MonthBuild:
    month: str
    incidents: int
    mart_rows: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_month(warehouse: Warehouse, month: date) -> MonthBuild:
    """Replace the month's incident timing and every mart's rows of the month."""
    start = month_start(month)
    timing, evidence = incident_timing(warehouse, start)
    with warehouse.begin() as conn:
        warehouse.replace_partition_in(conn, "core.fct_incident_timing", timing, {"month": start})
        warehouse.replace_partition_in(conn, "restricted.answer_quality_evidence", evidence, {"month": start})
        run_models(conn, MART_MODELS, mart_params(start))
        counts = {
            table: int(
                conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE month = :m"), {"m": start}).scalar()
            )
            for table in (
                "mart.subscribers_daily",
                "mart.page_activity_monthly",
                "mart.page_compliance_monthly",
                "mart.response_metrics_monthly",
            )
        }
    result = MonthBuild(f"{start:%Y-%m}", len(timing), counts)
    log.info("marts of %s built: %s", result.month, result.as_dict())
    return result


def incident_timing(warehouse: Warehouse, start: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per incident registered in the month (the region's local month), and the evidence
    of its answer's quality flags (one row per flag and phrase)."""
    params = mart_params(start)
    incidents = warehouse.query_df(
        "SELECT i.source, i.incident_id, i.org_id, i.region_code, i.registered_at, i.first_reaction_at, "
        "i.answered_at, i.due_at, i.satisfaction, i.satisfied, i.last_exported_at, t.answer_text "
        "FROM core.fct_incident AS i "
        "LEFT JOIN restricted.incident_text AS t "
        "  ON t.source = i.source AND t.incident_id = i.incident_id AND t.load_id = i.load_id "
        "WHERE i.registered_at >= :window_start AND i.registered_at < :window_end",
        params,
    )
    zones = region_timezones(warehouse)
    deadlines = Deadlines(marts_config()["deadlines"])
    frames = [
        _region_timing(rows, start, str(region), zones.get(str(region), "Europe/Moscow"), deadlines)
        for region, rows in incidents.groupby("region_code")
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=_TIMING_COLUMNS), pd.DataFrame(columns=_EVIDENCE_COLUMNS)
    timing = pd.concat(frames, ignore_index=True)
    texts = incidents.set_index(["source", "incident_id"])["answer_text"]
    answers = texts.reindex(pd.MultiIndex.from_frame(timing[["source", "incident_id"]])).to_numpy()
    timing["has_answer_text"] = pd.Series(answers).notna().to_numpy() & timing["is_answered"].to_numpy()
    rules = load_rules()
    assessments = [assess_with_evidence(a if isinstance(a, str) else None, rules) for a in answers]
    flags = pd.DataFrame([a.flags for a in assessments])
    for flag in QUALITY_FLAGS:
        timing[flag] = flags[flag].where(timing["has_answer_text"], None)
    evidence = pd.DataFrame(
        [
            (source, incident_id, start, flag, phrase)
            for (source, incident_id, answered), assessment in zip(
                timing[["source", "incident_id", "has_answer_text"]].itertuples(index=False),
                assessments,
                strict=True,
            )
            if answered
            for flag, phrases in assessment.evidence.items()
            for phrase in phrases
        ],
        columns=_EVIDENCE_COLUMNS,
    )
    texts_of_month = timing[["org_id", "source"]].assign(
        answer_text=pd.Series(answers).where(timing["has_answer_text"], None).to_numpy()
    )
    template = flag_templates_frame(texts_of_month, group_columns=("org_id", "source"))
    timing["template"] = template.where(timing["has_answer_text"], None)
    return timing[_TIMING_COLUMNS], evidence


_TIMING_COLUMNS = [
    "source", "incident_id", "month", "org_id", "region_code", "registered_at", "is_answered",
    "reaction_hours", "reaction_work_hours", "answer_hours", "answer_work_hours", "deadline_at",
    "deadline_rule", "is_overdue", "satisfaction", "satisfied", "has_answer_text", *QUALITY_FLAGS, "template",
]  # fmt: skip


_EVIDENCE_COLUMNS = ["source", "incident_id", "month", "flag", "evidence"]


def _region_timing(
    rows: pd.DataFrame, start: date, region: str, tz: str, deadlines: Deadlines
) -> pd.DataFrame:
    registered = pd.to_datetime(rows["registered_at"], utc=True)
    local_month = registered.dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date
    rows = rows[(local_month == start).to_numpy()].copy()
    if rows.empty:
        return rows
    registered = pd.to_datetime(rows["registered_at"], utc=True)
    answered = pd.to_datetime(rows["answered_at"], utc=True)
    reacted = pd.to_datetime(rows["first_reaction_at"], utc=True).fillna(answered)
    rows["is_answered"] = answered.notna()
    rows["reaction_hours"] = (reacted - registered).dt.total_seconds() / 3600
    rows["answer_hours"] = (answered - registered).dt.total_seconds() / 3600
    rows["reaction_work_hours"] = work_hours_between_many(registered, reacted, tz)
    rows["answer_work_hours"] = work_hours_between_many(registered, answered, tz)
    parts = []
    for source, part in rows.groupby("source"):
        due, rule = deadlines.deadline_at(
            str(source), region, pd.to_datetime(part["registered_at"], utc=True),
            pd.to_datetime(part["due_at"], utc=True), tz,
        )  # fmt: skip
        parts.append(part.assign(deadline_at=due, deadline_rule=rule))
    rows = pd.concat(parts)
    answered = pd.to_datetime(rows["answered_at"], utc=True)
    as_of = pd.to_datetime(rows["last_exported_at"], utc=True)
    rows["is_overdue"] = (answered > rows["deadline_at"]).where(answered.notna(), as_of > rows["deadline_at"])
    rows["is_overdue"] = rows["is_overdue"].astype(bool)
    rows["month"] = start
    for column in ("satisfaction", "satisfied"):
        rows[column] = pd.to_numeric(rows[column]).astype("Int32")
    return rows.reset_index(drop=True)
