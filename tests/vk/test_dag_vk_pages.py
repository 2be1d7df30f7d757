"""vk_pages end to end: dag.test() against the VK sandbox for consecutive days, on DuckDB and
PostgreSQL, reconciled with the sandbox's ground truth."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.model import metric_at
from tests.keys import repeated_keys
from tests.vk.conftest import MOSCOW, VkWorld, business_checksums, checksum, days, run_time

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FIRST_DAY = date(2025, 11, 26)
RUN_DAYS = days(FIRST_DAY, 3)
WINDOW_DAYS = 7


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ts(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def run_days(world: VkWorld, dagbag) -> VkWorld:
    dag = dagbag.get_dag("vk_pages")
    for day in RUN_DAYS:
        run = world.run(dag, day)
        assert run.state == "success", f"vk_pages failed on {day}"
    return world


def failed_pages(world: VkWorld) -> set[int]:
    return {
        int(r["vk_group_id"]) for r in world.warehouse.query("SELECT vk_group_id FROM audit.extract_errors")
    }


def check_posts_in_window_appear_once_with_last_observed_metrics(world: VkWorld) -> None:
    wh = world.warehouse
    posts = {(-p["owner_id"], p["id"]): p for p in read_jsonl(world.data / "vk" / "posts.jsonl.gz")}
    errors = failed_pages(world)
    official = {
        int(r["vk_group_id"]) for r in wh.query("SELECT vk_group_id FROM core.dim_page WHERE network = 'vk'")
    }
    window_start = ts(RUN_DAYS[0] - timedelta(days=WINDOW_DAYS))
    last_clock = int(run_time(RUN_DAYS[-1]).timestamp())
    expected = {
        key
        for key, p in posts.items()
        if window_start <= p["date"] <= last_clock and key[0] in official and key[0] not in errors
    }
    rows = wh.query("SELECT vk_group_id, post_id, views, likes, reposts, comments FROM core.fct_post")
    keys = Counter((int(r["vk_group_id"]), int(r["post_id"])) for r in rows)
    assert keys and max(keys.values()) == 1, "a post appears more than once"
    in_window = {k for k in keys if window_start <= posts[k]["date"] <= last_clock}
    assert in_window == expected

    last_seen = {
        (int(r["vk_group_id"]), int(r["post_id"])): r["dt"]
        for r in wh.query(
            "SELECT vk_group_id, post_id, MAX(dt) AS dt FROM staging.vk_post_observations GROUP BY 1, 2"
        )
    }
    checked = 0
    for row in rows:
        key = (int(row["vk_group_id"]), int(row["post_id"]))
        post, clock = posts[key], int(run_time(last_seen[key]).timestamp())
        for metric in ("views", "likes", "reposts"):
            want = metric_at(post["_final"][metric], post["date"], post["_tau_hours"], clock)
            assert row[metric] == want, f"{metric} of post {key} observed {last_seen[key]}"
        checked += 1
    assert checked == len(rows)


def check_posts_per_page_and_day_match_truth(world: VkWorld) -> None:
    wh = world.warehouse
    errors = failed_pages(world)
    first, last = RUN_DAYS[0] - timedelta(days=WINDOW_DAYS - 1), RUN_DAYS[-1] - timedelta(days=1)
    official = {
        int(r["vk_group_id"]) for r in wh.query("SELECT vk_group_id FROM core.dim_page WHERE network = 'vk'")
    }
    truth = {
        (int(r["group_id"]), r["date"]): (int(r["posts"]), int(r["reposts"]))
        for r in read_csv(world.data / "truth" / "posts_daily.csv")
        if first.isoformat() <= r["date"] <= last.isoformat()
        and int(r["group_id"]) in official
        and int(r["group_id"]) not in errors
    }
    got: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in wh.query("SELECT vk_group_id, published_at, is_repost FROM core.fct_post"):
        local_day = r["published_at"].astimezone(MOSCOW).date()
        if first <= local_day <= last:
            counts = got[(int(r["vk_group_id"]), local_day.isoformat())]
            counts[0] += 1
            counts[1] += int(bool(r["is_repost"]))
    assert truth, "the window holds posts"
    assert {k: tuple(v) for k, v in got.items()} == truth


def check_subscribers_for_every_page_and_day(world: VkWorld) -> None:
    wh = world.warehouse
    truth = {
        (int(r["group_id"]), r["date"]): int(r["members_count"])
        for r in read_csv(world.data / "truth" / "subscribers_daily.csv")
    }
    official = {
        int(r["vk_group_id"]) for r in wh.query("SELECT vk_group_id FROM core.dim_page WHERE network = 'vk'")
    }
    rows = wh.query("SELECT vk_group_id, dt, members_count, deactivated FROM core.fct_page_daily")
    seen = {(int(r["vk_group_id"]), r["dt"].isoformat()): r for r in rows}
    for day in RUN_DAYS:
        expected = {g for (g, d) in truth if d == day.isoformat() and g in official}
        assert {g for (g, d) in seen if d == day.isoformat()} == expected, day
        for group in expected:
            row = seen[(group, day.isoformat())]
            assert row["members_count"] == truth[(group, day.isoformat())], (group, day)


def check_comment_replies_counted_right(world: VkWorld) -> None:
    wh = world.warehouse
    raw = defaultdict(list)
    for c in read_jsonl(world.data / "vk" / "comments.jsonl.gz"):
        raw[(-c["owner_id"], c["post_id"])].append(c)
    truth = {
        (int(r["group_id"]), int(r["post_id"])): r
        for r in read_csv(world.data / "truth" / "comments_truth.csv")
    }
    last_seen = {
        (int(r["vk_group_id"]), int(r["post_id"])): r["dt"]
        for r in wh.query(
            "SELECT vk_group_id, post_id, MAX(dt) AS dt FROM staging.vk_comment_observations GROUP BY 1, 2"
        )
    }
    got = defaultdict(Counter)
    for r in wh.query("SELECT * FROM core.fct_comment"):
        stats = got[(int(r["vk_group_id"]), int(r["post_id"]))]
        if r["is_page_reply"]:
            stats["page_replies"] += 1
        else:
            stats["citizen_comments"] += 1
            if r["parent_comment_id"] is None:
                stats["top_level_comments"] += 1
                stats["replied_comments"] += int(bool(r["page_replied"]))
    assert got, "comments were extracted"
    matched_truth = 0
    for key, stats in got.items():
        clock = int(run_time(last_seen[key]).timestamp())
        visible = [c for c in raw[key] if c["date"] <= clock]
        page_ids = {c["id"] for c in visible if c["from_id"] == -key[0]}
        citizens = [c for c in visible if c["from_id"] != -key[0]]
        top = [c for c in citizens if not c["parents_stack"]]
        replied = [
            c
            for c in top
            if any(
                r["parents_stack"] and r["parents_stack"][-1] == c["id"]
                for r in visible
                if r["id"] in page_ids
            )
        ]
        want = {
            "page_replies": len(page_ids),
            "citizen_comments": len(citizens),
            "top_level_comments": len(top),
            "replied_comments": len(replied),
        }
        assert {k: stats[k] for k in want} == want, key
        if len(visible) == len(raw[key]):  # everything published by then: the truth file applies
            t = truth[key]
            assert want == {k: int(t[k]) for k in want}, key
            matched_truth += 1
    assert matched_truth > 0
    delays = wh.query(
        "SELECT reply_delay_minutes, published_at, first_reply_at FROM core.fct_comment WHERE page_replied"
    )
    assert delays and all(
        abs(d["reply_delay_minutes"] - (d["first_reply_at"] - d["published_at"]).total_seconds() / 60) < 1e-6
        for d in delays
    )


def check_commenters_are_pseudonymized(world: VkWorld) -> None:
    raw_ids = {
        str(c["from_id"]) for c in read_jsonl(world.data / "vk" / "comments.jsonl.gz") if c["from_id"] > 0
    }
    hashes = {r["author_hash"] for r in world.warehouse.query("SELECT author_hash FROM core.fct_comment")}
    assert hashes - {None}
    assert all(h is None or (len(h) == 32 and h not in raw_ids) for h in hashes)
    staged = world.warehouse.table_columns("staging.vk_comment_observations")
    assert "from_id" not in staged and "text" not in staged


def check_load_runs_reconcile(world: VkWorld) -> None:
    runs = world.warehouse.query("SELECT * FROM audit.load_runs WHERE source LIKE 'vk/%'")
    assert {r["partition_key"] for r in runs} == {d.isoformat() for d in RUN_DAYS}
    assert len(runs) == 3 * len(RUN_DAYS)
    for r in runs:
        assert r["rows_read"] == r["rows_written"] + r["rows_rejected"], r
        assert r["dag_id"] == "vk_pages" and r["started_at"] <= r["finished_at"]


def check_page_errors_recorded_and_run_goes_on(world: VkWorld) -> None:
    errors = world.warehouse.query("SELECT * FROM audit.extract_errors")
    codes = {(int(r["vk_group_id"]), int(r["error_code"])) for r in errors}
    groups = {
        json.loads(line)["id"]: json.loads(line) for line in (world.data / "vk" / "groups.jsonl").open()
    }
    official = {
        int(r["vk_group_id"])
        for r in world.warehouse.query(
            "SELECT vk_group_id FROM core.dim_page WHERE network = 'vk' AND valid_from <= :day "
            "AND (valid_to IS NULL OR :day < valid_to)",
            {"day": RUN_DAYS[0]},
        )
    }
    expected = {
        (gid, g["_sandbox_error"]) for gid, g in groups.items() if "_sandbox_error" in g and gid in official
    }
    assert expected and codes == expected
    assert all(r["method"] == "wall.get" and r["occurred_at"] is not None for r in errors)
    assert {r["dt"] for r in errors} == set(RUN_DAYS)


def check_asset_events_carry_the_day_s_counts(world: VkWorld) -> None:
    """Each run's events of the VK Assets carry the day's counts, as the Airflow UI shows them
    (issue 26): extraction errors, rows rejected and whether the day is complete, as the audit
    tables hold them."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from gospublic.orchestration.assets import VK_PAGES

    wh = world.warehouse
    runs = {r["run_id"] for r in wh.query("SELECT run_id FROM audit.load_runs WHERE dag_id = 'vk_pages'")}
    with create_session() as session:
        events = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == "vk_pages", AssetEvent.source_run_id.in_(runs))
        ).all()
    assert sorted(name for name, _ in events) == sorted(a.name for a in VK_PAGES for _ in RUN_DAYS), events
    assert sorted(extra.get("dt", "") for name, extra in events if name == "core.fct_page_daily") == [
        d.isoformat() for d in RUN_DAYS
    ], events
    for name, extra in events:
        dt = date.fromisoformat(extra["dt"])
        errors = wh.query(
            "SELECT COUNT(*) AS n FROM audit.extract_errors WHERE dt = :dt AND network = 'vk'", {"dt": dt}
        )
        (day,) = wh.query("SELECT complete FROM audit.vk_day_status WHERE dt = :dt", {"dt": dt})
        assert extra["extraction_errors"] == errors[0]["n"] > 0, (name, extra)
        assert extra["complete"] == bool(day["complete"]), (name, extra)
        rejected = wh.query(
            "SELECT COALESCE(SUM(rows_rejected), 0) AS n FROM audit.load_runs"
            " WHERE dag_id = 'vk_pages' AND partition_key = :dt",
            {"dt": dt.isoformat()},
        )
        assert extra["rows_rejected"] == rejected[0]["n"], (name, extra)


