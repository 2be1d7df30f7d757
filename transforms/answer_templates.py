"""Template answers: the same text, up to names, numbers and addresses, reused by a body in a month.

An answer's *signature* drops what changes between uses of a template — words written with a
capital letter inside a sentence (names, street names), numbers, punctuation — and normalises
case and ё. Answers of one body in one month that share a signature with at least
``MIN_REPEATS - 1`` others are flagged ``template``.
"""

from __future__ import annotations

import re

import pandas as pd

MIN_REPEATS = 3
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+|\d+")


def signature(text: str | None) -> str | None:
    """The template form of an answer, or None for an empty one."""
    if not text or not str(text).strip():
        return None
    kept: list[str] = []
    for sentence in _SENTENCE.split(str(text).strip()):
        for position, word in enumerate(_WORD.findall(sentence)):
            if word.isdigit() or (position > 0 and word[0].isupper()):
                continue
            kept.append(word.casefold().replace("ё", "е"))
    return " ".join(kept) or None


def template_flags(groups: pd.Series, texts: pd.Series, min_repeats: int = MIN_REPEATS) -> pd.Series:
    """True for answers whose signature repeats at least ``min_repeats`` times within their group."""
    signatures = texts.map(signature)
    frame = pd.DataFrame({"group": groups, "signature": signatures})
    counts = frame.groupby(["group", "signature"], dropna=True)["signature"].transform("size")
    return (counts >= min_repeats).reindex(texts.index, fill_value=False).astype(bool)
