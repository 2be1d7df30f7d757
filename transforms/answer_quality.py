"""Rule-based quality flags of a state body's answer to a citizen (формализм, конкретика, вежливость…).

:func:`assess` returns four flags per answer; :func:`assess_with_evidence` also returns the phrases
behind them (kept for the report cards). Definitions (docs/answer-quality.md):

* ``no_specifics`` — no concrete date, term, period, time, number (amount, quantity, house, route),
  place, contact (phone, e-mail, web address, Госуслуги) or step already taken. Numbers that only
  cite the citizen's message or a legal act do not count.
* ``formal`` — at least one bureaucratic stock phrase AND ``no_specifics``.
* ``impolite`` — no greeting, no address to the citizen, no thanks, no apology and no empathy
  (quoted text ignored).
* ``redirect`` — the citizen or the question is sent to another body.

The fifth flag, ``template`` (the same answer reused), needs a body's month of answers: see
:mod:`transforms.answer_quality_templates`, re-exported here.

The phrase lists are data (``config/answer_quality.yaml``), compiled once per file and cached.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from transforms.answer_quality_templates import (
    flag_templates,
    flag_templates_frame,
    normalize_for_template,
    template_groups,
)

__all__ = [
    "FLAGS",
    "AnswerQualityRules",
    "Assessment",
    "PendingAssessments",
    "assess",
    "assess_distinct",
    "assess_many",
    "assess_with_evidence",
    "explain",
    "flag_templates",
    "flag_templates_frame",
    "load_rules",
    "normalize_for_template",
    "submit_distinct",
    "template_groups",
]

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "answer_quality.yaml"
FLAGS = ("formal", "no_specifics", "impolite", "redirect")
SPECIFIC_KINDS = ("date", "time", "contact", "place", "number", "step")
_CONTEXT_WORDS = 4

_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")
_QUOTED = re.compile(r"«[^«»]*»|“[^“”]*”|„[^„“”]*[“”]|\"[^\"]*\"")
_PATRONYMIC_ADDRESS = re.compile(
    r"\b[А-ЯЁ][а-яё]+\s+[А-ЯЁ][а-яё]+(?:ович|евич|ич|овна|евна|ична|инична)\s*[,!]"
)
_LEADING_NAME = re.compile(r"^\W*([А-ЯЁ][а-яё]+)(?:\s+[А-ЯЁ][а-яё]+)?\s*[,!]")
_GREETING_NAME = re.compile(
    r"(?:здравствуй\w*|добр\w+\s+(?:день|утро|вечер)|спасибо|благодарим)\W{1,3}([А-ЯЁ][а-яё]+)\s*[,!.]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Phrase:
    regex: re.Pattern[str]
    unless_before: re.Pattern[str] | None = None
    unless_after: re.Pattern[str] | None = None


@dataclass(frozen=True)
class AnswerQualityRules:
    """Compiled phrase lists of ``config/answer_quality.yaml``."""

    formal: tuple[_Phrase, ...]
    redirect: tuple[_Phrase, ...]
    politeness: Mapping[str, tuple[re.Pattern[str], ...]]
    first_names: frozenset[str]
    references: tuple[re.Pattern[str], ...]
    specifics: Mapping[str, tuple[re.Pattern[str], ...]]
    step: tuple[re.Pattern[str], ...]
    step_blockers: re.Pattern[str]
    source: str = ""


@dataclass
class Assessment:
    """Flags of one answer and the evidence behind each.

    ``evidence["formal"]`` and ``evidence["redirect"]`` list the phrases that raised the flag.
    ``no_specifics`` and ``impolite`` are flags of absence: their evidence lists what was found
    instead (concrete details; greetings and thanks), so the flag is true exactly when it is empty.
    ``stock_phrases`` keeps the stock phrases even when concrete details cancel ``formal``.
    """

    flags: dict[str, bool]
    evidence: dict[str, list[str]] = field(default_factory=dict)
    stock_phrases: list[str] = field(default_factory=list)


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:  # name the bad entry: regions edit this file by hand
        raise ValueError(f"answer_quality rules: bad regular expression {pattern!r}: {exc}") from exc


def _phrases(entries: Iterable[Any], section: str) -> tuple[_Phrase, ...]:
    out = []
    for raw in entries or ():
        entry = {"pattern": raw} if isinstance(raw, str) else raw
        if not isinstance(entry, Mapping) or "pattern" not in entry:
            raise ValueError(f"answer_quality rules: entry of {section!r} needs a 'pattern': {entry!r}")
        out.append(
            _Phrase(
                _compile(r"\b(?:" + entry["pattern"] + ")"),
                _compile(entry["unless_before"]) if entry.get("unless_before") else None,
                _compile(entry["unless_after"]) if entry.get("unless_after") else None,
            )
        )
    return tuple(out)


def _patterns(entries: Iterable[Any] | None, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile(e["pattern"] if isinstance(e, Mapping) else e, flags) for e in entries or ())


@functools.lru_cache(maxsize=8)
def _load_rules_cached(path: str, mtime: float) -> AnswerQualityRules:
    del mtime  # part of the cache key only: an edited file is read again
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    specifics_raw = dict(raw.get("specifics") or {})
    missing = [k for k in ("formal", "redirect", "politeness", "specifics") if k not in raw]
    if missing:
        raise ValueError(f"answer_quality rules {path}: missing sections {missing}")
    specifics = {}
    for kind in SPECIFIC_KINDS:
        if kind == "step":
            continue
        # Street and name patterns need case (a capital letter starts a street name).
        flags = 0 if kind == "place" else re.IGNORECASE
        specifics[kind] = _patterns(specifics_raw.get(kind), flags)
    politeness = {k: _patterns(v) for k, v in (raw.get("politeness") or {}).items()}
    return AnswerQualityRules(
        formal=_phrases(raw["formal"], "formal"),
        redirect=_phrases(raw["redirect"], "redirect"),
        politeness=politeness,
        first_names=frozenset(_normalize_case(n) for n in str(raw.get("first_names", "")).split()),
        references=_patterns(specifics_raw.get("references"), re.IGNORECASE),
        specifics=specifics,
        step=_patterns(specifics_raw.get("step")),
        step_blockers=_compile(specifics_raw.get("step_blockers", r"(?!)")),
        source=path,
    )


def load_rules(path: str | Path | None = None) -> AnswerQualityRules:
    """The compiled rules of ``path`` (default ``config/answer_quality.yaml``), cached per file."""
    resolved = Path(path) if path is not None else DEFAULT_RULES_PATH
    return _load_rules_cached(str(resolved), resolved.stat().st_mtime)


def _normalize_case(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е")


def _clean(text: str) -> str:
    """Case and punctuation kept; «ё» → «е», spaces collapsed."""
    return _WS.sub(" ", _normalize_case(text)).strip()


def _plain(text: str) -> str:
    """Lower case, «ё» → «е», every non-word character → one space."""
    return _WS.sub(" ", _NON_WORD.sub(" ", _normalize_case(text).lower())).strip()


def _drop_quotes(text: str, *, all_quotes: bool) -> str:
    """Remove quoted fragments: all of them, or only a citizen's words (4+ words or with ?/!)."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(0)[1:-1]
        if all_quotes or len(inner.split()) >= 4 or any(c in inner for c in "?!"):
            return " "
        return m.group(0)

    return _QUOTED.sub(repl, text)


