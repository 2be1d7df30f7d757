"""A small fixture month for the presets' acceptance tests, seeded into the warehouse as the loads
and marts leave it: bodies in ``core.dim_org``, one row a body in ``mart.rating_base`` (the values
an expression reads) and each message in ``core.fct_incident_timing`` (what a time measure reads).

A message is written by hand with its registration and answer on the region's wall clock (Moscow)
and the working hours and working days its test's arithmetic uses; ``seed_month`` checks those
against the production calendar (transforms.worktime), so the hand arithmetic and the stored
values cannot drift apart. The month is November 2025: Mon 17 – Sun 23 Nov is an ordinary week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from tests.rating_inputs import record_complete_inputs
from transforms.worktime import work_days_between_many, work_hours_between_many

MONTH = date(2025, 11, 1)
MOSCOW = ZoneInfo("Europe/Moscow")
REGION = "58"


@dataclass(frozen=True)
class Message:
    """One citizen's message (an IM incident or a ПОС message) as ``core.fct_incident_timing`` has it.

    ``registered`` and ``answered`` are Moscow wall-clock times ``"YYYY-MM-DD HH:MM"``; ``work_hours``
    and ``work_days`` are the test's own count of the time to the answer (checked on seeding).
    """

    source: str
    registered: str
    answered: str | None = None
    work_hours: float | None = None
    work_days: int | None = None
    status: str = "closed"
    overdue: bool = False

    @property
    def calendar_hours(self) -> float | None:
        if self.answered is None:
            return None
        return (_local(self.answered) - _local(self.registered)).total_seconds() / 3600


@dataclass(frozen=True)
class Body:
    """A body of the registry: ``kind`` and ``rating_group`` as in config/registry/orgs.csv."""

    org_id: str
    kind: str
    rating_group: str | None
    base: dict[str, Any] = field(default_factory=dict)  # mart.rating_base values beyond the counts
    messages: tuple[Message, ...] = ()


def im(registered: str, answered: str | None = None, work_hours: float | None = None,
       work_days: int | None = None, **extra: Any) -> Message:  # fmt: skip
    return Message("im", registered, answered, work_hours, work_days, **extra)


def pos(registered: str, answered: str | None = None, work_hours: float | None = None,
        work_days: int | None = None, **extra: Any) -> Message:  # fmt: skip
    return Message("pos", registered, answered, work_hours, work_days, **extra)


def seed_month(warehouse: Warehouse, bodies: list[Body]) -> None:
    """Migrate, then write the bodies, their month in ``mart.rating_base`` and their messages; the
    month's inputs are recorded complete for the publication gate (tests/rating_inputs.py)."""
    migrate(warehouse)
    timing = _timing(bodies)
    with warehouse.begin() as conn:
        for body in bodies:
            conn.execute(
                sa.text(
                    "INSERT INTO core.dim_org (org_id, version, name, kind, rating_group, region_code, "
                    "region_name, timezone, valid_from, is_current, load_id) VALUES (:o, 1, :name, :kind, "
                    ":group, :region, 'Пензенская область', 'Europe/Moscow', DATE '2020-01-01', TRUE, 'test')"
                ),
                {"o": body.org_id, "name": f"Орган {body.org_id}", "kind": body.kind,
                 "group": body.rating_group, "region": REGION},
            )  # fmt: skip
        warehouse.bulk_load_in(conn, "mart.rating_base", _base(bodies))
        if not timing.empty:
            warehouse.bulk_load_in(conn, "core.fct_incident_timing", timing)
    record_complete_inputs(warehouse, MONTH)


def _base(bodies: list[Body]) -> pd.DataFrame:
    rows = []
    for body in bodies:
        counts = {
            "incidents": len(body.messages),
            "incidents_im": sum(m.source == "im" for m in body.messages),
            "incidents_pos": sum(m.source == "pos" for m in body.messages),
            "answers_assessed": 0,
            "pages": 0,
            "rated": 0,
            "im_rated": 0,
            "pos_rated": 0,
        }
        row = {"org_id": body.org_id, "month": MONTH, "region_code": REGION,
               "rating_group": body.rating_group, "kind": body.kind, **counts, **body.base}  # fmt: skip
        if "im_rated" in body.base or "pos_rated" in body.base:
            row["rated"] = row["im_rated"] + row["pos_rated"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("incidents", "incidents_im", "incidents_pos", "answers_assessed", "pages", "rated",
                   "im_rated", "pos_rated"):  # fmt: skip
        frame[column] = frame[column].astype("int64")
    return frame


def _local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=MOSCOW)


