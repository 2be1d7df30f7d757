"""The Telegram world: generated beside a data set without changing it, repeatable, the sample
registry's 28 Telegram pages, and truth that agrees with the files the sandbox serves."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox.generator import params
from sandbox.generator.pipeline import write_registry
from sandbox.generator.tg_pages import VALID_USERNAME, generate_tg


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_generated_beside_the_registry_without_changing_it_and_repeatable(tmp_path: Path) -> None:
    p = params.build("region", "2025-11", 42)
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        (root / "registry").mkdir(parents=True)
        write_registry(p, str(root / "registry"))
    before = digests(first / "registry")
    generate_tg(p, str(first))
    generate_tg(p, str(second))
    assert digests(first / "registry") == before
    assert digests(first / "tg") == digests(second / "tg") != {}


def test_the_registry_telegram_pages_and_their_truth(tg_world) -> None:
    with (tg_world.root / "registry" / "pages.csv").open(encoding="utf-8") as handle:
        registry = {r["screen_name"]: r["page_id"] for r in csv.DictReader(handle) if r["network"] == "tg"}
    pages = tg_world.pages()
    assert set(pages) == set(registry) and len(pages) == 28
    reasons = tg_world.reasons()
    assert {n for n, why in reasons.items() if why == "invalid_username"} == {
        n for n in pages if not VALID_USERNAME.match(n)
    }
    assert sum(why == "private" for why in reasons.values()) == round(28 * 0.1)
    # posts_daily agrees with the posts served, for readable channels only
    served: dict[tuple[str, str], int] = {}
    with gzip.open(tg_world.root / "tg" / "messages.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            post = json.loads(line)
            if pages[post["username"]]:
                day = (datetime.fromtimestamp(post["date"], UTC) + timedelta(hours=3)).date()
                served[(post["username"], day.isoformat())] = (
                    served.get((post["username"], day.isoformat()), 0) + 1
                )
    with (tg_world.root / "tg" / "truth" / "posts_daily.csv").open(encoding="utf-8") as handle:
        truth = {(r["username"], r["date"]): int(r["posts"]) for r in csv.DictReader(handle)}
    assert truth == served and sum(truth.values()) > 1000
