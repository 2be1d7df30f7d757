"""The methodology language of issue 24: every key valid and invalid (the error names the file and
the field), and score_month under its rules — groups by kind, volume by source, kind then volume,
unmatched bodies, rated_when per source, min_volume, min_ratings, required indicators, measures and
statuses — on hand-computed frames."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.measures import body_measure, measure_values
from transforms.methodology import Measure, MethodologyError, load_methodology
from transforms.rating import assign_groups, score_month

BASE = """
id: lang
version: 1
title: Тест
groups: {by: registry}
zones: {green: 80, yellow: 60}
indicators:
  - {id: speed, caption: "Скорость", expression: im_answer_hours_mean, direction: lower,
     scoring: {type: linear, worst: 48, best: 0}, weight: 50}
  - {id: happy, caption: "Удовлетворённость", expression: satisfied_share, direction: higher,
     scoring: {type: linear, worst: 0, best: 1}, weight: 50}
"""

KINDS = """groups:
  by: kind
  kinds:
    - {caption: "ОМСУ г. Пензы", rating_groups: ["ОМСУ города"]}
    - {caption: "ОМСУ районов", kinds: ["ОМСУ"]}
    - {caption: "ОИВ", kinds: ["ОИВ"]}
  unmatched: not_rated
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "lang.yaml"
    path.write_text(text, encoding="utf-8")
    return load_methodology(path)


def with_(change: tuple[str, str]) -> str:
    assert change[0] in BASE, change
    return BASE.replace(*change)


# --- valid keys --------------------------------------------------------------------------------


def test_every_new_key_loads(tmp_path: Path) -> None:
    text = BASE.replace(
        "groups: {by: registry}\n",
        KINDS.replace("by: kind", "by: kind_volume")
        + (
            '  volume: {high: 100, low: 30, source: im, captions: {low: "До 30"}}\n'
            "min_group_size: 2\n"
            "rated_when: {incidents: {im: 2, pos: 1, all: 3}, pages: 1}\n"
            "statuses: {rejected: overdue, forwarded: excluded, interim: answered}\n"
        ),
    ).replace(
        "weight: 50}\n  - {id: happy",
        "weight: 50, required: true, source: im, min_volume: 5}\n  - {id: happy",
    ).replace("best: 1}, weight: 50}", "best: 1}, weight: 50, min_ratings: 5, source: pos}") + (
        '  - {id: fast, caption: "Быстро", measure: {type: share_within, source: pos, clock: work_days,'
        " limit: 8, to: answer}, scoring: {type: linear, worst: 0.5, best: 1}, weight: 10}\n"
    )
    m = load(tmp_path, text)
    assert m.grouping.by == "kind_volume" and m.grouping.kinds[0].caption == "ОМСУ г. Пензы"
    assert m.grouping.volume.source == "im" and m.grouping.volume.caption("low") == "До 30"
    assert m.group_order()[:3] == [
        "ОМСУ г. Пензы: Более 100 сообщений", "ОМСУ г. Пензы: От 31 до 100 сообщений", "ОМСУ г. Пензы: До 30",
    ]  # fmt: skip
    assert m.min_group_size == 2
    assert (m.rated_when.incidents, dict(m.rated_when.incidents_by_source), m.rated_when.pages) == (
        3, {"im": 2, "pos": 1}, 1,
    )  # fmt: skip
    assert m.status_rule("rejected") == "overdue" and m.status_rule("interim") == "answered"
    assert m.status_rule("closed") == "standard"
    speed, happy, fast = m.indicators
    assert (speed.required, speed.source, speed.min_volume) == (True, "im", 5)
    assert (happy.required, happy.source, happy.min_ratings) == (False, "pos", 5)
    assert fast.measure == Measure("share_within", "pos", "work_days", 8.0, "answer") and fast.source == "pos"
    assert [i.id for i in m.measures()] == ["fast"]


