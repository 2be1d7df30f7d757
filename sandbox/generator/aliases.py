"""Name variants by which Incident Management and ПОС call a body.

Real exports spell executors freely: abbreviations, different quotes, «е» for «ё», doubled
spaces, typos. The registry lists these variants so the pipeline can resolve them.
"""

from __future__ import annotations

import re

import numpy as np

_QUOTE_PAIRS = (("«", "»"), ('"', '"'), ("“", "”"))
_STOP_WORDS = {"и", "по", "в", "на", "с", "за", "для", "—", "№"}


def initials(name: str) -> str:
    """Capital initials of the significant words: «Министерство здравоохранения …» → «МЗ…»."""
    words = re.findall(r"[А-ЯЁа-яё]+", name)
    return "".join(word[0].upper() for word in words if word.lower() not in _STOP_WORDS)


def swap_quotes(name: str, pair: tuple[str, str]) -> str:
    """The name with «» replaced by another pair of quotes."""
    return name.replace("«", pair[0]).replace("»", pair[1])


def typo(name: str, rng: np.random.Generator) -> str:
    """The name with two adjacent letters swapped or one letter dropped (never a space)."""
    letters = [i for i in range(1, len(name) - 2) if name[i].isalpha() and name[i + 1].isalpha()]
    if not letters:
        return name
    i = letters[int(rng.integers(len(letters)))]
    if rng.random() < 0.5:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


def extra_space(name: str, rng: np.random.Generator) -> str:
    """The name with a doubled inner space or a trailing space."""
    spaces = [i for i, char in enumerate(name) if char == " "]
    if not spaces or rng.random() < 0.3:
        return name + " "
    i = spaces[int(rng.integers(len(spaces)))]
    return name[:i] + " " + name[i:]


def variants(name: str, short_names: list[str], rng: np.random.Generator) -> list[str]:
    """Distinct alias variants of ``name``, the canonical name first."""
    found = [name, *short_names]
    if "«" in name:
        found.append(swap_quotes(name, _QUOTE_PAIRS[1 + int(rng.integers(2))]))
        found.append(name.replace("«", "").replace("»", ""))
    if "ё" in name:
        found.append(name.replace("ё", "е"))
    code = initials(name)
    if len(code) >= 3:
        found.append(code)
    found.append(extra_space(name, rng))
    found.append(typo(name, rng))
    if rng.random() < 0.5:
        found.append(name.lower())
    unique: list[str] = []
    for variant in found:
        alias = variant.replace("|", "/")
        if alias and alias not in unique:
            unique.append(alias)
    return unique
