"""The publication gate of the monthly rating: are the month's inputs complete, are its scores
publishable? Pure logic: counts in, a verdict with a Russian and English reason out (the queries
are ``gospublic.rating.gate``'s).

Inputs are complete when

* VK: every day of the month has a VK load (``audit.vk_day_status``), but for
  ``vk_missing_days`` tolerated days;
* exports: for each source (IM, ПОС) and region of the month's bodies, an export dated after the
  month's last day was loaded — an export is named by its day and holds what was known that day,
  so only a later one covers the whole month;
* bodies: the month has bodies, and the share of them with any data (messages, posts or page
  checks) has not fallen by more than ``max_data_share_drop`` (relative) from the previous month.

A computed rating is publishable (``check_rating``) when

* at least one body is rated and every rated score is a finite number;
* every rated body has a row of every required indicator with finite points and its weight (a
  required indicator without data scores 0 points; it is never re-weighted away);
* every rating group has at least the methodology's ``min_group_size`` rated bodies;
* the number of rated bodies has not fallen by more than ``max_rated_drop`` (relative) from the
  previous month's published snapshot under the same methodology.

Incomplete inputs, small groups and a fall in rated bodies can be published deliberately
(``accept_incomplete_inputs`` with a reason), which is recorded; a non-finite score, a snapshot
without a rated body or a missing required indicator never (``OVERRIDABLE_RATING_CHECKS``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from transforms import ru_format as ru

SOURCE_NAMES_RU = {"im": "ИМ (Инцидент Менеджмент)", "pos": "ПОС (Платформа обратной связи)"}
SOURCE_NAMES_EN = {"im": "IM (Incident Management)", "pos": "ПОС (Feedback Platform)"}
LISTED = 10  # items named in a message before "… and N more"
# rating-level findings a deliberate publication (accept_incomplete_inputs + reason) may lift; the
# others (no_rated_body, non_finite_score, required_indicator_missing) no override lifts
OVERRIDABLE_RATING_CHECKS = ("small_group", "rated_drop")


class PublicationGateError(RuntimeError):
    """The gate stopped a publication; ``verdict`` says why, in Russian and English."""

    def __init__(self, verdict: Verdict, hint: str = "") -> None:
        self.verdict = verdict
        super().__init__(verdict.message() + (f"\n{hint}" if hint else ""))


@dataclass(frozen=True)
class GateRules:
    vk_missing_days: int = 0
    export_sources: tuple[str, ...] = ("im", "pos")
    max_data_share_drop: float = 0.2
    max_rated_drop: float = 0.2  # tolerated relative fall of the rated bodies since last month

    def __post_init__(self) -> None:
        if self.vk_missing_days < 0:
            raise ValueError(f"vk_missing_days must be 0 or more, not {self.vk_missing_days}")
        if not 0 <= self.max_data_share_drop <= 1:
            raise ValueError(f"max_data_share_drop must be within 0..1, not {self.max_data_share_drop}")
        if not 0 <= self.max_rated_drop <= 1:
            raise ValueError(f"max_rated_drop must be within 0..1, not {self.max_rated_drop}")


@dataclass(frozen=True)
class MonthInputs:
    """What the warehouse knows about one month's inputs."""

    month: date
    vk_days: frozenset[date]  # days of the month with a VK load
    vk_incomplete_days: frozenset[date]  # loaded with calls given up and not re-read since
    regions: tuple[str, ...]  # regions of the month's bodies
    last_exports: Mapping[tuple[str, str], date]  # (source, region) → latest export day loaded
    bodies: int
    bodies_with_data: int
    previous_bodies: int
    previous_bodies_with_data: int


