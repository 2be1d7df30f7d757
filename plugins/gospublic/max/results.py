"""What the MAX steps return (JSON-friendly, for XCom)."""

from __future__ import annotations

from typing import TypedDict

from gospublic.infra.network_results import BatchResult, DaySummary

__all__ = ["Batch", "BatchResult", "DayPlan", "DaySummary"]


class Batch(TypedDict):
    """One batch of channels of a day's plan."""

    batch: int
    chat_ids: list[str]
    window_start: str


class DayPlan(TypedDict):
    dt: str
    pages: int
    window_start: str
    batches: list[Batch]
