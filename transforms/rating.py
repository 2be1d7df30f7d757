"""Scores, ranks and zones of one month under one methodology (pure pandas).

Each indicator's raw value becomes 0–100 points by its scoring function. An indicator is missing
for a body when it has no value, or fewer messages of its source (pages: of the networks it reads)
than its ``min_volume``, or fewer citizen ratings than its ``min_ratings``: a required one then
scores 0 with its weight kept, an optional one gets weight 0 and its weight is spread over the
body's other indicators. A body's score is the sum of its weighted points (0–100). Ranks are
dense within a group (ties share a rank), on the score rounded to one decimal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.methodology import ALL_GROUP, NETWORK_NAMES, NOT_RATED, PAGES_COLUMN, Indicator, Methodology

ZONE_GREEN, ZONE_YELLOW, ZONE_RED = "green", "yellow", "red"
ZONE_CAPTIONS = {ZONE_GREEN: "зелёная", ZONE_YELLOW: "жёлтая", ZONE_RED: "красная"}
NO_GROUP = "Без группы"  # the registry gives the body no rating group
OUTSIDE_GROUPS = "Вне групп методики"  # no kind group of the methodology holds the body
SOURCE_VOLUME = {"all": "incidents", "im": "incidents_im", "pos": "incidents_pos", "pages": "pages"}
SOURCE_RATINGS = {"all": "rated", "im": "im_rated", "pos": "pos_rated"}
SOURCE_CAPTIONS = {"all": "", "im": " ИМ", "pos": " ПОС"}


def assign_groups(base: pd.DataFrame, methodology: Methodology) -> pd.Series:
    """The rating group of each body: the registry's, a kind group, a volume band, a kind group's
    volume band, or one for all. A body no kind group holds gets the ``unmatched`` catch-all
    caption, or None when the methodology leaves such bodies unrated."""
    grouping = methodology.grouping
    if grouping.by == "registry":
        return base["rating_group"].fillna(NO_GROUP).astype(str)
    if grouping.by == "all":
        return pd.Series(ALL_GROUP, index=base.index)
    bands = pd.Series(index=base.index, dtype=object)
    if grouping.by in ("volume", "kind_volume"):
        volume = _column(base, SOURCE_VOLUME[grouping.volume.source], "groups.volume.source").fillna(0)
        bands = pd.Series(
            [grouping.volume.caption(grouping.volume.band(v)) for v in volume], index=base.index
        )
        if grouping.by == "volume":
            return bands
    kinds = _column(base, "kind", "groups.by: kind")
    rating_groups = base["rating_group"] if "rating_group" in base else pd.Series(None, index=base.index)
    captions = []
    for raw_kind, raw_group in zip(kinds, rating_groups, strict=True):
        kind = None if pd.isna(raw_kind) else str(raw_kind)
        rating_group = None if pd.isna(raw_group) else str(raw_group)
        match = next((g.caption for g in grouping.kinds if g.matches(kind, rating_group)), None)
        captions.append(match or (None if grouping.unmatched == NOT_RATED else grouping.unmatched))
    groups = pd.Series(captions, index=base.index, dtype=object)
    if grouping.by == "kind_volume":
        groups = groups.where(groups.isna(), groups + ": " + bands)
    return groups


def score_month(base: pd.DataFrame, methodology: Methodology) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(indicators, bodies)`` for the bodies of ``base`` (one row per body, a column per indicator id).

    ``indicators``: org_id, indicator_id, raw_value, points, weight, weighted_points, missing,
    missing_reason — every rated body × indicator. ``bodies``: org_id, rating_group, incidents,
    is_rated, not_rated_reason, score, rank, ranked_in_group, zone.
    """
    bodies = base[["org_id", "incidents"]].copy()
    groups = assign_groups(base, methodology)
    bodies["rating_group"] = groups.fillna(OUTSIDE_GROUPS).to_numpy()
    reasons = not_rated_reasons(base, methodology, groups)
    rows: list[dict[str, object]] = []
    rated_index = reasons.index[reasons.isna()]
    rated_groups = bodies.loc[rated_index, "rating_group"]
    for indicator in methodology.indicators:
        rows.extend(_indicator_rows(base, rated_index, rated_groups, indicator))
    columns = ["org_id", "indicator_id", "raw_value", "points", "weight", "missing", "missing_reason"]
    indicators = pd.DataFrame(rows, columns=columns)
    # a body whose every indicator is missing and optional has nothing to be scored on
    available = indicators.groupby("org_id")["weight"].sum()
    no_data = set(available.index[available <= 0])
    unscored = bodies["org_id"].isin(no_data) & reasons.isna()
    reasons = reasons.mask(unscored, "нет данных ни по одному показателю методики")
    indicators = indicators[~indicators["org_id"].isin(no_data)].reset_index(drop=True)
    bodies["is_rated"] = reasons.isna().to_numpy()
    bodies["not_rated_reason"] = pd.Series(  # object, not pandas' string dtype: None stays None
        [None if pd.isna(reason) else reason for reason in reasons], index=bodies.index, dtype=object
    )
    total = indicators.groupby("org_id")["weight"].transform("sum")
    indicators["weight"] = (indicators["weight"] * 100.0 / total).round(6)
    indicators["weighted_points"] = (indicators["points"] * indicators["weight"] / 100.0).round(6)
    indicators = indicators[[*columns[:5], "weighted_points", *columns[5:]]]
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
    bodies["zone"] = np.select(  # type: ignore[call-overload]  # default=None: an object column
        [bodies["score"] >= green, bodies["score"] >= yellow, bodies["score"].notna()],
        [ZONE_GREEN, ZONE_YELLOW, ZONE_RED],
        default=None,
    )
    columns = ["org_id", "rating_group", "incidents", "is_rated", "not_rated_reason", "score", "rank"]
    return indicators, bodies[[*columns, "ranked_in_group", "zone"]].reset_index(drop=True)


