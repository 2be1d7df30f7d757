"""The degeneracy report of a rating: where a month's scores cannot tell bodies apart, or rest on
too little (issue 24). Pure pandas over ``transforms.rating.score_month``'s output.

Kinds, each found per rating group (and ``equal_points`` also over all groups together):

* ``equal_points`` — an indicator gives the same points (to one decimal, as published) to at
  least ``EQUAL_SHARE`` (90 %) of the group's rated bodies: it does not discriminate;
* ``small_group`` — fewer rated bodies than the methodology's ``min_group_size`` (default 3): a
  place among two says little;
* ``missing_indicator`` — an indicator is missing (no data, or too little of it) for more than half
  of the group's rated bodies: its weight is spread over the others (optional) or it scores 0
  (required) for most of them;
* ``one_zone`` — every rated body of a group of at least ``min_group_size`` is in one zone;
* ``full_score`` — two or more bodies of a group score exactly 100: they share the first place at
  the ceiling and the rating cannot order them.

Groups come in the methodology's publication order; each finding has a Russian message for the
methodology sheet and the run log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from transforms import ru_format as ru
from transforms.methodology import Methodology
from transforms.rating import OUTSIDE_GROUPS

EQUAL_SHARE = 0.9  # equal points for at least this share of a group's rated bodies
DEFAULT_MIN_GROUP_SIZE = 3
KINDS = ("small_group", "equal_points", "missing_indicator", "one_zone", "full_score")
ZONES_IN_RU = {"green": "зелёной", "yellow": "жёлтой", "red": "красной"}  # «в … зоне»


@dataclass(frozen=True)
class Degeneracy:
    """One finding. ``group`` is None for a finding over all groups; ``indicator`` None for a
    finding about a group."""

    kind: str
    group: str | None
    indicator: str | None
    counts: Mapping[str, int | float] = field(default_factory=dict, hash=False)
    message_ru: str = ""
    org_ids: tuple[str, ...] = ()

    @property
    def text_ru(self) -> str:
        """The Russian line of the methodology sheet (the publication reads ``text_ru``)."""
        return self.message_ru

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the run log, the task's result, the stored row."""
        return {
            "kind": self.kind,
            "group": self.group,
            "indicator": self.indicator,
            "counts": dict(self.counts),
            "message_ru": self.message_ru,
            "org_ids": list(self.org_ids),
        }


def min_group_size(methodology: Methodology) -> int:
    """The methodology's ``min_group_size`` (3 where it names none)."""
    return int(getattr(methodology, "min_group_size", DEFAULT_MIN_GROUP_SIZE) or DEFAULT_MIN_GROUP_SIZE)


def is_required(indicator: Any) -> bool:
    """``Indicator.required``; a methodology of the language before it: ``missing: zero``."""
    required = getattr(indicator, "required", None)
    if required is None:
        return getattr(indicator, "missing", "reweight") == "zero"
    return bool(required)


def find_degeneracies(
    indicators: pd.DataFrame, bodies: pd.DataFrame, methodology: Methodology
) -> list[Degeneracy]:
    """The degeneracies of one month's scores (``score_month``'s ``(indicators, bodies)``)."""
    rated = bodies[bodies["is_rated"].fillna(False).astype(bool)]
    smallest = min_group_size(methodology)
    groups = _ordered_groups(bodies, methodology)
    per_body = _points_by_body(indicators, rated)
    found: list[Degeneracy] = []
    for group in groups:
        members = rated[rated["rating_group"] == group]
        total = int((bodies["rating_group"] == group).sum())
        if len(members) < smallest:
            found.append(_small_group(group, len(members), total, smallest))
        for indicator in methodology.indicators:
            if len(members) >= smallest:
                equal = _equal_points(group, indicator, members, per_body)
                if equal is not None:
                    found.append(equal)
            missing = _missing(group, indicator, members, per_body)
            if missing is not None:
                found.append(missing)
        if len(members) >= smallest:
            found += _one_zone(group, members)
        found += _full_score(group, members)
    if len(groups) > 1 and len(rated) >= smallest:
        for indicator in methodology.indicators:
            equal = _equal_points(None, indicator, rated, per_body)
            if equal is not None:
                found.append(equal)
    return found


def _ordered_groups(bodies: pd.DataFrame, methodology: Methodology) -> list[str]:
    present = [str(g) for g in bodies["rating_group"].dropna().unique()]
    order = getattr(methodology, "group_order", None)
    listed = [str(g) for g in order()] if callable(order) else []
    # the bodies outside every group of the methodology are listed unrated under OUTSIDE_GROUPS:
    # not a rating group
    present = [g for g in present if g != OUTSIDE_GROUPS]
    return [g for g in listed if g in present] + sorted(g for g in present if g not in listed)


