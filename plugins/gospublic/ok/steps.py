"""What an ``ok_pages`` DAG's tasks call, one function each; each opens the adapters it needs.

plan → extract (one call per batch of pages, mapped) → land (the run's manifest) → record_errors
(the run's errors in ``audit.extract_errors``) → check (fail when the run did not pass its checks).
``finish`` does the last three at once. All but ``extract`` are every network's steps
(``gospublic.infra.network_day``). A run's partition is its logical date's calendar day in Moscow.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from gospublic.infra.lake import Lake
from gospublic.infra.network_results import NetworkDayLoad
from gospublic.ok import daily
from gospublic.ok.client import OkClient
from gospublic.ok.results import Batch, BatchResult


def plan(logical_date: datetime) -> list[Batch]:
    """The day's OK pages in batches, with the start of the topics' re-read window."""
    return cast(list[Batch], daily.DAY.plan_step(logical_date))


def extract(batch: Batch, logical_date: datetime, run_id: str) -> BatchResult:
    """Call OK for one batch of pages; every answer lands in the lake."""
    client, lake = OkClient.from_connection(), Lake.from_connection()
    return daily.extract(client, lake, batch, daily.partition_date(logical_date), run_id)


# Every network's: the run's manifest written (its key in the lake), its errors recorded (the rows
# written; again from the day's latest manifest without a run id), its summary checked (fails when
# it did not pass), or the three at once.
land, record_errors = daily.DAY.land_step, daily.DAY.record_errors_step
check, finish = daily.DAY.check_step, daily.DAY.finish_step


def load(logical_date: datetime, *, dag_id: str | None = None, task_id: str | None = None) -> NetworkDayLoad:
    """The day's passed manifest from the lake into staging and core, in one transaction."""
    from gospublic.ok.load import load_step

    return load_step(logical_date, dag_id=dag_id, task_id=task_id)
