"""The OK world is generated beside a data set without changing it, deterministically, with a
truth that agrees with the files the sandbox serves."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

from sandbox.generator import params
from sandbox.generator.ok_pages import generate_ok, params_of
from sandbox.generator.pipeline import generate

PROJECT = Path(__file__).resolve().parents[2]
SMALL = {"pages": 60, "incidents": 300, "bodies": 12, "start_days_before": 3}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_ok_world_leaves_the_data_set_as_it_was_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate(params.build("region", "2025-11", 7, **SMALL), str(first))
    before = digests(first)
    generate_ok(params_of(str(first)), str(first))
    after = digests(first)
    assert {k: v for k, v in after.items() if not k.startswith("ok/")} == before
    assert {"ok/groups.jsonl", "ok/members_daily.csv", "ok/topics.jsonl.gz"} <= after.keys()
    generate_ok(params_of(str(first)), str(second))
    assert digests(second / "ok") == digests(first / "ok")


def test_the_sample_region_s_ok_pages_are_the_registry_s(ok_world) -> None:
    with (PROJECT / "config" / "registry" / "pages.csv").open(encoding="utf-8") as handle:
        registry = {r["screen_name"] for r in csv.DictReader(handle) if r["network"] == "ok"}
    assert set(ok_world.pages()) == registry and len(registry) == 26


def test_the_truth_agrees_with_the_served_files(ok_world) -> None:
    root = ok_world.root / "ok"
    with gzip.open(root / "topics.jsonl.gz", "rt", encoding="utf-8") as lines:
        topics = [json.loads(line) for line in lines]
    per_page: dict[str, int] = {}
    for topic in topics:
        per_page[topic["_gid"]] = per_page.get(topic["_gid"], 0) + 1
    assert len({t["id"] for t in topics}) == len(topics)
    assert ok_world.posts(dt.date(2000, 1, 1), dt.date(2100, 1, 1)) == per_page
    with (root / "members_daily.csv").open(encoding="utf-8") as handle:
        served = {(r["gid"], r["date"]): int(r["members_count"]) for r in csv.DictReader(handle)}
    with (root / "truth" / "subscribers_daily.csv").open(encoding="utf-8") as handle:
        truth = {(r["gid"], r["date"]): int(r["members_count"]) for r in csv.DictReader(handle)}
    assert served == truth and len(truth) == 26 * 44  # 14 days of history and November
