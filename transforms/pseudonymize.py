"""Keyed pseudonyms for citizens' identifiers (152-ФЗ): HMAC-SHA256, never a plain hash.

The same key gives the same pseudonym, so a citizen's messages can be counted together without
anyone being able to recover the id without the key. Rotating the key breaks that continuity.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

MIN_KEY_BYTES = 16
PSEUDONYM_HEX = 32


def make_pseudonymizer(key: bytes) -> Callable[[str], str]:
    """A function mapping an identifier (e.g. ``"vk:12345"``) to its 32-hex-digit pseudonym."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"pseudonymization key must have at least {MIN_KEY_BYTES} bytes")

    def pseudonymize(value: str) -> str:
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]

    return pseudonymize
