"""The day's MAX extraction around its batches, given open adapters (``gospublic.max.steps``
opens them): plan → extract (a batch of channels at a time) → land (manifest, checks) →
record_errors → check; ``finish`` does the last three at once. All but ``extract`` is every
network's day (``gospublic.infra.network_day``) with MAX's ``SPEC``.

The partition is a calendar day ``dt`` in Moscow time, as for VK and OK; the posts' re-read
window starts ``window_days`` before it at Moscow midnight.
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
from gospublic.max.client import MaxClient, MaxExtractionError
from gospublic.max.extract import LAKE, extract_batch
from gospublic.max.results import Batch, BatchResult

__all__ = [
    "DAY", "PARTITION_ZONE", "SPEC", "TooManyFailedPagesError", "check", "extract", "finish", "land",
    "partition_date", "plan", "summarize", "window_start_for",
]  # fmt: skip


class TooManyFailedPagesError(MaxExtractionError):
    """The run did not pass its checks (too many channels refused by MAX, or given up)."""


# The registry keeps a MAX channel's numeric chat_id in screen_name (its link in url).
SPEC = NetworkSpec(
    code="max", title="MAX", label="max_pages", lake=LAKE,
    page_field="max_chat_id", batch_field="chat_ids", pages_word="channels",
    refused="bot not a member, not found, invalid",
    error=MaxExtractionError, failed=TooManyFailedPagesError, batch_pages=500,
)  # fmt: skip
DAY = NetworkDay(SPEC)
plan, land, summarize, check, finish = DAY.plan, DAY.land, DAY.summarize, DAY.check, DAY.finish


def extract(client: MaxClient, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; its outcome (files, calls, errors) and requests made."""
    outcome = extract_batch(
        client, lake, chat_ids=list(batch["chat_ids"]), dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]), run_id=run_id, batch=int(batch["batch"]),
    )  # fmt: skip
    return cast(BatchResult, {**asdict(outcome), "requests": client.requests_sent})
