"""The VK load's forward and full rebuilds are one rule per table (sql/core/020_fct_post.sql,
030_fct_comment.sql; step vk bound with forward true or false). On the same staged rows, the full
scope must give every table the forward scope gave — after each day of a forward sequence of daily
loads, and for the whole sequence rebuilt from an empty core — on both engines. A change to one
scope's reads that the other does not share fails here with the table named."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import LocalLake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Transaction
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, days
from tests.vk.test_vk_load_forward import hide_comments_seen_before

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_DAYS = days(date(2025, 11, 24), 4)
WINDOW_DAYS = 7  # as vk_pages in production: each day re-reads a week of posts, so a post is
# observed on several days and the forward scope must carry its first observation from core
CORE = ("core.fct_page_daily", "core.fct_post", "core.fct_comment")
# What step vk writes besides core: the posts it rebuilt and their new rows (the day's, after a load).
WORK = ("staging.vk_rebuild_posts", "staging.vk_day_posts", "staging.vk_day_comments")


class _RollbackError(Exception):
    """Raised to leave a transaction without committing it."""


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def digests(tx: Transaction, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of each table, as ``tx`` sees it."""
    out = {}
    for table in tables:
        result = tx.query(f"SELECT * FROM {table}")  # columns in table order
        rows = sorted(repr(tuple(_plain(v) for v in row.values())) for row in result)
        out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def full_rebuild(tx: Transaction, day: date) -> None:
    tx.run_models("vk", {"dt": day, "forward": False})


def test_each_forward_day_equals_its_full_rebuild_table_by_table(vk_world: VkWorld, tmp_path) -> None:
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    assert land_month(vk_world.data, lake, RUN_DAYS, window_days=WINDOW_DAYS)["days"] == len(RUN_DAYS)
    hidden = hide_comments_seen_before(lake.root, RUN_DAYS[-1], RUN_DAYS[:-1])
    assert hidden > 0  # the last day carries core comments it did not see: the forward-only read
    key = pseudonymizer()

    for day in RUN_DAYS:
        assert load_day(wh, lake, day, key)["rebuild"] == "forward"
        with wh.transaction() as tx:
            forward = digests(tx, CORE + WORK)
        assert forward["staging.vk_rebuild_posts"][0] > 0 and forward["staging.vk_day_comments"][0] > 0
        with pytest.raises(_RollbackError), wh.transaction() as tx:
            full_rebuild(tx, day)
            full = digests(tx, CORE + WORK)
            raise _RollbackError
        assert {t: full[t] for t in full if full[t] != forward[t]} == {}, f"scopes diverge on {day}"

    with wh.transaction() as tx:
        carried = tx.scalar(
            "SELECT COUNT(*) FROM staging.vk_day_comments WHERE observed_dt < :last", {"last": RUN_DAYS[-1]}
        )
        seen_thrice = tx.scalar(  # posts whose first observation the forward scope took from core
            "SELECT COUNT(*) FROM (SELECT vk_group_id, post_id FROM staging.vk_post_observations"
            " GROUP BY vk_group_id, post_id HAVING COUNT(DISTINCT dt) >= 3) AS p"
        )
    assert carried == hidden
    assert seen_thrice > 0


def test_forward_sequence_equals_full_rebuild_of_every_day(vk_world: VkWorld, tmp_path) -> None:
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    land_month(vk_world.data, lake, RUN_DAYS, window_days=WINDOW_DAYS)
    hide_comments_seen_before(lake.root, RUN_DAYS[-1], RUN_DAYS[:-1])
    key = pseudonymizer()
    assert [load_day(wh, lake, day, key)["rebuild"] for day in RUN_DAYS] == ["forward"] * len(RUN_DAYS)
    with wh.transaction() as tx:
        forward = digests(tx, CORE)
    assert all(rows > 0 for rows, _ in forward.values())

    with pytest.raises(_RollbackError), wh.transaction() as tx:
        for table in ("core.fct_post", "core.fct_comment"):
            tx.empty(table)
        for day in RUN_DAYS:  # the staged month rebuilt from an empty core, oldest day first
            full_rebuild(tx, day)
        full = digests(tx, CORE)
        raise _RollbackError
    assert {t: full[t] for t in full if full[t] != forward[t]} == {}
