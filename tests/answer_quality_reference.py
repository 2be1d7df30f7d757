"""transforms.answer_quality as it was before its bulk path (commit 021072a): every text
assessed alone, pattern by pattern. Kept only as the reference the bulk path must equal
(tests/test_answer_quality_parity.py); the rules are loaded by transforms.answer_quality."""

from __future__ import annotations

import re
from collections.abc import Iterable

from transforms.answer_quality import AnswerQualityRules, Assessment, _Phrase, load_rules

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
