"""Staging retention of the OK, MAX and Telegram posts (``staging.network_post_observations``) leaves
``core.fct_network_post`` as a warehouse that keeps every staged day, on both engines.

The networks' post model (sql/core/060_fct_network_post.sql) rebuilds a post from every observation
of it, so a deleted day is first folded into ``staging.network_post_retired`` (per post, the latest
of its deleted observations and the earliest time it was seen), as the VK posts are
(tests/vk/test_staging_retention.py). The same staged days go through one warehouse twice: keeping
every day, then with the days before a horizon deleted; a retained day re-run, a deleted day
replayed (the lake gives the same rows: same run, same load id) and deleted again, a new day, and
every staged day rebuilt again must leave core equal, table row by row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from gospublic.infra.retention import clean_staging
from gospublic.infra.retention_rule import RetentionRule
from gospublic.infra.warehouse import Warehouse
from tests.vk.test_staging_retention import digests

DAYS = [date(2025, 11, 10) + timedelta(days=n) for n in range(7)]  # Nov 10..16
HORIZON = DAYS[3]  # the cleanup deletes Nov 10..12
RETAINED_DAY, DELETED_DAY, NEW_DAY = DAYS[4], DAYS[1], DAYS[6]
NETWORKS = ("ok", "tg")
WINDOW = 3  # a post is observed on the day it is published and the two days after
RULE = RetentionRule(
    months=1, reread_window=False, after_publication=False, tables=("staging.network_post_observations",)
)
CORE = ("core.fct_network_post",)
RESET = (
    "staging.network_post_observations", "staging.network_rebuild_posts", "staging.network_post_retired",
    "core.fct_network_post", "audit.staging_retention",
)  # fmt: skip


def observations(network: str, day: date) -> pd.DataFrame:
    """The day's observations of the network's posts: post k, published on DAYS[k], observed on that
    day and the WINDOW - 1 after, its counts growing; on two pages."""
    rows = []
    n = DAYS.index(day)
    for k in range(max(0, n - WINDOW + 1), n + 1):
        published = datetime.combine(DAYS[k], datetime.min.time(), UTC) + timedelta(hours=9, minutes=k)
        for page in ("p1", "p2"):
            rows.append({
                "network": network, "page_key": page, "dt": day, "post_key": f"{k}",
                "published_at": published, "text_length": 100 + k, "has_photo": k % 2 == 0,
                "has_video": None if network == "tg" else k % 3 == 0,
                "views": None if network == "ok" else 10 * n + k, "likes": 2 * n + k, "comments": n,
                "reposts": k, "observed_at": datetime.combine(day, datetime.min.time(), UTC)
                + timedelta(hours=20, minutes=k + (page == "p2")),
                "load_id": f"{network}:{day.isoformat()}:run-{day.isoformat()}",
            })  # fmt: skip
    return pd.DataFrame(rows)


def load(wh: Warehouse, day: date) -> None:
    """A network load of ``day`` as gospublic.infra.network_load does it: the day's partition
    replaced, then the step's models, in one transaction (the lake gives the same rows each time)."""
    for network in NETWORKS:
        with wh.transaction() as tx:
            tx.replace_partition(
                "staging.network_post_observations",
                observations(network, day),
                {"network": network, "dt": day},
            )
            tx.run_models("networks", {"dt": day, "network": network})


def run(wh: Warehouse, *, clean: bool) -> list[dict[str, tuple[int, str]]]:
    """Core after each stage of the story, with or without the cleanup."""
    for table in RESET:
        wh.execute(f"DELETE FROM {table}")
    seen = []
    for day in DAYS[:-1]:
        load(wh, day)
    if clean:
        result = clean_staging(wh, RULE, HORIZON)
        assert sorted((p["network"], p["dt"]) for p in result["deleted"]) == sorted(
            (n, d.isoformat()) for n in NETWORKS for d in DAYS[:3]
        )
        assert all(p["rows_folded"] == p["rows_deleted"] > 0 for p in result["deleted"])
        assert wh.scalar("SELECT MIN(dt) FROM staging.network_post_observations") == HORIZON
    seen.append(digests(wh, CORE))
    load(wh, RETAINED_DAY)  # its earlier observations of the same posts deleted
    seen.append(digests(wh, CORE))
    load(wh, DELETED_DAY)  # replayed from the lake
    seen.append(digests(wh, CORE))
    if clean:
        again = clean_staging(wh, RULE, HORIZON)
        assert [(p["network"], p["dt"]) for p in again["deleted"]] == [
            (n, DELETED_DAY.isoformat()) for n in NETWORKS
        ]
    seen.append(digests(wh, CORE))
    load(wh, NEW_DAY)
    seen.append(digests(wh, CORE))
    for day in DAYS[3:]:  # every staged day rebuilt again
        load(wh, day)
    seen.append(digests(wh, CORE))
    return seen


def test_network_posts_with_retention_equal_a_warehouse_keeping_every_day(migrated: Warehouse) -> None:
    kept = run(migrated, clean=False)
    assert kept[0]["core.fct_network_post"][0] == 2 * len(NETWORKS) * 6  # posts 0..5 on two pages
    cleaned = run(migrated, clean=True)
    stages = ("cleaned", "retained day re-run", "deleted day replayed", "cleaned again", "new day", "rebuilt")
    differences = {stage: (k, c) for stage, k, c in zip(stages, kept, cleaned, strict=True) if k != c}
    assert not differences, differences
    folded = migrated.scalar("SELECT COUNT(*) FROM staging.network_post_retired")
    assert folded == 2 * len(NETWORKS) * 3  # posts 0..2 were observed on a deleted day: one row each
    assert migrated.scalar("SELECT COUNT(*) FROM core.fct_network_post") == 2 * len(NETWORKS) * 7
