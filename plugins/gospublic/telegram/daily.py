"""The day's Telegram extraction around its batches, given open adapters (``steps`` opens them):
plan → extract (a batch of channels at a time) → land (manifest, checks) → record_errors →
check; ``finish`` does the last three at once. All but ``extract`` is every network's day
(``gospublic.infra.network_day``) with Telegram's ``SPEC``.

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
from gospublic.telegram.client import TelegramExtractionError, TelegramReader
from gospublic.telegram.extract import LAKE, extract_batch
from gospublic.telegram.results import Batch, BatchResult

__all__ = [
    "DAY", "PARTITION_ZONE", "SPEC", "TooManyFailedPagesError", "check", "extract", "finish", "land",
    "partition_date", "plan", "summarize", "window_start_for",
]  # fmt: skip


class TooManyFailedPagesError(TelegramExtractionError):
    """The run did not pass its checks (too many channels refused, or given up)."""


# The registry keeps a channel's username in screen_name (https://t.me/<username>); its code is tg.
SPEC = NetworkSpec(
    code="tg", title="Telegram", label="tg_pages", lake=LAKE,
    page_field="username", batch_field="usernames", pages_word="channels",
    refused="private, unknown, invalid",
    error=TelegramExtractionError, failed=TooManyFailedPagesError, batch_pages=200,
)  # fmt: skip
DAY = NetworkDay(SPEC)
plan, land, summarize, check, finish = DAY.plan, DAY.land, DAY.summarize, DAY.check, DAY.finish


def extract(reader: TelegramReader, lake: Lake, batch: Batch, dt: date, run_id: str) -> BatchResult:
    """Extract one batch into the lake; its outcome (files, calls, errors), requests and waits."""
    outcome = extract_batch(
        reader, lake, usernames=list(batch["usernames"]), dt=dt,
        window_start=datetime.fromisoformat(batch["window_start"]), run_id=run_id, batch=int(batch["batch"]),
    )  # fmt: skip
    return cast(
        BatchResult, {**asdict(outcome), "requests": reader.requests, "flood_waited": reader.flood_waited}
    )
