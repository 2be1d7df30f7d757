"""Staging retention's rule (config/retention.yaml) is checked before anything is deleted, and the
cleanup of the OK/MAX/Telegram page observations deletes one network's day at a time (issue 29).
The VK tables, the fold and the re-runs: tests/vk/test_staging_retention.py."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime

import pytest
import yaml

from gospublic.infra.retention import FOLDS, clean_staging
from gospublic.infra.retention_rule import (
    RETAINABLE,
    RetentionRule,
    RetentionRuleError,
    load_rule,
    parse_rule,
)
from gospublic.infra.warehouse import Warehouse

VALID = {
    "version": 1,
    "keep": {"months": 2, "reread_window": True},
    "after_publication": True,
    "tables": ["staging.vk_post_observations", "staging.vk_page_observations"],
}


def test_the_shipped_rule_parses_and_names_every_table_the_cleanup_knows() -> None:
    rule = load_rule()
    assert rule == RetentionRule(months=2, reread_window=True, after_publication=True, tables=RETAINABLE)
    assert rule.horizon(date(2026, 12, 4), window_days=7) == date(2026, 10, 25)


def test_a_valid_rule_keeps_the_cleanups_table_order() -> None:
    assert parse_rule(VALID).tables == ("staging.vk_page_observations", "staging.vk_post_observations")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(version=2), "version must be 1"),
        (lambda r: r.update(extra=1), "unknown keys extra"),
        (lambda r: r["keep"].update(days=3), "unknown keys keep.days"),
        (lambda r: r["keep"].update(months=0), "keep.months must be a whole number"),
        (lambda r: r["keep"].update(months="2"), "keep.months must be a whole number"),
        (lambda r: r["keep"].update(months=True), "keep.months must be a whole number"),
        (lambda r: r["keep"].update(reread_window="yes"), "keep.reread_window must be true or false"),
        (lambda r: r.update(after_publication=None), "after_publication must be true or false"),
        (lambda r: r.update(keep=[2]), "keep must be a mapping"),
        (lambda r: r.update(tables="staging.vk_post_observations"), "tables must be a list"),
        (lambda r: r.update(tables=["staging.network_rebuild_posts"]), "cannot be cleaned"),
        (lambda r: r.update(tables=["core.fct_post"]), "cannot be cleaned"),
        (
            lambda r: r.update(tables=["staging.vk_post_observations; DROP TABLE core.fct_post"]),
            "cannot be cleaned",
        ),
        (lambda r: r.update(tables=["staging.vk_post_observations"] * 2), "a table twice"),
    ],
)
def test_a_rule_out_of_bounds_is_refused_naming_its_key(change, message: str) -> None:
    raw = copy.deepcopy(VALID)
    change(raw)
    with pytest.raises(RetentionRuleError, match=message):
        parse_rule(raw, "retention.yaml")


def test_an_unreadable_file_is_refused_naming_it(tmp_path) -> None:
    path = tmp_path / "retention.yaml"
    path.write_text("version: [1\n", encoding="utf-8")
    with pytest.raises(RetentionRuleError, match=str(path)):
        load_rule(path)
    path.write_text(yaml.safe_dump({**VALID, "version": 3}), encoding="utf-8")
    with pytest.raises(RetentionRuleError, match="version must be 1"):
        load_rule(path)


def test_network_pages_go_one_network_day_at_a_time(migrated: Warehouse) -> None:
    """Each (network, day) before the horizon is its own partition, deleted and audited; a network
    the cleanup knows no load of is kept and reported; core is untouched."""
    wh = migrated
    rows = [
        (n, d)
        for n in ("ok", "tg", "xx")
        for d in (date(2025, 10, 30), date(2025, 10, 31), date(2025, 11, 1))
    ]
    for network, dt in rows:
        wh.execute(
            "INSERT INTO staging.network_page_observations"
            " (network, page_key, dt, subscribers, observed_at, load_id) VALUES (:n, 'p1', :d, 10, :t, 'l')",
            {"n": network, "d": dt, "t": datetime(2025, 11, 2, tzinfo=UTC)},
        )
    wh.execute(
        "INSERT INTO core.fct_network_page_daily (network, page_key, dt, subscribers, observed_at, load_id)"
        " VALUES ('ok', 'p1', :d, 10, :t, 'l')",
        {"d": date(2025, 10, 30), "t": datetime(2025, 11, 2, tzinfo=UTC)},
    )
    rule = RetentionRule(
        months=1, reread_window=False, after_publication=False, tables=("staging.network_page_observations",)
    )
    horizon = rule.horizon(date(2025, 11, 20), window_days=7)
    assert horizon == date(2025, 11, 1)

    result = clean_staging(wh, rule, horizon)
    gone = [(n, d) for n, d in rows if n != "xx" and d < horizon]
    assert [(p["network"], date.fromisoformat(p["dt"])) for p in result["deleted"]] == sorted(
        gone, key=lambda k: (k[1], k[0])
    )
    assert result["rows_deleted"] == len(gone)
    assert result["skipped"] == [
        "staging.network_page_observations xx:2025-10-30",
        "staging.network_page_observations xx:2025-10-31",
    ]
    left = wh.query("SELECT network, dt FROM staging.network_page_observations ORDER BY network, dt")
    assert [(r["network"], r["dt"]) for r in left] == sorted(set(rows) - set(gone))
    audited = wh.query(
        "SELECT network, dt, rows_deleted, rows_folded FROM audit.staging_retention ORDER BY dt, network"
    )
    assert [(r["network"], r["dt"], r["rows_deleted"], r["rows_folded"]) for r in audited] == [
        (n, d, 1, 0) for n, d in sorted(gone, key=lambda k: (k[1], k[0]))
    ]
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_network_page_daily") == 1
    assert clean_staging(wh, rule, horizon)["deleted"] == []  # idempotent


def test_each_fold_writes_every_column_of_its_retired_table(migrated: Warehouse) -> None:
    """The folds' SQL is rendered from FOLDS: a column added to a retired table must be folded too."""
    for table, fold in FOLDS.items():
        assert fold.source == table
        written = {*fold.scope, *fold.keys, *fold.values, "observed_at", "dt", "load_id"}
        written |= {"first_seen_at"} if fold.first_seen else set()
        schema, name = fold.retired.split(".")
        columns = migrated.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t",
            {"s": schema, "t": name},
        )
        assert {row["column_name"] for row in columns} == written, fold.retired


@pytest.mark.parametrize(
    "change",
    [
        {"source": "staging.x; DROP TABLE core.fct_post"},
        {"retired": "retired"},
        {"keys": ("post_id", "1 = 1 OR post_id")},
        {"scope": ("Network",)},
        {"values": ('"views"',)},
    ],
)
def test_a_fold_renders_only_plain_identifiers(change: dict[str, object]) -> None:
    fold = dataclasses.replace(FOLDS["staging.network_post_observations"], **change)
    with pytest.raises(ValueError, match="not plain identifiers"):
        _ = fold.sql
