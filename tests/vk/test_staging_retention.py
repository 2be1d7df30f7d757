"""Staging retention (issue 29) leaves core and the marts as a warehouse that keeps every staged day.

Two warehouses on the same engine load the same lake (a week re-read every day, so a post is
observed on several days): one keeps staging whole, the other deletes the days before a horizon
(``gospublic.infra.retention``). Both then re-run a retained day (the VK load's full scope, with
its earlier observations deleted), replay a deleted day from the lake (re-staged, rebuilt, deleted
again by the next cleanup) and load a new day (forward); core and the month's marts must be equal
table by table, on both engines. The cleanup's audit, idempotence and publication rule are checked
on the same data."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import LocalLake
from gospublic.infra.migrations import migrate
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.retention import clean_staging
from gospublic.infra.retention_rule import RetentionRule
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.registry.load import load_registry
from gospublic.vk.load import load_day
from tests.vk.conftest import VkWorld, days
from tests.vk.test_vk_load_forward import comment_files, read_answers

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

LANDED = days(date(2025, 11, 17), 9)  # Nov 17..25
FIRST_LOADS = LANDED[:-1]  # Nov 17..24, one after another
HORIZON = date(2025, 11, 21)  # the cleanup deletes Nov 17..20
RETAINED_DAY = date(2025, 11, 22)
DELETED_DAY = date(2025, 11, 18)
NEW_DAY = LANDED[-1]
NOVEMBER = date(2025, 11, 1)
WINDOW_DAYS = 7
RULE = RetentionRule(
    months=2,
    reread_window=True,
    after_publication=False,
    tables=(
        "staging.vk_page_observations",
        "staging.vk_post_observations",
        "staging.vk_comment_observations",
    ),
)
CORE = ("core.fct_page_daily", "core.fct_post", "core.fct_comment")
MARTS = ("mart.subscribers_daily", "mart.page_activity_monthly", "mart.page_compliance_monthly")
STAGED = RULE.tables


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def digests(warehouse: Warehouse, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of each table (every column)."""
    out = {}
    for table in tables:
        rows = sorted(
            repr(tuple(_plain(v) for v in r.values())) for r in warehouse.query(f"SELECT * FROM {table}")
        )
        out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def differing(left: dict[str, tuple[int, str]], right: dict[str, tuple[int, str]]) -> dict[str, object]:
    return {t: (left[t], right[t]) for t in left if left[t] != right[t]}


@pytest.fixture
def twin(vk_world: VkWorld, engine: str, tmp_path, pg_admin_url: str) -> Iterator[Warehouse]:
    """A second warehouse on the test's engine, migrated, with the same registry: the reference."""
    if engine == "duckdb":
        wh = Warehouse.duckdb(tmp_path / "twin.duckdb")
        name = None
    else:
        import psycopg
        import sqlalchemy as sa

        name = f"gospublic_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = sa.make_url(pg_admin_url).set(drivername="postgresql+psycopg", database=name)
        wh = Warehouse.postgres(url)
    try:
        migrate(wh)
        load_registry(wh, vk_world.data / "registry")
        yield wh
    finally:
        wh.close()
        if name is not None:
            import psycopg

            with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_comments_after(lake_root, before: list[date], after: list[date], limit: int = 5) -> int:
    """Remove from the raw answers of the ``after`` days a few comments (with their threads) that
    the ``before`` days saw on posts the ``after`` days still read, as VK does when they are
    deleted: their latest observation stays on a ``before`` day. Returns the comments chosen."""

    def keyed(days_: list[date]) -> set[tuple[int, int, int]]:
        found = set()
        for path in (p for d in days_ for p in comment_files(lake_root, d)):
            for answer in read_answers(path):
                for item in (answer.get("response") or {}).get("items", []):
                    found.add((answer["params"]["owner_id"], answer["params"]["post_id"], item["id"]))
        return found

    later = keyed(after)
    later_posts = {(owner, post) for owner, post, _ in later}
    chosen = sorted(k for k in keyed(before) & later if k[:2] in later_posts)[:limit]
    for path in (p for d in after for p in comment_files(lake_root, d)):
        lines = []
        for answer in read_answers(path):
            response = answer.get("response") or {}
            owner, post = answer["params"]["owner_id"], answer["params"]["post_id"]
            if response:
                response["items"] = [
                    i for i in response.get("items", []) if (owner, post, i["id"]) not in chosen
                ]
            lines.append(json.dumps(answer, ensure_ascii=False))
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return len(chosen)


def staged_days(warehouse: Warehouse, table: str) -> list[date]:
    return [r["dt"] for r in warehouse.query(f"SELECT DISTINCT dt FROM {table} ORDER BY dt")]