def test_three_days_reconcile_with_truth(vk_world: VkWorld, dagbag) -> None:
    """Three consecutive days, then every reconciliation against the sandbox's truth."""
    world = run_days(vk_world, dagbag)
    for check in (
        check_posts_in_window_appear_once_with_last_observed_metrics,
        check_posts_per_page_and_day_match_truth,
        check_subscribers_for_every_page_and_day,
        check_comment_replies_counted_right,
        check_commenters_are_pseudonymized,
        check_load_runs_reconcile,
        check_page_errors_recorded_and_run_goes_on,
        check_asset_events_carry_the_day_s_counts,
    ):
        check(world)


def test_rerun_of_a_day_and_replay_keep_tables(vk_world: VkWorld, dagbag) -> None:
    world, dag = vk_world, dagbag.get_dag("vk_pages")
    assert world.run(dag, RUN_DAYS[0]).state == "success"
    before = business_checksums(world.warehouse)
    assert world.run(dag, RUN_DAYS[0]).state == "success"
    assert business_checksums(world.warehouse) == before

    full = {
        t: checksum(world.warehouse, t) for t in ("core.fct_post", "core.fct_comment", "core.fct_page_daily")
    }
    world.server.reset_stats()
    assert world.run(dag, RUN_DAYS[0], replay=True).state == "success"
    assert world.server.stats()["total_requests"] == 0, "replay must not call VK"
    assert {t: checksum(world.warehouse, t) for t in full} == full
    assert repeated_keys(world.warehouse) == {}


