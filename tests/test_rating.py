"""Methodologies (validation on load, presets) and scoring: points, re-weighting, dense ranks, zones."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from gospublic.infra import settings
from transforms.methodology import MethodologyError, load_all, load_methodology
from transforms.rating import assign_groups, score_month

MINIMAL = """
id: test
version: 1
title: Тест
groups: {by: registry}
min_incidents: 2
zones: {green: 80, yellow: 60}
indicators:
  - {id: speed, caption: "Скорость", expression: im_answer_hours_mean, direction: lower,
     scoring: {type: linear, worst: 48, best: 0}, weight: 30, required: false}
  - {id: happy, caption: "Удовлетворённость", expression: satisfied_share, direction: higher,
     scoring: {type: steps, steps: [{at: 0.8, points: 100}, {at: 0.5, points: 50}]},
     weight: 50, required: true}
  - {id: place, caption: "Место по ответам", expression: 1 - overdue_share, direction: higher,
     scoring: {type: percentile}, weight: 20, required: false}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_load_and_weigh_as_documented() -> None:
    presets = load_all(settings.project_home())
    assert {"penza-2025", "ulyanovsk-2021-pos", "ulyanovsk-2021-im", "kirov-2024", "samara-2022"} <= set(
        presets
    )
    # what each preset scores is tested by hand in tests/rating/; here, the rules docs/rating.md names
    penza = presets["penza-2025"]
    quality = {"satisfied", "not_formal", "specific", "not_template", "polite", "not_redirect"}
    assert sum(i.weight for i in penza.indicators if i.id in quality) / penza.total_weight == 0.75
    assert penza.group_order() == ["ОМСУ г. Пензы", "ОМСУ районов", "ОИВ", "РСО и УК"]
    assert presets["ulyanovsk-2021-im"].rated_when.incidents_by_source == (("im", 2),)
    assert presets["ulyanovsk-2021-pos"].rated_when.incidents_by_source == (("pos", 2),)
    within = next(i for i in presets["ulyanovsk-2021-im"].indicators if i.id == "im_within_8h")
    assert within.measure is not None and (within.measure.clock, within.measure.limit) == ("work_hours", 8)
    for preset in presets.values():  # a message indicator reads one source, ПОС time in working days
        for indicator in preset.indicators:
            other = {"im": "pos_", "pos": "im_"}.get(indicator.source)
            assert not other or other not in indicator.expression, (preset.id, indicator.id)
            measure = indicator.measure
            if measure and measure.source == "pos" and measure.type != "on_time":  # on_time: no clock
                assert measure.clock == "work_days", (preset.id, indicator.id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("direction: lower", "direction: sideways"), "indicators[1].direction must be higher or lower"),
        (("weight: 30", "weight: 0"), "indicators[1].weight must be positive"),
        (("expression: im_answer_hours_mean", "expression: 1; DROP TABLE core.dim_org"), "must be a column"),
        (("id: speed", "id: incidents"), "must be a name other than"),
        (("id: happy", "id: speed"), "id 'speed' is repeated"),
        (("worst: 48, best: 0", "worst: 0, best: 48"), "contradict the direction"),
        (("type: percentile", "type: magic"), "scoring.type must be one of"),
        (("green: 80, yellow: 60", "green: 50, yellow: 60"), "zones need"),
        (("title: Тест\n", ""), "title is required"),
        (
            ("weight: 30, required: false", "weight: 30, missing: reweight"),
            "indicators[1].missing is no longer a key: use required",
        ),
        (
            ("weight: 30, required: false", "weight: 30, required: maybe"),
            "indicators[1].required must be true or false",
        ),
    ],
)
def test_invalid_methodologies_are_refused_naming_the_field(tmp_path: Path, change, message) -> None:
    with pytest.raises(MethodologyError, match=re.escape(message)) as caught:
        load_methodology(write(tmp_path, MINIMAL.replace(*change)))
    assert str(tmp_path / "m.yaml") in str(caught.value)


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_scores_are_sums_of_reweighted_points_with_dense_ranks_and_zones(tmp_path: Path) -> None:
    methodology = load_methodology(write(tmp_path, MINIMAL))
    base = frame(
        org_id=["a", "b", "c", "d", "e"],
        rating_group=["G", "G", "G", "G", "H"],
        incidents=[10, 10, 10, 10, 1],
        pages=[1, 1, 1, 1, 1],
        speed=[0.0, 24.0, None, 0.0, 5.0],  # c has no answers: speed drops, its weight spreads
        happy=[0.9, 0.6, None, 0.9, 1.0],  # missing → 0 points, weight kept
        place=[1.0, 0.5, 0.5, 1.0, 1.0],
    )
    indicators, bodies = score_month(base, methodology)
    bodies = bodies.set_index("org_id")
    # a: speed 100×30 + happy 100×50 + place 100×20 → 100; d ties with a.
    assert bodies.loc["a", "score"] == 100.0 and bodies.loc["d", "score"] == 100.0
    # b: speed 50 × 0.3 + happy 50 × 0.5 + place 33.3 × 0.2 (beats or equals 1 of 3 others) → 46.7.
    assert bodies.loc["b", "score"] == 46.7
    # c: no speed — weights 50 + 20 become 71.43 % and 28.57 %; happy missing → 0; place 33.3 → 9.5.
    c = indicators[indicators["org_id"] == "c"].set_index("indicator_id")
    assert set(c.index) == {"speed", "happy", "place"} and c["weight"].sum() == pytest.approx(100.0)
    assert c.loc["speed", "weight"] == 0 and c.loc["speed", "missing"]  # listed, weight 0 (spec 24)
    assert c.loc["speed", "missing_reason"] == "нет данных за месяц"
    assert c.loc["happy", "missing"] and c.loc["happy", "weight"] == pytest.approx(71.428571)
    assert bodies.loc["c", "score"] == 9.5 == round(c["weighted_points"].sum(), 1)
    assert bodies.loc[["a", "d", "b"], "rank"].tolist() == [1, 1, 2]  # dense: ties share, no gap
    assert bodies.loc["a", "zone"] == "green" and bodies.loc["b", "zone"] == "red"
    assert not bodies.loc["e", "is_rated"] and pd.isna(bodies.loc["e", "score"])
    assert bodies.loc["e", "not_rated_reason"] == "меньше 2 сообщений за месяц"
    assert (bodies.loc[["a", "b", "c", "d"], "ranked_in_group"] == 4).all()


