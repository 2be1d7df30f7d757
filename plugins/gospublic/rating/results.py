"""What the ``monthly_rating`` task returns (XCom): a typed, JSON-ready dictionary per methodology."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


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
    degeneracies: NotRequired[list[dict[str, Any]]]  # transforms.rating_degeneracy.Degeneracy.as_dict()


class WhatIfMonth(TypedDict):
    """A dry run (``dry_run``): the month rated under one methodology and compared, nothing published."""

    month: str
    methodology_id: str
    status: str  # what-if
    against_snapshot: str | None  # the published snapshot compared with; None: the preset rated now
    path: str  # the comparison's folder in the lake (whatif/<month>/<methodology>/<run id>)
    files: list[str]
    rated: int
    moved: int
    zone_changed: int
