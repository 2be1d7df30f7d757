"""What every network's day returns to its DAG's tasks (JSON-friendly, for XCom): light, so a DAG
file may import it at parse time (``gospublic.infra.network_day`` needs pandas)."""

from __future__ import annotations

from typing import Any, TypedDict


class BatchResult(TypedDict):
    """A batch's outcome (``BatchOutcome`` as a dict, for XCom) and the requests it made."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str]
    calls: dict[str, int]
    errors: list[dict[str, Any]]
    requests: int


class DaySummary(TypedDict):
    """A run's summary (for XCom and the Asset event)."""

    dt: str
    run_id: str
    status: str
    pages: int
    failed_pages: int
    given_up_pages: int
    complete: bool
    calls: dict[str, int]
    errors_recorded: int


class MethodCounts(TypedDict):
    """One raw method's rows of a network day's load: read = written + rejected + duplicate."""

    read: int
    written: int
    rejected: int
    duplicate: int
    before_window: int
    error_answers: int


class NetworkDayLoad(TypedDict):
    """What a network's day load returns."""

    network: str
    dt: str
    run_id: str
    counts: dict[str, MethodCounts]
    errors: int
