"""Page indicators over one network or all (issue 28), on DuckDB and PostgreSQL.

``mart.rating_base`` is built by its own model (sql/mart/060_rating_base.sql) from page activity
rows of VK, OK, Telegram and MAX pages: the VK figures (pages, posts_per_week, engagement_rate_pct,
photo_video_share, replied_share, compliance_score) read the VK page only; the *_all_networks
figures every page of the body. An indicator with ``networks: all`` scores from the latter.

Fixture (November 2025, 30 days; posts a week = posts × 7 ÷ 30):
  n-both  VK page: 12 posts (2.8 a week), ER 2.0, photo/video 0.5, 5 of 10 comments answered,
          compliance 80; OK page: 30 posts (7.0), ER 4.0, photo/video 1.0; Telegram channel:
          6 posts (1.4), ER 3.0, photo/video 0.0; MAX channel: 9 posts (2.1), no ER (MAX gives
          views only), photo/video 1.0.
          VK: pages 1, 2.8 a week, ER 2.0, photo/video 0.5. All: pages 4, (2.8 + 7.0 + 1.4 + 2.1) ÷ 4
          = 3.325 a week, ER (2.0 + 4.0 + 3.0) ÷ 3 = 3.0 (MAX left out), photo/video 2.5 ÷ 4 = 0.625.
  n-vk    VK page only: 3 posts (0.7 a week), ER 1.0; all-networks figures equal the VK ones.
  n-ok    OK page only, no message: in the month's base for its official page; VK pages 0 and no
          VK figure, all networks: 1 page, 14 posts (3.2667 a week), ER 0.5, photo/video 0.25.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from gospublic.infra import model_runner
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.snapshot import rating_inputs
from transforms.methodology import MethodologyError, compile_indicators, load_methodology
from transforms.rating import score_month

MONTH, MONTH_END = date(2025, 11, 1), date(2025, 12, 1)
DAYS = 30

# page_id, org_id, network, posts, engagement_rate_pct, photo_video_share, citizen, replied comments
PAGES = [
    ("vk-both", "n-both", "vk", 12, 2.0, 0.5, 10, 5),
    ("ok-both", "n-both", "ok", 30, 4.0, 1.0, None, None),
    ("tg-both", "n-both", "tg", 6, 3.0, 0.0, None, None),
    ("max-both", "n-both", "max", 9, None, 1.0, None, None),
    ("vk-only", "n-vk", "vk", 3, 1.0, 0.0, 0, 0),
    ("ok-only", "n-ok", "ok", 14, 0.5, 0.25, None, None),
]
COMPLIANCE = {"vk-both": 80.0, "vk-only": 40.0}  # VK's checks: VK pages only


def _seed(warehouse: Warehouse) -> None:
    migrate(warehouse)
    activity = pd.DataFrame(
        [
            {
                "page_id": page, "org_id": org, "vk_group_id": n if network == "vk" else None,
                "month": MONTH, "days_in_month": DAYS, "posts": posts, "days_with_post": min(posts, DAYS),
                "longest_gap_days": 0, "photo_video_share": media, "avg_views": None,
                "engagement_rate_pct": er, "citizen_comments": citizen, "replied_comments": replied,
                "replied_share": replied / citizen if citizen else None,
                "median_reply_delay_minutes": None, "subscribers_end": 1000, "network": network,
            }
            for n, (page, org, network, posts, er, media, citizen, replied) in enumerate(PAGES, start=1)
        ]
    )  # fmt: skip
    for column in ("vk_group_id", "citizen_comments", "replied_comments", "subscribers_end"):
        activity[column] = activity[column].astype("Int64")
    for column in ("photo_video_share", "avg_views", "engagement_rate_pct", "replied_share",
                   "median_reply_delay_minutes"):  # fmt: skip
        activity[column] = activity[column].astype("float64")
    compliance = pd.DataFrame(
        [
            {
                "page_id": page, "org_id": org, "month": MONTH, "observed_on": date(2025, 11, 30),
                "posts_per_week": posts * 7.0 / DAYS, "posts_per_week_ok": posts * 7.0 / DAYS >= 3,
                "views_share_ok": False, "score": COMPLIANCE[page], "failed_checks": "views_share",
                "network": "vk",
            }
            for page, org, network, posts, *_ in PAGES
            if network == "vk"
        ]
    )  # fmt: skip
    with warehouse.begin() as conn:
        for org in ("n-both", "n-vk", "n-ok"):
            conn.execute(
                sa.text(
                    "INSERT INTO core.dim_org (org_id, version, name, kind, rating_group, region_code, "
                    "region_name, timezone, valid_from, is_current, load_id) VALUES (:o, 1, :o, 'ОИВ', "
                    "'ОИВ', '58', 'Пензенская область', 'Europe/Moscow', DATE '2020-01-01', TRUE, 'test')"
                ),
                {"o": org},
            )
        warehouse.bulk_load_in(conn, "mart.page_activity_monthly", activity)
        warehouse.bulk_load_in(conn, "mart.page_compliance_monthly", compliance)
        model_runner.run_models(
            conn, ["mart/060_rating_base.sql"], {"month_start": MONTH, "month_end": MONTH_END}
        )


def _base(warehouse: Warehouse) -> dict[str, dict]:
    rows = warehouse.query(
        "SELECT org_id, pages, posts_per_week, engagement_rate_pct, photo_video_share, replied_share, "
        "compliance_score, pages_all_networks, posts_per_week_all_networks, "
        "engagement_rate_pct_all_networks, photo_video_share_all_networks "
        "FROM mart.rating_base WHERE month = :m ORDER BY org_id",
        {"m": MONTH},
    )
    return {r["org_id"]: dict(r) for r in rows}


def test_all_networks_figures_count_every_page_and_vk_figures_vk_only(warehouse) -> None:
    _seed(warehouse)
    base = _base(warehouse)
    assert set(base) == {"n-both", "n-vk", "n-ok"}
    both = base["n-both"]
    # VK figures: the VK page alone, as before migration 0029
    assert both["pages"] == 1
    assert both["posts_per_week"] == pytest.approx(2.8)
    assert both["engagement_rate_pct"] == pytest.approx(2.0)
    assert both["photo_video_share"] == pytest.approx(0.5)
    assert both["replied_share"] == pytest.approx(0.5)
    assert both["compliance_score"] == pytest.approx(80.0)
    # all networks: VK, OK, Telegram and MAX; a network without the metric left out of its average
    assert both["pages_all_networks"] == 4
    assert both["posts_per_week_all_networks"] == pytest.approx((2.8 + 7.0 + 1.4 + 2.1) / 4)
    assert both["engagement_rate_pct_all_networks"] == pytest.approx(3.0)
    assert both["photo_video_share_all_networks"] == pytest.approx(0.625)
    vk = base["n-vk"]
    assert (vk["pages"], vk["pages_all_networks"]) == (1, 1)
    assert vk["posts_per_week"] == pytest.approx(0.7)
    assert vk["posts_per_week_all_networks"] == pytest.approx(0.7)
    assert vk["engagement_rate_pct_all_networks"] == pytest.approx(vk["engagement_rate_pct"])
    ok = base["n-ok"]
    assert (ok["pages"], ok["pages_all_networks"]) == (0, 1)
    assert ok["posts_per_week"] is None and ok["engagement_rate_pct"] is None
    assert ok["posts_per_week_all_networks"] == pytest.approx(14 * 7 / 30)
    assert ok["engagement_rate_pct_all_networks"] == pytest.approx(0.5)
    assert ok["photo_video_share"] is None
    assert ok["photo_video_share_all_networks"] == pytest.approx(0.25)


METHODOLOGY = """\
id: networks-test
version: 1
title: Активность госпабликов
groups: {by: all}
min_group_size: 1
indicators:
  - id: activity_vk
    caption: Публикаций в неделю, ВКонтакте
    expression: posts_per_week
    source: pages
    scoring: {type: linear, worst: 0, best: 7}
    weight: 50
    required: true
  - id: activity_all
    caption: Публикаций в неделю, все соцсети
    expression: posts_per_week
    networks: all
    source: pages
    scoring: {type: linear, worst: 0, best: 7}
    weight: 50
    required: true
