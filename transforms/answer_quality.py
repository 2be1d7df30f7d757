"""Rule-based quality flags of a state body's answer to a citizen (формализм, конкретика, вежливость…).

:func:`assess` returns four flags per answer; :func:`assess_with_evidence` also returns the phrases
behind them (kept, restricted, for the report cards, which print them as :func:`public_phrase`
gives: the rule's own words only). Definitions (docs/answer-quality.md):

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
import importlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
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
    "public_phrase",
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
    return _assessment(
        _find_phrases(rules.formal, plain),
        _find_phrases(rules.redirect, plain),
        _specifics(clean, plain, rules),
        _courtesy(raw, rules),
    )


def _assessment(
    stock: list[str], redirect: list[str], specifics: list[str], courtesy: list[str]
) -> Assessment:
    """The flags and evidence of an answer from what its patterns found."""
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


PUBLIC_GAP = "…"  # what a public phrase shows for the words a rule's free span matched
# Words no stock phrase is made of: where one of them can stand for a word of the phrase and the
# rule still matches it whole, that word was matched by a free span (``\w+``), not by the rule's text.
_STAND_INS = ("ъъъ", "qqq", "000")


def public_phrase(phrase: str, flag: str, rules: AnswerQualityRules | None = None) -> str | None:
    """A ``formal`` or ``redirect`` phrase of the evidence as a report card may print it: only the
    words the rule's fixed alternatives supply, each run of words its free spans matched (a
    citizen's name, a street: ``обращение анна петровна рассмотрено``) shown as one «…»
    (``обращение … рассмотрено``). The rule is the first of the flag's that matches the whole
    phrase; with none (the rules were edited since) or nothing but free words, None: not shown."""
    if flag not in ("formal", "redirect"):
        raise ValueError(f"only formal and redirect phrases are published, not {flag!r}")
    rules = rules or load_rules()
    words = _plain(phrase).split()
    phrases = rules.formal if flag == "formal" else rules.redirect
    rule = next((p.regex for p in phrases if _matches_whole(p.regex, words)), None)
    if rule is None:
        return None
    shown: list[str] = []
    for n, word in enumerate(words):
        free = any(_matches_whole(rule, [*words[:n], other, *words[n + 1 :]]) for other in _STAND_INS)
        if not free:
            shown.append(word)
        elif not shown or shown[-1] != PUBLIC_GAP:
            shown.append(PUBLIC_GAP)
    return " ".join(shown) if any(word != PUBLIC_GAP for word in shown) else None


def _matches_whole(regex: re.Pattern[str], words: list[str]) -> bool:
    """Whether ``regex`` matches the words from end to end (a match may end with the space a
    look-ahead needed: the evidence is stripped)."""
    text = " ".join(words)
    return bool(words) and (regex.fullmatch(text) is not None or regex.fullmatch(text + " ") is not None)


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
        return PendingAssessments(distinct, [_assess_bulk(distinct, rules)])
    chunks = [distinct[i : i + PARALLEL_CHUNK_TEXTS] for i in range(0, len(distinct), PARALLEL_CHUNK_TEXTS)]
    return PendingAssessments(distinct, executor.map(_assess_chunk, [rules.source] * len(chunks), chunks))


PARALLEL_MIN_TEXTS = 10_000  # fewer texts take less time than handing them to workers
PARALLEL_CHUNK_TEXTS = 2_000


def _assess_chunk(rules_path: str, texts: list[str | None]) -> list[Assessment]:
    return _assess_bulk(texts, load_rules(rules_path))


# --- The bulk path: many distinct texts at once, the same assessments as one text at a time. ---
#
# Each pattern runs once over many texts joined by ``_SEP`` (NUL: PostgreSQL's text cannot hold it;
# a text holding it is assessed alone) when no part of the pattern can match NUL and it has no anchor
# but ``\b`` (checked on its parse tree): then it matches in the joined string exactly as in each text
# alone (NUL stops it as a text's end or start does). A pattern whose first step is a literal word is
# first looked for without its leading ``\b`` (the engine then searches for the literal, fast): only
# the texts holding that looser match are searched with the pattern itself. Other patterns (a config
# entry with ``\S``, ``.``, ``[^…]``, ``^`` …) run on each text alone, as before.

_SEP = "\x00"
# What _WS and _NON_WORD replace by one space, less the single spaces already there (the same result,
# without rewriting every space): a run of two or more, or one other character.
_WS_JOINED = re.compile(r"\s{2,}|[^\S ]")
_NON_WORD_JOINED = re.compile(r"[^\w\x00]{2,}|[^\w\x00 ]")
_QUOTE_OPENERS = ("«", "“", "„", '"')
_BULK_TEXTS = 5_000  # distinct texts assessed in one pass of the patterns
_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_casefix: Any = importlib.import_module("re._casefix")


@dataclass(frozen=True)
class _Scan:
    """A pattern and how it runs over joined texts: ``joinable`` when NUL stops it as a text's edge,
    ``prefilter`` a looser pattern (a superset of its matches) searched for first."""

    regex: re.Pattern[str]
    joinable: bool
    prefilter: re.Pattern[str] | None
    needles: frozenset[str] | None = None  # every match holds one of them


def _nul_safe(items: Any) -> bool:
    """Whether no step of a parsed pattern can match NUL and its only anchor is ``\\b``."""
    return all(_step_nul_safe(op, av) for op, av in items)


def _step_nul_safe(op: Any, av: Any) -> bool:
    c = _constants
    if op is c.LITERAL:
        return bool(av != 0)
    if op is c.IN:
        return all(_class_item_nul_safe(item_op, item_av) for item_op, item_av in av)
    if op is c.AT:
        return bool(av is c.AT_BOUNDARY)
    if op is c.GROUPREF:  # a group's text, and no group can hold NUL
        return True
    parts = _parts(op, av)  # None: ANY, NOT_LITERAL, conditionals, anything unknown
    return parts is not None and all(_nul_safe(part) for part in parts)


def _parts(op: Any, av: Any) -> list[Any] | None:
    """The parsed sub-patterns of a group, choice, repeat or look-around."""
    c = _constants
    if op is c.SUBPATTERN:
        return [av[3]]
    if op is c.BRANCH:
        return list(av[1])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        return [av[2]]
    if op in (c.ASSERT, c.ASSERT_NOT):
        return [av[1]]
    return [av] if op is c.ATOMIC_GROUP else None


def _class_item_nul_safe(op: Any, av: Any) -> bool:
    """Whether an item of a ``[…]`` class cannot match NUL (a negated class can)."""
    c = _constants
    if op is c.LITERAL:
        return bool(av != 0)
    if op is c.RANGE:
        return bool(av[0] != 0)
    if op is c.CATEGORY:
        return bool(av in (c.CATEGORY_DIGIT, c.CATEGORY_SPACE, c.CATEGORY_WORD))
    return False


def _starts_with_literal(items: Any) -> bool:
    """Whether a parsed pattern opens with a literal (or a choice of literals), which the engine
    searches for fast."""
    c = _constants
    while items and items[0][0] is c.SUBPATTERN and not items[0][1][1] and not items[0][1][2]:
        items = items[0][1][3]
    if not items:
        return False
    op, av = items[0]
    if op is c.LITERAL:
        return True
    return op is c.BRANCH and all(branch and branch[0][0] is c.LITERAL for branch in av[1])


@functools.lru_cache(maxsize=1024)
def _scan(regex: re.Pattern[str]) -> _Scan:
    try:
        parsed = _parser.parse(regex.pattern, regex.flags)
    except (re.error, RecursionError):
        return _Scan(regex, False, None)
    joinable = _nul_safe(parsed.data)
    prefilter = None
    body = regex.pattern
    if body.startswith(r"\b(?:") and body.endswith(")"):  # how _phrases wraps an entry
        body = body[len(r"\b(?:") : -1]
    elif body.startswith(r"\b"):
        body = body[len(r"\b") :]
    if joinable and body != regex.pattern and not regex.flags & re.IGNORECASE:
        try:  # the pattern without its leading \b: every match of the pattern is one of it
            loose = re.compile(body, regex.flags)
            if _starts_with_literal(_parser.parse(body, regex.flags).data):
                prefilter = loose
        except re.error:
            prefilter = None
    return _Scan(regex, joinable, prefilter, _needles(parsed.data, ignore_case=bool(regex.flags & re.I)))


# Lower case, and one of each set of lower-case letters the engine matches to each other ignoring
# case («в» and «ᲀ», «s» and «ſ», «σ» and «ς»): two texts' characters match ignoring case only if
# their folds are equal.
_FOLD_TABLE = {
    chr(code): chr(min(lower, *extra))
    for lower, extra in _casefix._EXTRA_CASES.items()
    for code in (lower, *extra)
}


def _fold(text: str) -> str:
    folded = text.lower()
    for char, to in _FOLD_TABLE.items():  # rare characters: looked for, not translated char by char
        if char in folded:
            folded = folded.replace(char, to)
    return folded


def _folds_simply(char: str) -> bool:
    """Whether the characters a character matches ignoring case are exactly those of the same
    ``_fold``: not «i» nor «ı» (the engine matches them to «İ», whose lower case is two characters)."""
    folded = _fold(char)
    return len(folded) == 1 and folded != "i"  # «ı» folds to «i» too


def _needles(items: Any, *, ignore_case: bool) -> frozenset[str] | None:
    """Strings of which every match of a parsed pattern holds one (its longest such choice), or
    ``None``. Ignoring case, they are in lower case, to be looked for in the texts' lower case."""
    c = _constants
    best: frozenset[str] | None = None
    run: list[str] = []

    def consider(choice: frozenset[str] | None) -> None:
        nonlocal best
        if choice and all(choice) and (best is None or min(map(len, choice)) > min(map(len, best))):
            best = choice

    for op, av in [*items, (None, None)]:
        char = chr(av) if op is c.LITERAL else ""
        if char and char != _SEP and (not ignore_case or _folds_simply(char)):
            run.append(_fold(char) if ignore_case else char)
            continue
        consider(frozenset(["".join(run)]) if run else None)
        run = []
        if op is c.SUBPATTERN and not av[1] & re.I:
            consider(_needles(av[3], ignore_case=ignore_case))
        elif op is c.BRANCH:
            choices = [_needles(branch, ignore_case=ignore_case) for branch in av[1]]
            if all(choices):
                consider(frozenset().union(*(choice or () for choice in choices)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            consider(_needles(av[2], ignore_case=ignore_case))
    return best


_Hit = tuple[int, int, str]  # a match in one text: start, end, matched text


class _Joined:
    """Texts (none holding ``_SEP``) and their join: patterns run once over all of them."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.joined = _SEP.join(texts)
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
        self.starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        self.ends = self.starts + lengths - 1  # where each text's separator stands (or would)

    @functools.cached_property
    def lowered(self) -> _Joined:
        """The texts' ``_fold`` (NUL has no case: it stops the final-sigma rule as an edge does)."""
        return _Joined(_fold(self.joined).split(_SEP))

    def _text_of(self, positions: list[int]) -> list[int]:
        found = np.searchsorted(self.ends, np.array(positions, dtype=np.int64), side="left")
        return [int(i) for i in found]

    def candidates(self, scan: _Scan) -> list[int] | None:
        """The texts in which ``scan.regex`` may match (all, as ``None``, when unknown)."""
        if scan.needles is not None:
            found = (self.lowered if scan.regex.flags & re.I else self)._holding(scan.needles)
            if found is not None:
                return found
        if scan.prefilter is None or not scan.joinable:
            return None
        spans = [(m.start(), max(m.start(), m.end() - 1)) for m in scan.prefilter.finditer(self.joined)]
        if not spans:
            return []
        first = self._text_of([s for s, _ in spans])
        last = self._text_of([e for _, e in spans])
        return sorted({i for lo, hi in zip(first, last, strict=True) for i in range(lo, hi + 1)})

    def _holding(self, needles: frozenset[str]) -> list[int] | None:
        """The texts holding one of ``needles``; ``None`` when they are too common to help."""
        joined, most = self.joined, len(self.texts) // 8
        positions: list[int] = []
        for needle in needles:
            at = joined.find(needle)
            while at >= 0:
                if len(positions) > most:
                    return None
                positions.append(at)
                at = joined.find(needle, at + 1)
        return sorted(set(self._text_of(positions)))

    def find(self, regex: re.Pattern[str]) -> dict[int, list[_Hit]]:
        """``regex.finditer`` of each text, as each alone gives it, for the texts with a match."""
        scan = _scan(regex)
        found: dict[int, list[_Hit]] = {}
        candidates = self.candidates(scan)
        if candidates is None and scan.joinable:
            matches = list(regex.finditer(self.joined))
            starts = self.starts.tolist()
            for i, m in zip(self._text_of([m.start() for m in matches]), matches, strict=True):
                at = starts[i]
                found.setdefault(i, []).append((m.start() - at, m.end() - at, m.group(0)))
            return found
        for i in range(len(self.texts)) if candidates is None else candidates:
            hits = [(m.start(), m.end(), m.group(0)) for m in regex.finditer(self.texts[i])]
            if hits:
                found[i] = hits
        return found

    def sub(self, regex: re.Pattern[str], repl: str) -> _Joined:
        """``regex.sub(repl, text)`` of each text (``repl`` a plain string without ``_SEP``)."""
        scan = _scan(regex)
        candidates = self.candidates(scan)
        if candidates is None and scan.joinable:
            return _Joined(regex.sub(repl, self.joined).split(_SEP))
        texts = list(self.texts)
        for i in range(len(texts)) if candidates is None else candidates:
            texts[i] = regex.sub(repl, texts[i])
        return _Joined(texts)


def _drop_quotes_many(texts: list[str], *, all_quotes: bool) -> list[str]:
    return [
        _drop_quotes(t, all_quotes=all_quotes) if any(q in t for q in _QUOTE_OPENERS) else t for t in texts
    ]


def _clean_many(texts: list[str]) -> list[str]:
    """:func:`_clean` of each text (``\\s`` never matches NUL)."""
    return [t.strip() for t in _WS_JOINED.sub(" ", _normalize_case(_SEP.join(texts))).split(_SEP)]


def _plain_many(texts: list[str]) -> list[str]:
    """:func:`_plain` of each text (NUL kept between them as a character of no case). Its ``_WS``
    step changes nothing here: every space is a non-word character, already one space."""
    lowered = _normalize_case(_SEP.join(texts)).lower()
    return [t.strip() for t in _NON_WORD_JOINED.sub(" ", lowered).split(_SEP)]


def _phrases_many(phrases: Sequence[_Phrase], plain: _Joined) -> list[list[str]]:
    """:func:`_find_phrases` of each text."""
    out: list[list[str]] = [[] for _ in plain.texts]
    for phrase in phrases:
        for i, hits in plain.find(phrase.regex).items():
            text, found = plain.texts[i], out[i]
            for start, end, matched in hits:
                if phrase.unless_before is not None or phrase.unless_after is not None:
                    before, after = _words_around(text, start, end)
                    if phrase.unless_before is not None and phrase.unless_before.search(before):
                        continue
                    if phrase.unless_after is not None and phrase.unless_after.search(after):
                        continue
                stripped = matched.strip()
                if stripped and stripped not in found:
                    found.append(stripped)
    return out


def _specifics_many(clean: _Joined, plain: _Joined, rules: AnswerQualityRules) -> list[list[str]]:
    """:func:`_specifics` of each text."""
    stripped = clean
    for ref in rules.references:
        stripped = stripped.sub(ref, " ")
    out: list[list[str]] = [[] for _ in clean.texts]
    covered: list[list[tuple[int, int]]] = [[] for _ in clean.texts]
    for kind in ("date", "time", "contact", "place", "number"):
        for pattern in rules.specifics.get(kind, ()):
            for i, hits in stripped.find(pattern).items():
                spans, found = covered[i], out[i]
                for start, end, matched in hits:
                    if any(start < e and s < end for s, e in spans):
                        continue
                    spans.append((start, end))
                    found.append(f"{kind}: {matched.strip()}")
    for pattern in rules.step:
        for i, hits in plain.find(pattern).items():
            text = plain.texts[i]
            for start, _, matched in hits:
                before = " ".join(text[:start].split()[-3:])
                if rules.step_blockers.search(before):
                    continue
                out[i].append(f"step: {matched}")
    return out


def _courtesy_many(raws: list[str], rules: AnswerQualityRules) -> list[list[str]]:
    """:func:`_courtesy` of each text."""
    unquoted = _clean_many(_drop_quotes_many(raws, all_quotes=True))
    plain = _Joined(_plain_many(unquoted))
    out: list[list[str]] = [[] for _ in raws]
    for kind in ("greeting", "address", "thanks", "apology", "empathy"):
        for pattern in rules.politeness.get(kind, ()):
            for i, hits in plain.find(pattern).items():
                out[i] += [f"{kind}: {matched}" for _, _, matched in hits]
    patronymics = _Joined(unquoted).find(_PATRONYMIC_ADDRESS)
    for i, text in enumerate(unquoted):
        names = [matched.rstrip(",! ") for _, _, matched in patronymics.get(i, ())]
        for regex in (_LEADING_NAME, _GREETING_NAME):
            m = regex.search(text)
            if m and m.group(1) in rules.first_names:
                names.append(m.group(1))
        out[i] += [f"address: {n}" for n in dict.fromkeys(names)]
    return out


def _assess_joined(raws: list[str], rules: AnswerQualityRules) -> list[Assessment]:
    """:func:`assess_with_evidence` of each text (none holding ``_SEP``), every pattern run once."""
    answers = _drop_quotes_many(raws, all_quotes=False)
    clean, plain = _Joined(_clean_many(answers)), _Joined(_plain_many(answers))
    stock = _phrases_many(rules.formal, plain)
    redirect = _phrases_many(rules.redirect, plain)
    specifics = _specifics_many(clean, plain, rules)
    courtesy = _courtesy_many(raws, rules)
    return [_assessment(*found) for found in zip(stock, redirect, specifics, courtesy, strict=True)]


def _assess_bulk(texts: Sequence[str | None], rules: AnswerQualityRules) -> list[Assessment]:
    """:func:`assess_with_evidence` of each text, many at a time (a text holding NUL alone)."""
    raws = ["" if text is None else str(text) for text in texts]
    out: list[Assessment | None] = [None] * len(raws)
    joinable = [i for i, raw in enumerate(raws) if _SEP not in raw]
    for lo in range(0, len(joinable), _BULK_TEXTS):
        batch = joinable[lo : lo + _BULK_TEXTS]
        for i, assessment in zip(batch, _assess_joined([raws[i] for i in batch], rules), strict=True):
            out[i] = assessment
    return [a if a is not None else assess_with_evidence(raws[i], rules) for i, a in enumerate(out)]
