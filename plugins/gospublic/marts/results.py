"""What the ``warehouse_build`` tasks return (XCom): typed, JSON-ready dictionaries."""

from __future__ import annotations

from typing import TypedDict


class MonthBuilt(TypedDict):
    """One month rebuilt: incidents timed and rows written per mart table."""

    month: str
    incidents: int
    mart_rows: dict[str, int]
