"""The rating as readers see it: groups in the methodology's order, places by the stated rule,
place changes compared within the same group only, the month's movers, the name column and whose
official pages each indicator read."""

from __future__ import annotations

from typing import Any

import pandas as pd

from transforms.methodology import NETWORK_NAMES, Indicator, Methodology, reads_pages
from transforms.rating import OUTSIDE_GROUPS

from .config import RANKING_RULES, PublicationConfig

RULE_TEXT = {
    "dense": "равный балл — равное место, следующее место идёт следующим числом (1, 2, 2, 3): "
    "мест может быть меньше, чем органов в группе",
    "competition": "равный балл — равное место, следующее место пропускает разделённые (1, 2, 2, 4): "
    "последнее место равно числу оценённых в группе за вычетом разделивших его",
}
RULE_SHORT = {"dense": "1, 2, 2, 3", "competition": "1, 2, 2, 4"}


NO_PAGES = "—"  # the networks column of an indicator of messages: it reads no page
VK_ONLY = "только ВКонтакте"


def networks_text(indicator: Indicator) -> str:
    """Whose official pages an indicator read, for ЦУР staff: «только ВКонтакте», «ВКонтакте,
    Одноклассники, Telegram, MAX», or «—» for an indicator of messages."""
    if not reads_pages(indicator):
        return NO_PAGES
    return NETWORK_NAMES["all"] if getattr(indicator, "networks", "vk") == "all" else VK_ONLY


def networks_column(rows: list[dict[str, str]]) -> bool:
    """Whether the methodology table shows its «Соцсети» column: some indicator reads pages."""
    return any(row["networks"] != NO_PAGES for row in rows)


def ranking_rule(methodology: Methodology, config: PublicationConfig) -> str:
    """The methodology's ``ranking`` when it has one, else the publication's setting."""
    rule = str(getattr(methodology, "ranking", None) or config.ranking)
    return rule if rule in RANKING_RULES else "dense"


def group_order(methodology: Methodology, table: pd.DataFrame) -> list[str]:
    """The table's groups in publication order: ``Methodology.group_order()`` when the methodology
    has it; otherwise volume groups from the most messages down, then the captions' order in the
    methodology, then alphabetical."""
    # bodies no group of the methodology holds are listed as not rated, never as a group
    present = [g for g in dict.fromkeys(str(g) for g in table["rating_group"]) if g != OUTSIDE_GROUPS]
    ordered: list[str] = []
    order_of = getattr(methodology, "group_order", None)
    if callable(order_of):
        ordered = [str(g) for g in order_of()]
    if not ordered and methodology.groups_by == "volume":
        most = table.groupby("rating_group")["incidents"].max().sort_values(ascending=False)
        ordered = [str(g) for g in most.index]
    if not ordered:
        ordered = list(getattr(methodology, "group_captions", {}).values())
    first = [g for g in ordered if g in present]
    return first + sorted(g for g in present if g not in first)


def places(scores: pd.Series, groups: pd.Series, rule: str) -> pd.Series:
    """Places within each group by ``rule`` on the score rounded to one decimal (as the rating ranks)."""
    method = "dense" if rule == "dense" else "min"
    rounded = scores.astype(float).round(1)
    return rounded.groupby(groups).rank(method=method, ascending=False).astype("Int64")


def with_places(table: pd.DataFrame, previous: pd.DataFrame, rule: str) -> pd.DataFrame:
    """``place`` by the rule, ``place_change`` against the month before within the same group
    (positive: up), ``previous_group`` when the body was rated in another group then."""
    out = table.copy()
    rated = out["is_rated"] & out["score"].notna()
    out["place"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out.loc[rated, "place"] = places(out.loc[rated, "score"], out.loc[rated, "rating_group"], rule)
    out["place_change"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out["previous_group"] = None
    if len(previous):
        prev = previous.copy()
        prev["place"] = places(prev["score"], prev["rating_group"], rule)
        before = prev.set_index("org_id")
        for index in out.index[rated]:
            org_id = out.at[index, "org_id"]
            if org_id not in before.index:
                continue
            then = before.loc[org_id]
            if str(then["rating_group"]) != str(out.at[index, "rating_group"]):
                out.at[index, "previous_group"] = str(then["rating_group"])
            else:
                out.at[index, "place_change"] = int(then["place"]) - int(out.at[index, "place"])
    return out


def name_column(kinds: dict[str, str], org_ids: list[str], config: PublicationConfig) -> str:
    """«Орган власти» when every listed body is of a power kind, else «Организация»."""
    listed = {kinds.get(org_id, "") for org_id in org_ids}
    return "Орган власти" if listed and listed <= config.power_kinds else "Организация"


def movers(table: pd.DataFrame, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``count`` largest rises and falls of the score (comparable across groups; places are
    compared within a group only)."""
    moved = table[table["is_rated"] & table["score_change"].notna()]
    up = moved[moved["score_change"] > 0].sort_values(["score_change", "name"], ascending=[False, True])
    down = moved[moved["score_change"] < 0].sort_values(["score_change", "name"], ascending=[True, True])
    return up.head(count).to_dict("records"), down.head(count).to_dict("records")


def not_rated(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Bodies not rated, grouped by reason: ``[{reason, count, bodies}]``, largest first."""
    rows = table[~table["is_rated"]]
    out = []
    for reason, part in rows.groupby(rows["not_rated_reason"].fillna("причина не указана")):
        out.append(
            {"reason": str(reason), "count": len(part), "bodies": part.sort_values("name").to_dict("records")}
        )
    return sorted(out, key=lambda item: (-int(item["count"]), str(item["reason"])))


def zone_counts(rows: pd.DataFrame) -> dict[str, int]:
    rated = rows[rows["is_rated"]]
    return {
        "rated": len(rated),
        "green": int((rated["zone"] == "green").sum()),
        "yellow": int((rated["zone"] == "yellow").sum()),
        "red": int((rated["zone"] == "red").sum()),
        "not_rated": int((~rows["is_rated"]).sum()),
    }
