"""Readable ASCII file names from Russian names: ``Администрация города Пензы`` →
``administratsiya-goroda-penzy`` (the passport transliteration, ГОСТ Р 52535.1-2006 style)."""

from __future__ import annotations

import re

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_WORDS_CHARS = 48


def slug(text: str, limit: int = MAX_WORDS_CHARS) -> str:
    """Lower-case ASCII words joined by ``-``, cut at a word boundary within ``limit`` characters."""
    latin = "".join(_TRANSLIT.get(ch, ch) for ch in str(text).lower())
    words = [w for w in _NOT_SLUG.split(latin) if w]
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or (words[0][:limit] if words else "")


def card_name(name: str, org_id: str) -> str:
    """A body's card: ``cards/<slug of its name>--<org_id>.html`` (the id keeps it unique and
    stable when two bodies share a name)."""
    words = slug(name)
    safe_id = _NOT_SLUG.sub("-", org_id.lower()).strip("-") or "org"
    return f"cards/{words}--{safe_id}.html" if words else f"cards/{safe_id}.html"


def unique_slugs(captions: list[str], prefix: str) -> dict[str, str]:
    """A distinct ``<prefix>-<slug>`` for each caption, numbered when two slugs coincide."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    for caption in captions:
        base = f"{prefix}-{slug(caption) or 'bez-nazvaniia'}"
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        taken[caption] = name
    return taken