"""


def _write(tmp_path: Path, text: str, name: str = "networks-test.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_indicator_over_all_networks_scores_from_the_all_networks_column(warehouse, tmp_path) -> None:
    _seed(warehouse)
    methodology = load_methodology(_write(tmp_path, METHODOLOGY))
    assert [i.networks for i in methodology.indicators] == ["vk", "all"]
    compiled = {c.name: c for c in compile_indicators(methodology)}
    assert compiled['"activity_vk"'].columns == {"posts_per_week"}
    assert compiled['"activity_all"'].columns == {"posts_per_week_all_networks"}
    inputs = rating_inputs(warehouse, methodology, MONTH).set_index("org_id")
    assert inputs.at["n-both", "activity_vk"] == pytest.approx(2.8)
    assert inputs.at["n-both", "activity_all"] == pytest.approx(3.325)
    assert pd.isna(inputs.at["n-ok", "activity_vk"])
    assert inputs.at["n-ok", "activity_all"] == pytest.approx(14 * 7 / 30)
    indicators, bodies = score_month(inputs.reset_index(), methodology)
    scored = indicators.set_index(["org_id", "indicator_id"])
    assert scored.at[("n-both", "activity_all"), "points"] == pytest.approx(100 * 3.325 / 7)
    assert scored.at[("n-both", "activity_vk"), "points"] == pytest.approx(100 * 2.8 / 7)
    # n-ok has no VK page: the VK indicator is missing (required: 0 points), the all-networks one scores
    assert bool(scored.at[("n-ok", "activity_vk"), "missing"])
    assert scored.at[("n-ok", "activity_all"), "points"] == pytest.approx(100 * (14 / 30))
    assert bodies.set_index("org_id").at["n-ok", "score"] == pytest.approx(round(100 * (14 / 30) / 2, 1))


def _variant(old: str, new: str) -> str:
    assert old in METHODOLOGY
    return METHODOLOGY.replace(old, new, 1)


EXPRESSION_ALL = "    expression: posts_per_week\n    networks: all"
VK_INDICATOR_END = "    weight: 50\n    required: true\n  - id: activity_all"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("networks: all", "networks: facebook"),
            r"networks-test\.yaml: indicators\[2\]\.networks of indicator 'activity_all' must be vk .* "
            r"or all .*, not 'facebook'",
        ),
        (
            ("networks: all", "networks: [vk, ok]"),
            r"networks-test\.yaml: indicators\[2\]\.networks of indicator 'activity_all' must be vk",
        ),
        (
            (EXPRESSION_ALL, EXPRESSION_ALL.replace("posts_per_week", "replied_share")),
            r"networks-test\.yaml: indicators\[2\]\.networks: all, but replied_share has VK pages only",
        ),
        (
            (EXPRESSION_ALL, EXPRESSION_ALL.replace("posts_per_week", "incidents")),
            r"networks-test\.yaml: indicators\[2\]\.networks: all changes nothing",
        ),
        (
            (VK_INDICATOR_END, VK_INDICATOR_END.replace("weight: 50", "weight: 50\n    networks: vk")),
            None,  # vk said aloud: the default
        ),
        (
            (
                "    expression: posts_per_week\n    source",
                "    expression: posts_per_week_all_networks\n    source",
            ),
            r"networks-test\.yaml: indicators\[1\]\.expression reads posts_per_week_all_networks: "
            r"write posts_per_week with networks: all",
        ),
        (
            ("min_group_size: 1\n", "min_group_size: 1\nrated_when: {pages: 1, networks: ok}\n"),
            r"networks-test\.yaml: rated_when\.networks must be vk .* or all .*, not 'ok'",
        ),
        (
            (
                EXPRESSION_ALL + "\n    source: pages",
                "    measure: {type: on_time, source: im}\n    networks: all",
            ),
            r"networks-test\.yaml: indicators\[2\]\.networks of indicator 'activity_all' is for page "
            r"figures, not a measure",
        ),
    ],
)
def test_a_wrong_networks_declaration_is_refused_naming_file_and_indicator(
    tmp_path, change: tuple[str, str], message: str | None
) -> None:
    path = _write(tmp_path, _variant(*change))
    if message is None:
        assert load_methodology(path).indicators[0].networks == "vk"
        return
    with pytest.raises(MethodologyError, match=message):
        load_methodology(path)


def test_compile_refuses_an_unknown_network_of_a_methodology_built_in_code(tmp_path) -> None:
    methodology = load_methodology(_write(tmp_path, METHODOLOGY))
    wrong = dataclasses.replace(methodology.indicators[1], networks="ok")
    built = dataclasses.replace(methodology, indicators=(methodology.indicators[0], wrong))
    with pytest.raises(
        MethodologyError, match=r"networks-test\.yaml: indicators\[2\]\.networks must be one of"
    ):
        compile_indicators(built)


ALL_NETWORKS = "ВКонтакте, Одноклассники, Telegram, MAX"
VK_ONLY = METHODOLOGY[: METHODOLOGY.index("  - id: activity_all")]  # activity_vk alone


def _rated(warehouse: Warehouse, tmp_path: Path, text: str) -> tuple[dict, pd.DataFrame]:
    """Each body's reason for not being rated (None: rated) and the indicator rows of ``text``."""
    methodology = load_methodology(_write(tmp_path, text))
    indicators, bodies = score_month(rating_inputs(warehouse, methodology, MONTH), methodology)
    return dict(zip(bodies["org_id"], bodies["not_rated_reason"], strict=True)), indicators


