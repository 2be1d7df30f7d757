"""The matching form of names (bodies, executors, column headers): one normalisation for all."""

from __future__ import annotations

import re

_QUOTES = re.compile(r"[«»\"“”„'`]")
_SPACES = re.compile(r"\s+")


def normalize_alias(name: str) -> str:
    """The matching form of a body's name: case-folded, ё→е, quotes dropped, spaces collapsed."""
    text = _QUOTES.sub("", name.casefold().replace("ё", "е"))
    return _SPACES.sub(" ", text).strip()
