"""``transforms.ru_format``'s number, count, share, percent and change, memoised: the same text for
the same value, without Babel formatting it again. A national publication formats some two
million figures (cards, tables), mostly of few distinct values (scores to one decimal, counts);
Babel took about 90 µs a figure, a third of the rendering time.

The key is the value as ``ru_format.number`` rounds it (``round(float(value), digits)``, which
rounding again leaves unchanged), so the text is exactly ``ru_format``'s
(tests/test_publication_numbers.py compares them)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from transforms import ru_format as ru


@lru_cache(maxsize=1 << 17)
def _rounded(value: float, digits: int) -> str:
    return ru.number(value, digits)


def _float(value: Any) -> float | None:
    """``value`` as a float, None when ``ru_format`` would write it as missing."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # pandas' NA, or not a number at all
        return None
    return None if math.isnan(number) else number


def number(value: Any, digits: int = 1) -> str:
    """``ru_format.number``."""
    exact = _float(value)
    if exact is None:
        return ru.MISSING
    return _rounded(round(exact, digits), digits)


def count(value: Any) -> str:
    """``ru_format.count``."""
    return number(value, 0)


def share(value: Any, digits: int = 1) -> str:
    """``ru_format.share``."""
    exact = _float(value)
    if exact is None:
        return ru.MISSING
    return f"{number(exact * 100, digits)}{ru.NBSP}%"


def percent(value: Any, digits: int = 1) -> str:
    """``ru_format.percent``."""
    if _float(value) is None:
        return ru.MISSING
    return f"{number(value, digits)}{ru.NBSP}%"


def change(value: Any, digits: int = 1) -> str:
    """``ru_format.change``."""
    exact = _float(value)
    if exact is None:
        return ru.MISSING
    rounded = round(exact, digits)
    if rounded == 0:
        return "0"
    return ("+" if rounded > 0 else "") + number(rounded, digits)
