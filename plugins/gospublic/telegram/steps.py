"""What a ``telegram_pages`` DAG's tasks call, one function each; each opens the adapters it needs.

plan → extract (one call per batch of channels, mapped) → finish (manifest, checks, errors in
``audit.extract_errors``). A run's partition is its logical date's calendar day in Moscow. (The
DAG, the load into staging and core, and the marts come with issue 28's later parts.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.telegram import daily
from gospublic.telegram.client import TelegramReader
from gospublic.telegram.errors import record_errors as record_manifest_errors
from gospublic.telegram.extract import read_manifest
from gospublic.telegram.results import Batch, BatchResult, DaySummary


def plan(logical_date: datetime) -> list[Batch]:
    """The day's Telegram channels in batches, with the start of the posts' re-read window."""
    with Warehouse.from_connection() as warehouse:
        return daily.plan(warehouse, daily.partition_date(logical_date))["batches"]


def extract(batch: Batch, logical_date: datetime, run_id: str, **reader_options: Any) -> BatchResult:
    """Read one batch of channels; every answer lands in the lake. ``reader_options`` go to
    ``TelegramReader`` (``client_factory``, ``sleep``: the sandbox's, in development)."""
    reader, lake = TelegramReader.from_connection(**reader_options), Lake.from_connection()
    return daily.extract(reader, lake, batch, daily.partition_date(logical_date), run_id)


def finish(logical_date: datetime, run_id: str, outcomes: list[BatchResult]) -> DaySummary:
    """Write the run's manifest and record its errors; fail when it did not pass its checks."""
    with Warehouse.from_connection() as warehouse:
        return daily.finish(
            warehouse, Lake.from_connection(), daily.partition_date(logical_date), run_id, outcomes
        )


def record_errors(logical_date: datetime) -> int:
    """Record the day's Telegram errors again from its latest manifest in the lake."""
    dt = daily.partition_date(logical_date)
    with Warehouse.from_connection() as warehouse:
        return record_manifest_errors(warehouse, read_manifest(Lake.from_connection(), dt))