def _points_by_body(indicators: pd.DataFrame, rated: pd.DataFrame) -> pd.DataFrame:
    """Per rated body × indicator: ``scored`` (has a value), ``counts`` (gives points with a
    weight) and ``points`` rounded to one decimal."""
    frame = indicators[indicators["org_id"].isin(rated["org_id"])].copy()
    # before issue 24's language the frame had no ``missing``: a missing value is an empty raw_value
    missing = frame["missing"].fillna(True).astype(bool) if "missing" in frame else frame["raw_value"].isna()
    points = pd.to_numeric(frame["points"], errors="coerce")
    weight = pd.to_numeric(frame["weight"], errors="coerce").fillna(0)
    frame["scored"] = ~missing
    frame["counts"] = (weight > 0) & points.notna()
    frame["points"] = points.round(1)
    return frame.set_index(["org_id", "indicator_id"])[["scored", "counts", "points"]]


def _equal_points(
    group: str | None, indicator: Any, members: pd.DataFrame, per_body: pd.DataFrame
) -> Degeneracy | None:
    rows = _rows_of(per_body, indicator.id, members)
    given = rows.loc[rows["counts"], "points"]
    if given.empty:
        return None
    counts = given.value_counts()
    points, equal = float(counts.index[0]), int(counts.iloc[0])
    if equal < 2 or equal < EQUAL_SHARE * len(members):
        return None
    share = equal / len(members)
    where = "все группы" if group is None else f"группа «{group}»"
    message = (
        f"«{indicator.caption}», {where}: одинаковый балл ({ru.number(points)}) "
        f"у {ru.count(equal)} из {_genitive(len(members))} в рейтинге ({ru.percent(share * 100, 0)}) — "
        "показатель не различает органы"
    )
    return Degeneracy(
        "equal_points", group, indicator.id,
        {"equal": equal, "rated": len(members), "points": points, "share": round(share, 4)},
        message,
    )  # fmt: skip


def _missing(group: str, indicator: Any, members: pd.DataFrame, per_body: pd.DataFrame) -> Degeneracy | None:
    if members.empty:
        return None
    rows = _rows_of(per_body, indicator.id, members)
    lacking = sorted(
        str(org) for org, scored in zip(members["org_id"], rows["scored"], strict=True) if not scored
    )
    if len(lacking) * 2 <= len(members):
        return None
    share = len(lacking) / len(members)
    effect = "он оценён в 0 баллов" if is_required(indicator) else "его вес распределён по другим показателям"
    message = (
        f"«{indicator.caption}», группа «{group}»: нет данных у {ru.count(len(lacking))} "
        f"из {_genitive(len(members))} в рейтинге ({ru.percent(share * 100, 0)}); у них {effect}"
    )
    return Degeneracy(
        "missing_indicator", group, indicator.id,
        {"missing": len(lacking), "rated": len(members), "share": round(share, 4)},
        message, tuple(lacking),
    )  # fmt: skip


def _small_group(group: str, rated: int, total: int, smallest: int) -> Degeneracy:
    outside = f" из {ru.count(total)} в группе" if total > rated else ""
    message = (
        f"Группа «{group}»: в рейтинге {ru.counted(rated, 'орган', 'органа', 'органов')}{outside} — "
        f"меньше минимума ({ru.count(smallest)}); места в такой группе почти ничего не говорят"
    )
    return Degeneracy(
        "small_group", group, None, {"rated": rated, "bodies": total, "minimum": smallest}, message
    )


def _one_zone(group: str, members: pd.DataFrame) -> list[Degeneracy]:
    zones = members["zone"].dropna().astype(str)
    if len(zones) != len(members) or zones.nunique() != 1:
        return []
    zone = str(zones.iloc[0])
    message = (
        f"Группа «{group}»: все {ru.counted(len(members), 'орган', 'органа', 'органов')} в рейтинге — "
        f"в {ZONES_IN_RU.get(zone, zone)} зоне"
    )
    return [Degeneracy("one_zone", group, None, {"rated": len(members)}, message)]


def _full_score(group: str, members: pd.DataFrame) -> list[Degeneracy]:
    scores = pd.to_numeric(members["score"], errors="coerce").round(1)
    top = sorted(str(org) for org, score in zip(members["org_id"], scores, strict=True) if score == 100.0)
    if len(top) < 2:
        return []
    counted = ru.counted(len(top), "орган", "органа", "органов")
    message = (
        f"Группа «{group}»: {counted} из {_genitive(len(members))} в рейтинге набрали 100 баллов "
        "и делят первое место — рейтинг их не различает"
    )
    return [
        Degeneracy("full_score", group, None, {"full": len(top), "rated": len(members)}, message, tuple(top))
    ]


def _rows_of(per_body: pd.DataFrame, indicator_id: str, members: pd.DataFrame) -> pd.DataFrame:
    """The indicator's row of each member, in the members' order (an absent row: not scored)."""
    keys = pd.MultiIndex.from_arrays([members["org_id"], [indicator_id] * len(members)])
    rows = per_body.reindex(keys)
    rows["scored"] = rows["scored"].fillna(False).astype(bool)
    rows["counts"] = rows["counts"].fillna(False).astype(bool)
    return rows


def _genitive(n: int) -> str:
    """``из 251 органа``, ``из 25 органов``: the count with the genitive of «орган»."""
    return f"{ru.count(n)}{ru.NBSP}{ru.plural(n, 'органа', 'органов', 'органов')}"
