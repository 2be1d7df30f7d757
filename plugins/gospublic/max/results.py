"""What the MAX steps return (JSON-friendly, for XCom)."""

from __future__ import annotations

from typing import Any, TypedDict


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


class BatchResult(TypedDict):
    """A batch's outcome (``gospublic.max.extract.BatchOutcome`` as a dict) and its requests."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str]
    calls: dict[str, int]
    errors: list[dict[str, Any]]
    requests: int


class DaySummary(TypedDict):
    dt: str
    run_id: str
    status: str
    pages: int
    failed_pages: int
    given_up_pages: int
    complete: bool
    calls: dict[str, int]
    errors_recorded: int