def test_defaults(tmp_path: Path) -> None:
    m = load(tmp_path, BASE)
    assert m.min_group_size == 3 and m.status_rule("rejected") == "excluded"
    assert m.grouping.unmatched == "not_rated" and m.rated_when.incidents == 0
    assert all(not i.required and i.source == "all" for i in m.indicators)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("weight: 50}", "weight: 50, missing: zero}"),
            "indicators[1].missing is no longer a key: use required",
        ),
        (
            ("weight: 50}", "weight: 50, required: yes please}"),
            "indicators[1].required must be true or false",
        ),
        (("weight: 50}", "weight: 50, source: vk}"), "indicators[1].source must be one of"),
        (("weight: 50}", "weight: 50, min_volume: -1}"), "indicators[1].min_volume must be a whole number"),
        (
            ("weight: 50}", "weight: 50, min_ratings: 2.5}"),
            "indicators[1].min_ratings must be a whole number",
        ),
        (
            ("weight: 50}", "weight: 50, source: pages, min_ratings: 3}"),
            "indicators[1].min_ratings needs a message source",
        ),
        (("weight: 50}", "weight: 50, colour: red}"), "indicators[1].colour is not a key here"),
        (
            ("expression: im_answer_hours_mean", "expression: answer_hours_mean"),
            "indicators[1].expression reads answer_hours_mean, which cannot be scored",
        ),
        (
            ("expression: im_answer_hours_mean,", "measure: {type: mean, source: im, clock: work_hours},"),
            None,
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "expression: incidents, measure: {type: mean, source: im, clock: work_hours},",
            ),
            "indicators[1].has both expression and measure",
        ),
        (
            ("expression: im_answer_hours_mean,", "measure: {type: mode, source: im, clock: work_hours},"),
            "indicators[1].measure.type must be one of",
        ),
        (
            ("expression: im_answer_hours_mean,", "measure: {type: mean, source: all, clock: work_hours},"),
            "indicators[1].measure.source must be one of",
        ),
        (
            ("expression: im_answer_hours_mean,", "measure: {type: mean, source: im, clock: fortnights},"),
            "indicators[1].measure.clock must be one of",
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "measure: {type: mean, source: im, clock: work_hours, to: close},",
            ),
            "indicators[1].measure.to must be one of",
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "measure: {type: share_within, source: im, clock: work_hours},",
            ),
            "indicators[1].measure.limit is required for share_within",
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "measure: {type: share_within, source: im, clock: work_hours, limit: 0},",
            ),
            "indicators[1].measure.limit must be positive",
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "measure: {type: mean, source: im, clock: work_hours, limit: 8},",
            ),
            "indicators[1].measure.limit is for share_within only",
        ),
        (
            (
                "expression: im_answer_hours_mean,",
                "measure: {type: mean, source: im, clock: work_hours}, source: pos,",
            ),
            "indicators[1].source (pos) differs from measure.source (im)",
        ),
        (
            ("expression: im_answer_hours_mean,", "measure: {type: on_time, source: im, clock: work_hours},"),
            "indicators[1].measure.clock is not used by on_time",
        ),
        (("groups: {by: registry}", "groups: {by: district}"), "groups.by must be one of"),
        (("groups: {by: registry}", "groups: {by: kind}"), "groups.kinds is required when groups.by is kind"),
        (
            ("groups: {by: registry}", "groups: {by: volume, kinds: [{caption: A, kinds: [ОИВ]}]}"),
            "groups.kinds is used only when groups.by is kind or kind_volume",
        ),
        (
            ("groups: {by: registry}", "groups: {by: kind, kinds: [{caption: A}]}"),
            "groups.kinds[1].needs kinds or rating_groups",
        ),
        (
            ("groups: {by: registry}", "groups: {by: kind, kinds: [{kinds: [ОИВ]}]}"),
            "groups.kinds[1].caption is required",
        ),
        (
            ("groups: {by: registry}", "groups: {by: kind, kinds: [{caption: A, kinds: ОИВ}]}"),
            "groups.kinds[1].kinds must be a list",
        ),
        (
            (
                "groups: {by: registry}",
                "groups: {by: kind, kinds: [{caption: A, kinds: [ОИВ]}, {caption: A, kinds: [ОМСУ]}]}",
            ),
            "groups.kinds[2].caption 'A' is repeated",
        ),
        (
            (
                "groups: {by: registry}",
                "groups: {by: kind, kinds: [{caption: A, kinds: [ОИВ]}], unmatched: A}",
            ),
            "groups.unmatched 'A' is also a kind group's caption",
        ),
        (
            ("groups: {by: registry}", "groups: {by: volume, volume: {high: 30, low: 30}}"),
            "groups.volume.low (30) must be below groups.volume.high (30)",
        ),
        (
            ("groups: {by: registry}", "groups: {by: volume, volume: {source: pages}}"),
            "groups.volume.source must be one of",
        ),
        (
            ("groups: {by: registry}", "groups: {by: volume, volume: {captions: {huge: X}}}"),
            "groups.volume.captions must be one of",
        ),
        (("groups: {by: registry}", "groups: {by: volume, size: 3}"), "groups.size is not a key here"),
        (("zones:", "min_group_size: 0\nzones:"), "min_group_size must be at least 1"),
        (("zones:", "rated_when: {incidents: {vk: 2}}\nzones:"), "rated_when.incidents.vk must be one of"),
        (("zones:", "rated_when: {incidents: -2}\nzones:"), "rated_when.incidents must be a whole number"),
        (("zones:", "rated_when: {messages: 2}\nzones:"), "rated_when.messages is not a key here"),
        (
            ("zones:", "rated_when: {pages: 1}\nmin_incidents: 2\nzones:"),
            "rated_when and min_incidents/min_pages: give rated_when only",
        ),
        (("zones:", "statuses: {rejected: ignored}\nzones:"), "statuses.rejected must be one of"),
        (("zones:", "statuses: {Отклонён: excluded}\nzones:"), "statuses: 'Отклонён' is not a status name"),
        (("zones:", "colour: red\nzones:"), "colour is not a key here"),
    ],
)
def test_invalid_keys_are_refused_naming_file_and_field(tmp_path: Path, change, message) -> None:
    if message is None:  # the valid counterpart of the measure cases
        assert load(tmp_path, with_(change)).indicators[0].measure is not None
        return
    with pytest.raises(MethodologyError, match=re.escape(message)) as caught:
        load(tmp_path, with_(change))
    assert str(caught.value).startswith(f"{tmp_path / 'lang.yaml'}: ")