def test_rated_when_pages_counts_the_pages_of_the_networks_the_indicators_read(warehouse, tmp_path) -> None:
    _seed(warehouse)

    def with_rule(text: str, rule: str) -> str:
        return text.replace("min_group_size: 1\n", f"min_group_size: 1\nrated_when: {rule}\n", 1)

    # an indicator reads every network: n-ok's OK page is an official page (VK pages 0, all 1)
    assert (
        load_methodology(_write(tmp_path, with_rule(METHODOLOGY, "{pages: 1}"))).rated_when_networks == "all"
    )
    reasons, _ = _rated(warehouse, tmp_path, with_rule(METHODOLOGY, "{pages: 1}"))
    assert reasons == {"n-both": None, "n-vk": None, "n-ok": None}
    # every indicator reads VK: VK pages count, as before
    reasons, _ = _rated(warehouse, tmp_path, with_rule(VK_ONLY, "{pages: 1}"))
    assert reasons == {"n-both": None, "n-vk": None, "n-ok": "нет официального госпаблика"}
    # said aloud: a VK page is the condition although an indicator reads every network
    reasons, _ = _rated(warehouse, tmp_path, with_rule(METHODOLOGY, "{pages: 1, networks: vk}"))
    assert reasons["n-ok"] == "нет официального госпаблика"
    # the short form too, and a count above one: n-both has 4 pages on all networks, 1 on VK
    reasons, _ = _rated(
        warehouse, tmp_path, METHODOLOGY.replace("min_group_size: 1\n", "min_group_size: 1\nmin_pages: 2\n")
    )
    two = f"меньше 2 госпабликов ({ALL_NETWORKS})"
    assert reasons == {"n-both": None, "n-vk": two, "n-ok": two}
    # every network said aloud over VK-only indicators: n-ok is rated, its required VK indicator
    # missing (0 points)
    reasons, indicators = _rated(warehouse, tmp_path, with_rule(VK_ONLY, "{pages: 1, networks: all}"))
    assert reasons == {"n-both": None, "n-vk": None, "n-ok": None}
    ok = indicators.set_index("org_id").loc["n-ok"]
    assert (bool(ok["missing"]), ok["points"]) == (True, 0.0)
    reasons, _ = _rated(warehouse, tmp_path, with_rule(VK_ONLY, "{pages: 5, networks: all}"))
    assert set(reasons.values()) == {f"меньше 5 госпабликов ({ALL_NETWORKS})"}