def test_core_and_marts_with_retention_equal_a_warehouse_keeping_every_day(
    vk_world: VkWorld, twin: Warehouse, tmp_path
) -> None:
    kept, cleaned = twin, vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    assert land_month(vk_world.data, lake, LANDED, window_days=WINDOW_DAYS)["days"] == len(LANDED)
    deleted_days = [d for d in LANDED if d < HORIZON]
    assert drop_comments_after(lake.root, deleted_days, [d for d in LANDED if d >= HORIZON]) == 5
    key = pseudonymizer()

    for day in FIRST_LOADS:
        for wh in (kept, cleaned):
            assert load_day(wh, lake, day, key)["rebuild"] == "forward"
    staged_before = {
        t: cleaned.scalar(f"SELECT COUNT(*) FROM {t} WHERE dt < :h", {"h": HORIZON}) for t in STAGED
    }
    assert all(rows > 0 for rows in staged_before.values())

    first = clean_staging(cleaned, RULE, HORIZON)
    assert first["rows_deleted"] == sum(staged_before.values())
    assert {(p["table"], p["dt"]) for p in first["deleted"]} == {
        (t, d.isoformat()) for t in STAGED for d in FIRST_LOADS if d < HORIZON
    }
    for table in STAGED:
        assert staged_days(cleaned, table) == [d for d in FIRST_LOADS if d >= HORIZON]
    # posts whose observations span the horizon: their first sighting is now only in the fold
    spanning = cleaned.scalar(
        "SELECT COUNT(*) FROM staging.vk_post_retired AS r WHERE EXISTS ("
        " SELECT 1 FROM staging.vk_post_observations AS s"
        " WHERE s.vk_group_id = r.vk_group_id AND s.post_id = r.post_id)"
    )
    assert spanning > 0
    assert digests(cleaned, CORE) == digests(kept, CORE)  # the cleanup leaves core alone

    again = clean_staging(cleaned, RULE, HORIZON)  # idempotent: nothing left to delete or record
    assert again["deleted"] == [] and again["rows_deleted"] == 0
    audit = cleaned.query(
        "SELECT table_name, dt, rows_deleted, rows_folded, horizon FROM audit.staging_retention"
        " ORDER BY table_name, dt"
    )
    assert len(audit) == len(first["deleted"])
    assert sum(int(r["rows_deleted"]) for r in audit) == first["rows_deleted"]
    assert all(r["horizon"] == HORIZON for r in audit)
    assert all(
        int(r["rows_folded"])
        == (int(r["rows_deleted"]) if r["table_name"] != "staging.vk_page_observations" else 0)
        for r in audit
    )

    # a retained day re-run: the full scope, whose posts were also seen on deleted days (and the
    # dropped comments only there)
    for wh in (kept, cleaned):
        assert load_day(wh, lake, RETAINED_DAY, key)["rebuild"] == "full"
    assert differing(digests(cleaned, CORE), digests(kept, CORE)) == {}
    assert cleaned.scalar("SELECT COUNT(*) FROM core.fct_comment WHERE observed_dt < :h", {"h": HORIZON}) >= 5

    # a deleted day replayed from the lake: re-staged, rebuilt in full, deleted again afterwards
    for wh in (kept, cleaned):
        assert load_day(wh, lake, DELETED_DAY, key)["rebuild"] == "full"
    assert DELETED_DAY in staged_days(cleaned, "staging.vk_post_observations")
    assert differing(digests(cleaned, CORE), digests(kept, CORE)) == {}
    replayed = clean_staging(cleaned, RULE, HORIZON)
    assert {(p["table"], p["dt"]) for p in replayed["deleted"]} == {
        (t, DELETED_DAY.isoformat()) for t in STAGED
    }

    # after the second cleanup: the oldest retained day re-run, then a new day (forward)
    for wh in (kept, cleaned):
        assert load_day(wh, lake, HORIZON, key)["rebuild"] == "full"
        assert load_day(wh, lake, NEW_DAY, key)["rebuild"] == "forward"
    assert differing(digests(cleaned, CORE), digests(kept, CORE)) == {}
    for table, columns in (
        ("staging.vk_post_retired", "vk_group_id, post_id"),
        ("staging.vk_comment_retired", "vk_group_id, post_id, comment_id"),
    ):  # one folded row per post and per comment
        repeated = f"SELECT {columns} FROM {table} GROUP BY {columns} HAVING COUNT(*) > 1"
        assert cleaned.scalar(f"SELECT COUNT(*) FROM ({repeated}) AS d") == 0

    for wh in (kept, cleaned):
        build_month(wh, NOVEMBER)
    marts = digests(kept, MARTS)
    assert all(rows > 0 for rows, _ in marts.values())
    assert differing(digests(cleaned, MARTS), marts) == {}


