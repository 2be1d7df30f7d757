"""transforms.rating_compare on hand-made frames: place moves, zone changes, score changes, the
indicator that moved each body most, entries and exits, groups in publication order."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.rating_compare import Rated, compare

OMSU, OIV = "ОМСУ", "ОИВ"


def bodies(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["org_id", "rating_group", "is_rated", "score", "rank", "zone"])


def indicators(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["org_id", "indicator_id", "weighted_points"])
    return frame.assign(raw_value=0.5, points=frame["weighted_points"] * 2, weight=50.0)


BEFORE = Rated(
    bodies(
        [
            ("a1", OMSU, True, 80.0, 1, "green"),
            ("a2", OMSU, True, 70.0, 2, "yellow"),
            ("a3", OMSU, True, 50.0, 3, "red"),
            ("b1", OIV, True, 90.0, 1, "green"),
            ("b2", OIV, True, 60.0, 2, "yellow"),
            ("c1", OIV, True, 55.0, 3, "red"),
            ("d1", OIV, False, None, None, None),
            ("n1", OIV, False, None, None, None),
        ]
    ),
    indicators(
        [
            ("a1", "speed", 50.0),
            ("a1", "quality", 30.0),
            ("a2", "speed", 40.0),
            ("a2", "quality", 30.0),
            ("a3", "speed", 25.0),
            ("a3", "quality", 25.0),
            ("b1", "speed", 45.0),
            ("b1", "quality", 45.0),
            ("b2", "speed", 30.0),
            ("b2", "quality", 30.0),
            ("c1", "speed", 55.0),
        ]
    ),
)
AFTER = Rated(
    bodies(
        [
            ("a1", OMSU, True, 65.0, 2, "yellow"),
            ("a2", OMSU, True, 72.0, 1, "yellow"),
            ("a3", OMSU, True, 50.0, 3, "red"),
            ("b1", OIV, True, 90.0, 1, "green"),
            ("b2", OIV, True, 61.0, 2, "yellow"),
            ("c1", OIV, False, None, None, None),
            ("d1", OIV, True, 58.0, 3, "red"),
            ("n1", OIV, False, None, None, None),
        ]
    ),
    indicators(
        [
            ("a1", "speed", 40.0),
            ("a1", "quality", 25.0),
            ("a2", "speed", 40.0),
            ("a2", "quality", 32.0),
            ("a3", "speed", 25.0),
            ("a3", "quality", 25.0),
            ("b1", "speed", 45.0),
            ("b1", "quality", 45.0),
            ("b2", "speed", 31.0),
            ("b2", "quality", 30.0),
            ("d1", "speed", 58.0),
        ]
    ),
)


def test_moves_zones_scores_and_the_indicator_behind_them() -> None:
    result = compare(BEFORE, AFTER, group_order=[OMSU, OIV])
    table = result.bodies.set_index("org_id")
    # bodies never rated on either side are left out; groups in publication order, then by place
    assert result.bodies["org_id"].tolist() == ["a2", "a1", "a3", "b1", "b2", "d1", "c1"]
    assert result.group_order == (OMSU, OIV)
    assert table.loc["a1", "place_move"] == -1 and table.loc["a2", "place_move"] == 1
    assert table.loc["a3", "place_move"] == 0 and table.loc["b2", "place_move"] == 0
    assert pd.isna(table.loc["d1", "place_move"]) and pd.isna(table.loc["c1", "place_move"])
    assert table["moved"].to_dict() == {
        "a1": True, "a2": True, "a3": False, "b1": False, "b2": False, "c1": True, "d1": True,
    }  # fmt: skip
    assert table["zone_changed"][table["zone_changed"]].index.tolist() == ["a1"]
    assert table.loc["a1", "score_change"] == pytest.approx(-15.0)
    assert table.loc["a2", "score_change"] == pytest.approx(2.0)
    assert table.loc["b2", "score_change"] == pytest.approx(1.0)
    # the indicator whose weighted points changed most; one side only counts whole
    assert table.loc["a1", ["top_indicator", "top_indicator_change"]].tolist() == ["speed", -10.0]
    assert table.loc["a2", ["top_indicator", "top_indicator_change"]].tolist() == ["quality", 2.0]
    assert table.loc["b2", ["top_indicator", "top_indicator_change"]].tolist() == ["speed", 1.0]
    assert table.loc["c1", ["top_indicator", "top_indicator_change"]].tolist() == ["speed", -55.0]
    assert table.loc["d1", ["top_indicator", "top_indicator_change"]].tolist() == ["speed", 58.0]
    assert pd.isna(table.loc["a3", "top_indicator"]) and pd.isna(table.loc["b1", "top_indicator"])

    summary = result.summary
    assert (summary.rated_before, summary.rated_after, summary.compared) == (6, 6, 5)
    assert (summary.moved, summary.moved_up, summary.moved_down) == (4, 1, 1)
    assert (summary.zone_changed, summary.score_changed, summary.group_changed) == (1, 3, 0)
    assert (summary.entered, summary.left) == (1, 1)
    assert (summary.largest_rise, summary.largest_fall) == (2.0, -15.0)
    assert set(result.changed["org_id"]) == {"a1", "a2", "b2", "c1", "d1"}


def test_indicator_changes_cover_both_sides() -> None:
    changes = compare(BEFORE, AFTER).indicators.set_index(["org_id", "indicator_id"])["change"]
    assert changes[("a1", "speed")] == -10.0 and changes[("a1", "quality")] == -5.0
    assert changes[("c1", "speed")] == -55.0 and changes[("d1", "speed")] == 58.0
    assert len(changes) == 12  # 10 on both sides, c1 before only, d1 after only


def test_a_body_changing_group_has_no_place_move_but_moved() -> None:
    before = Rated(bodies([("x", OMSU, True, 70.0, 1, "yellow")]), indicators([("x", "speed", 70.0)]))
    after = Rated(bodies([("x", OIV, True, 70.0, 1, "yellow")]), indicators([("x", "speed", 70.0)]))
    result = compare(before, after)
    (row,) = result.bodies.itertuples()
    assert pd.isna(row.place_move) and row.moved and row.group_changed and not row.zone_changed
    assert row.rating_group == OIV and row.rating_group_before == OMSU
    assert (result.summary.moved, result.summary.group_changed, result.summary.moved_up) == (1, 1, 0)
    assert pd.isna(row.top_indicator)


def test_unknown_groups_follow_the_publication_order_alphabetically() -> None:
    result = compare(BEFORE, AFTER, group_order=["Нет такой", OIV])
    assert result.group_order == (OIV, OMSU)


def test_identical_ratings_compare_as_unchanged() -> None:
    result = compare(BEFORE, BEFORE)
    assert result.summary.moved == result.summary.zone_changed == result.summary.score_changed == 0
    assert result.changed.empty and result.bodies["top_indicator"].isna().all()


def test_frames_without_the_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        compare(Rated(BEFORE.bodies.drop(columns="zone"), BEFORE.indicators), AFTER)
