"""Incidents of a region (IM and ПОС): who, when, what, and how each one's life unfolds in time.

Times are unix seconds (UTC); ``-1`` means "never". The status at any moment is derived from the
life-cycle times by :func:`status_at`, so every export snapshot is consistent with the others.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np

from sandbox.generator import incident_texts, texts
from sandbox.generator.registry import OrgVersion, RegionRegistry
from sandbox.generator.timeutil import DAY, HOUR, add_working_days

# share of citizens' messages by local hour: few at night, peaks late morning and evening
INCIDENT_HOURS = np.array(
    [
        0.8,
        0.5,
        0.3,
        0.2,
        0.2,
        0.4,
        1.0,
        2.5,
        4.5,
        6.0,
        6.5,
        6.5,
        6.0,
        5.8,
        5.8,
        5.6,
        5.4,
        5.2,
        5.4,
        5.6,
        5.2,
        4.0,
        2.6,
        1.5,
    ]
)
CHANNELS = ["ВКонтакте", "Telegram", "Одноклассники", "Другое"]
CHANNEL_SHARES = [0.79, 0.12, 0.06, 0.03]
MESSAGE_TYPES = ["пост", "комментарий", "личное сообщение"]
UNKNOWN_EXECUTORS = [
    "Отдел по работе с обращениями граждан",
    "ООО «Ромашка»",
    "Администрация Нового района",
    "МКУ «Служба заказчика»",
    "Управление не указано",
    "ТСЖ «Солнечный»",
]
SCORE_SHARES = {"im": [0.12, 0.08, 0.12, 0.23, 0.45], "pos": [0.15, 0.1, 0.12, 0.2, 0.43]}


@dataclass
class Incidents:
    """One source's incidents of one region, sorted by registration time."""

    source: str
    ids: list[str]
    org: np.ndarray  # index into RegionRegistry.current_orgs(), -1 for an unknown executor
    executor: list[str]
    registered: np.ndarray
    first_reaction: np.ndarray
    answered: np.ndarray
    closed: np.ndarray
    rejected: np.ndarray  # bool
    due: np.ndarray  # unix seconds; ПОС: end of the due day (local)
    due_date: list[str]  # ПОС: ДД.ММ.ГГГГ of the due day; IM: empty
    score: np.ndarray  # 0: no rating, 1..5
    score_words: np.ndarray  # bool: IM rating written as Удовлетворён / Не удовлетворён
    channel: list[str]
    message_type: list[str]
    url: list[str]
    author: list[str]
    rubric: list[str]
    subcategory: list[str]
    message: list[str]
    answer: list[incident_texts.Answer | None]

    def __len__(self) -> int:
        return len(self.ids)


def status_at(inc: Incidents, at: int) -> np.ndarray:
    """Russian status of every incident at moment ``at`` (object array)."""
    status = np.full(len(inc), "Новый", dtype=object)
    reacted = (inc.first_reaction >= 0) & (inc.first_reaction <= at)
    status[reacted] = "В работе"
    unanswered = (inc.answered < 0) | (inc.answered > at)
    status[unanswered & (at > inc.due)] = "Просрочен"
    status[~unanswered] = "Ответ дан"
    status[(inc.closed >= 0) & (inc.closed <= at)] = "Закрыт"
    status[inc.rejected & reacted] = "Отклонён"
    return status