def test_min_volume_of_pages_counts_the_pages_of_the_indicators_networks(warehouse, tmp_path) -> None:
    _seed(warehouse)
    text = METHODOLOGY.replace("    source: pages\n", "    source: pages\n    min_volume: 2\n")
    methodology = load_methodology(_write(tmp_path, text))
    assert [(i.networks, i.min_volume) for i in methodology.indicators] == [("vk", 2), ("all", 2)]
    reasons, indicators = _rated(warehouse, tmp_path, text)
    assert set(reasons.values()) == {None}
    rows = indicators.set_index(["org_id", "indicator_id"])
    missing = {key: rows.at[key, "missing_reason"] for key in rows.index if rows.at[key, "missing"]}
    assert missing == {
        # VK: one page each at most
        ("n-both", "activity_vk"): "меньше 2 госпабликов",
        ("n-vk", "activity_vk"): "меньше 2 госпабликов",
        ("n-ok", "activity_vk"): "нет данных за месяц",  # no VK page: no VK figure
        # all networks: n-both has 4 pages and is scored; n-vk and n-ok have one
        ("n-vk", "activity_all"): f"меньше 2 госпабликов ({ALL_NETWORKS})",
        ("n-ok", "activity_all"): f"меньше 2 госпабликов ({ALL_NETWORKS})",
    }
    assert rows.at[("n-both", "activity_all"), "points"] == pytest.approx(100 * 3.325 / 7)


def test_a_vk_methodology_reads_no_all_networks_input(warehouse) -> None:
    """The shipped presets read VK pages: their inputs (and so their snapshots' fingerprints) are the
    columns they read before issue 28's networks — no all-networks count among them."""
    from gospublic.infra.settings import project_home
    from transforms.methodology import RESERVED_IDS, load_all

    _seed(warehouse)
    for methodology in load_all(project_home()).values():
        assert methodology.rated_when_networks == "vk", methodology.id
        assert {i.networks for i in methodology.indicators} == {"vk"}, methodology.id
        inputs = rating_inputs(warehouse, methodology, MONTH)
        assert sorted(inputs.columns) == sorted([*RESERVED_IDS, *(i.id for i in methodology.indicators)])
