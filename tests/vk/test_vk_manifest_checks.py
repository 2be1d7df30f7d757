"""The checks a VK run's manifest must pass, and the re-read window's reach (no Airflow, no VK)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gospublic.vk.extract import BatchOutcome, judge_manifest, manifest_problems, window_start_for

DT = date(2025, 11, 20)


def manifest(errors: list[dict], pages: int = 100) -> dict:
    return {"dt": DT.isoformat(), "pages": pages, "batches": [{"errors": errors}]}


def error(group: int, code: int, kind: str | None = None) -> dict:
    e = {"method": "wall.get", "vk_group_id": group, "error_code": code}
    return e if kind is None else {**e, "kind": kind}


def test_refused_pages_and_given_up_calls_have_their_own_budgets() -> None:
    closed = [error(g, 15, "page") for g in range(4)]
    given_up = [error(g, -1, "gave_up") for g in range(10, 12)]
    limits = {"max_failed_share": 0.05, "max_giveup_share": 0.01}
    assert judge_manifest(manifest(closed), **limits) == []
    problems = judge_manifest(manifest(closed + given_up), **limits)
    assert len(problems) == 1 and "2 of 100 VK pages with calls given up" in problems[0]
    assert "GOSPUBLIC_VK_MAX_GIVEUP_SHARE" in problems[0]
    problems = judge_manifest(manifest([*closed, error(5, 18, "page"), error(6, 30, "page")]), **limits)
    assert len(problems) == 1 and "GOSPUBLIC_VK_MAX_FAILED_SHARE" in problems[0]


def test_a_manifest_without_its_verdict_is_judged_by_the_same_checks(monkeypatch) -> None:
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_GIVEUP_SHARE", "0.01")
    legacy = manifest([error(g, -1) for g in range(50)])  # kinds told by the code: given up
    assert manifest_problems(legacy) and "given up" in manifest_problems(legacy)[0]
    assert manifest_problems({**legacy, "status": "passed", "problems": []}) == []
    assert manifest_problems({**legacy, "status": "failed", "problems": ["x"]}) == ["x"]


def test_outcome_tells_refused_pages_from_given_up_ones() -> None:
    outcome = BatchOutcome(
        batch=0, pages=3, errors=[error(1, 15, "page"), error(2, -1, "gave_up"), error(3, -1)]
    )
    assert outcome.failed_pages == {1} and outcome.given_up_pages == {2, 3}


def test_window_reaches_back_to_the_day_before_the_first_incomplete_day() -> None:
    at = lambda d: datetime.combine(d, datetime.min.time(), UTC)  # noqa: E731
    assert window_start_for(DT, 7, date(2025, 11, 19)) == at(date(2025, 11, 13))
    assert window_start_for(DT, 7, date(2025, 11, 19), date(2025, 11, 15)) == at(date(2025, 11, 13))
    assert window_start_for(DT, 7, date(2025, 11, 19), date(2025, 11, 2)) == at(date(2025, 11, 1))
    assert window_start_for(DT, 0, date(2025, 11, 19), date(2025, 11, 19)) == at(date(2025, 11, 18))
    assert window_start_for(DT, 0, date(2025, 11, 10)) == at(date(2025, 11, 10))  # a gap, as before
