"""The quarantine record: a row that cannot be loaded, and why (file, row, column, reason)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A row that cannot be loaded, and why."""

    file: str
    row: int
    column: str | None
    reason: str
    value: str | None = None