def _words_around(plain: str, start: int, end: int) -> tuple[str, str]:
    before = " ".join(plain[:start].split()[-_CONTEXT_WORDS:])
    after = " ".join(plain[end:].split()[:_CONTEXT_WORDS])
    return before, after


def _find_phrases(phrases: Iterable[_Phrase], plain: str) -> list[str]:
    found: list[str] = []
    for phrase in phrases:
        for m in phrase.regex.finditer(plain):
            before, after = _words_around(plain, m.start(), m.end())
            if phrase.unless_before is not None and phrase.unless_before.search(before):
                continue
            if phrase.unless_after is not None and phrase.unless_after.search(after):
                continue
            text = m.group(0).strip()
            if text and text not in found:
                found.append(text)
    return found


def _specifics(clean: str, plain: str, rules: AnswerQualityRules) -> list[str]:
    found: list[str] = []
    stripped = clean
    for ref in rules.references:
        stripped = ref.sub(" ", stripped)
    covered: list[tuple[int, int]] = []  # report each stretch of text once, under its first kind
    for kind in ("date", "time", "contact", "place", "number"):
        for pattern in rules.specifics.get(kind, ()):
            for m in pattern.finditer(stripped):
                if any(m.start() < end and start < m.end() for start, end in covered):
                    continue
                covered.append(m.span())
                found.append(f"{kind}: {m.group(0).strip()}")
    for pattern in rules.step:
        for m in pattern.finditer(plain):
            before = " ".join(plain[: m.start()].split()[-3:])
            if rules.step_blockers.search(before):
                continue
            found.append(f"step: {m.group(0)}")
    return found


