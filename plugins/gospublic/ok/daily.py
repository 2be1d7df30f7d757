"""The day's OK extraction around its batches, given open adapters (``gospublic.ok.steps`` opens
them): plan → extract (a batch of pages at a time) → land (manifest, checks) → record_errors →
check; ``finish`` does the last three at once. All but ``extract`` is every network's day
(``gospublic.infra.network_day``) with OK's ``SPEC``.

The partition is a calendar day ``dt`` in Moscow time, as for VK; the topics' re-read window
starts ``window_days`` before it at Moscow midnight.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import cast

from gospublic.infra.lake import Lake
from gospublic.infra.network_day import (
    PARTITION_ZONE,
    NetworkDay,
    NetworkSpec,
    partition_date,
    window_start_for,
)
from gospublic.ok.client import OkClient, OkExtractionError
from gospublic.ok.extract import LAKE, extract_batch
from gospublic.ok.results import Batch, BatchResult

__all__ = [
    "DAY", "PARTITION_ZONE", "SPEC", "TooManyFailedPagesError", "check", "extract", "finish", "land",
    "partition_date", "plan", "summarize", "window_start_for",
]  # fmt: skip


class TooManyFailedPagesError(OkExtractionError):
    """The run did not pass its checks (too many pages refused by OK, or given up)."""


# The registry keeps an OK page's numeric group id in screen_name (https://ok.ru/group/<id>).
SPEC = NetworkSpec(
    code="ok", title="OK", label="ok_pages", lake=LAKE,
    page_field="ok_group_id", batch_field="gids", pages_word="pages",
    refused="closed, not found, invalid",
    error=OkExtractionError, failed=TooManyFailedPagesError, batch_pages=500,
)  # fmt: skip
DAY = NetworkDay(SPEC)
plan, land, summarize, check, finish = DAY.plan, DAY.land, DAY.summarize, DAY.check, DAY.finish


def extract(client: OkClient, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; its outcome (files, calls, errors) and requests made."""
    outcome = extract_batch(
        client, lake, gids=list(batch["gids"]), dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]), run_id=run_id, batch=int(batch["batch"]),
    )  # fmt: skip
    return cast(BatchResult, {**asdict(outcome), "requests": client.requests_sent})