def test_groups_by_volume_as_penza(tmp_path: Path) -> None:
    methodology = load_methodology(
        write(
            tmp_path,
            MINIMAL.replace("groups: {by: registry}", "groups: {by: volume, volume: {high: 100, low: 30}}"),
        )
    )
    groups = assign_groups(frame(incidents=[101, 100, 31, 30, 0], rating_group=[None] * 5), methodology)
    assert groups.tolist() == [
        "Более 100 сообщений", "От 31 до 100 сообщений", "От 31 до 100 сообщений",
        "30 сообщений и менее", "30 сообщений и менее",
    ]  # fmt: skip


def test_report_card_compares_a_body_with_its_own_rated_group() -> None:
    from gospublic.rating.publish import CardData

    table = pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "d", "x"],
            "rating_group": ["g1", "g1", "g1", "g2", "g1"],
            "is_rated": [True, True, True, True, False],
        }
    )
    indicators = pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "d", "a", "b"],
            "indicator_id": ["speed", "speed", "speed", "speed", "tone", "tone"],
            "raw_value": [1.0, 5.0, None, 100.0, 0.5, 0.7],
        }
    )
    cards = CardData.of(table, indicators)
    speed = cards.group_stats[("g1", "speed")]
    assert (speed["median"], speed["max"], speed["min"]) == (3.0, 5.0, 1.0)  # d is in g2, c has no value
    assert cards.group_stats[("g2", "speed")]["median"] == 100.0
    assert ("g1", "tone") in cards.group_stats and ("g2", "tone") not in cards.group_stats
    assert [row["indicator_id"] for row in cards.own["a"]] == ["speed", "tone"]
    assert cards.bodies["x"]["rating_group"] == "g1"