# --- groups ------------------------------------------------------------------------------------


def registry_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "org_id": ["city", "district", "ministry", "school", "utility"],
            "kind": ["ОМСУ", "ОМСУ", "ОИВ", "учреждение", "РСО-УК"],
            "rating_group": ["ОМСУ города", "ОМСУ районов", "ОИВ", None, "РСО-УК"],
            "incidents": [150, 40, 20, 5, 300],
            "incidents_im": [0, 40, 20, 5, 100],
            "incidents_pos": [150, 0, 0, 0, 200],
        }
    )


def test_groups_by_kind_first_match_in_publication_order(tmp_path: Path) -> None:
    m = load(tmp_path, BASE.replace("groups: {by: registry}\n", KINDS))
    groups = assign_groups(registry_frame(), m)
    # the city's ОМСУ matches the first group (its rating_group), the district's the second
    assert groups.tolist() == ["ОМСУ г. Пензы", "ОМСУ районов", "ОИВ", None, None]
    m = load(tmp_path, BASE.replace("groups: {by: registry}\n", KINDS.replace("not_rated", "Прочие")))
    assert assign_groups(registry_frame(), m).tolist()[3:] == ["Прочие", "Прочие"]
    assert m.group_order() == ["ОМСУ г. Пензы", "ОМСУ районов", "ОИВ", "Прочие"]


def test_volume_is_counted_over_the_chosen_source(tmp_path: Path) -> None:
    m = load(
        tmp_path, BASE.replace("{by: registry}", "{by: volume, volume: {high: 100, low: 30, source: im}}")
    )
    assert assign_groups(registry_frame(), m).tolist() == [
        "30 сообщений и менее", "От 31 до 100 сообщений", "30 сообщений и менее", "30 сообщений и менее",
        "От 31 до 100 сообщений",
    ]  # fmt: skip
    m = load(tmp_path, BASE.replace("{by: registry}", "{by: volume, volume: {high: 100, low: 30}}"))
    assert assign_groups(registry_frame(), m).tolist()[0] == "Более 100 сообщений"  # all sources: 150


def test_kind_then_volume(tmp_path: Path) -> None:
    m = load(tmp_path, BASE.replace("groups: {by: registry}\n", KINDS.replace("by: kind", "by: kind_volume")))
    assert assign_groups(registry_frame(), m).tolist() == [
        "ОМСУ г. Пензы: Более 100 сообщений", "ОМСУ районов: От 31 до 100 сообщений",
        "ОИВ: 30 сообщений и менее", None, None,
    ]  # fmt: skip


# --- scoring -----------------------------------------------------------------------------------


