"""Trends of the rating for the publication (issue 25): a body's last months from published
snapshots of one methodology, and per group the place movement between a month and the previous
published one, compared only within the same group.

A month's point is its latest published revision under the methodology's id and version (a new
version scores differently, so its months are not mixed with the old one's). The month being
published has no published snapshot yet: its latest draft stands in, marked ``published=False``
(a republished month: its newest revision).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from gospublic.infra.warehouse import Warehouse
from transforms.months import parse_month
from transforms.rating import ZONE_CAPTIONS

MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    """A body in one month's snapshot."""

    month: date
    snapshot_id: str
    rating_group: str
    is_rated: bool
    score: float | None
    place: int | None  # rank in its group
    ranked_in_group: int | None  # bodies ranked in the group that month
    zone: str | None  # green, yellow, red
    published: bool  # False: the month's draft (being published now)

    @property
    def rank(self) -> int | None:
        """The place, under the name mart.rating_monthly and the card template use."""
        return self.place

    @property
    def zone_ru(self) -> str | None:
        """The zone in Russian («зелёная»…)."""
        return ZONE_CAPTIONS.get(self.zone) if self.zone else None


@dataclass(frozen=True)
class PlaceMove:
    """A rated body's place this month against the previous published month."""

    org_id: str
    rating_group: str
    place: int
    score: float
    previous_month: date | None
    previous_group: str | None  # None: not in the previous snapshot
    previous_place: int | None  # its place then, in previous_group; None: not ranked then
    previous_score: float | None
    move: int | None  # places gained (previous place − place); None unless both in this group
    group_changed: bool  # the body was rated in another group the previous month

    @property
    def is_new(self) -> bool:
        """Not ranked in the previous snapshot (absent, or there and not rated)."""
        return self.previous_place is None


def snapshots(
    warehouse: Warehouse, methodology_id: str, month: Any, months: int = MONTHS
) -> list[dict[str, Any]]:
    """The snapshot standing for each of the ``months`` months ending with ``month`` (oldest first):
    its latest published revision, for ``month`` itself its latest revision, published or the draft
    being published; only those of the methodology version ``month``'s snapshot has."""
    last = parse_month(month)
    first = _add_months(last, -(months - 1))
    rows = warehouse.query(
        "SELECT snapshot_id, month, methodology_version, revision, status FROM mart.rating_snapshot "
        "WHERE methodology_id = :m AND month >= :first AND month <= :last "
        "AND (status = 'published' OR month = :last)",
        {"m": methodology_id, "first": first, "last": last},
    )
    chosen: dict[date, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: int(r["revision"])):
        chosen[_as_date(row["month"])] = row  # the latest revision (a draft only for ``month``)
    current = chosen.get(last)
    version = (
        current["methodology_version"]
        if current
        else max((r["methodology_version"] for r in rows), default=None)
    )
    return [
        {**row, "month": key, "published": row["status"] == "published"}
        for key, row in sorted(chosen.items())
        if row["methodology_version"] == version
    ]


def body_trends(
    warehouse: Warehouse,
    methodology_id: str,
    month: Any,
    org_ids: list[str] | None = None,
    months: int = MONTHS,
) -> dict[str, list[TrendPoint]]:
    """org_id → its points over the ``months`` months ending with ``month`` (oldest first; months
    the body was not in the snapshot are left out); every body of those snapshots, or ``org_ids``."""
    chosen = snapshots(warehouse, methodology_id, month, months)
    if not chosen:
        return {}
    by_id = {row["snapshot_id"]: row for row in chosen}
    params: dict[str, Any] = {f"s{i}": sid for i, sid in enumerate(by_id)}
    rows = warehouse.query(
        "SELECT snapshot_id, org_id, rating_group, is_rated, score, rank, ranked_in_group, zone "
        f"FROM mart.rating_monthly WHERE snapshot_id IN ({', '.join(':' + k for k in params)})",
        params,
    )
    wanted = set(org_ids) if org_ids is not None else None
    out: dict[str, list[TrendPoint]] = {org: [] for org in org_ids or []}
    for row in rows:
        org_id = str(row["org_id"])
        if wanted is not None and org_id not in wanted:
            continue
        snapshot = by_id[row["snapshot_id"]]
        out.setdefault(org_id, []).append(
            TrendPoint(
                month=snapshot["month"],
                snapshot_id=str(row["snapshot_id"]),
                rating_group=str(row["rating_group"]),
                is_rated=bool(row["is_rated"]),
                score=_float(row["score"]),
                place=_int(row["rank"]),
                ranked_in_group=_int(row["ranked_in_group"]),
                zone=row["zone"],
                published=bool(snapshot["published"]),
            )
        )
    return {org: sorted(points, key=lambda p: p.month) for org, points in out.items()}


def body_history(
    warehouse: Warehouse, methodology_id: str, org_id: str, month: Any, months: int = MONTHS
) -> list[TrendPoint]:
    """One body's points over the ``months`` months ending with ``month`` (oldest first)."""
    return body_trends(warehouse, methodology_id, month, [org_id], months)[org_id]


def group_moves(warehouse: Warehouse, methodology_id: str, month: Any) -> dict[str, list[PlaceMove]]:
    """rating_group → its rated bodies this month by place, each with its place the previous
    published month: a move only when the body was ranked in the same group then; a body that
    changed group is flagged, not given a move across groups."""
    chosen = snapshots(warehouse, methodology_id, month, MONTHS)
    if not chosen or chosen[-1]["month"] != parse_month(month):
        return {}
    current = chosen[-1]
    earlier = [row for row in chosen[:-1] if row["published"]]
    previous = earlier[-1] if earlier else None
    now = _rated(warehouse, current["snapshot_id"])
    before = _rows(warehouse, previous["snapshot_id"]) if previous else {}
    moves: dict[str, list[PlaceMove]] = {}
    for org_id, row in now.items():
        old = before.get(org_id)
        old_group = str(old["rating_group"]) if old else None
        same_group = old_group == row["rating_group"]
        old_place = _int(old["rank"]) if old and old["is_rated"] else None
        place = int(row["rank"])
        moves.setdefault(str(row["rating_group"]), []).append(
            PlaceMove(
                org_id=org_id,
                rating_group=str(row["rating_group"]),
                place=place,
                score=float(row["score"]),
                previous_month=previous["month"] if previous else None,
                previous_group=old_group,
                previous_place=old_place,
                previous_score=_float(old["score"]) if old else None,
                move=old_place - place if same_group and old_place is not None else None,
                group_changed=old is not None and not same_group,
            )
        )
    return {group: sorted(rows, key=lambda m: (m.place, m.org_id)) for group, rows in sorted(moves.items())}


def _rated(warehouse: Warehouse, snapshot_id: str) -> dict[str, dict[str, Any]]:
    return {
        org: row
        for org, row in _rows(warehouse, snapshot_id).items()
        if row["is_rated"] and row["rank"] is not None
    }


def _rows(warehouse: Warehouse, snapshot_id: str) -> dict[str, dict[str, Any]]:
    rows = warehouse.query(
        "SELECT org_id, rating_group, is_rated, score, rank FROM mart.rating_monthly WHERE snapshot_id = :s",
        {"s": snapshot_id},
    )
    return {str(row["org_id"]): row for row in rows}


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