def window_posts(lake_root: Path, window_ts: int) -> dict[tuple[int, int], tuple]:
    """Posts in the window with their metrics, as landed in a lake's raw ``wall.get`` files."""
    posts = {}
    for path in sorted((lake_root / "raw" / "vk" / "wall.get").rglob("*.jsonl.gz")):
        for line in read_jsonl(path):
            for p in (line.get("response") or {}).get("items", []):
                if p["date"] >= window_ts:
                    posts[(-p["owner_id"], p["id"])] = (p["views"]["count"], p["likes"]["count"], p["date"])
    return posts


def test_small_wall_counts_cost_calls_never_posts(vk_world: VkWorld, tmp_path: Path) -> None:
    """A page that posted more than its hint is paged on: the same posts land, with more calls."""
    from gospublic.infra.lake import LocalLake
    from gospublic.vk.client import VkClient
    from gospublic.vk.extract import extract_batch

    world, day = vk_world, RUN_DAYS[-1]
    world.server.set_clock(run_time(day))
    pages = sorted(
        int(r["vk_group_id"])
        for r in world.warehouse.query("SELECT vk_group_id FROM core.dim_page WHERE network = 'vk'")
    )
    window_start = datetime.combine(day - timedelta(days=WINDOW_DAYS), datetime.min.time(), UTC)
    outcomes = {}
    for name, counts in (("full", None), ("tiny", dict.fromkeys(pages, 2))):
        outcomes[name] = extract_batch(
            VkClient.from_connection(), LocalLake(tmp_path / name), group_ids=pages, dt=day,
            window_start=window_start, run_id=name, batch=0, wall_counts=counts,
        )  # fmt: skip
    full, tiny = (window_posts(tmp_path / n, int(window_start.timestamp())) for n in ("full", "tiny"))
    assert full and tiny == full
    assert outcomes["tiny"].calls["wall.get"] > outcomes["full"].calls["wall.get"]