def scored_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "org_id": ["a", "b", "c", "d"],
            "rating_group": ["G"] * 4,
            "kind": ["ОИВ"] * 4,
            "incidents": [10, 10, 10, 4],
            "incidents_im": [10, 0, 6, 4],
            "incidents_pos": [0, 10, 4, 0],
            "pages": [1, 1, 0, 1],
            "rated": [8, 2, 6, 4],
            "im_rated": [8, 0, 4, 4],
            "pos_rated": [0, 2, 2, 0],
            "speed": [0.0, None, 24.0, 12.0],
            "happy": [1.0, 0.5, 0.5, 0.8],
        }
    )


def test_a_body_without_messages_of_the_rated_source_is_not_rated(tmp_path: Path) -> None:
    """The finding: a body with 0 IM messages was 1st, 100.0, green in the IM rating."""
    m = load(tmp_path, BASE.replace("zones:", "rated_when: {incidents: {im: 2}}\nzones:"))
    _, bodies = score_month(scored_frame(), m)
    bodies = bodies.set_index("org_id")
    assert (
        not bodies.loc["b", "is_rated"]
        and bodies.loc["b", "not_rated_reason"] == "меньше 2 сообщений ИМ за месяц"
    )
    assert bodies.loc[["a", "c", "d"], "is_rated"].all()
    m = load(tmp_path, BASE.replace("zones:", "rated_when: {incidents: 5, pages: 1}\nzones:"))
    _, bodies = score_month(scored_frame(), m)
    assert bodies.set_index("org_id")["not_rated_reason"].to_dict() == {
        "a": None, "b": None, "c": "нет официального госпаблика", "d": "меньше 5 сообщений за месяц",
    }  # fmt: skip


def test_min_volume_and_min_ratings_make_an_indicator_missing(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        BASE.replace("best: 0}, weight: 50}", "best: 0}, weight: 50, source: im, min_volume: 5}").replace(
            "best: 1}, weight: 50}", "best: 1}, weight: 50, min_ratings: 3}"
        ),
    )
    indicators, bodies = score_month(scored_frame(), m)
    rows = indicators.set_index(["org_id", "indicator_id"])
    # d: 4 IM messages < 5 → speed missing although it has a value; its weight goes to happy
    assert rows.loc[("d", "speed"), "missing"] and rows.loc[("d", "speed"), "raw_value"] == 12.0
    assert rows.loc[("d", "speed"), "missing_reason"] == "меньше 5 сообщений ИМ"
    assert rows.loc[("d", "speed"), "weight"] == 0.0 and rows.loc[("d", "happy"), "weight"] == 100.0
    bodies = bodies.set_index("org_id")
    assert bodies.loc["d", "score"] == 80.0
    # b: 2 ratings < 3 → happy missing; no speed value either → nothing to score: not rated, no NaN
    assert bodies.loc["b", "not_rated_reason"] == "нет данных ни по одному показателю методики"
    assert "b" not in set(indicators["org_id"]) and np.isfinite(bodies["score"].dropna()).all()
    # c: speed 24 h → 50 points, happy 0.5 (6 ratings) → 50 points → 50.0; a: 100
    assert bodies.loc["c", "score"] == 50.0 and bodies.loc["a", "score"] == 100.0
    assert bodies.loc["a", "rank"] == 1 and bodies.loc["d", "rank"] == 2 and bodies.loc["c", "rank"] == 3


def test_required_missing_scores_zero_and_keeps_its_weight(tmp_path: Path) -> None:
    m = load(tmp_path, BASE.replace("best: 0}, weight: 50}", "best: 0}, weight: 50, required: true}"))
    indicators, bodies = score_month(scored_frame(), m)
    rows = indicators.set_index(["org_id", "indicator_id"])
    # b: speed required and missing → 0 points × 50 %; happy 0.5 → 50 points × 50 % → 25.0
    assert rows.loc[("b", "speed"), "weight"] == 50.0 and rows.loc[("b", "speed"), "points"] == 0.0
    assert rows.loc[("b", "speed"), "missing_reason"] == "нет данных за месяц"
    assert bodies.set_index("org_id").loc["b", "score"] == 25.0
    # optional: b's speed is listed with weight 0 and happy carries the score → 50.0
    indicators, bodies = score_month(scored_frame(), load(tmp_path, BASE))
    rows = indicators.set_index(["org_id", "indicator_id"])
    assert rows.loc[("b", "speed"), "weight"] == 0.0 and rows.loc[("b", "speed"), "missing"]
    assert bodies.set_index("org_id").loc["b", "score"] == 50.0
    assert list(indicators.columns) == [
        "org_id", "indicator_id", "raw_value", "points", "weight", "weighted_points", "missing",
        "missing_reason",
    ]  # fmt: skip


