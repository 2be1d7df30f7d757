"""Scores, ranks and zones of one month under one methodology (pure pandas).

Each indicator's raw value becomes 0–100 points by its scoring function; a body's score is the sum
of its weighted points, weights renormalised over the indicators it has data for (``reweight``) or
kept with 0 points (``zero``), so scores stay within 0–100. Ranks are dense within a group (ties
share a rank), on the score rounded to one decimal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.methodology import ALL_GROUP, Methodology

ZONE_GREEN, ZONE_YELLOW, ZONE_RED = "green", "yellow", "red"
ZONE_CAPTIONS = {ZONE_GREEN: "зелёная", ZONE_YELLOW: "жёлтая", ZONE_RED: "красная"}


def assign_groups(base: pd.DataFrame, methodology: Methodology) -> pd.Series:
    """The rating group of each body: the registry's, by message volume (Penza), or one for all."""
    if methodology.groups_by == "registry":
        return base["rating_group"].fillna("Без группы").astype(str)
    if methodology.groups_by == "all":
        return pd.Series(ALL_GROUP, index=base.index)
    bands = methodology.grouping.volume
    volume = base["incidents"].fillna(0)
    return pd.Series([bands.caption(bands.band(v)) for v in volume], index=base.index)


def score_month(base: pd.DataFrame, methodology: Methodology) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(indicators, bodies)`` for the bodies of ``base`` (one row per body, a column per indicator id).

    ``indicators``: org_id, indicator_id, raw_value, points, weight, weighted_points (rated bodies).
    ``bodies``: org_id, rating_group, incidents, is_rated, not_rated_reason, score, rank,
    ranked_in_group, zone.
    """
    bodies = base[["org_id", "incidents"]].copy()
    bodies["rating_group"] = assign_groups(base, methodology).to_numpy()
    enough_messages = bodies["incidents"].fillna(0) >= methodology.min_incidents
    pages = base["pages"].fillna(0) if "pages" in base else pd.Series(0, index=base.index)
    enough_pages = pages >= methodology.min_pages
    bodies["is_rated"] = enough_messages & enough_pages
    # numpy's stubs reject default=None; at run time it gives an object column with None.
    bodies["not_rated_reason"] = np.select(  # type: ignore[call-overload]
        [~enough_messages, ~enough_pages],
        [f"меньше {methodology.min_incidents} сообщений за месяц", "нет официального госпаблика"],
        default=None,
    )
    rated = bodies[bodies["is_rated"]]
    rows = []
    for indicator in methodology.indicators:
        values = pd.to_numeric(base.loc[rated.index, indicator.id], errors="coerce").astype(float)
        if indicator.scoring.type == "percentile":
            points = _percentile_points(values, rated["rating_group"], indicator.higher_is_better)
        else:
            scoring = indicator.scoring
            points = pd.Series(
                [np.nan if np.isnan(v) else scoring.points(v) for v in values], index=values.index
            )
        for index in rated.index:
            value = values.at[index]
            missing = bool(np.isnan(value))
            if missing and not indicator.required:
                continue
            rows.append(
                {
                    "org_id": rated.at[index, "org_id"],
                    "indicator_id": indicator.id,
                    "raw_value": None if missing else float(value),
                    "points": 0.0 if missing else float(points.at[index]),
                    "weight": indicator.weight,
                }
            )
    indicators = pd.DataFrame(rows, columns=["org_id", "indicator_id", "raw_value", "points", "weight"])
    available = indicators.groupby("org_id")["weight"].transform("sum")
    indicators["weight"] = (indicators["weight"] * 100.0 / available).round(6)
    indicators["weighted_points"] = (indicators["points"] * indicators["weight"] / 100.0).round(6)
    scores = indicators.groupby("org_id")["weighted_points"].sum().round(1)
    bodies["score"] = bodies["org_id"].map(scores).where(bodies["is_rated"])
    ranked = bodies[bodies["is_rated"] & bodies["score"].notna()]
    bodies["rank"] = (
        ranked.groupby("rating_group")["score"].rank(method="dense", ascending=False).astype("Int64")
    )
    bodies["ranked_in_group"] = (
        bodies["rating_group"].map(ranked.groupby("rating_group").size()).astype("Int64")
    )
    bodies.loc[~bodies["is_rated"], "ranked_in_group"] = pd.NA
    green, yellow = methodology.zones
    bodies["zone"] = np.select(  # type: ignore[call-overload]  # default=None: see not_rated_reason
        [bodies["score"] >= green, bodies["score"] >= yellow, bodies["score"].notna()],
        [ZONE_GREEN, ZONE_YELLOW, ZONE_RED],
        default=None,
    )
    return indicators, bodies.reset_index(drop=True)


def _percentile_points(values: pd.Series, groups: pd.Series, higher_is_better: bool) -> pd.Series:
    """The share of the group's other bodies a body beats or equals, × 100 (ties share the better)."""
    points = pd.Series(np.nan, index=values.index)
    for _, index in groups.groupby(groups).groups.items():
        part = values.loc[index].dropna()
        if len(part) == 1:
            points.loc[part.index] = 100.0
        elif len(part) > 1:
            ranks = part.rank(method="max", ascending=higher_is_better)
            points.loc[part.index] = (ranks - 1) / (len(part) - 1) * 100.0
    return points
