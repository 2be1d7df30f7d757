"""What the ``max_pages`` DAG's tasks call, one function each; each opens the adapters it needs.

plan → extract (one call per batch of channels, mapped) → land (the run's manifest) →
record_errors (the run's errors in ``audit.extract_errors``) → check (fail when the run did not
pass its checks). ``finish`` does the last three at once. A run's partition is its logical date's
calendar day in Moscow. (The load into staging and core, and the marts come with issue 28's later
parts.)
"""

from __future__ import annotations

from datetime import datetime

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.max import daily
from gospublic.max.client import MaxClient
from gospublic.max.errors import record_errors as record_manifest_errors
from gospublic.max.extract import manifest_key, read_manifest
from gospublic.max.results import Batch, BatchResult, DaySummary


def plan(logical_date: datetime) -> list[Batch]:
    """The day's MAX channels in batches, with the start of the posts' re-read window."""
    with Warehouse.from_connection() as warehouse:
        return daily.plan(warehouse, daily.partition_date(logical_date))["batches"]


def extract(batch: Batch, logical_date: datetime, run_id: str) -> BatchResult:
    """Call MAX for one batch of channels; every answer lands in the lake."""
    client, lake = MaxClient.from_connection(), Lake.from_connection()
    return daily.extract(client, lake, batch, daily.partition_date(logical_date), run_id)


def finish(logical_date: datetime, run_id: str, outcomes: list[BatchResult]) -> DaySummary:
    """Write the run's manifest and record its errors; fail when it did not pass its checks."""
    with Warehouse.from_connection() as warehouse:
        return daily.finish(
            warehouse, Lake.from_connection(), daily.partition_date(logical_date), run_id, outcomes
        )


def land(logical_date: datetime, run_id: str, outcomes: list[BatchResult]) -> str:
    """Write the run's manifest (``latest.json`` moves to it only when it passed its checks);
    its key in the lake."""
    dt = daily.partition_date(logical_date)
    daily.land(Lake.from_connection(), dt, run_id, outcomes)
    return manifest_key(dt, run_id)


def record_errors(logical_date: datetime, run_id: str | None = None) -> int:
    """Record the day's MAX errors from the manifest of ``run_id``, or again from the day's latest
    manifest in the lake (after the warehouse lost them, or to record them as the current code
    does); returns the rows written."""
    dt = daily.partition_date(logical_date)
    with Warehouse.from_connection() as warehouse:
        return record_manifest_errors(warehouse, read_manifest(Lake.from_connection(), dt, run_id))


def check(logical_date: datetime, run_id: str, recorded: int) -> DaySummary:
    """The run's summary (``recorded``: its errors written); fails when it did not pass its checks."""
    manifest = read_manifest(Lake.from_connection(), daily.partition_date(logical_date), run_id)
    summary = daily.summarize(manifest, recorded)
    daily.check(manifest)
    return summary
