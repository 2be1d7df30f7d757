"""The forward VK load (a day's first load, nothing later staged) reads only the day's rows and
the touched core rows; it must leave exactly the core tables that the full rebuild leaves."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import LocalLake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.vk.load import load_day
from tests.keys import repeated_keys
from tests.vk.conftest import VkWorld, checksum, days

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_DAYS = days(date(2025, 11, 24), 4)
CORE = ("core.fct_post", "core.fct_comment", "core.fct_page_daily")


def core_checksums(world: VkWorld) -> dict[str, str]:
    return {table: checksum(world.warehouse, table) for table in CORE}


def comment_files(lake_root: Path, day: date) -> list[Path]:
    return sorted((lake_root / "raw" / "vk" / "wall.getComments").glob(f"dt={day.isoformat()}/**/*.jsonl.gz"))


def read_answers(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def hide_comments_seen_before(lake_root: Path, day: date, earlier: list[date], limit: int = 5) -> int:
    """Drop from ``day``'s raw answers a few comments (with their threads) that earlier days saw,
    as VK does when they are deleted: their posts are still touched that day, their rows must stay.
    Returns the comment rows dropped."""
    seen = set()
    for path in (p for d in earlier for p in comment_files(lake_root, d)):
        for answer in read_answers(path):
            params = answer["params"]
            for item in (answer.get("response") or {}).get("items", []):
                seen.add((params["owner_id"], params["post_id"], item["id"]))
    dropped = 0
    for path in comment_files(lake_root, day):
        lines = []
        for answer in read_answers(path):
            params, response = answer["params"], answer.get("response") or {}
            kept = []
            for item in response.get("items", []):
                if dropped < limit and (params["owner_id"], params["post_id"], item["id"]) in seen:
                    dropped += 1 + len((item.get("thread") or {}).get("items", []))
                else:
                    kept.append(item)
            if response:
                response["items"] = kept
            lines.append(json.dumps(answer, ensure_ascii=False))
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return dropped


def test_forward_loads_leave_what_full_rebuilds_leave(vk_world: VkWorld, tmp_path) -> None:
    world, wh = vk_world, vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    assert land_month(world.data, lake, RUN_DAYS)["days"] == len(RUN_DAYS)
    hidden = hide_comments_seen_before(lake.root, RUN_DAYS[-1], RUN_DAYS[:-1])
    assert hidden > 0
    key = pseudonymizer()

    forward = [load_day(wh, lake, day, key)["rebuild"] for day in RUN_DAYS]
    assert forward == ["forward"] * len(RUN_DAYS)
    loaded_forward = core_checksums(world)
    carried = wh.query(  # the last day's work table: comments of touched posts it did not see
        "SELECT COUNT(*) AS n FROM staging.vk_day_comments WHERE observed_dt < :last", {"last": RUN_DAYS[-1]}
    )[0]["n"]
    assert carried == hidden

    # Re-running every day, oldest first, takes the full rebuild: a later day is staged, or the
    # day itself was loaded. It must change nothing.
    full = [load_day(wh, lake, day, key)["rebuild"] for day in RUN_DAYS]
    assert full == ["full"] * len(RUN_DAYS)
    assert core_checksums(world) == loaded_forward
    assert repeated_keys(wh) == {}


def test_days_loaded_out_of_order_match_forward_loads(vk_world: VkWorld, tmp_path) -> None:
    world, wh = vk_world, vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    land_month(world.data, lake, RUN_DAYS)
    key = pseudonymizer()
    for day in RUN_DAYS:
        load_day(wh, lake, day, key)
    loaded_forward = core_checksums(world)

    for table in (*CORE, "staging.vk_post_observations", "staging.vk_comment_observations",
                  "staging.vk_page_observations", "audit.extract_errors", "audit.load_runs"):  # fmt: skip
        wh.execute(f"DELETE FROM {table}")
    paths = [load_day(wh, lake, day, key)["rebuild"] for day in reversed(RUN_DAYS)]
    assert paths == ["forward"] + ["full"] * (len(RUN_DAYS) - 1)
    assert core_checksums(world) == loaded_forward
