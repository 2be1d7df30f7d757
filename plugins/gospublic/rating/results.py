"""What the ``monthly_rating`` task returns (XCom): a typed, JSON-ready dictionary per methodology."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class RatedMonth(TypedDict):
    """The month's snapshot under one methodology, and where it was published when it was."""

    snapshot_id: str
    month: str
    methodology_id: str
    revision: int
    status: str  # draft, published
    input_fingerprint: str
    created: bool  # False: the existing snapshot already had these inputs
    path: NotRequired[str]  # the published revision's folder in the lake
    files: NotRequired[int]