def _timing(bodies: list[Body]) -> pd.DataFrame:
    rows = []
    for body in bodies:
        for n, message in enumerate(body.messages, start=1):
            registered = _local(message.registered)
            answered = _local(message.answered) if message.answered else None
            if answered is not None:
                hours = work_hours_between_many(
                    pd.Series([registered]), pd.Series([answered]), "Europe/Moscow"
                )
                days = work_days_between_many(pd.Series([registered]), pd.Series([answered]), "Europe/Moscow")
                assert abs(hours[0] - message.work_hours) < 1e-9, (body.org_id, message, hours[0])
                assert days[0] == message.work_days, (body.org_id, message, days[0])
            counted = message.status != "rejected"
            rows.append(
                {
                    "source": message.source,
                    "incident_id": f"{body.org_id}-{message.source}-{n}",
                    "month": MONTH,
                    "org_id": body.org_id,
                    "region_code": REGION,
                    "registered_at": registered,
                    "is_answered": answered is not None,
                    "reaction_hours": message.calendar_hours,
                    "reaction_work_hours": message.work_hours,
                    "answer_hours": message.calendar_hours,
                    "answer_work_hours": message.work_hours,
                    "deadline_at": registered + timedelta(hours=24),
                    "deadline_rule": "24 hours" if message.source == "im" else "export due date",
                    "is_overdue": message.overdue and counted,
                    "satisfaction": None,
                    "satisfied": None,
                    "has_answer_text": answered is not None,
                    "formal": None,
                    "no_specifics": None,
                    "impolite": None,
                    "redirect": None,
                    "template": None,
                    "status": message.status,
                    "is_counted": counted,
                    "answer_work_days": message.work_days,
                    "reaction_work_days": message.work_days,
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["registered_at"] = pd.to_datetime(frame["registered_at"], utc=True)
    frame["deadline_at"] = pd.to_datetime(frame["deadline_at"], utc=True)
    for column in ("satisfaction", "satisfied", "answer_work_days", "reaction_work_days"):
        frame[column] = frame[column].astype("Int32")
    for column in ("formal", "no_specifics", "impolite", "redirect", "template"):
        frame[column] = frame[column].astype("boolean")
    for column in ("reaction_hours", "reaction_work_hours", "answer_hours", "answer_work_hours"):
        frame[column] = frame[column].astype("float64")
    return frame


def rate(warehouse: Warehouse, methodology_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month under the preset, as its snapshot stores it: ``(bodies, indicators)`` indexed by
    org_id (and indicator_id), read back from ``mart.rating_monthly`` and ``mart.rating_indicator``."""
    from gospublic.rating.snapshot import compute_snapshot, methodologies

    snapshot = compute_snapshot(warehouse, methodologies()[methodology_id], MONTH)
    bodies = warehouse.query_df(
        "SELECT * FROM mart.rating_monthly WHERE snapshot_id = :s ORDER BY org_id",
        {"s": snapshot.snapshot_id},
    ).set_index("org_id")
    indicators = warehouse.query_df(
        "SELECT * FROM mart.rating_indicator WHERE snapshot_id = :s ORDER BY org_id, indicator_id",
        {"s": snapshot.snapshot_id},
    ).set_index(["org_id", "indicator_id"])
    return bodies, indicators


@dataclass(frozen=True)
class Expected:
    """A rated body's hand-computed result."""

    group: str
    score: float
    rank: int
    zone: str


def check_rated(bodies: pd.DataFrame, expected: dict[str, Expected]) -> None:
    """Every body of ``expected`` is rated with its group, score (to 0.1), place and zone, and no
    other body is rated."""
    rated = bodies[bodies["is_rated"].astype(bool)]
    assert sorted(rated.index) == sorted(expected), (sorted(rated.index), sorted(expected))
    for org_id, want in expected.items():
        row = rated.loc[org_id]
        got = (row["rating_group"], round(float(row["score"]), 1), int(row["rank"]), row["zone"])
        assert got[0] == want.group and abs(got[1] - want.score) < 0.05, (org_id, got, want)
        assert (got[2], got[3]) == (want.rank, want.zone), (org_id, got, want)


def check_not_rated(bodies: pd.DataFrame, reasons: dict[str, str]) -> None:
    """Each body of ``reasons`` is listed, not rated, with a reason containing the given text."""
    for org_id, text in reasons.items():
        row = bodies.loc[org_id]
        assert not bool(row["is_rated"]) and pd.isna(row["score"]), (org_id, row.to_dict())
        assert text in str(row["not_rated_reason"]), (org_id, row["not_rated_reason"])


def weight(indicators: pd.DataFrame, org_id: str, indicator_id: str) -> float:
    """The indicator's weight in % of the body's score; 0 when it is missing and its weight spread
    (stored with weight 0, or not stored)."""
    if (org_id, indicator_id) not in indicators.index:
        return 0.0
    return float(indicators.loc[(org_id, indicator_id), "weight"])


def points(indicators: pd.DataFrame, org_id: str, indicator_id: str) -> float:
    return float(indicators.loc[(org_id, indicator_id), "points"])
