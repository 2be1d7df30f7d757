"""What staging retention's cleanup returns (``gospublic.infra.retention``; the XCom of DAG
``staging_retention``): typed, JSON-ready dictionaries, light enough for a DAG file to import."""

from __future__ import annotations

from typing import TypedDict


class PartitionCleaned(TypedDict):
    """One deleted partition, as ``audit.staging_retention`` records it."""

    table: str
    dt: str
    network: str | None
    rows_deleted: int
    rows_folded: int


class StagingCleaned(TypedDict):
    """What a cleanup did: its horizon, the partitions deleted, those it kept for their month."""

    horizon: str
    deleted: list[PartitionCleaned]
    rows_deleted: int
    kept_unpublished: list[str]  # months before the horizon kept until a rating is published
    skipped: list[str]  # partitions without a known writer (a network the cleanup does not know)