@dataclass(frozen=True)
class RatingFacts:
    """What the gate reads of one computed rating (a snapshot of a month under a methodology)."""

    subject: str  # "2025-11, penza-2025"
    scores: Sequence[tuple[str, bool, float | None]]  # (org_id, is_rated, score) of every body
    groups: Mapping[str, tuple[int, int]]  # caption → (rated bodies, all bodies), publication order
    min_group_size: int
    required_gaps: Mapping[str, tuple[str, ...]]  # org_id → required indicators it lacks
    previous_rated: int | None = None  # rated bodies of last month's published snapshot, if any
    previous_snapshot: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    ru: str
    en: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    subject: str  # "2025-11" or "2025-11, penza-2025"
    problems: tuple[Finding, ...]
    notes: tuple[Finding, ...] = ()
    kind: str = "inputs"  # inputs | scores | rating

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def overridable(self) -> bool:
        """Whether a deliberate publication may lift every problem: inputs always, a rating's
        only ``OVERRIDABLE_RATING_CHECKS``."""
        if self.kind == "inputs":
            return True
        return all(p.code in OVERRIDABLE_RATING_CHECKS for p in self.problems)

    def message(self) -> str:
        """The reason, Russian first, then English; each problem on a line of its own."""
        if self.passed:
            lines = [
                f"Рейтинг за {self.subject}: входные данные полны.",
                f"Rating {self.subject}: inputs complete.",
            ]
            return "\n".join(lines + [f"  • {n.ru} / {n.en}" for n in self.notes])
        why_ru, why_en = {
            "inputs": ("не хватает данных", "inputs are missing"),
            "scores": ("оценки нельзя публиковать", "its scores cannot be published"),
        }.get(self.kind, ("рейтинг не прошёл проверки", "the rating failed its checks"))
        ru = [f"Рейтинг за {self.subject} не опубликован — {why_ru}:"]
        ru += [f"  • {p.ru}" for p in self.problems]
        en = [f"Rating {self.subject} not published — {why_en}:"]
        en += [f"  • {p.en}" for p in self.problems]
        return "\n".join(ru + en)

    def as_json(self) -> str:
        return json.dumps(
            {
                "subject": self.subject,
                "kind": self.kind,
                "passed": self.passed,
                "problems": [_finding_json(p) for p in self.problems],
                "notes": [_finding_json(n) for n in self.notes],
            },
            ensure_ascii=False,
            sort_keys=True,
        )


