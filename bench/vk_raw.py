"""Land a generated month's VK answers in a lake the way ``vk_pages`` does, without HTTP.

Benchmark preparation only: the extractor's own ``extract_batch`` runs unchanged, but its client
is answered in-process by the VK sandbox's method implementations, so the raw files, manifests and
their contents are the ones a real run against the sandbox would land — and the VK raw-to-warehouse
load can be timed at national scale without waiting on rate limits.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gospublic.lake import Lake
from gospublic.vk import VkCall, VkResult, iter_batches
from gospublic.vk_extract import extract_batch, window_start_for, write_manifest
from sandbox.vk_server.data import Dataset, load_dataset
from sandbox.vk_server.errors import VkError
from sandbox.vk_server.methods import METHODS

MOSCOW = ZoneInfo("Europe/Moscow")


class InProcessVk:
    """The ``VkClient.run`` contract, answered by the sandbox's methods at the clock ``now``."""

    def __init__(self, data: Dataset, now: int) -> None:
        self.data, self.now = data, now
        self.retired: dict[str, str] = {}
        self.requests_sent = 0

    def run(
        self,
        calls: list[VkCall],
        on_result: Callable[[VkResult], None],
        follow: Callable[[VkResult], list[VkCall]],
    ) -> None:
        pending = list(reversed(calls))
        while pending:
            call = pending.pop()
            params = {key: str(value) for key, value in call.params.items()}
            try:
                result = VkResult(call, response=METHODS[call.method](self.data, params, self.now))
            except VkError as exc:
                result = VkResult(call, error_code=exc.code, error_msg=exc.msg)
            self.requests_sent += 1
            on_result(result)
            pending.extend(reversed(follow(result)))


def official_vk_pages(registry: Path, day: date) -> list[int]:
    """VK group ids of the pages official on ``day`` (the registry's pages.csv)."""
    with open(registry / "pages.csv", encoding="utf-8", newline="") as handle:
        return sorted(
            {
                int(row["vk_group_id"])
                for row in csv.DictReader(handle)
                if row["network"] == "vk"
                and row["vk_group_id"]
                and row["valid_from"] <= day.isoformat()
                and (not row["valid_to"] or day.isoformat() < row["valid_to"])
            }
        )


def land_month(
    data_dir: Path, lake: Lake, days: list[date], *, window_days: int = 1, batch_pages: int = 5000
) -> dict[str, Any]:
    """Extract every day in ``days`` into ``lake`` (first day re-reads a week, as the demo does)."""
    data = load_dataset(data_dir)
    stats = {"days": 0, "requests": 0, "files": 0, "pages": 0}
    previous: date | None = None
    for n, day in enumerate(days):
        now = int(datetime.combine(day, time(23, 30), MOSCOW).timestamp())
        window_start = window_start_for(day, 7 if n == 0 else window_days, previous)
        run_id = f"bench-{day.isoformat()}"
        pages = official_vk_pages(data_dir / "registry", day)
        outcomes = []
        for batch, ids in enumerate(iter_batches(pages, batch_pages)):
            client = InProcessVk(data, now)
            outcomes.append(
                extract_batch(
                    client,
                    lake,
                    group_ids=list(ids),
                    dt=day,
                    window_start=window_start,
                    run_id=run_id,
                    batch=batch,
                )
            )
            stats["requests"] += client.requests_sent
        write_manifest(lake, day, run_id, outcomes)
        stats["days"] += 1
        stats["pages"] += len(pages)
        stats["files"] += sum(len(o.files) for o in outcomes)
        previous = day
    return stats


def month_days(month: str) -> list[date]:
    first = datetime.strptime(month, "%Y-%m").date()
    days, day = [], first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days
