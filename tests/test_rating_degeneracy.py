"""The degeneracy report (transforms.rating_degeneracy) on small hand-made frames shaped like
``score_month``'s output; its storing, logging and return by the rating step are tested in
tests/test_rating_gate.py (both engines)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from transforms.methodology import Methodology, load_methodology
from transforms.rating_degeneracy import Degeneracy, find_degeneracies, is_required, min_group_size

NBSP = "\u00a0"
YAML = """
id: tiny
version: 1
title: Маленькая методика
groups: {by: registry}
indicators:
  - {id: on_time, caption: "Доля ответов в срок", expression: 1 - overdue_share, direction: higher,
     scoring: {type: linear, worst: 0.5, best: 1.0}, weight: 50}
  - {id: satisfied, caption: "Доля удовлетворённых", expression: satisfied_share, direction: higher,
     scoring: {type: linear, worst: 0.3, best: 0.9}, weight: 50}
"""


@pytest.fixture
def methodology(tmp_path: Path) -> Methodology:
    path = tmp_path / "tiny.yaml"
    path.write_text(YAML, encoding="utf-8")
    return load_methodology(path)


def frames(
    groups: dict[str, list[tuple[float | None, float | None, float, str]]],
    unrated: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``groups``: caption → bodies as (on_time points, satisfied points, score, zone); None: the
    indicator is missing (its row absent, as for a re-weighted optional indicator)."""
    indicators, bodies = [], []
    for group, members in groups.items():
        for n, (on_time, satisfied, score, zone) in enumerate(members):
            org = f"{group}-{n:02d}"
            bodies.append({"org_id": org, "rating_group": group, "incidents": 20, "is_rated": True,
                           "not_rated_reason": None, "score": score, "zone": zone})  # fmt: skip
            for indicator, points in (("on_time", on_time), ("satisfied", satisfied)):
                if points is not None:
                    indicators.append({"org_id": org, "indicator_id": indicator, "raw_value": points / 100,
                                       "points": points, "weight": 50.0, "weighted_points": points / 2,
                                       "missing": False, "missing_reason": None})  # fmt: skip
    for group, count in (unrated or {}).items():
        for n in range(count):
            bodies.append({"org_id": f"{group}-x{n}", "rating_group": group, "incidents": 1,
                           "is_rated": False, "not_rated_reason": "мало сообщений", "score": None,
                           "zone": None})  # fmt: skip
    return pd.DataFrame(indicators), pd.DataFrame(bodies)


def kinds(found: list[Degeneracy]) -> list[tuple[str, str | None, str | None]]:
    return [(d.kind, d.group, d.indicator) for d in found]


def test_a_varied_rating_has_no_degeneracy(methodology: Methodology) -> None:
    groups = {
        "ОИВ": [(100, 80, 90, "green"), (70, 40, 55, "red"), (50, 60, 55, "red"), (90, 20, 55, "red")],
        "ОМСУ": [(40, 80, 60, "yellow"), (80, 90, 85, "green"), (60, 10, 35, "red")],
    }
    assert find_degeneracies(*frames(groups), methodology) == []


