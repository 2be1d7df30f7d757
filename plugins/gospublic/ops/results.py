"""What the ops_check task returns (XCom): typed, JSON-ready dictionaries."""

from __future__ import annotations

from typing import TypedDict


class OpsChecked(TypedDict):
    """A health check that crossed no threshold: what it looked at."""

    today: str
    pages: int
    network_pages: int  # OK, MAX and Telegram pages
    exports: int
    quarantined_rows: int