def test_every_staged_day_rebuilt_in_full_after_retention_equals_the_kept_core(
    vk_world: VkWorld, twin: Warehouse, tmp_path
) -> None:
    """Every retained day re-run, oldest first, in full: each post and comment rebuilt from what
    staging and the folds still hold equals the warehouse that re-ran them with every day staged."""
    kept, cleaned = twin, vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    land_month(vk_world.data, lake, FIRST_LOADS, window_days=WINDOW_DAYS)
    drop_comments_after(
        lake.root, [d for d in FIRST_LOADS if d < HORIZON], [d for d in FIRST_LOADS if d >= HORIZON]
    )
    key = pseudonymizer()
    for day in FIRST_LOADS:
        for wh in (kept, cleaned):
            load_day(wh, lake, day, key)
    clean_staging(cleaned, RULE, HORIZON)
    for day in (d for d in FIRST_LOADS if d >= HORIZON):
        for wh in (kept, cleaned):
            assert load_day(wh, lake, day, key)["rebuild"] == "full"
        assert differing(digests(cleaned, CORE), digests(kept, CORE)) == {}, f"differ after re-running {day}"


def test_days_of_an_unpublished_month_stay_until_its_rating_is_published(vk_world: VkWorld, tmp_path) -> None:
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    loaded = [date(2025, 10, 31), date(2025, 11, 1)]
    land_month(vk_world.data, lake, loaded, window_days=1)
    key = pseudonymizer()
    for day in loaded:
        load_day(wh, lake, day, key)
    rule = RetentionRule(
        months=1, reread_window=False, after_publication=True, tables=("staging.vk_page_observations",)
    )
    horizon = rule.horizon(date(2025, 12, 5), window_days=WINDOW_DAYS)
    assert horizon == date(2025, 12, 1)

    nothing = clean_staging(wh, rule, horizon)
    assert nothing["deleted"] == [] and nothing["kept_unpublished"] == ["2025-10", "2025-11"]
    wh.execute(
        "INSERT INTO mart.rating_snapshot (snapshot_id, month, methodology_id, methodology_version,"
        " methodology_hash, input_fingerprint, revision, status, created_at, published_at)"
        " VALUES ('penza-2025:2025-10:r1', :m, 'penza-2025', 1, 'h', 'f', 1, 'published', :t, :t)",
        {"m": date(2025, 10, 1), "t": datetime(2025, 11, 5, tzinfo=UTC)},
    )
    october = clean_staging(wh, rule, horizon)
    assert [(p["table"], p["dt"]) for p in october["deleted"]] == [
        ("staging.vk_page_observations", "2025-10-31")
    ]
    assert october["kept_unpublished"] == ["2025-11"]
    assert staged_days(wh, "staging.vk_page_observations") == [date(2025, 11, 1)]
    assert staged_days(wh, "staging.vk_post_observations") == loaded  # not in the rule's tables


def test_horizon_keeps_the_months_and_the_reread_window() -> None:
    rule = RetentionRule(months=2, reread_window=True, after_publication=True, tables=())
    assert rule.horizon(date(2026, 1, 15), window_days=7) == date(2025, 12, 1) - timedelta(days=7)
    assert rule.horizon(date(2026, 3, 1), window_days=0) == date(2026, 2, 1)
    single = RetentionRule(months=1, reread_window=False, after_publication=False, tables=())
    assert single.horizon(date(2026, 3, 31), window_days=7) == date(2026, 3, 1)


def test_dag_deletes_the_staged_days_of_a_published_month(vk_world: VkWorld, dagbag, tmp_path) -> None:
    """DAG staging_retention run for real (dag.test) with the shipped rule on today's date: the
    staged days of November 2025 go once its rating is published, each partition audited."""
    wh = vk_world.warehouse
    lake = LocalLake(tmp_path / "lake")
    loaded = [date(2025, 11, 20), date(2025, 11, 21)]
    land_month(vk_world.data, lake, loaded, window_days=1)
    key = pseudonymizer()
    for day in loaded:
        load_day(wh, lake, day, key)
    wh.execute(
        "INSERT INTO mart.rating_snapshot (snapshot_id, month, methodology_id, methodology_version,"
        " methodology_hash, input_fingerprint, revision, status, created_at, published_at)"
        " VALUES ('penza-2025:2025-11:r1', :m, 'penza-2025', 1, 'h', 'f', 1, 'published', :t, :t)",
        {"m": NOVEMBER, "t": datetime(2025, 12, 3, tzinfo=UTC)},
    )
    core = digests(wh, CORE)

    run = dagbag.get_dag("staging_retention").test()
    assert run.state == "success"
    for table in STAGED:
        assert staged_days(wh, table) == []
    audited = wh.query("SELECT table_name, dt FROM audit.staging_retention ORDER BY table_name, dt")
    assert [(r["table_name"], r["dt"]) for r in audited] == [(t, d) for t in sorted(STAGED) for d in loaded]
    assert wh.scalar("SELECT COUNT(*) FROM staging.vk_post_retired") > 0
    assert digests(wh, CORE) == core