def _lognormal_seconds(rng: np.random.Generator, median_s: float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(np.log(median_s), sigma, size).astype(np.int64) + 60


def _version_at(versions: list[OrgVersion], day: str) -> OrgVersion:
    for version in versions:
        if version.valid_from <= day and (not version.valid_to or day < version.valid_to):
            return version
    return versions[-1]


@dataclass(frozen=True)
class MonthFrame:
    """The month as the incident simulation needs it, in a region's local time."""

    start: int  # unix seconds of the local midnight starting the month
    days: int
    utc_offset: int
    working: np.ndarray  # production-calendar working-day flags from the month's first day


@dataclass
class _Life:
    first: np.ndarray
    answered: np.ndarray
    closed: np.ndarray
    rejected: np.ndarray
    due: np.ndarray
    due_date: list[str]


def _im_life(registered: np.ndarray, rng: np.random.Generator) -> _Life:
    """IM: first reaction within hours, answers mostly within 24 h, some late, some never."""
    n = len(registered)
    rejected = rng.random(n) < 0.03
    reacts = rng.random(n) >= 0.03
    first = np.where(reacts, registered + _lognormal_seconds(rng, 1.2 * HOUR, 1.0, n), -1)
    answers = reacts & ~rejected & (rng.random(n) < 0.93)
    answered = np.where(answers, first + _lognormal_seconds(rng, 2 * HOUR, 1.3, n), -1)
    closed = np.where(
        answers & (rng.random(n) < 0.85), answered + _lognormal_seconds(rng, 18 * HOUR, 0.8, n), -1
    )
    return _Life(first, answered, closed, rejected, registered + 24 * HOUR, [""] * n)


def _pos_life(registered: np.ndarray, month: MonthFrame, rng: np.random.Generator) -> _Life:
    """ПОС: answers in days; due in 8 working days (or 30 days for some), some overdue."""
    n = len(registered)
    rejected = rng.random(n) < 0.04
    first = registered + _lognormal_seconds(rng, 6 * HOUR, 1.0, n)
    answers = ~rejected & (rng.random(n) < 0.96)
    answered = np.where(answers, registered + _lognormal_seconds(rng, 4 * DAY, 0.6, n), -1)
    closed = np.where(
        answers & (rng.random(n) < 0.7), answered + _lognormal_seconds(rng, 30 * HOUR, 0.6, n), -1
    )
    local_start = (month.start + month.utc_offset) // DAY * DAY  # the month's first day at 00:00 "UTC"
    day_of_month = (registered + month.utc_offset - local_start) // DAY
    eight_working = add_working_days(day_of_month, np.full(n, 8), month.working)
    due_day = np.where(rng.random(n) < 0.7, eight_working, day_of_month + 30)
    due = local_start + (due_day + 1) * DAY - month.utc_offset  # the end of the due day, local
    due_date = [
        dt.datetime.fromtimestamp(int(local_start + d * DAY), dt.UTC).strftime("%d.%m.%Y") for d in due_day
    ]
    return _Life(first, answered, closed, rejected, due, due_date)


def simulate(
    source: str,
    registry: RegionRegistry,
    *,
    count: int,
    id_start: int,
    month: MonthFrame,
    rng: np.random.Generator,
    rnd: random.Random,
) -> Incidents:
    """``count`` incidents of ``source`` registered within the month, with their life cycles."""
    orgs = registry.current_orgs()
    weights = np.array([org.weight for org in orgs])
    day = rng.integers(0, month.days, count)
    hour = rng.choice(24, size=count, p=INCIDENT_HOURS / INCIDENT_HOURS.sum())
    registered = np.sort(month.start + day * DAY + hour * HOUR + rng.integers(0, HOUR, count))
    org = rng.choice(len(orgs), size=count, p=weights / weights.sum())
    unknown = rng.random(count) < 0.003
    life = _im_life(registered, rng) if source == "im" else _pos_life(registered, month, rng)
    scored = (life.closed >= 0) & (rng.random(count) < (0.55 if source == "im" else 0.6))
    score = np.where(scored, rng.choice(np.arange(1, 6), size=count, p=SCORE_SHARES[source]), 0)
    score_words = (rng.random(count) < 0.3) & (source == "im")
    inc = Incidents(
        source, [], np.where(unknown, -1, org), [], registered, life.first, life.answered, life.closed,
        life.rejected, life.due, life.due_date, score, score_words, [], [], [], [], [], [], [], [],
    )  # fmt: skip
    _describe(inc, registry, id_start=id_start, utc_offset=month.utc_offset, rng=rng, rnd=rnd)
    return inc


def _describe(
    inc: Incidents, registry: RegionRegistry, *, id_start: int, utc_offset: int, rng: np.random.Generator,
    rnd: random.Random,
) -> None:  # fmt: skip
    """Ids, executors as written, rubrics, channels, links, authors, messages and answers."""
    orgs = registry.current_orgs()
    versions: dict[str, list[OrgVersion]] = {}
    for org in registry.orgs:
        versions.setdefault(org.org_id, []).append(org)
    n = len(inc.registered)
    channel_idx = rng.choice(4, size=n, p=CHANNEL_SHARES)
    type_idx = rng.choice(3, size=n, p=[0.2, 0.6, 0.2])
    place = registry.region.capital
    for i in range(n):
        body = orgs[int(inc.org[i])] if inc.org[i] >= 0 else orgs[0]
        local_day = dt.datetime.fromtimestamp(int(inc.registered[i]) + utc_offset, dt.UTC).date().isoformat()
        version = _version_at(versions[body.org_id], local_day)
        if inc.org[i] < 0:
            inc.executor.append(rnd.choice(UNKNOWN_EXECUTORS))
        else:
            inc.executor.append(version.name if rnd.random() < 0.6 else rnd.choice(version.aliases))
        choices = incident_texts.DOMAIN_RUBRICS.get(body.domain, incident_texts.DOMAIN_RUBRICS["general"])
        topic = rnd.choice(choices) if rnd.random() < 0.75 else rnd.choice(incident_texts.RUBRIC_LIST)
        inc.message.append(incident_texts.message(rnd, topic, place))
        first_name = rnd.choice(texts.FIRST_NAMES)
        answer = None
        if inc.answered[i] >= 0:
            when = dt.datetime.fromtimestamp(
                int(inc.answered[i]) + utc_offset + rnd.randint(1, 20) * DAY, dt.UTC
            )
            answer = incident_texts.answer(rnd, first_name, when.strftime("%d.%m.%Y"))
        inc.answer.append(answer)
        if inc.source == "im":
            inc.ids.append(str(id_start + i))
            inc.rubric.append(topic)
            inc.subcategory.append("")
            inc.channel.append(CHANNELS[channel_idx[i]])
            inc.message_type.append(MESSAGE_TYPES[type_idx[i]] if channel_idx[i] < 3 else "пост")
            inc.url.append(_url(rnd, int(channel_idx[i]), inc.message_type[-1]))
            inc.author.append(
                rnd.choice([texts.person_name(rnd), f"id{rnd.randint(1_000_000, 900_000_000)}"])
            )
        else:
            inc.ids.append(f"{id_start + i:010d}")
            category, sub = incident_texts.pos_category(rnd, topic)
            inc.rubric.append(category)
            inc.subcategory.append(sub)
            inc.channel.append("")
            inc.message_type.append("")
            inc.url.append("")
            inc.author.append(texts.person_name(rnd, full=True))


def _url(rnd: random.Random, channel: int, message_type: str) -> str:
    owner, item = rnd.randint(10_000_000, 230_000_000), rnd.randint(100, 90_000)
    if channel == 0:
        if message_type == "личное сообщение":
            return f"https://vk.com/gim{owner}?sel={rnd.randint(1_000_000, 900_000_000)}"
        reply = f"?reply={item + rnd.randint(1, 50)}" if message_type == "комментарий" else ""
        return f"https://vk.com/wall-{owner}_{item}{reply}"
    if channel == 1:
        return f"https://t.me/c/{owner}/{item}"
    if channel == 2:
        return f"https://ok.ru/group/{50_000_000_000_000 + owner}/topic/{item * 1000 + 17}"
    return f"https://dzen.ru/a/{owner:x}{item:x}"
