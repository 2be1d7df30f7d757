"""The publication gate's verdicts (transforms.publication_gate): counts in, a reason in Russian and
English out. The warehouse queries and the DAG are tested in tests/test_rating_gate.py."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date

import pytest

from transforms.publication_gate import (
    OVERRIDABLE_RATING_CHECKS,
    GateRules,
    MonthInputs,
    RatingFacts,
    check_inputs,
    check_rating,
    check_scores,
    month_days,
    required_gaps,
)

NBSP = "\u00a0"

NOVEMBER = date(2025, 11, 1)
ALL_DAYS = frozenset(month_days(NOVEMBER))


def complete(**changes: object) -> MonthInputs:
    inputs = MonthInputs(
        month=NOVEMBER,
        vk_days=ALL_DAYS,
        vk_incomplete_days=frozenset(),
        regions=("58",),
        last_exports={("im", "58"): date(2025, 12, 1), ("pos", "58"): date(2025, 12, 2)},
        bodies=244,
        bodies_with_data=230,
        previous_bodies=240,
        previous_bodies_with_data=228,
    )
    return replace(inputs, **changes)


def test_month_days() -> None:
    assert len(month_days(NOVEMBER)) == 30 and month_days(date(2024, 2, 1))[-1] == date(2024, 2, 29)


def test_a_complete_month_passes() -> None:
    verdict = check_inputs(complete(), GateRules())
    assert verdict.passed, verdict.message()
    assert verdict.problems == ()


def test_a_missing_vk_day_fails_naming_the_day_in_both_languages() -> None:
    verdict = check_inputs(complete(vk_days=ALL_DAYS - {date(2025, 11, 17)}), GateRules())
    assert not verdict.passed
    (problem,) = verdict.problems
    assert problem.code == "vk_days"
    message = verdict.message()
    assert "не загружено дней — 1 из 30 (допускается 0): 2025-11-17" in message
    assert "1 of 30 days not loaded (0 allowed): 2025-11-17" in message
    assert message.index("Рейтинг за 2025-11 не опубликован") < message.index("Rating 2025-11 not published")


def test_the_vk_tolerance_is_configurable() -> None:
    two_missing = complete(vk_days=ALL_DAYS - {date(2025, 11, 5), date(2025, 11, 6)})
    assert check_inputs(two_missing, GateRules(vk_missing_days=2)).passed
    verdict = check_inputs(two_missing, GateRules(vk_missing_days=1))
    assert "2025-11-05…2025-11-06" in verdict.message()
    assert verdict.problems[0].details["missing_days"] == ["2025-11-05", "2025-11-06"]


def test_a_missing_source_fails_naming_source_and_region() -> None:
    verdict = check_inputs(complete(last_exports={("im", "58"): date(2025, 12, 1)}), GateRules())
    (problem,) = verdict.problems
    assert problem.code == "exports_pos"
    assert "выгрузки ПОС" in problem.ru and "нет ни одной загруженной выгрузки (регионы 58)" in problem.ru
    assert "exports of ПОС (Feedback Platform): no export loaded (regions 58)" in problem.en
    assert "2025-12-01" in problem.ru and "2025-12-01" in problem.en


def test_an_export_not_after_the_month_end_does_not_cover_it() -> None:
    """An export is named by its day and holds that day's state: one of the 30th misses its evening."""
    exports = {("im", "58"): date(2025, 11, 30), ("pos", "58"): date(2025, 12, 1)}
    verdict = check_inputs(complete(last_exports=exports), GateRules())
    (problem,) = verdict.problems
    assert problem.code == "exports_im" and "58: 2025-11-30" in problem.ru and "58: 2025-11-30" in problem.en
    covered = {("im", "58"): date(2025, 12, 1), ("pos", "58"): date(2025, 12, 1)}
    every_region = complete(regions=("58", "73"), last_exports=covered)
    codes = [p.code for p in check_inputs(every_region, GateRules()).problems]
    assert codes == ["exports_im", "exports_pos"], "each region needs each source"
    assert check_inputs(complete(), GateRules(export_sources=("im",))).passed


def test_an_empty_warehouse_month_lists_everything_missing() -> None:
    empty = complete(
        vk_days=frozenset(), last_exports={}, bodies=0, bodies_with_data=0, previous_bodies=0,
        previous_bodies_with_data=0,
    )  # fmt: skip
    verdict = check_inputs(empty, GateRules())
    assert [p.code for p in verdict.problems] == ["no_bodies", "vk_days", "exports_im", "exports_pos"]
    message = verdict.message()
    assert "нет ни одного органа за 2025-11" in message and "has no body for 2025-11" in message
    assert "не загружено дней — 30 из 30 (допускается 0): 2025-11-01…2025-11-30" in message


