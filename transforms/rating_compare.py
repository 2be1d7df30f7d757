"""Two ratings of the same month compared body by body (pure pandas): frames in, frames out.

``before`` and ``after`` are what ``transforms.rating.score_month`` returns (or the same columns read
back from a snapshot): ``bodies`` (org_id, rating_group, is_rated, score, rank, zone) and
``indicators`` (org_id, indicator_id, raw_value, points, weight, weighted_points). The comparison
tells, for every body in either, how its place, zone and score moved and which indicator moved it
most: the indicator whose weighted points changed most (an indicator present on one side only
counts with all its weighted points), so the explanation adds up to the score's change.

A place is compared only within the same group: a body that changed group (or entered or left the
rating) has no place move but is counted as moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

BODY_COLUMNS = ("org_id", "rating_group", "is_rated", "score", "rank", "zone")
INDICATOR_COLUMNS = ("org_id", "indicator_id", "raw_value", "points", "weight", "weighted_points")
SCORE_EPSILON = 0.05  # scores are rounded to one decimal: a change below half a tenth is none


@dataclass(frozen=True)
class Rated:
    """One side of a comparison: a month scored under one methodology."""

    bodies: pd.DataFrame
    indicators: pd.DataFrame


@dataclass(frozen=True)
class Summary:
    """The headline of a comparison."""

    rated_before: int
    rated_after: int
    compared: int  # rated on both sides
    moved: int  # place or group changed, or entered or left the rating
    moved_up: int
    moved_down: int
    group_changed: int
    zone_changed: int
    score_changed: int
    entered: int  # rated after only
    left: int  # rated before only
    largest_rise: float | None
    largest_fall: float | None


@dataclass(frozen=True)
class Comparison:
    """``bodies``: one row per body rated on either side, groups in ``group_order`` then by place;
    columns org_id, rating_group (after's, else before's), rating_group_before, rating_group_after,
    rated_before, rated_after, score_before, score_after, score_change, rank_before, rank_after,
    place_move (places gained: positive is up; NA across groups), zone_before, zone_after,
    zone_changed, moved, top_indicator, top_indicator_change.
    ``indicators``: org_id, indicator_id, raw/points/weight/weighted_points before and after, change
    (of weighted points), for every body × indicator on either side."""

    bodies: pd.DataFrame
    indicators: pd.DataFrame
    summary: Summary
    group_order: tuple[str, ...]

    @property
    def changed(self) -> pd.DataFrame:
        """The bodies whose place, group, zone, score or rating status changed."""
        frame = self.bodies
        return frame[frame["moved"] | frame["zone_changed"] | (frame["score_change"].abs() >= SCORE_EPSILON)]


def compare(before: Rated, after: Rated, group_order: Sequence[str] = ()) -> Comparison:
    """``after`` against ``before``; ``group_order`` is the publication order of groups (groups not in
    it follow in alphabetical order)."""
    bodies = _bodies(before.bodies, after.bodies)
    indicators = _indicators(before.indicators, after.indicators)
    top = _top_indicators(indicators)
    bodies = bodies.merge(top, on="org_id", how="left")
    order = _order(group_order, bodies["rating_group"])
    position = {group: n for n, group in enumerate(order)}
    bodies["_group"] = bodies["rating_group"].map(position)
    bodies = bodies.sort_values(
        ["_group", "rated_after", "rank_after", "rank_before", "org_id"],
        ascending=[True, False, True, True, True],
        na_position="last",
    ).drop(columns="_group")
    return Comparison(bodies.reset_index(drop=True), indicators, _summary(bodies), order)


def _side(frame: pd.DataFrame, suffix: str) -> pd.DataFrame:
    missing = [c for c in BODY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"bodies lack the columns {missing}")
    part = frame[list(BODY_COLUMNS)].copy()
    part["is_rated"] = part["is_rated"].fillna(False).astype(bool)
    part["score"] = pd.to_numeric(part["score"], errors="coerce").astype(float)
    part["rank"] = pd.to_numeric(part["rank"], errors="coerce").astype("Int64")
    part["zone"] = part["zone"].astype(object).where(part["zone"].notna(), None)
    part = part.rename(columns={"is_rated": "rated"})
    return part.rename(columns={c: f"{c}_{suffix}" for c in part.columns if c != "org_id"})


def _bodies(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    merged = _side(before, "before").merge(_side(after, "after"), on="org_id", how="outer")
    merged = merged[merged["rated_before"].fillna(False) | merged["rated_after"].fillna(False)].copy()
    for side in ("before", "after"):
        merged[f"rated_{side}"] = merged[f"rated_{side}"].fillna(False).astype(bool)
        merged.loc[~merged[f"rated_{side}"], [f"score_{side}", f"rank_{side}", f"zone_{side}"]] = None
        merged[f"score_{side}"] = merged[f"score_{side}"].astype(float)
        merged[f"rank_{side}"] = merged[f"rank_{side}"].astype("Int64")
    merged["rating_group"] = merged["rating_group_after"].where(
        merged["rating_group_after"].notna(), merged["rating_group_before"]
    )
    both = merged["rated_before"] & merged["rated_after"]
    same_group = both & (merged["rating_group_before"] == merged["rating_group_after"])
    merged["score_change"] = (merged["score_after"] - merged["score_before"]).where(both).round(1)
    merged["place_move"] = (merged["rank_before"] - merged["rank_after"]).where(same_group).astype("Int64")
    merged["group_changed"] = both & ~same_group
    zone_before = merged["zone_before"].astype(object).where(merged["zone_before"].notna(), None)
    zone_after = merged["zone_after"].astype(object).where(merged["zone_after"].notna(), None)
    merged["zone_changed"] = both & (zone_before != zone_after)
    entered_or_left = merged["rated_before"] != merged["rated_after"]
    merged["moved"] = (merged["place_move"].fillna(0) != 0) | merged["group_changed"] | entered_or_left
    return merged.astype({"moved": bool, "zone_changed": bool, "group_changed": bool})


def _indicators(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    def side(frame: pd.DataFrame, suffix: str) -> pd.DataFrame:
        missing = [c for c in INDICATOR_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"indicators lack the columns {missing}")
        part = frame[list(INDICATOR_COLUMNS)].copy()
        values = ["raw_value", "points", "weight", "weighted_points"]
        part[values] = part[values].apply(pd.to_numeric, errors="coerce").astype(float)
        return part.rename(columns={c: f"{c}_{suffix}" for c in values})

    merged = side(before, "before").merge(side(after, "after"), on=["org_id", "indicator_id"], how="outer")
    merged["change"] = (
        merged["weighted_points_after"].fillna(0.0) - merged["weighted_points_before"].fillna(0.0)
    ).round(6)
    return merged.sort_values(["org_id", "indicator_id"]).reset_index(drop=True)


def _top_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    """Per body, the indicator whose weighted points changed most (ties: the smallest id)."""
    moved = indicators[indicators["change"].abs() > 1e-9].copy()
    if moved.empty:
        return pd.DataFrame({"org_id": [], "top_indicator": [], "top_indicator_change": []})
    moved["size"] = moved["change"].abs()
    moved = moved.sort_values(["org_id", "size", "indicator_id"], ascending=[True, False, True])
    top = moved.drop_duplicates("org_id")[["org_id", "indicator_id", "change"]]
    return top.rename(columns={"indicator_id": "top_indicator", "change": "top_indicator_change"})


def _order(group_order: Sequence[str], groups: pd.Series) -> tuple[str, ...]:
    present = [g for g in groups.dropna().unique().tolist()]
    known = [g for g in group_order if g in present]
    return (*known, *sorted(g for g in present if g not in known))


def _summary(bodies: pd.DataFrame) -> Summary:
    both = bodies["rated_before"] & bodies["rated_after"]
    moves = bodies["place_move"].fillna(0)
    changes = bodies["score_change"].dropna()
    rises, falls = changes[changes >= SCORE_EPSILON], changes[changes <= -SCORE_EPSILON]
    return Summary(
        rated_before=int(bodies["rated_before"].sum()),
        rated_after=int(bodies["rated_after"].sum()),
        compared=int(both.sum()),
        moved=int(bodies["moved"].sum()),
        moved_up=int((moves > 0).sum()),
        moved_down=int((moves < 0).sum()),
        group_changed=int(bodies["group_changed"].sum()),
        zone_changed=int(bodies["zone_changed"].sum()),
        score_changed=int(len(rises) + len(falls)),
        entered=int((bodies["rated_after"] & ~bodies["rated_before"]).sum()),
        left=int((bodies["rated_before"] & ~bodies["rated_after"]).sum()),
        largest_rise=float(np.round(rises.max(), 1)) if len(rises) else None,
        largest_fall=float(np.round(falls.min(), 1)) if len(falls) else None,
    )
