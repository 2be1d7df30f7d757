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


class Pseudonymizer:
    """Maps an identifier (e.g. ``"vk:12345"``) to its 32-hex-digit pseudonym under a key.

    A plain object, so it can be handed to worker processes; its ``repr`` never shows the key.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"pseudonymization key must have at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def __call__(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<hidden>)"

    def __getstate__(self) -> bytes:
        return self._key

    def __setstate__(self, key: bytes) -> None:
        self._key = key


def make_pseudonymizer(key: bytes) -> Callable[[str], str]:
    """A function mapping an identifier (e.g. ``"vk:12345"``) to its 32-hex-digit pseudonym."""
    return Pseudonymizer(key)