def test_equal_points_for_nine_in_ten_bodies_are_reported(methodology: Methodology) -> None:
    """9 of 10 bodies get 100 for being on time: reported; 8 of 10 is not."""
    varied = [10.0, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    zones = ["red", "yellow"] * 5
    nine = [(100.0 if n < 9 else 40.0, varied[n], 50 + n, zones[n]) for n in range(10)]
    found = find_degeneracies(*frames({"ОИВ": nine}), methodology)
    (finding,) = found
    assert kinds(found) == [("equal_points", "ОИВ", "on_time")]
    assert dict(finding.counts) == {"equal": 9, "rated": 10, "points": 100.0, "share": 0.9}
    assert finding.message_ru == (
        f"«Доля ответов в срок», группа «ОИВ»: одинаковый балл (100,0) у 9 из 10{NBSP}органов "
        f"в рейтинге (90{NBSP}%) — показатель не различает органы"
    )
    eight = [(100.0 if n < 8 else 40.0 + n, varied[n], 50 + n, zones[n]) for n in range(10)]
    assert find_degeneracies(*frames({"ОИВ": eight}), methodology) == []


def test_equal_points_over_all_groups_are_reported_once_more(methodology: Methodology) -> None:
    """Each group alone varies too little to count (3 of 4 equal); all groups together: 10 of 11."""
    groups = {
        "А": [(100, 10, 50, "red"), (100, 30, 60, "yellow"), (100, 50, 70, "yellow"), (100, 70, 80, "green")],
        "Б": [(100, 15, 50, "red"), (100, 35, 60, "yellow"), (100, 55, 70, "yellow"), (60, 75, 80, "green")],
        "В": [(100, 20, 50, "red"), (100, 40, 60, "yellow"), (100, 60, 70, "yellow")],
    }
    found = find_degeneracies(*frames(groups), methodology)
    assert kinds(found) == [
        ("equal_points", "А", "on_time"),
        ("equal_points", "В", "on_time"),
        ("equal_points", None, "on_time"),
    ]
    assert found[-1].message_ru.startswith(
        "«Доля ответов в срок», все группы: одинаковый балл (100,0) у 10 из 11"
    )


def test_a_group_below_the_minimum_size_is_reported(methodology: Methodology) -> None:
    groups = {
        "ОИВ": [(100, 80, 90, "green"), (70, 40, 55, "red"), (50, 60, 55, "red")],
        "РСО": [(40, 80, 60, "yellow"), (80, 90, 85, "green")],
    }
    found = find_degeneracies(*frames(groups, unrated={"РСО": 3, "Учреждения": 2}), methodology)
    assert kinds(found) == [("small_group", "РСО", None), ("small_group", "Учреждения", None)]
    assert dict(found[0].counts) == {"rated": 2, "bodies": 5, "minimum": 3}
    assert found[0].message_ru == (
        f"Группа «РСО»: в рейтинге 2{NBSP}органа из 5 в группе — меньше минимума (3); "
        "места в такой группе почти ничего не говорят"
    )
    assert f"в рейтинге 0{NBSP}органов из 2 в группе" in found[1].message_ru
    assert min_group_size(methodology) == 3


def test_an_indicator_missing_for_more_than_half_a_group_is_reported(methodology: Methodology) -> None:
    groups = {
        "ОИВ": [
            (100, None, 90, "green"),
            (70, None, 55, "red"),
            (50, 60, 55, "red"),
            (90, None, 70, "yellow"),
        ],
        "ОМСУ": [(40, None, 60, "yellow"), (80, 90, 85, "green"), (60, None, 35, "red"), (30, 15, 20, "red")],
    }
    found = find_degeneracies(*frames(groups), methodology)
    assert kinds(found) == [("missing_indicator", "ОИВ", "satisfied")], "2 of 4 is not more than half"
    (finding,) = found
    assert finding.org_ids == ("ОИВ-00", "ОИВ-01", "ОИВ-03")
    assert finding.message_ru == (
        f"«Доля удовлетворённых», группа «ОИВ»: нет данных у 3 из 4{NBSP}органов в рейтинге (75{NBSP}%); "
        "у них его вес распределён по другим показателям"
    )


def test_a_missing_flag_counts_as_missing_though_the_row_is_there(methodology: Methodology) -> None:
    """The issue-24 contract: a missing required indicator keeps its row (0 points, its weight)."""
    groups = {"ОИВ": [(100, 10, 90, "green"), (70, 20, 55, "red"), (50, 60, 55, "red")]}
    indicators, bodies = frames(groups)
    flagged = (indicators["indicator_id"] == "satisfied") & (indicators["org_id"] != "ОИВ-02")
    indicators.loc[flagged, ["missing", "points", "raw_value"]] = [True, 0.0, None]
    (finding,) = find_degeneracies(indicators, bodies, methodology)
    assert (finding.kind, finding.indicator, finding.org_ids) == (
        "missing_indicator",
        "satisfied",
        ("ОИВ-00", "ОИВ-01"),
    )


def test_one_zone_and_a_shared_full_score_are_reported(methodology: Methodology) -> None:
    groups = {
        "ОИВ": [(100, 100, 100.0, "green"), (90, 95, 100.0, "green"), (80, 70, 85.2, "green")],
        "ОМСУ": [(100, 100, 100.0, "green"), (80, 90, 85, "green"), (60, 10, 35, "red")],
    }
    found = find_degeneracies(*frames(groups), methodology)
    assert kinds(found) == [("one_zone", "ОИВ", None), ("full_score", "ОИВ", None)], (
        "one 100 alone is no finding"
    )
    assert found[0].message_ru == f"Группа «ОИВ»: все 3{NBSP}органа в рейтинге — в зелёной зоне"
    assert found[1].org_ids == ("ОИВ-00", "ОИВ-01")
    assert found[1].message_ru.startswith(
        f"Группа «ОИВ»: 2{NBSP}органа из 3{NBSP}органов в рейтинге набрали 100 баллов"
    )


def test_findings_serialize_for_the_log_and_the_store(methodology: Methodology) -> None:
    groups = {"РСО": [(40, 80, 60, "yellow")]}
    (finding,) = find_degeneracies(*frames(groups), methodology)
    data = json.loads(json.dumps(finding.as_dict(), ensure_ascii=False))
    assert data == {
        "kind": "small_group", "group": "РСО", "indicator": None,
        "counts": {"rated": 1, "bodies": 1, "minimum": 3}, "message_ru": finding.message_ru, "org_ids": [],
    }  # fmt: skip
    with pytest.raises(AttributeError):
        finding.kind = "other"  # type: ignore[misc]


def test_required_is_read_from_the_indicator(methodology: Methodology) -> None:
    class Old:
        missing = "zero"

    class New:
        required = False
        missing = "zero"

    assert is_required(Old()) and not is_required(New())