# --- measures and statuses ---------------------------------------------------------------------


def timing() -> pd.DataFrame:
    rows = [
        # org, source, status, answered, work hours, calendar hours, work days
        ("a", "im", "answered", True, 0.0, 10.0, 0, False),  # registered and answered in one night
        ("a", "im", "answered", True, 6.0, 6.0, 0, False),
        ("a", "im", "closed", True, 12.0, 30.0, 1, True),  # answered after 24 h
        ("a", "im", "overdue", False, None, None, None, True),  # never answered
        ("a", "im", "rejected", False, None, None, None, False),
        ("a", "pos", "answered", True, 20.0, 70.0, 3, False),
        ("b", "im", "rejected", False, None, None, None, False),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "org_id",
            "source",
            "status",
            "is_answered",
            "answer_work_hours",
            "answer_hours",
            "answer_work_days",
            "is_overdue",
        ],
    )
    for column in ("reaction_work_hours", "reaction_hours", "reaction_work_days"):
        frame[column] = frame[column.replace("reaction", "answer")]
    return frame


def test_share_within_counts_unanswered_as_late_and_leaves_rejected_out() -> None:
    within_8 = body_measure(
        timing(), Measure("share_within", "im", "work_hours", 8.0), {"rejected": "excluded"}
    )
    assert within_8.to_dict() == {"a": 0.5}  # 0 h and 6 h of the 4 counted; b has none counted
    within_8_calendar = body_measure(timing(), Measure("share_within", "im", "calendar_hours", 8.0), {})
    assert within_8_calendar.to_dict() == {"a": pytest.approx(1 / 5), "b": 0.0}  # rejected standard
    overdue_rejected = body_measure(
        timing(),
        Measure("share_within", "im", "work_hours", 8.0),
        {"rejected": "overdue", "closed": "answered"},
    )
    assert overdue_rejected.to_dict() == {"a": 3 / 5, "b": 0.0}  # closed within by rule


def test_mean_median_and_work_days() -> None:
    statuses = {"rejected": "excluded"}
    assert body_measure(timing(), Measure("median", "im", "work_hours"), statuses).to_dict() == {"a": 6.0}
    assert body_measure(timing(), Measure("mean", "im", "calendar_hours"), statuses).to_dict() == {
        "a": pytest.approx(46 / 3)
    }
    assert body_measure(timing(), Measure("mean", "pos", "work_days"), statuses).to_dict() == {"a": 3.0}
    assert body_measure(
        timing(), Measure("share_within", "pos", "work_days", 2.0, "reaction"), statuses
    ).to_dict() == {"a": 0.0}


def test_measure_values_join_the_bodies_and_score(tmp_path: Path) -> None:
    m = load(
        tmp_path,
        BASE.replace(
            "expression: im_answer_hours_mean, direction: lower,\n"
            "     scoring: {type: linear, worst: 48, best: 0}",
            "measure: {type: share_within, source: im, clock: work_hours, limit: 8}, direction: higher,\n"
            "     scoring: {type: linear, worst: 0, best: 1}",
        ),
    )
    values = measure_values(timing(), m)
    assert values.set_index("org_id")["speed"].to_dict() == {
        "a": 0.5,
        "b": pytest.approx(np.nan, nan_ok=True),
    }
    base = scored_frame().drop(columns=["speed"]).merge(values, on="org_id", how="left")
    indicators, _ = score_month(base, m)
    assert indicators.set_index(["org_id", "indicator_id"]).loc[("a", "speed"), "points"] == 50.0


def test_on_time_follows_the_deadline_and_the_statuses() -> None:
    on_time = Measure("on_time", "im", "")
    assert body_measure(timing(), on_time, {"rejected": "excluded"}).to_dict() == {"a": 0.5}  # 2 of 4
    # rejected counted as overdue: a 2 of 5, b 0 of 1; closed counted as answered on time: a 3 of 5
    assert body_measure(timing(), on_time, {"rejected": "overdue"}).to_dict() == {"a": 0.4, "b": 0.0}
    assert body_measure(timing(), on_time, {"rejected": "excluded", "closed": "answered"}).to_dict() == {
        "a": 0.75
    }


def test_on_time_loads_without_a_clock(tmp_path: Path) -> None:
    m = load(tmp_path, with_(("expression: im_answer_hours_mean,", "measure: {type: on_time, source: pos},")))
    assert m.indicators[0].measure == Measure("on_time", "pos", "") and m.indicators[0].source == "pos"