def test_a_fall_in_the_share_of_bodies_with_data_fails() -> None:
    fallen = complete(bodies_with_data=100)  # 41 % against 95 % the month before
    verdict = check_inputs(fallen, GateRules())
    (problem,) = verdict.problems
    assert problem.code == "data_share_drop"
    assert "100 из 244 (41.0%)" in problem.ru and "228 из 240 (95.0%)" in problem.ru
    assert "fell by 56.9%" in problem.en and "(20% allowed)" in problem.en
    assert check_inputs(fallen, GateRules(max_data_share_drop=0.6)).passed
    assert check_inputs(complete(bodies_with_data=190), GateRules()).passed  # 77.9 %: an 18 % drop


def test_a_first_month_has_nothing_to_compare_with_and_says_so() -> None:
    verdict = check_inputs(complete(previous_bodies=0, previous_bodies_with_data=0), GateRules())
    assert verdict.passed
    assert [n.code for n in verdict.notes] == ["no_previous_month"]


def test_incomplete_vk_days_are_noted() -> None:
    verdict = check_inputs(complete(vk_incomplete_days=frozenset({date(2025, 11, 9)})), GateRules())
    assert verdict.passed and "2025-11-09" in verdict.message()


def test_the_verdict_serializes_for_the_audit() -> None:
    verdict = check_inputs(complete(vk_days=ALL_DAYS - {date(2025, 11, 17)}), GateRules())
    data = json.loads(verdict.as_json())
    assert data["passed"] is False and data["problems"][0]["details"]["missing_days"] == ["2025-11-17"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_score_is_never_published(bad: float) -> None:
    scores = [("org-1", True, 81.5), ("org-2", True, bad), ("org-3", False, None)]
    verdict = check_scores("2025-11, penza-2025", scores)
    (problem,) = verdict.problems
    assert problem.code == "non_finite_score" and problem.details["org_ids"] == ["org-2"]
    assert "org-2" in problem.ru and "org-2" in problem.en
    assert check_scores("2025-11, penza-2025", [("org-1", True, 81.5), ("org-3", False, None)]).passed


def test_a_snapshot_without_a_rated_body_is_never_published() -> None:
    verdict = check_scores("2025-11, penza-2025", [("org-1", False, None), ("org-2", False, None)])
    assert [p.code for p in verdict.problems] == ["no_rated_body"]
    assert "ни один орган не получил оценку (органов: 2)" in verdict.message()
    assert check_scores("2025-11, penza-2025", []).problems[0].code == "no_rated_body"


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="vk_missing_days"):
        GateRules(vk_missing_days=-1)
    with pytest.raises(ValueError, match="max_data_share_drop"):
        GateRules(max_data_share_drop=1.5)


# The rating-level checks (issue 24): required indicators, group sizes, rated bodies against the
# previous month's published snapshot; which of them an override lifts.


def rating(**changes: object) -> RatingFacts:
    facts = RatingFacts(
        subject="2025-11, penza-2025",
        scores=(("org-1", True, 81.5), ("org-2", True, 64.0), ("org-3", True, 40.2), ("org-4", False, None)),
        groups={"ОИВ": (3, 4)},
        min_group_size=3,
        required_gaps={},
        previous_rated=3,
        previous_snapshot="penza-2025:2025-10:r1",
    )
    return replace(facts, **changes)


def test_a_sound_rating_passes() -> None:
    verdict = check_rating(rating(), GateRules())
    assert verdict.passed and verdict.overridable, verdict.message()


def test_a_rated_body_without_a_required_indicator_fails_and_no_override_lifts_it() -> None:
    gaps = {"org-2": ("page_compliance",), "org-3": ("on_time", "page_compliance")}
    verdict = check_rating(rating(required_gaps=gaps), GateRules())
    (problem,) = verdict.problems
    assert problem.code == "required_indicator_missing" and not verdict.overridable
    assert problem.ru == (
        "у органов в рейтинге нет обязательных показателей (органов: 2): org-2 (page_compliance), "
        "org-3 (on_time, page_compliance)"
    )
    assert "2 rated bodies lack required indicators: org-2 (page_compliance)" in problem.en
    assert problem.details["org_ids"] == {
        "org-2": ["page_compliance"],
        "org-3": ["on_time", "page_compliance"],
    }


