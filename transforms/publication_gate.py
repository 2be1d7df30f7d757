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

Scores are publishable when at least one body is rated and every score is a finite number; no
override lifts that. Incomplete inputs can be published deliberately (``accept_incomplete_inputs``
with a reason), which is recorded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

SOURCE_NAMES_RU = {"im": "ИМ (Инцидент Менеджмент)", "pos": "ПОС (Платформа обратной связи)"}
SOURCE_NAMES_EN = {"im": "IM (Incident Management)", "pos": "ПОС (Feedback Platform)"}
LISTED = 10  # items named in a message before "… and N more"


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

    def __post_init__(self) -> None:
        if self.vk_missing_days < 0:
            raise ValueError(f"vk_missing_days must be 0 or more, not {self.vk_missing_days}")
        if not 0 <= self.max_data_share_drop <= 1:
            raise ValueError(f"max_data_share_drop must be within 0..1, not {self.max_data_share_drop}")


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
    kind: str = "inputs"  # inputs | scores

    @property
    def passed(self) -> bool:
        return not self.problems

    def message(self) -> str:
        """The reason, Russian first, then English; each problem on a line of its own."""
        if self.passed:
            lines = [
                f"Рейтинг за {self.subject}: входные данные полны.",
                f"Rating {self.subject}: inputs complete.",
            ]
            return "\n".join(lines + [f"  • {n.ru} / {n.en}" for n in self.notes])
        why_ru, why_en = (
            ("не хватает данных", "inputs are missing")
            if self.kind == "inputs"
            else ("оценки нельзя публиковать", "its scores cannot be published")
        )
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
