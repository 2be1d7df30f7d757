"""What the ``vk_pages`` tasks hand each other (XCom): typed, JSON-ready dictionaries."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class Batch(TypedDict):
    """Pages extracted by one mapped task, and how many posts to ask for first on each."""

    batch: int
    group_ids: list[int]
    window_start: str  # ISO start of the posts' re-read window
    wall_counts: dict[str, int]  # vk_group_id (text: a JSON key) -> posts in the first wall.get


class DayPlan(TypedDict):
    dt: str
    pages: int
    window_start: str
    batches: list[Batch]


class BatchResult(TypedDict):
    """One batch's outcome (``extract.BatchOutcome``) with the client's token and request tallies."""

    batch: int
    pages: int
    window_start: str | None
    files: dict[str, str]
    calls: dict[str, int]
    errors: list[dict[str, Any]]
    given_up: dict[str, int]
    retired_tokens: dict[str, str]
    requests: int


class DaySummary(TypedDict):
    """The run's manifest verdict and its totals."""

    dt: str
    run_id: str
    status: str
    pages: int
    failed_pages: int
    failed_share: float
    given_up_pages: int
    given_up_share: float
    given_up_calls: dict[str, int]
    complete: bool
    calls: dict[str, int]
    retired_tokens: dict[str, str]


class DayLoad(TypedDict):
    """What loading a day from its manifest did."""

    dt: str
    run_id: str
    counts: dict[str, dict[str, int]]  # method -> read, written, rejected...
    errors: int
    posts_before_window: int
    rebuild: Literal["forward", "full"]
    complete: bool
    answers: dict[str, str]  # method -> what its typed answers were read from: sidecars, raw (or none)
