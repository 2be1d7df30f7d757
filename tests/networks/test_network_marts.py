"""OK, MAX and Telegram pages from the lake to the marts, on DuckDB and PostgreSQL: days extracted
from each network's sandbox through its steps, loaded by its ``load`` module, the month's marts
built; subscribers per page-day and posts per page-day equal the world's truth exactly (readable
pages; unreadable ones absent, with their errors in ``audit.extract_errors``), the measures a
network lacks are NULL, every load reconciles, and loading the days again changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from gospublic.infra.lake import Lake, LakeError
from gospublic.infra.network_load import ManifestNotPassedError
from gospublic.infra.network_results import NetworkDayLoad
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month, marts_config
from gospublic.marts.check import check_month
from tests.keys import repeated_keys
from tests.networks.conftest import DAYS, MONTH, MOSCOW, WINDOW_DAYS, NetworkCase, run_time

TABLES = (
    "staging.network_page_observations",
    "staging.network_post_observations",
    "core.fct_network_page_daily",
    "core.fct_network_post",
    "mart.subscribers_daily",
    "mart.page_activity_monthly",
    "audit.extract_errors",
)


def loader(network: str, *, step: bool = False) -> Callable[..., NetworkDayLoad]:
    """The network's ``load_day`` (or, with ``step``, ``load_step``: what its DAG's task runs)."""
    if network == "ok":
        from gospublic.ok import load
    elif network == "max":
        from gospublic.max import load  # type: ignore[no-redef]
    else:
        from gospublic.telegram import load  # type: ignore[no-redef]
    return load.load_step if step else load.load_day


def rows_of(warehouse: Warehouse, table: str, network: str) -> list[tuple[Any, ...]]:
    """A table's rows of the network, sorted (NaN as None; floats rounded: sums may differ in the
    last bit)."""
    frame = warehouse.query_df(f"SELECT * FROM {table} WHERE network = :n", {"n": network})
    found = [
        tuple(None if pd.isna(v) else round(v, 9) if isinstance(v, float) else v for v in row)
        for row in frame.itertuples(index=False)
    ]
    return sorted(found, key=repr)


def load_days(warehouse: Warehouse, lake: Lake, network: str) -> list[NetworkDayLoad]:
    return [loader(network)(warehouse, lake, day, dag_id="tests", task_id="load") for day in DAYS]


@pytest.mark.slow
def test_days_of_a_network_reach_the_marts_equal_to_the_truth(
    network_case: NetworkCase, migrated: Warehouse
) -> None:
    case, wh = network_case, migrated
    lake = Lake.from_connection()
    for n, day in enumerate(DAYS):
        case.extract(day, f"manual__{n}")
    loads = load_days(wh, lake, case.network)
    build_month(wh, MONTH)
    check_month(wh, MONTH)  # the month's suites and reconciliations pass with the network's rows

    # Every raw item staged, repeated or rejected with its reason; the load runs say so.
    for load in loads:
        for method, counts in load["counts"].items():
            assert counts["read"] == counts["written"] + counts["rejected"] + counts["duplicate"], method
            assert counts["written"] > 0, (load["dt"], method)
    runs = wh.query(
        "SELECT rows_read, rows_written, rows_rejected, rows_duplicate, status FROM audit.load_runs "
        "WHERE source LIKE :s AND status = 'success'",
        {"s": f"{case.network}/%"},
    )
    assert len(runs) == 2 * len(DAYS)
    assert all(r["rows_read"] == r["rows_written"] + r["rows_rejected"] + r["rows_duplicate"] for r in runs)

    # Subscribers per page-day: the mart equals the truth (pages whose card the network answers).
    subscribers = {
        (r["page_id"], _day(r["dt"])): int(r["subscribers"])
        for r in wh.query(
            "SELECT page_id, dt, subscribers FROM mart.subscribers_daily WHERE network = :n",
            {"n": case.network},
        )
    }
    assert subscribers == case.subscribers(DAYS)
    assert len(subscribers) > 10 * len(DAYS) / 2  # the comparison is about real volume
    assert (
        wh.scalar(
            "SELECT COUNT(*) FROM mart.subscribers_daily WHERE network = :n AND vk_group_id IS NOT NULL",
            {"n": case.network},
        )
        == 0
    )

    # Posts per page-day (Moscow days, as the truth): core's posts of the window equal the truth's.
    first = DAYS[0] - timedelta(days=WINDOW_DAYS)
    posts: dict[tuple[str, date], int] = {}
    for r in wh.query(
        "SELECT p.page_id, po.published_at FROM core.fct_network_post AS po "
        "JOIN core.dim_page AS p ON p.network = po.network AND p.screen_name = po.page_key "
        "WHERE po.network = :n",
        {"n": case.network},
    ):
        key = (r["page_id"], _moment(r["published_at"]).astimezone(MOSCOW).date())
        posts[key] = posts.get(key, 0) + 1
    expected = case.posts(first, DAYS[-1])
    assert posts == expected
    assert sum(expected.values()) > 50

    # The month's activity: posts per page as the truth's (all the window's days are November's).
    activity = wh.query_df(
        "SELECT * FROM mart.page_activity_monthly WHERE network = :n AND month = :m",
        {"n": case.network, "m": MONTH},
    )
    month_posts: dict[str, int] = {}
    for (page_id, _), count in expected.items():
        month_posts[page_id] = month_posts.get(page_id, 0) + count
    assert {r.page_id: int(r.posts) for r in activity.itertuples() if r.posts} == month_posts
    assert activity["citizen_comments"].isna().all() and activity["replied_comments"].isna().all()
    assert activity["replied_share"].isna().all() and activity["median_reply_delay_minutes"].isna().all()
    assert activity["vk_group_id"].isna().all()
    posted = activity[activity["posts"] > 0]
    # ER needs the subscribers of a post's day: pages that posted on an extracted day have it
    if case.network == "ok":  # OK gives no views
        assert posted["avg_views"].isna().all() and posted["engagement_rate_pct"].notna().any()
    elif case.network == "max":  # MAX gives views only
        assert posted["engagement_rate_pct"].isna().all() and posted["avg_views"].notna().all()
    else:
        assert posted["avg_views"].notna().all() and posted["engagement_rate_pct"].notna().any()
    assert (posted["photo_video_share"].between(0, 1)).all()

    _comments_equal_the_truth(wh, case, activity)
    _compliance_equals_the_truth(wh, case, activity, month_posts)

    # Unreadable pages: no posts, no subscribers where the network refuses their card too, and
    # their errors recorded for every day.
    unreadable = {page for page, ok in case.readable().items() if not ok}
    assert unreadable
    assert not unreadable & {page for page, _ in posts}
    if not case.closed_cards:
        assert not unreadable & {page for page, _ in subscribers}
    errors = wh.query(
        "SELECT e.dt, p.page_id FROM audit.extract_errors AS e "
        "JOIN core.dim_page AS p ON p.network = e.network AND p.screen_name = e.page_key "
        "WHERE e.network = :n",
        {"n": case.network},
    )
    for day in DAYS:
        assert {r["page_id"] for r in errors if _day(r["dt"]) == day} >= unreadable

    assert repeated_keys(wh) == {}

    # Loading the days again, in another order, and building again: the same tables.
    before = {table: rows_of(wh, table, case.network) for table in TABLES}
    for day in reversed(DAYS):  # as the DAG's load task: the run's logical date, its own adapters
        loader(case.network, step=True)(run_time(day), dag_id="tests", task_id="load")
    build_month(wh, MONTH)
    after = {table: rows_of(wh, table, case.network) for table in TABLES}
    for table in TABLES:
        a, b = set(before[table]), set(after[table])
        assert a == b, repr((table, sorted(a - b, key=repr)[:2], sorted(b - a, key=repr)[:2]))
    assert after == before


def test_a_day_without_a_passed_manifest_is_refused(ok_case: NetworkCase, migrated: Warehouse) -> None:
    """A day whose latest.json is missing is not loaded; one that names another day is refused."""
    from gospublic.ok.extract import manifest_key

    lake = Lake.from_connection()
    ok_case.extract(DAYS[-1], "manual__1")
    with pytest.raises(LakeError, match=r"latest\.json"):
        loader("ok")(migrated, lake, DAYS[0])
    lake.put_bytes(manifest_key(DAYS[0]), lake.get_bytes(manifest_key(DAYS[-1])))
    with pytest.raises(ManifestNotPassedError, match="not a passed run of that day"):
        loader("ok")(migrated, lake, DAYS[0])
    assert migrated.scalar("SELECT COUNT(*) FROM staging.network_page_observations") == 0
    assert migrated.scalar("SELECT COUNT(*) FROM audit.load_runs WHERE status = 'failed'") == 2


def _comments_equal_the_truth(wh: Warehouse, case: NetworkCase, activity: pd.DataFrame) -> None:
    """Each post's comments count as the network showed it when last read (OK, Telegram; NULL for
    MAX and for a Telegram channel without discussion), and their sum per page in the activity."""
    month_comments: dict[str, int] = {}
    checked = 0
    for r in wh.query(
        "SELECT p.page_id, po.page_key, po.post_key, po.comments, po.observed_dt "
        "FROM core.fct_network_post AS po "
        "JOIN core.dim_page AS p ON p.network = po.network AND p.screen_name = po.page_key "
        "WHERE po.network = :n",
        {"n": case.network},
    ):
        post = (r["page_key"], r["post_key"])
        bounds = case.comments(*post, _day(r["observed_dt"]))
        if bounds is None:
            assert r["comments"] is None, post
            continue
        assert bounds[0] <= r["comments"] <= bounds[1], (post, r["comments"], bounds)
        checked += 1
        month_comments[r["page_id"]] = month_comments.get(r["page_id"], 0) + int(r["comments"])
    if case.network == "max":  # the Bot API counts no comments
        assert checked == 0 and activity["post_comments"].isna().all()
        return
    assert checked > 50 and sum(month_comments.values()) > 0
    summed = {r.page_id: int(r.post_comments) for r in activity.itertuples() if not pd.isna(r.post_comments)}
    assert summed == month_comments
    if case.network == "tg":  # a channel without discussion gives no count at all
        assert any(not f["comments_open"] for f in case.page_fields().values())


def _compliance_equals_the_truth(
    wh: Warehouse, case: NetworkCase, activity: pd.DataFrame, month_posts: dict[str, int]
) -> None:
    """The network's rows of mart.page_compliance_monthly: one per page with activity in the month,
    the card's fields as the world gave them (NULL for the checks the network does not have), and
    the score and failed checks recomputed from the truth and config/marts.yaml's weights."""
    config = marts_config()["compliance"]
    weights: dict[str, float] = config["networks"][case.network]
    order = [
        "verified", "has_photo", "has_description", "has_contacts_or_links", "page_open", "comments_open",
        "posts_per_week", "views_share",
    ]  # fmt: skip
    rows = wh.query_df(
        "SELECT * FROM mart.page_compliance_monthly WHERE network = :n AND month = :m",
        {"n": case.network, "m": MONTH},
    )
    assert set(rows["page_id"]) == set(activity["page_id"]) and len(rows) == len(activity)
    truth = case.page_fields()
    fields = order[:6]  # the card's fields
    failing: set[str] = set()
    for row in rows.itertuples():
        card = truth[row.page_id]
        for name in fields:
            value = getattr(row, name)
            if name in card:
                assert bool(value) == card[name], (row.page_id, name, value, card[name])
            else:
                assert pd.isna(value), (row.page_id, name, value)  # not a check of this network
        assert pd.isna(row.has_cover) and pd.isna(row.messages_open) and pd.isna(row.wall_open)
        days = (date(MONTH.year, MONTH.month + 1, 1) - MONTH).days
        assert row.posts_per_week == pytest.approx(month_posts.get(row.page_id, 0) * 7 / days)
        passed = {name: card[name] for name in card if name in weights}
        passed["posts_per_week"] = row.posts_per_week >= config["posts_per_week_target"]
        if "views_share" in weights:
            share_ok = not pd.isna(row.views_share) and row.views_share >= config["views_share_target"]
            assert bool(row.views_share_ok) == share_ok
            passed["views_share"] = share_ok
        else:  # the network gives no views (OK)
            assert pd.isna(row.views_share) and pd.isna(row.views_share_ok)
        assert set(passed) == set(weights), (case.network, sorted(passed), sorted(weights))
        failed = [name for name in order if name in passed and not passed[name]]
        assert row.failed_checks == ", ".join(failed), (row.page_id, row.failed_checks)
        score = sum(weights[name] for name, ok in passed.items() if ok) * 100 / sum(weights.values())
        assert row.score == pytest.approx(score)
        failing.update(failed)
    # the world gives each of the network's card checks a page failing it
    assert failing >= {name for name in weights if name in fields}, sorted(failing)


def _day(value: Any) -> date:
    return (
        value
        if isinstance(value, date) and not isinstance(value, datetime)
        else date.fromisoformat(str(value)[:10])
    )


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
