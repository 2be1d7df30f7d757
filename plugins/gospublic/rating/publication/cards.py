"""A body's report card, as the body can act on it: each indicator's score (0–100) and the points
it cost apart, the count behind every share, the group's median and best, one advice line per
indicator that cost points, failed page checks and the identifiers of late, formal and
redirecting answers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gospublic.infra.mart_contract import load_contract
from transforms import ru_format as ru
from transforms.answer_quality import PUBLIC_GAP
from transforms.methodology import Indicator, Methodology
from transforms.rating_expression import ExpressionError, columns_of, parse

from .config import PublicationConfig

# A share of mart.rating_base → (counted items, all items, what the counted ones are).
COUNTED = {
    "overdue_share": ("overdue", "incidents", "просрочено"),
    "im_overdue_share": ("im_overdue", "im_incidents", "просрочено"),
    "pos_overdue_share": ("pos_overdue", "pos_incidents", "просрочено"),
    "answered_share": ("answered", "incidents", "с ответом"),
    "satisfied_share": ("satisfied", "rated", "оценки 4–5"),
    "pos_satisfied_share": ("pos_satisfied", "pos_rated", "оценки 4–5"),
    "formal_share": ("formal", "answers_assessed", "формальных"),
    "no_specifics_share": ("no_specifics", "answers_assessed", "без конкретики"),
    "impolite_share": ("impolite", "answers_assessed", "без вежливого обращения"),
    "redirect_share": ("redirect", "answers_assessed", "с переадресацией"),
    "template_share": ("template", "answers_assessed", "шаблонных"),
    "replied_share": ("replied_comments", "citizen_comments", "комментариев с ответом"),
    "im_satisfied_share": ("im_satisfied", "im_rated", "оценки 4–5"),
    "im_answered_share": ("im_answered", "im_incidents", "с ответом"),
    "pos_answered_share": ("pos_answered", "pos_incidents", "с ответом"),
}
CLOCK_UNITS = {"work_hours": "рабочих ч", "calendar_hours": "ч", "work_days": "рабочих дн."}
CHECK_CAPTIONS = {
    "verified": "нет отметки «официальная страница»",
    "has_photo": "нет аватара",
    "has_cover": "нет обложки",
    "has_description": "нет описания",
    "has_contacts_or_links": "нет контактов или ссылок",
    "messages_open": "закрыты сообщения сообществу",
    "wall_open": "закрыта стена",
    "posts_per_week": "публикаций в неделю меньше нормы",
    "views_share": "мало просмотров относительно числа подписчиков",
    "page_open": "страница закрыта для посторонних",  # OK, MAX (docs/networks.md)
    "comments_open": "закрыты комментарии к публикациям",  # Telegram: no discussion group
}
SOURCE_CAPTIONS = {"im": "ИМ", "pos": "ПОС"}
LISTED_CAPTIONS = {
    "overdue": "Просроченные сообщения",
    "formal": "Ответы, признанные формальными",
    "redirect": "Ответы с переадресацией",
}
FLAG_CAPTIONS = {
    "formal": "формальный ответ",
    "no_specifics": "нет конкретики",
    "impolite": "нет вежливого обращения",
    "redirect": "переадресация",
    "template": "шаблонный ответ",
}
# Flags whose stock phrases a card prints, in their public form (the rules' own words, a free span
# as «…»: queries.public_phrases); the evidence of the others quotes the answer.
PUBLIC_EVIDENCE = ("formal", "redirect")
COSTLY = 0.05  # points of the total below which an indicator is not said to have cost any


@dataclass(frozen=True)
class CardData:
    """What the report cards read, indexed once for all of them in plain dicts (a national month
    has tens of thousands of cards: filtering or indexing pandas objects per card is too slow)."""

    bodies: dict[str, dict[str, Any]]  # org_id → the body's row of the rating table
    own: dict[str, list[dict[str, Any]]]  # org_id → its indicator rows, in indicator order
    group_stats: dict[tuple[str, str], dict[str, float]]  # (rating_group, indicator_id) → median, max, min

    @classmethod
    def of(cls, table: pd.DataFrame, indicators: pd.DataFrame) -> CardData:
        rated = table[table["is_rated"]]
        group_of = dict(zip(rated["org_id"], rated["rating_group"], strict=True))
        values = indicators.assign(rating_group=indicators["org_id"].map(group_of)).dropna(
            subset=["raw_value", "rating_group"]
        )
        stats = values.groupby(["rating_group", "indicator_id"])["raw_value"].agg(["median", "max", "min"])
        own: dict[str, list[dict[str, Any]]] = {}
        for row in indicators.to_dict("records"):
            own.setdefault(row["org_id"], []).append(row)
        return cls(
            bodies={row["org_id"]: row for row in table.drop_duplicates("org_id").to_dict("records")},
            own=own,
            group_stats=dict(zip(stats.index, stats.to_dict("records"), strict=True)),
        )


def indicator_columns(indicator: Indicator) -> list[str]:
    """The mart.rating_base columns an indicator reads, in a stable order ([] for other kinds)."""
    return list(_expression_columns(str(getattr(indicator, "expression", "") or "")))


@functools.lru_cache(maxsize=1024)
def _expression_columns(text: str) -> tuple[str, ...]:
    """Parsed once per expression, not once per card and indicator (a national month: 22,000 cards)."""
    if not text:
        return ()
    try:
        return tuple(sorted(columns_of(parse(text))))
    except ExpressionError:
        return ()


def advice_for(indicator: Indicator, config: PublicationConfig) -> str | None:
    """The advice line of the indicator's id, else of the first column it reads that has one."""
    if indicator.id in config.advice_by_indicator:
        return config.advice_by_indicator[indicator.id]
    measure = getattr(indicator, "measure", None)
    if measure is not None and f"{measure.source}_{measure.to}" in config.advice_by_measure:
        return config.advice_by_measure[f"{measure.source}_{measure.to}"]
    for column in indicator_columns(indicator):
        if column in config.advice_by_column:
            return config.advice_by_column[column]
    return None