def not_rated_reasons(base: pd.DataFrame, methodology: Methodology, groups: pd.Series) -> pd.Series:
    """Why each body is not rated (Russian), None for a rated one; the first reason that applies:
    outside every group, too few messages (in all, then per source), too few pages (of the networks
    ``rated_when`` counts: ``Methodology.rated_when_networks``)."""
    rule = methodology.rated_when
    checks: list[tuple[pd.Series, str]] = [(groups.isna(), "не входит ни в одну группу методики")]
    if rule.incidents:
        volume = base["incidents"].fillna(0)
        checks.append((volume < rule.incidents, f"меньше {_messages(rule.incidents)} за месяц"))
    for source, minimum in rule.incidents_by_source:
        volume = _column(base, SOURCE_VOLUME[source], f"rated_when.incidents.{source}").fillna(0)
        checks.append((volume < minimum, f"меньше {_messages(minimum, source)} за месяц"))
    if rule.pages and methodology.rated_when_networks == "all":
        pages = _column(base, PAGES_COLUMN["all"], "rated_when.pages of every network").fillna(0)
        caption = (
            f"нет официального госпаблика ни в одной из соцсетей ({NETWORK_NAMES['all']})"
            if rule.pages == 1
            else _fewer_pages(rule.pages, "all")
        )
        checks.append((pages < rule.pages, caption))
    elif rule.pages:
        pages = base["pages"].fillna(0) if "pages" in base else pd.Series(0, index=base.index)
        caption = "нет официального госпаблика" if rule.pages == 1 else _fewer_pages(rule.pages, "vk")
        checks.append((pages < rule.pages, caption))
    reasons = pd.Series(None, index=base.index, dtype=object)
    for failed, reason in reversed(checks):  # the first check that fails names the reason
        reasons = reasons.mask(failed.to_numpy(), reason)
    return reasons


def _indicator_rows(
    base: pd.DataFrame, rated: pd.Index, groups: pd.Series, indicator: Indicator
) -> list[dict[str, object]]:
    values = pd.to_numeric(base.loc[rated, indicator.id], errors="coerce").astype(float)
    reasons = pd.Series(None, index=rated, dtype=object).mask(values.isna(), "нет данных за месяц")
    where = f"indicator {indicator.id}"
    if indicator.min_volume:
        column = (
            PAGES_COLUMN[indicator.networks]
            if indicator.source == "pages"
            else SOURCE_VOLUME[indicator.source]
        )
        volume = _column(base, column, f"{where}: min_volume").loc[rated].fillna(0)
        if indicator.source == "pages":
            reason = _fewer_pages(indicator.min_volume, indicator.networks)
        else:
            reason = f"меньше {_messages(indicator.min_volume, indicator.source)}"
        reasons = reasons.mask(reasons.isna() & (volume < indicator.min_volume).to_numpy(), reason)
    if indicator.min_ratings:
        ratings = (
            _column(base, SOURCE_RATINGS[indicator.source], f"{where}: min_ratings").loc[rated].fillna(0)
        )
        reason = f"меньше {indicator.min_ratings} оценок заявителей{SOURCE_CAPTIONS[indicator.source]}"
        reasons = reasons.mask(reasons.isna() & (ratings < indicator.min_ratings).to_numpy(), reason)
    missing = reasons.notna()
    scored = values.where(~missing)
    if indicator.scoring.type == "percentile":
        points = _percentile_points(scored, groups, indicator.higher_is_better)
    else:
        points = pd.Series(
            [np.nan if np.isnan(v) else indicator.scoring.points(v) for v in scored], index=rated
        )
    rows: list[dict[str, object]] = []
    for index in rated:
        value, lacking = values.at[index], bool(missing.at[index])
        rows.append(
            {
                "org_id": base.at[index, "org_id"],
                "indicator_id": indicator.id,
                "raw_value": None if np.isnan(value) else float(value),
                "points": 0.0 if lacking else float(points.at[index]),
                "weight": 0.0 if lacking and not indicator.required else indicator.weight,
                "missing": lacking,
                "missing_reason": reasons.at[index],
            }
        )
    return rows


def _column(base: pd.DataFrame, column: str, needed_by: str) -> pd.Series:
    if column not in base:
        raise KeyError(f"the rating's inputs lack column {column!r}, which {needed_by} needs")
    return pd.to_numeric(base[column], errors="coerce") if column != "kind" else base[column]


def _fewer_pages(count: int, networks: str) -> str:
    """«меньше 2 госпабликов» (VK's), «меньше 2 госпабликов (ВКонтакте, Одноклассники, Telegram, MAX)»."""
    return f"меньше {count} госпабликов" + (f" ({NETWORK_NAMES['all']})" if networks == "all" else "")


def _messages(count: int, source: str = "all") -> str:
    """«2 сообщений», «1 сообщения», «21 сообщения ИМ» — the genitive after «меньше»."""
    noun = "сообщения" if count % 10 == 1 and count % 100 != 11 else "сообщений"
    return f"{count} {noun}{SOURCE_CAPTIONS[source]}"


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
