"""What the ``registry`` task returns (XCom): a typed, JSON-ready dictionary."""

from __future__ import annotations

from typing import TypedDict


class RegistryCounts(TypedDict):
    """Counts of one registry load: what ``load.load_registry`` returns."""

    load_id: str
    checksum: str
    orgs_read: int
    orgs_loaded: int
    pages_read: int
    pages_loaded: int
    aliases: int
    quarantined: int