def month_days(month: date) -> list[date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def check_inputs(inputs: MonthInputs, rules: GateRules) -> Verdict:
    """Whether the month's inputs are complete under ``rules``."""
    month = f"{inputs.month:%Y-%m}"
    problems: list[Finding] = []
    notes: list[Finding] = []
    if inputs.bodies == 0:
        problems.append(
            Finding(
                "no_bodies",
                f"в mart.rating_base нет ни одного органа за {month} (витрины не построены: warehouse_build)",
                f"mart.rating_base has no body for {month} (marts not built: run warehouse_build)",
            )
        )
    problems += _vk_problems(inputs, rules)
    if inputs.vk_incomplete_days:
        days = _days_text(sorted(inputs.vk_incomplete_days))
        notes.append(
            Finding(
                "vk_incomplete_days",
                f"VK: дни, загруженные не полностью и ещё не перечитанные: {days}",
                f"VK: days loaded incomplete and not re-read since: {days}",
                {"days": [d.isoformat() for d in sorted(inputs.vk_incomplete_days)]},
            )
        )
    problems += _export_problems(inputs, rules)
    share = _data_share(inputs, rules)
    if share is not None:
        (problems if share.code == "data_share_drop" else notes).append(share)
    return Verdict(month, tuple(problems), tuple(notes))


def check_scores(subject: str, scores: Iterable[tuple[str, bool, float | None]]) -> Verdict:
    """Whether a snapshot may be published: ``(org_id, is_rated, score)`` of every body. At least one
    body rated, and every rated body's score a finite number (a body not rated has no score)."""
    rows = list(scores)
    rated = [r for r in rows if r[1]]
    problems: list[Finding] = []
    if not rated:
        problems.append(
            Finding(
                "no_rated_body",
                f"ни один орган не получил оценку (органов: {len(rows)})",
                f"none of the {len(rows)} bodies is rated",
                {"bodies": len(rows)},
            )
        )
    bad = sorted(str(org) for org, is_rated, score in rows if is_rated and not _finite(score))
    if bad:
        problems.append(
            Finding(
                "non_finite_score",
                f"оценка не является числом (органов: {len(bad)}): {_listed(bad, 'ru')}",
                f"the score is not a finite number for {len(bad)} bodies: {_listed(bad, 'en')}",
                {"org_ids": bad},
            )
        )
    return Verdict(subject, tuple(problems), kind="scores")


def check_rating(facts: RatingFacts, rules: GateRules) -> Verdict:
    """Whether a computed rating may be published: its scores (``check_scores``), its required
    indicators, its groups' sizes and its rated bodies against last month's publication."""
    problems = list(check_scores(facts.subject, facts.scores).problems)
    notes: list[Finding] = []
    if facts.required_gaps:
        problems.append(required_problem(facts.required_gaps))
    small = [
        (group, rated, total)
        for group, (rated, total) in facts.groups.items()
        if rated < facts.min_group_size
    ]
    if small:
        problems.append(_small_groups(small, facts.min_group_size))
    rated = sum(1 for _, is_rated, _ in facts.scores if is_rated)
    drop = _rated_drop(facts, rated, rules)
    if drop is not None:
        (problems if drop.code == "rated_drop" else notes).append(drop)
    return Verdict(facts.subject, tuple(problems), tuple(notes), kind="rating")


def required_gaps(
    rated_orgs: Iterable[str],
    rows: Iterable[tuple[str, str, float | None, float | None]],
    required: Sequence[str],
) -> dict[str, tuple[str, ...]]:
    """org_id → the ``required`` indicators a rated body lacks: no row among ``rows`` (org_id,
    indicator_id, points, weight), or one whose points are not a finite number or whose weight is
    not positive (a required indicator without data keeps its weight with 0 points)."""
    if not required:
        return {}
    present = {
        (str(org), str(indicator))
        for org, indicator, points, weight in rows
        if _finite(points) and _finite(weight) and float(weight or 0) > 0
    }
    gaps = {
        org: tuple(i for i in sorted(required) if (org, i) not in present) for org in map(str, rated_orgs)
    }
    return {org: lacking for org, lacking in sorted(gaps.items()) if lacking}


def required_problem(gaps: Mapping[str, tuple[str, ...]]) -> Finding:
    """The finding of rated bodies lacking required indicators (``required_gaps``)."""
    items = [f"{org} ({', '.join(lacking)})" for org, lacking in sorted(gaps.items())]
    return Finding(
        "required_indicator_missing",
        f"у органов в рейтинге нет обязательных показателей (органов: {len(items)}): {_listed(items, 'ru')}",
        f"{len(items)} rated bodies lack required indicators: {_listed(items, 'en')}",
        {"org_ids": {org: list(lacking) for org, lacking in sorted(gaps.items())}},
    )


def _small_groups(small: Sequence[tuple[str, int, int]], minimum: int) -> Finding:
    ru_items = [f"«{group}»: {rated} из {total}" for group, rated, total in small]
    en_items = [f"«{group}» {rated} of {total}" for group, rated, total in small]
    return Finding(
        "small_group",
        f"групп с числом органов в рейтинге меньше минимума ({minimum}): {len(small)} — "
        f"{_listed(ru_items, 'ru')}",
        f"{len(small)} groups have fewer rated bodies than the minimum ({minimum}): "
        f"{_listed(en_items, 'en')}",
        {"groups": {group: rated for group, rated, _ in small}, "minimum": minimum},
    )


def _rated_drop(facts: RatingFacts, rated: int, rules: GateRules) -> Finding | None:
    if facts.previous_rated is None:
        return Finding(
            "no_previous_rating",
            f"{ru.counted(rated, 'орган', 'органа', 'органов')} в рейтинге; опубликованного рейтинга "
            "прошлого месяца по этой методике нет — сравнить не с чем",
            f"{rated} rated bodies; no published rating of the previous month under this methodology "
            "to compare with",
            {"rated": rated},
        )
    previous = facts.previous_rated
    drop = 0.0 if previous == 0 else max(0.0, (previous - rated) / previous)
    if drop <= rules.max_rated_drop:
        return None
    before = f"({facts.previous_snapshot})" if facts.previous_snapshot else ""
    fewer, allowed = ru.percent(drop * 100, 0), ru.percent(rules.max_rated_drop * 100, 0)
    return Finding(
        "rated_drop",
        f"органов в рейтинге {ru.count(rated)} против {ru.count(previous)} в опубликованном рейтинге "
        f"прошлого месяца {before}: на {fewer} меньше (допускается {allowed})",
        f"{rated} rated bodies against {previous} in the previous month's published rating {before}: "
        f"{drop:.0%} fewer ({rules.max_rated_drop:.0%} allowed)",
        {
            "rated": rated,
            "previous_rated": previous,
            "previous_snapshot": facts.previous_snapshot,
            "drop": round(drop, 4),
            "allowed": rules.max_rated_drop,
        },
    )


def _vk_problems(inputs: MonthInputs, rules: GateRules) -> list[Finding]:
    days = month_days(inputs.month)
    missing = [d for d in days if d not in inputs.vk_days]
    if len(missing) <= rules.vk_missing_days:
        return []
    text, allowed = _days_text(missing), rules.vk_missing_days
    return [
        Finding(
            "vk_days",
            f"VK: не загружено дней — {len(missing)} из {len(days)} (допускается {allowed}): {text}",
            f"VK: {len(missing)} of {len(days)} days not loaded ({allowed} allowed): {text}",
            {"missing_days": [d.isoformat() for d in missing], "allowed": rules.vk_missing_days},
        )
    ]


def _export_problems(inputs: MonthInputs, rules: GateRules) -> list[Finding]:
    last_day = month_days(inputs.month)[-1]
    needed = f"{last_day + timedelta(days=1):%Y-%m-%d}"
    problems: list[Finding] = []
    for source in rules.export_sources:
        ru_name = SOURCE_NAMES_RU.get(source, source)
        en_name = SOURCE_NAMES_EN.get(source, source)
        missing, stale = [], []
        for region in inputs.regions:
            latest = inputs.last_exports.get((source, region))
            if latest is None:
                missing.append(region)
            elif latest <= last_day:
                stale.append((region, latest))
        if not missing and not stale:
            continue
        ru, en = [], []
        if missing:
            regions = _listed(missing, "ru")
            ru.append(f"нет ни одной загруженной выгрузки (регионы {regions})")
            en.append(f"no export loaded (regions {_listed(missing, 'en')})")
        if stale:
            parts = [f"{region}: {latest:%Y-%m-%d}" for region, latest in stale]
            ru.append(f"последняя выгрузка не позже {last_day:%Y-%m-%d} ({_listed(parts, 'ru')})")
            en.append(f"the latest export is not after {last_day:%Y-%m-%d} ({_listed(parts, 'en')})")
        problems.append(
            Finding(
                f"exports_{source}",
                f"выгрузки {ru_name}: {'; '.join(ru)} — нужна выгрузка от {needed} или позже",
                f"exports of {en_name}: {'; '.join(en)} — an export dated {needed} or later is needed",
                {
                    "source": source,
                    "regions_without_export": missing,
                    "latest_export": {region: latest.isoformat() for region, latest in stale},
                },
            )
        )
    return problems


def _data_share(inputs: MonthInputs, rules: GateRules) -> Finding | None:
    if inputs.bodies == 0:
        return None
    share = inputs.bodies_with_data / inputs.bodies
    now = f"{inputs.bodies_with_data} из {inputs.bodies} ({share:.1%})"
    now_en = f"{inputs.bodies_with_data} of {inputs.bodies} ({share:.1%})"
    details: dict[str, Any] = {"bodies": inputs.bodies, "with_data": inputs.bodies_with_data}
    if inputs.previous_bodies == 0:
        return Finding(
            "no_previous_month",
            f"органов с данными {now}; с предыдущим месяцем сравнить нечего",
            f"bodies with data {now_en}; no previous month to compare with",
            details,
        )
    previous = inputs.previous_bodies_with_data / inputs.previous_bodies
    drop = 0.0 if previous == 0 else (previous - share) / previous
    before = f"{inputs.previous_bodies_with_data} из {inputs.previous_bodies} ({previous:.1%})"
    before_en = f"{inputs.previous_bodies_with_data} of {inputs.previous_bodies} ({previous:.1%})"
    details = {**details, "previous_bodies": inputs.previous_bodies,
               "previous_with_data": inputs.previous_bodies_with_data, "drop": round(drop, 4)}  # fmt: skip
    if drop > rules.max_data_share_drop:
        return Finding(
            "data_share_drop",
            f"органов с данными {now} против {before} месяцем ранее: доля упала на {drop:.1%} "
            f"(допускается {rules.max_data_share_drop:.0%})",
            f"bodies with data {now_en} against {before_en} the month before: the share fell by {drop:.1%} "
            f"({rules.max_data_share_drop:.0%} allowed)",
            {**details, "allowed": rules.max_data_share_drop},
        )
    return None


def _finite(value: float | None) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _days_text(days: Sequence[date]) -> str:
    """Days as ranges: 2025-11-01…2025-11-03, 2025-11-07."""
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    parts = [f"{a:%Y-%m-%d}" if a == b else f"{a:%Y-%m-%d}…{b:%Y-%m-%d}" for a, b in ranges]
    return ", ".join(parts)


def _listed(items: Sequence[str], lang: str) -> str:
    shown = ", ".join(items[:LISTED])
    if len(items) <= LISTED:
        return shown
    rest = len(items) - LISTED
    return f"{shown} … (ещё {rest})" if lang == "ru" else f"{shown} … ({rest} more)"


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"code": finding.code, "ru": finding.ru, "en": finding.en, "details": dict(finding.details)}
