"""Land a generated month's VK answers in a lake the way ``vk_pages`` does, without HTTP.

Benchmark preparation only: the extractor's own ``extract_batch`` runs unchanged, but its client
is answered in-process by the VK sandbox's method implementations, so the raw files (with their
Parquet sidecars of typed answers), manifests and their contents are the ones a real run against
the sandbox would land — and the VK raw-to-warehouse load can be timed at national scale without
waiting on rate limits.

The sandbox's ``Dataset`` holds every post and comment as Python objects (a national month would
need more than 23 GB), so a large month is first split into shards of pages (``split_dataset``)
and landed shard by shard, in parallel processes; batches are numbered ``shard * 100 + n`` and each
day's manifest lists them all. ``wall_counts`` are what ``vk_pages.plan`` would compute from the
warehouse: the posts of each page published in the window before the previous run.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import gzip
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gospublic.infra.lake import Lake, LocalLake
from gospublic.vk.client import VkCall, VkResult, iter_batches
from gospublic.vk.extract import (
    BatchOutcome,
    extract_batch,
    wall_count_hint,
    window_start_for,
    write_manifest,
)
from sandbox.vk_server.data import Dataset, load_dataset
from sandbox.vk_server.errors import VkError
from sandbox.vk_server.methods import METHODS
from transforms.months import parse_month

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


def split_dataset(data_dir: Path, out: Path, shards: int) -> list[Path]:
    """Split ``data_dir/vk/`` into ``shards`` data dirs by VK group id (once; reused after)."""
    dirs = [out / f"shard-{n:02d}" for n in range(shards)]
    if (out / ".split.json").exists():
        return dirs
    shutil.rmtree(out, ignore_errors=True)
    for d in dirs:
        (d / "vk").mkdir(parents=True)
    vk = data_dir / "vk"
    with contextlib.ExitStack() as stack:
        members = [
            stack.enter_context(open(d / "vk" / "members_daily.csv", "w", encoding="utf-8")) for d in dirs
        ]
        with open(vk / "members_daily.csv", encoding="utf-8") as source:
            header = source.readline()
            for handle in members:
                handle.write(header)
            for line in source:
                members[int(line.split(",", 1)[0]) % shards].write(line)
    for name, opener, group_of in (
        ("groups.jsonl", open, lambda row: int(row["id"])),
        ("posts.jsonl.gz", gzip.open, lambda row: -int(row["owner_id"])),
        ("comments.jsonl.gz", gzip.open, lambda row: -int(row["owner_id"])),
    ):
        target = name.removesuffix(".gz")
        with contextlib.ExitStack() as stack:
            writers = [stack.enter_context(open(d / "vk" / target, "w", encoding="utf-8")) for d in dirs]
            with opener(vk / name, "rt", encoding="utf-8") as source:
                for line in source:
                    if line.strip():
                        writers[group_of(json.loads(line)) % shards].write(line)
    (out / ".split.json").write_text(json.dumps({"shards": shards}))
    return dirs


def land_month(
    data_dir: Path,
    lake: Lake,
    days: list[date],
    *,
    window_days: int = 1,
    batch_pages: int = 5000,
    shards_dir: Path | None = None,
    shards: int = 1,
    workers: int = 1,
) -> dict[str, Any]:
    """Extract every day in ``days`` into ``lake`` (first day re-reads a week, as the demo does);
    with ``shards`` > 1 the month is split under ``shards_dir`` and landed shard by shard."""
    if shards > 1:
        assert shards_dir is not None
        sources = split_dataset(data_dir, shards_dir, shards)
    else:
        sources = [data_dir]
    lake_root = str(lake.root) if isinstance(lake, LocalLake) else ""
    jobs = [
        (source, data_dir / "registry", lake_root, days, window_days, batch_pages, n, shards)
        for n, source in enumerate(sources)
    ]
    if workers > 1 and len(jobs) > 1 and lake_root:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_land_shard, jobs))
    else:
        parts = [_land_shard(job, lake) for job in jobs]
    stats = {"days": len(days), "requests": 0, "files": 0, "pages": 0, "shards": len(jobs)}
    for day in days:
        outcomes = [o for part in parts for o in part["outcomes"][day.isoformat()]]
        write_manifest(lake, day, f"bench-{day.isoformat()}", outcomes)
    for part in parts:
        stats["requests"] += part["requests"]
        stats["pages"] += part["pages"]
        stats["files"] += part["files"]
    return stats


def _land_shard(job: tuple, lake: Lake | None = None) -> dict[str, Any]:
    """Land every day of one shard; its batch outcomes per day (manifests are written after)."""
    source, registry, lake_root, days, window_days, batch_pages, shard, shards = job
    lake = lake or LocalLake(lake_root)
    data = load_dataset(source)
    part: dict[str, Any] = {"outcomes": {}, "requests": 0, "pages": 0, "files": 0}
    previous: date | None = None
    previous_now: int | None = None
    for n, day in enumerate(days):
        now = int(datetime.combine(day, time(23, 30), MOSCOW).timestamp())
        window_start = window_start_for(day, 7 if n == 0 else window_days, previous)
        run_id = f"bench-{day.isoformat()}"
        pages = [gid for gid in official_vk_pages(registry, day) if gid % shards == shard]
        counts = known_wall_counts(data, pages, day, window_start, previous_now)
        outcomes: list[BatchOutcome] = []
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
                    batch=shard * 100 + batch,
                    wall_counts=counts,
                )
            )
            part["requests"] += client.requests_sent
        part["outcomes"][day.isoformat()] = outcomes
        part["pages"] += len(pages)
        part["files"] += sum(len(o.files) for o in outcomes)
        previous, previous_now = day, now
    return part


def known_wall_counts(
    data: Dataset, pages: list[int], day: date, window_start: datetime, previous_now: int | None
) -> dict[int, int]:
    """``vk_pages.wall_counts`` as the warehouse would answer it: posts in the window published
    before the previous run (none before the first run)."""
    day_start = datetime.combine(day, time(0), window_start.tzinfo)
    days_known = max((day_start - window_start).days, 1)
    since, until = int(window_start.timestamp()), min(int(day_start.timestamp()), previous_now or 0)
    counts = {}
    for gid in pages:
        wall = data.walls.get(gid)
        known = 0
        if wall is not None and until > since:
            known = bisect.bisect_left(wall.dates, until) - bisect.bisect_left(wall.dates, since)
        counts[gid] = wall_count_hint(known, days_known)
    return counts


def month_days(month: str) -> list[date]:
    first = parse_month(month)
    days, day = [], first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days
