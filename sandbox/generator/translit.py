"""Latin screen names from Russian names («Минздрав ПО» → ``minzdrav_po``)."""

from __future__ import annotations

import re

_TABLE = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)


def screen_name(name: str, limit: int = 30) -> str:
    """A lower-case latin slug of ``name`` usable as a VK/Telegram screen name."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower().translate(_TABLE)).strip("_")
    slug = slug[:limit].rstrip("_") or "page"
    return slug if slug[0].isalpha() else f"p{slug}"
