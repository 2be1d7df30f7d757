"""Topics and channels of citizens' messages for the publication (issue 25), from
``mart.incident_topics_monthly``: a body's month by rubric and channel, and the region's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gospublic.infra.warehouse import Warehouse
from transforms.months import parse_month


@dataclass(frozen=True)
class TopicCount:
    """Messages under one rubric (or channel)."""

    label: str  # the rubric or channel as exported; «не указано» when empty
    incidents: int
    answered: int
    overdue: int
    bodies: int  # bodies that received such messages


@dataclass(frozen=True)
class Topics:
    """A month's messages by rubric and by channel, largest first (ties by label)."""

    month: date
    incidents: int
    rubrics: tuple[TopicCount, ...]
    channels: tuple[TopicCount, ...]


def topics_of(warehouse: Warehouse, org_id: str, month: Any) -> Topics:
    """One body's messages of ``month`` by rubric and by channel (IM and ПОС together)."""
    return _topics(warehouse, parse_month(month), org_id)


def topics_summary(warehouse: Warehouse, month: Any) -> Topics:
    """The region's messages of ``month`` (every body's) by rubric and by channel."""
    return _topics(warehouse, parse_month(month), None)


def _topics(warehouse: Warehouse, month: date, org_id: str | None) -> Topics:
    where = "month = :m" + (" AND org_id = :org" if org_id is not None else "")
    params = {"m": month, "org": org_id}
    counts = {
        dimension: tuple(
            TopicCount(
                str(r["label"]), int(r["incidents"]), int(r["answered"]), int(r["overdue"]), int(r["bodies"])
            )
            for r in sorted(
                warehouse.query(
                    f"SELECT {dimension} AS label, SUM(incidents) AS incidents, SUM(answered) AS answered, "
                    "SUM(overdue) AS overdue, COUNT(DISTINCT org_id) AS bodies "
                    f"FROM mart.incident_topics_monthly WHERE {where} GROUP BY {dimension}",
                    params,
                ),
                key=lambda r: (-int(r["incidents"]), str(r["label"])),
            )
        )
        for dimension in ("rubric", "channel")  # fixed column names, never configuration
    }
    total = sum(count.incidents for count in counts["rubric"])
    return Topics(month, total, counts["rubric"], counts["channel"])
