"""What the Telegram steps return (JSON-friendly, for XCom)."""

from __future__ import annotations

from typing import TypedDict

from gospublic.infra import network_results
from gospublic.infra.network_results import DaySummary

__all__ = ["Batch", "BatchResult", "DayPlan", "DaySummary"]


class Batch(TypedDict):
    """One batch of channels of a day's plan."""

    batch: int
    usernames: list[str]
    window_start: str


class DayPlan(TypedDict):
    dt: str
    pages: int
    window_start: str
    batches: list[Batch]


class BatchResult(network_results.BatchResult):
    """A batch's outcome, its requests and the FLOOD_WAIT seconds it sat out."""

    flood_waited: float
