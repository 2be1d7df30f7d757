"""What the Telegram steps return (JSON-friendly, for XCom)."""

from __future__ import annotations

from typing import Any, TypedDict


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


class BatchResult(TypedDict):
    """A batch's outcome (``gospublic.telegram.extract.BatchOutcome`` as a dict), its requests
    and the FLOOD_WAIT seconds it sat out."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str]
    calls: dict[str, int]
    errors: list[dict[str, Any]]
    requests: int
    flood_waited: float


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
