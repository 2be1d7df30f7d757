"""The tasks of the ``vk_pages`` DAG, one function each; each opens the adapters it needs.

plan → extract (one call per batch of pages, mapped) → finish (manifest, checks) → load, or load
alone for a replay. A run's partition is its logical date's calendar day in Moscow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from gospublic.infra.lake import Lake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Warehouse
from gospublic.vk import daily
from gospublic.vk.client import VkClient
from gospublic.vk.load import load_day
from gospublic.vk.results import Batch, BatchResult, DayLoad, DaySummary


def first_task(replay: bool) -> Literal["load", "plan"]:
    """A replay loads the day from the lake only; a normal run extracts first."""
    return "load" if replay else "plan"


def plan(logical_date: datetime, *, window_days: int | None = None) -> list[Batch]:
    """The day's VK pages in batches, with the start of the posts' re-read window."""
    with Warehouse.from_connection() as warehouse:
        return daily.plan(warehouse, daily.partition_date(logical_date), window_days=window_days)["batches"]


def extract(batch: Batch, logical_date: datetime, run_id: str) -> BatchResult:
    """Call VK for one batch of pages; every answer lands in the lake."""
    client, lake = VkClient.from_connection(), Lake.from_connection()
    return daily.extract(client, lake, batch, daily.partition_date(logical_date), run_id)


def finish(logical_date: datetime, run_id: str, outcomes: list[BatchResult]) -> DaySummary:
    """Write the run's manifest; move the day's latest.json to it only if it passed its checks."""
    return daily.finish(Lake.from_connection(), daily.partition_date(logical_date), run_id, outcomes)


def load(
    logical_date: datetime,
    *,
    allow_fewer_pages: bool = False,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> DayLoad:
    """Load the day's latest manifest from the lake into staging and core."""
    with Warehouse.from_connection() as warehouse:
        return load_day(
            warehouse, Lake.from_connection(), daily.partition_date(logical_date), pseudonymizer(),
            dag_id=dag_id, task_id=task_id, allow_fewer_pages=allow_fewer_pages,
        )  # fmt: skip