def _courtesy(text: str, rules: AnswerQualityRules) -> list[str]:
    unquoted = _clean(_drop_quotes(text, all_quotes=True))
    plain = _plain(unquoted)
    found = []
    for kind in ("greeting", "address", "thanks", "apology", "empathy"):
        for pattern in rules.politeness.get(kind, ()):
            found += [f"{kind}: {m.group(0)}" for m in pattern.finditer(plain)]
    names = [m.group(0).rstrip(",! ") for m in _PATRONYMIC_ADDRESS.finditer(unquoted)]
    for regex in (_LEADING_NAME, _GREETING_NAME):
        m = regex.search(unquoted)
        if m and m.group(1) in rules.first_names:
            names.append(m.group(1))
    found += [f"address: {n}" for n in dict.fromkeys(names)]
    return found


def assess_with_evidence(text: str | None, rules: AnswerQualityRules | None = None) -> Assessment:
    """Flags of one answer with the phrases that decided each (see :class:`Assessment`)."""
    rules = rules or load_rules()
    raw = "" if text is None else str(text)
    answer = _drop_quotes(raw, all_quotes=False)
    clean, plain = _clean(answer), _plain(answer)
    stock = _find_phrases(rules.formal, plain)
    redirect = _find_phrases(rules.redirect, plain)
    specifics = _specifics(clean, plain, rules)
    courtesy = _courtesy(raw, rules)
    no_specifics = not specifics
    flags = {
        "formal": bool(stock) and no_specifics,
        "no_specifics": no_specifics,
        "impolite": not courtesy,
        "redirect": bool(redirect),
    }
    evidence = {
        "formal": stock if flags["formal"] else [],
        "no_specifics": specifics,
        "impolite": courtesy,
        "redirect": redirect,
    }
    return Assessment(flags=flags, evidence=evidence, stock_phrases=stock)


def assess(text: str | None, rules: AnswerQualityRules | None = None) -> dict[str, bool]:
    """``{"formal", "no_specifics", "impolite", "redirect"}`` flags of one answer."""
    return assess_with_evidence(text, rules).flags


def explain(text: str | None, rules: AnswerQualityRules | None = None) -> dict[str, list[str]]:
    """The evidence of :func:`assess_with_evidence` alone."""
    return assess_with_evidence(text, rules).evidence


def assess_many(
    texts: Iterable[str | None], rules: AnswerQualityRules | None = None
) -> list[dict[str, bool]]:
    """:func:`assess` over many answers, loading the rules once."""
    rules = rules or load_rules()
    return [assess(t, rules) for t in texts]


def assess_distinct(
    texts: Sequence[str | None], rules: AnswerQualityRules | None = None, *, executor: Executor | None = None
) -> dict[str | None, Assessment]:
    """:func:`assess_with_evidence` of each distinct text, keyed by the text.

    Bodies reuse answers (that is what the template flag measures), so each text is assessed once.
    With a process ``executor`` and enough texts, the work is shared by its workers, each loading
    the same rules file.
    """
    return submit_distinct(texts, rules, executor=executor).result()


class PendingAssessments:
    """The assessments of :func:`submit_distinct`: being computed by the workers until :meth:`result`."""

    def __init__(self, distinct: list[str | None], chunks: Iterable[list[Assessment]]) -> None:
        self._distinct = distinct
        self._chunks = chunks

    def result(self) -> dict[str | None, Assessment]:
        """Wait for the workers; each distinct text with its assessment, in first-seen order."""
        return dict(zip(self._distinct, itertools.chain.from_iterable(self._chunks), strict=True))


def submit_distinct(
    texts: Sequence[str | None], rules: AnswerQualityRules | None = None, *, executor: Executor | None = None
) -> PendingAssessments:
    """Start :func:`assess_distinct` and return at once, so the caller works while the workers assess.

    Without an ``executor`` (or with few texts) the texts are assessed here, before returning.
    """
    rules = rules or load_rules()
    distinct = list(dict.fromkeys(texts))
    if executor is None or len(distinct) < PARALLEL_MIN_TEXTS or not rules.source:
        return PendingAssessments(distinct, [[assess_with_evidence(text, rules) for text in distinct]])
    chunks = [distinct[i : i + PARALLEL_CHUNK_TEXTS] for i in range(0, len(distinct), PARALLEL_CHUNK_TEXTS)]
    return PendingAssessments(distinct, executor.map(_assess_chunk, [rules.source] * len(chunks), chunks))


PARALLEL_MIN_TEXTS = 10_000  # fewer texts take less time than handing them to workers
PARALLEL_CHUNK_TEXTS = 2_000


def _assess_chunk(rules_path: str, texts: list[str | None]) -> list[Assessment]:
    rules = load_rules(rules_path)
    return [assess_with_evidence(text, rules) for text in texts]
