"""The MAX world is generated beside a data set without changing it, deterministically, with a
truth that agrees with the files the sandbox serves and registry rows of its own."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

from sandbox.generator import params
from sandbox.generator.max_pages import generate_max, params_of
from sandbox.generator.pipeline import generate

SMALL = {"pages": 60, "incidents": 300, "bodies": 12, "start_days_before": 3}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_max_world_leaves_the_data_set_as_it_was_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate(params.build("region", "2025-11", 7, **SMALL), str(first))
    before = digests(first)
    generate_max(params_of(str(first)), str(first))
    after = digests(first)
    assert {k: v for k, v in after.items() if not k.startswith("max/")} == before
    assert {"max/chats.jsonl", "max/participants_daily.csv", "max/messages.jsonl.gz"} <= after.keys()
    generate_max(params_of(str(first)), str(second))
    assert digests(second / "max") == digests(first / "max")


def test_the_registry_rows_are_max_pages_after_the_registry_s_own(max_world) -> None:
    with (max_world.root / "registry" / "pages.csv").open(encoding="utf-8") as handle:
        registry = list(csv.DictReader(handle))
    rows = max_world.registry_pages()
    assert rows and list(rows[0]) == list(registry[0])  # the registry's columns, in its order
    assert {r["network"] for r in rows} == {"max"}
    assert {r["page_id"] for r in rows}.isdisjoint({r["page_id"] for r in registry})
    assert len({r["page_id"] for r in rows}) == len(rows)
    with (max_world.root / "registry" / "orgs.csv").open(encoding="utf-8") as handle:
        orgs = {r["org_id"] for r in csv.DictReader(handle)}
    assert {r["org_id"] for r in rows} <= orgs
    assert {r["screen_name"] for r in rows} == set(max_world.pages())
    assert all(int(r["screen_name"]) < 0 and r["url"].startswith("https://max.ru/") for r in rows)
    unreadable = [chat for chat, ok in max_world.pages().items() if not ok]
    assert 0 < len(unreadable) < len(rows) * 0.2


def test_the_truth_agrees_with_the_served_files(max_world) -> None:
    root = max_world.root / "max"
    with gzip.open(root / "messages.jsonl.gz", "rt", encoding="utf-8") as lines:
        messages = [json.loads(line) for line in lines]
    per_chat: dict[str, int] = {}
    for message in messages:
        per_chat[str(message["_chat_id"])] = per_chat.get(str(message["_chat_id"]), 0) + 1
    assert len({m["body"]["mid"] for m in messages}) == len(messages)
    assert max_world.posts(dt.date(2000, 1, 1), dt.date(2100, 1, 1)) == per_chat
    with (root / "participants_daily.csv").open(encoding="utf-8") as handle:
        served = {(r["chat_id"], r["date"]): int(r["participants_count"]) for r in csv.DictReader(handle)}
    with (root / "truth" / "subscribers_daily.csv").open(encoding="utf-8") as handle:
        truth = {(r["chat_id"], r["date"]): int(r["participants_count"]) for r in csv.DictReader(handle)}
    assert served == truth and len(truth) > 0