def value_text(value: Any, indicator: Indicator) -> str:
    if value is None or pd.isna(value):
        return "нет данных"
    if indicator.unit == "share":
        return ru.share(value)
    if indicator.unit == "percent":
        return ru.percent(value)
    if indicator.unit == "hours":
        return ru.hours(value)
    return ru.number(value)


def counts_text(indicator: Indicator, counts: dict[str, int]) -> list[str]:
    """``просрочено 5 из 50`` for every counted share the indicator reads; ``в пределах 24 ч: 40
    из 50`` for a share measure."""
    out = []
    measure = indicator.measure
    if measure is not None and f"{indicator.id}__all" in counts:
        ok, total = (
            ru.count(counts[f"{indicator.id}__ok"]),
            ru.count(counts[f"{indicator.id}__all"]),
        )
        if measure.type == "on_time":
            return [f"в срок {ok} из {total}"]
        limit = ru.number(measure.limit, 0)
        return [f"в пределах {limit} {CLOCK_UNITS.get(measure.clock, '')}: {ok} из {total}"]
    for column in indicator_columns(indicator):
        if column in COUNTED:
            part, whole, what = COUNTED[column]
            if whole in counts:
                out.append(f"{what} {ru.count(counts.get(part, 0))} из {ru.count(counts[whole])}")
    return out


def card_context(
    cards: CardData, org_id: str, *, methodology: Methodology, config: PublicationConfig,
    counts: dict[str, int], quality: dict[str, Any], checks: list[dict[str, Any]],
    answers: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """What the card template prints, every figure already in Russian form."""
    body = cards.bodies[org_id]
    specs = {i.id: i for i in methodology.indicators}
    order = {indicator_id: n for n, indicator_id in enumerate(specs)}
    rows: list[dict[str, Any]] = []
    for item in sorted(cards.own.get(org_id, []), key=lambda i: order.get(i["indicator_id"], len(order))):
        spec = specs.get(item["indicator_id"])
        if spec is None:
            continue
        stats = cards.group_stats.get((body["rating_group"], item["indicator_id"]))
        median = stats["median"] if stats is not None else None
        best = (stats["max"] if spec.higher_is_better else stats["min"]) if stats is not None else None
        lost = float(item["weight"]) * (100 - float(item["points"])) / 100
        rows.append(
            {
                "caption": spec.caption,
                "value": value_text(item["raw_value"], spec),
                "counts": counts_text(spec, counts),
                "median": value_text(median, spec) if median is not None else "—",
                "best": value_text(best, spec) if best is not None else "—",
                "score": ru.number(item["points"]),
                "weight": ru.percent(item["weight"]),
                "gained": ru.number(item["weighted_points"]),
                "lost": ru.number(lost),
                "lost_value": lost,
                "score_value": float(item["points"]),
                "advice": advice_for(spec, config) if lost >= COSTLY else None,
            }
        )
    worst = max(rows, key=lambda r: float(r["lost_value"]), default=None)
    page_rows = [
        {
            "page_id": page["page_id"],
            "vk_group_id": page["vk_group_id"],
            "network": _other_network(page["network"]),
            "score": ru.number(page["score"]),
            "observed_on": ru.short_day(page["observed_on"]) if page["observed_on"] is not None else "—",
            "failed": [CHECK_CAPTIONS.get(check, check) for check in page["failed"]],
        }
        for page in checks
    ]
    listed = []
    for kind, caption in LISTED_CAPTIONS.items():
        entry = (answers or {}).get(kind) or {"count": 0, "rows": []}
        listed.append(
            {
                "kind": kind,
                "caption": caption,
                "count": entry["count"],
                "rows": [
                    {
                        "source": SOURCE_CAPTIONS.get(r["source"], r["source"]),
                        "incident_id": r["incident_id"],
                        "registered": ru.short_day(_datetime(r["registered_at"])),
                        "deadline": ru.short_day(_datetime(r["deadline_at"])),
                    }
                    for r in entry["rows"]
                ],
            }
        )
    flags = [{"caption": c, "count": ru.count(quality.get(f, 0))} for f, c in FLAG_CAPTIONS.items()]
    phrases: list[dict[str, Any]] = [
        {"caption": FLAG_CAPTIONS[flag], "entries": [(p, ru.count(n)) for p, n in items]}
        for flag, items in (quality.get("phrases") or {}).items()
        if flag in PUBLIC_EVIDENCE
    ]
    return {
        "body": body,
        "rows": rows,
        "worst": worst if worst is not None and float(worst["lost_value"]) >= COSTLY else None,
        "pages": page_rows,
        "listed": listed,
        "answers": ru.count(quality.get("answers", 0)),
        "flags": flags,
        "phrases": phrases,
        "phrase_gaps": any(PUBLIC_GAP in phrase for p in phrases for phrase, _ in p["entries"]),
    }


def _datetime(value: Any) -> Any:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _other_network(code: str) -> str | None:
    """The name shown beside a page that is not a VK community's (whose VK id is shown instead)."""
    return None if code == "vk" else network_names().get(code, code)


@functools.cache
def network_names() -> dict[str, str]:
    """Each network's code → its name as ЦУР staff read it (the mart contract's values of
    ``page_compliance_monthly.network``, which ``mart_ru`` shows too)."""
    (table,) = [t for t in load_contract() if t.name == "page_compliance_monthly"]
    (column,) = [c for c in table.columns if c.name == "network"]
    return dict(column.values)