def test_required_gaps_are_found_from_the_indicator_rows() -> None:
    rows = [
        ("org-1", "on_time", 100.0, 50.0), ("org-1", "page_compliance", 0.0, 50.0),  # 0 points: still there
        ("org-2", "on_time", 80.0, 100.0),  # page_compliance re-weighted away: a gap
        ("org-3", "on_time", float("nan"), 50.0), ("org-3", "page_compliance", 90.0, 0.0),  # NaN, weight 0
        ("org-9", "on_time", 1.0, 1.0),  # not rated: not asked
    ]  # fmt: skip
    gaps = required_gaps(["org-1", "org-2", "org-3"], rows, ["on_time", "page_compliance"])
    assert gaps == {"org-2": ("page_compliance",), "org-3": ("on_time", "page_compliance")}
    assert required_gaps(["org-2"], rows, []) == {}


def test_a_group_below_its_minimum_size_fails_naming_it_overridably() -> None:
    verdict = check_rating(rating(groups={"ОИВ": (3, 4), "РСО": (2, 5), "Учреждения": (0, 2)}), GateRules())
    (problem,) = verdict.problems
    assert problem.code == "small_group" and verdict.overridable
    assert (
        problem.ru
        == "групп с числом органов в рейтинге меньше минимума (3): 2 — «РСО»: 2 из 5, «Учреждения»: 0 из 2"
    )
    assert (
        "2 groups have fewer rated bodies than the minimum (3): «РСО» 2 of 5, «Учреждения» 0 of 2"
        in problem.en
    )
    assert problem.details["groups"] == {"РСО": 2, "Учреждения": 0}
    assert check_rating(rating(groups={"ОИВ": (3, 4), "РСО": (2, 5)}, min_group_size=2), GateRules()).passed


def test_a_drop_in_rated_bodies_beyond_the_share_fails_overridably() -> None:
    scores = tuple((f"org-{n}", n < 75, 50.0 if n < 75 else None) for n in range(100))
    verdict = check_rating(rating(scores=scores, groups={"ОИВ": (75, 100)}, previous_rated=100), GateRules())
    (problem,) = verdict.problems
    assert problem.code == "rated_drop" and verdict.overridable
    assert problem.ru == (
        f"органов в рейтинге 75 против 100 в опубликованном рейтинге прошлого месяца "
        f"(penza-2025:2025-10:r1): на 25{NBSP}% меньше (допускается 20{NBSP}%)"
    )
    assert "75 rated bodies against 100 in the previous month's published rating" in problem.en
    assert "25% fewer (20% allowed)" in problem.en
    previous = "penza-2025:2025-10:r1"
    assert problem.details == {
        "rated": 75, "previous_rated": 100, "previous_snapshot": previous, "drop": 0.25, "allowed": 0.2
    }  # fmt: skip
    assert check_rating(rating(scores=scores, groups={"ОИВ": (75, 100)}, previous_rated=100),
                        GateRules(max_rated_drop=0.25)).passed  # fmt: skip
    assert check_rating(
        rating(scores=scores, groups={"ОИВ": (75, 100)}, previous_rated=90), GateRules()
    ).passed


def test_without_a_previous_publication_the_count_is_noted() -> None:
    verdict = check_rating(rating(previous_rated=None, previous_snapshot=None), GateRules())
    assert verdict.passed and [n.code for n in verdict.notes] == ["no_previous_rating"]
    assert f"3{NBSP}органа в рейтинге" in verdict.notes[0].ru


def test_scores_are_checked_with_the_rest_and_a_blocking_problem_wins() -> None:
    verdict = check_rating(
        rating(
            scores=(("org-1", True, math.nan), ("org-2", True, 60.0)),
            groups={"ОИВ": (2, 2)},
            previous_rated=2,
        ),
        GateRules(),
    )
    assert [p.code for p in verdict.problems] == ["non_finite_score", "small_group"]
    assert not verdict.overridable
    message = verdict.message()
    assert message.startswith("Рейтинг за 2025-11, penza-2025 не опубликован — рейтинг не прошёл проверки:")
    assert "Rating 2025-11, penza-2025 not published — the rating failed its checks:" in message
    assert [c for c in OVERRIDABLE_RATING_CHECKS] == ["small_group", "rated_drop"]


def test_the_rated_drop_tolerance_is_validated() -> None:
    with pytest.raises(ValueError, match="max_rated_drop"):
        GateRules(max_rated_drop=-0.1)
