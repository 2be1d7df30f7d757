"""The publication gate in the rating step (issue 22, item 3) on DuckDB and PostgreSQL: a month is
rated only when its inputs are complete — or when incomplete inputs are accepted deliberately with
a reason — and a snapshot with no rated body or a non-finite score is never made, whatever the
override. Every check is recorded in ``audit.rating_gate``.

Issue 24 adds the rating-level checks (required indicators, group sizes, rated bodies against last
month's publication; which of them an override lifts) and the degeneracy report stored with each
snapshot.

The region of tests/test_rating_publish.py (``mart.rating_base`` seeded directly) with its inputs'
records (tests/rating_inputs.py), rated under a methodology of this file (the presets change with
their regions; these checks should not). The DAG's params are tested in
tests/vk/test_dag_monthly_rating.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date
from pathlib import Path

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.gate import month_inputs
from gospublic.rating.snapshot import compute_snapshot
from tests.rating_inputs import record_vk_days
from tests.test_rating_publish import seed_region
from transforms.methodology import Methodology, load_methodology
from transforms.publication_gate import PublicationGateError

MONTH = "2025-11"
OCTOBER, NOVEMBER = date(2025, 10, 1), date(2025, 11, 1)
METHODOLOGY = "gate-test"
# one group; rated with an official page (org-00 has none); three required indicators, one optional
GATE_METHODOLOGY = """
id: gate-test
version: 1
title: Проверка ворот публикации
groups: {by: all}
min_pages: 1
zones: {green: 80, yellow: 60}
indicators:
  - {id: content, caption: "Доля публикаций с фото или видео", expression: photo_video_share,
     direction: higher, scoring: {type: linear, worst: 0.2, best: 0.8}, weight: 25, required: true}
  - {id: engagement, caption: "Вовлечённость (ER), %", expression: engagement_rate_pct, direction: higher,
     scoring: {type: percentile}, weight: 25, required: true, unit: percent}
  - {id: comments, caption: "Доля комментариев с ответом", expression: replied_share, direction: higher,
     scoring: {type: linear, worst: 0.2, best: 0.9}, weight: 25, required: false, unit: share}
  - {id: compliance, caption: "Соответствие требованиям", expression: compliance_score, direction: higher,
     scoring: {type: linear, worst: 40, best: 100}, weight: 25, required: true, unit: points}
"""


@pytest.fixture(autouse=True)
def gate_methodology(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Methodology:
    """The rating step rates under this file's methodology (the only one it knows here)."""
    path = tmp_path / f"{METHODOLOGY}.yaml"
    path.write_text(GATE_METHODOLOGY, encoding="utf-8")
    methodology = load_methodology(path)
    use_methodology(monkeypatch, methodology)
    return methodology


def use_methodology(monkeypatch: pytest.MonkeyPatch, methodology: Methodology) -> None:
    from gospublic.rating import steps

    monkeypatch.setattr(steps, "methodologies", lambda: {METHODOLOGY: methodology})


def rate(**options):
    from gospublic.rating.steps import rate as rate_month

    return rate_month(MONTH, [METHODOLOGY], **options)


def gate_rows(warehouse: Warehouse, stage: str = "inputs") -> list[dict]:
    return warehouse.query(
        "SELECT month, verdict, reason, findings, message, snapshot_ids, methodology_id "
        "FROM audit.rating_gate WHERE stage = :stage ORDER BY checked_at",
        {"stage": stage},
    )


def snapshot_count(warehouse: Warehouse) -> int:
    return int(warehouse.scalar("SELECT COUNT(*) FROM mart.rating_snapshot"))


def refused(warehouse: Warehouse, **options) -> str:
    """Rate the month expecting the gate to stop it; the message. Nothing computed or published."""
    with pytest.raises(PublicationGateError) as stopped:
        rate(**options)
    assert snapshot_count(warehouse) == 0
    (row,) = [r for r in gate_rows(warehouse) if r["verdict"] == "failed"][-1:]
    assert row["message"] in str(stopped.value)
    return str(stopped.value)


def complete_region(
    warehouse: Warehouse, *, skip_days: tuple[date, ...] = (), sources: tuple[str, ...] = ("im", "pos")
) -> None:
    """The region of October and November, every input recorded; then November's ``skip_days``
    and the exports of sources other than ``sources`` taken away."""
    seed_region(warehouse, (OCTOBER, NOVEMBER))
    for day in skip_days:
        warehouse.execute("DELETE FROM audit.vk_day_status WHERE dt = :d", {"d": day})
    for source in {"im", "pos"} - set(sources):
        warehouse.execute("DELETE FROM audit.export_file WHERE source = :s", {"s": source})


def test_an_empty_warehouse_month_is_not_rated(warehouse: Warehouse, lake: Lake) -> None:
    migrate(warehouse)
    message = refused(warehouse)
    assert "Рейтинг за 2025-11 не опубликован" in message and "Rating 2025-11 not published" in message
    assert (
        "нет ни одного органа за 2025-11" in message and "mart.rating_base has no body for 2025-11" in message
    )
    assert "не загружено дней — 30 из 30 (допускается 0): 2025-11-01…2025-11-30" in message
    assert "30 of 30 days not loaded (0 allowed): 2025-11-01…2025-11-30" in message
    assert '"accept_incomplete_inputs": true' in message  # how to publish deliberately
    assert not list(lake.list("publish/"))


def test_a_complete_month_is_published_and_its_check_recorded(warehouse: Warehouse, lake: Lake) -> None:
    complete_region(warehouse)
    (result,) = rate()
    assert result["status"] == "published"
    (row,) = gate_rows(warehouse)
    assert row["verdict"] == "passed" and row["reason"] is None
    assert row["snapshot_ids"] == result["snapshot_id"]
    assert json.loads(row["findings"])["problems"] == []


def test_a_missing_vk_day_stops_the_rating_until_tolerated(
    warehouse: Warehouse, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete_region(warehouse, skip_days=(date(2025, 11, 17),))
    message = refused(warehouse)
    assert "VK: не загружено дней — 1 из 30 (допускается 0): 2025-11-17" in message
    assert "VK: 1 of 30 days not loaded (0 allowed): 2025-11-17" in message
    assert "выгрузки" not in message, "the exports are complete"
    monkeypatch.setenv("GOSPUBLIC_GATE_VK_MISSING_DAYS", "1")
    (result,) = rate()
    assert result["status"] == "published"


def test_a_day_loaded_before_the_day_status_table_counts_as_loaded(warehouse: Warehouse) -> None:
    complete_region(warehouse, skip_days=(date(2025, 11, 17),))
    assert date(2025, 11, 17) not in month_inputs(warehouse, NOVEMBER).vk_days
    warehouse.execute(
        "INSERT INTO audit.load_runs (load_id, source, partition_key, target_table, status, started_at) "
        "VALUES ('vk:2025-11-17:old', 'vk/groups.getById', '2025-11-17', 'staging.vk_pages', 'success', "
        "CURRENT_TIMESTAMP)"
    )
    assert date(2025, 11, 17) in month_inputs(warehouse, NOVEMBER).vk_days
    record_vk_days(warehouse, [date(2025, 12, 1)])  # another month's day counts for nothing
    assert len(month_inputs(warehouse, NOVEMBER).vk_days) == 30


def test_a_missing_source_stops_the_rating(warehouse: Warehouse, lake: Lake) -> None:
    complete_region(warehouse, sources=("im",))
    message = refused(warehouse)
    assert (
        "выгрузки ПОС (Платформа обратной связи): нет ни одной загруженной выгрузки (регионы 58)" in message
    )
    assert "exports of ПОС (Feedback Platform): no export loaded (regions 58)" in message
    assert "ИМ" not in message and "VK:" not in message


def test_a_fall_in_bodies_with_data_stops_the_rating(warehouse: Warehouse, lake: Lake) -> None:
    complete_region(warehouse)
    warehouse.execute(
        "UPDATE mart.rating_base SET incidents = 0, photo_video_share = NULL, replied_share = NULL "
        "WHERE month = :m AND org_id IN ('org-01', 'org-02', 'org-03', 'org-04')",
        {"m": NOVEMBER},
    )
    inputs = month_inputs(warehouse, NOVEMBER)
    assert (inputs.bodies, inputs.bodies_with_data) == (8, 4)
    assert (inputs.previous_bodies, inputs.previous_bodies_with_data) == (8, 8)
    message = refused(warehouse)
    assert "органов с данными 4 из 8 (50.0%) против 8 из 8 (100.0%)" in message
    assert "the share fell by 50.0% (20% allowed)" in message


def test_incomplete_inputs_are_published_only_with_a_reason_which_is_recorded(
    warehouse: Warehouse, lake: Lake
) -> None:
    complete_region(warehouse, skip_days=(date(2025, 11, 17),), sources=("im",))
    with pytest.raises(ValueError, match="needs a reason"):
        rate(accept_incomplete_inputs=True)
    assert snapshot_count(warehouse) == 0
    reason = "VK was down on 17 November; ПОС export delayed — approved by the ЦУР head"
    (result,) = rate(accept_incomplete_inputs=True, incomplete_inputs_reason=reason)
    assert result["status"] == "published"
    row = gate_rows(warehouse)[-1]
    assert row["verdict"] == "accepted" and row["reason"] == reason
    assert row["snapshot_ids"] == result["snapshot_id"]
    findings = json.loads(row["findings"])
    assert [p["code"] for p in findings["problems"]] == ["vk_days", "exports_pos"]
    assert findings["problems"][0]["details"]["missing_days"] == ["2025-11-17"]


METHODOLOGY_WITH_GAPS = """
id: gaps
version: 1
title: Пробелы
groups: {by: all}
indicators:
  - {id: satisfaction, caption: "Удовлетворённость", expression: satisfied_share, direction: higher,
     scoring: {type: linear, worst: 0, best: 1}, weight: 1, required: false}
"""


def test_a_body_without_any_data_is_not_rated_rather_than_scored_nan(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """A body whose every indicator is missing and optional has nothing to be scored on: it is
    listed as not rated with the reason (issue 24), where it once scored NaN."""
    complete_region(warehouse)
    warehouse.execute("UPDATE mart.rating_base SET satisfied_share = 0.5 WHERE month = :m", {"m": NOVEMBER})
    warehouse.execute(
        "UPDATE mart.rating_base SET satisfied_share = NULL WHERE month = :m AND org_id = 'org-03'",
        {"m": NOVEMBER},
    )
    path = tmp_path / "gaps.yaml"
    path.write_text(METHODOLOGY_WITH_GAPS, encoding="utf-8")
    snapshot = compute_snapshot(warehouse, load_methodology(path), NOVEMBER)
    rows = warehouse.query(
        "SELECT org_id, is_rated, score FROM mart.rating_monthly WHERE snapshot_id = :s ORDER BY org_id",
        {"s": snapshot.snapshot_id},
    )
    assert [(r["org_id"], r["is_rated"], r["score"]) for r in rows if r["org_id"] == "org-03"] == [
        ("org-03", False, None)
    ]
    assert all(math.isfinite(r["score"]) for r in rows if r["is_rated"])


def test_a_non_finite_score_stops_the_snapshot_before_it_is_written(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scorer fault (here injected: a score turned NaN after scoring) is refused before anything
    is written, and no override reaches this check; nor does a snapshot without a rated body."""
    from gospublic.rating import snapshot as snapshot_module

    complete_region(warehouse)
    warehouse.execute("UPDATE mart.rating_base SET satisfied_share = 0.5 WHERE month = :m", {"m": NOVEMBER})
    path = tmp_path / "gaps.yaml"
    path.write_text(METHODOLOGY_WITH_GAPS, encoding="utf-8")
    real = snapshot_module.score_month

    def faulty(base, methodology):
        indicators, bodies = real(base, methodology)
        bodies.loc[bodies["org_id"] == "org-03", "score"] = math.nan
        return indicators, bodies

    monkeypatch.setattr(snapshot_module, "score_month", faulty)
    with pytest.raises(PublicationGateError) as stopped:
        compute_snapshot(warehouse, load_methodology(path), NOVEMBER)
    message = str(stopped.value)
    assert "оценка не является числом (органов: 1): org-03" in message
    assert "the score is not a finite number for 1 bodies: org-03" in message
    assert "оценки нельзя публиковать" in message and "its scores cannot be published" in message
    assert snapshot_count(warehouse) == 0
    assert warehouse.scalar("SELECT COUNT(*) FROM mart.rating_monthly") == 0
    monkeypatch.setattr(snapshot_module, "score_month", real)

    nobody = tmp_path / "nobody.yaml"  # every body needs two official pages: none has them
    nobody.write_text(METHODOLOGY_WITH_GAPS.replace("id: gaps", "id: nobody\nmin_pages: 2"), encoding="utf-8")
    with pytest.raises(PublicationGateError, match=r"ни один орган не получил оценку \(органов: 8\)"):
        compute_snapshot(warehouse, load_methodology(nobody), NOVEMBER)
    assert snapshot_count(warehouse) == 0


def test_a_stored_non_finite_score_is_never_published(warehouse: Warehouse, lake: Lake) -> None:
    """A draft whose stored score is not a number (NaN, or empty for a rated body) is refused
    before publication, whatever the params."""
    complete_region(warehouse)
    (draft,) = rate(publish=False)
    for bad in ("CAST('NaN' AS DOUBLE PRECISION)", "NULL"):
        warehouse.execute(
            f"UPDATE mart.rating_monthly SET score = {bad} WHERE snapshot_id = :s AND org_id = 'org-05'",
            {"s": draft["snapshot_id"]},
        )
        with pytest.raises(PublicationGateError) as stopped:
            rate(accept_incomplete_inputs=True, incomplete_inputs_reason="всё равно")
        assert "оценка не является числом (органов: 1): org-05" in str(stopped.value)
        assert "Такой рейтинг не публикуется ни при каких параметрах" in str(stopped.value)
        assert not list(lake.list("publish/"))


# -- the rating-level checks and the degeneracy report (issue 24) ----------------------------------


def with_methodology(monkeypatch: pytest.MonkeyPatch, methodology: Methodology, **changes) -> None:
    """The rating step's methodology with ``changes`` (e.g. a larger ``min_group_size``)."""
    use_methodology(monkeypatch, dataclasses.replace(methodology, **changes))


def test_a_published_rating_records_its_check(warehouse: Warehouse, lake: Lake) -> None:
    complete_region(warehouse)
    (result,) = rate()
    (row,) = gate_rows(warehouse, "rating")
    assert (row["verdict"], row["methodology_id"], row["snapshot_ids"]) == (
        "passed",
        METHODOLOGY,
        result["snapshot_id"],
    )
    findings = json.loads(row["findings"])
    assert findings["problems"] == [] and [n["code"] for n in findings["notes"]] == ["no_previous_rating"]


def test_a_group_below_its_minimum_size_stops_publication_until_accepted(
    warehouse: Warehouse, lake: Lake, monkeypatch: pytest.MonkeyPatch, gate_methodology: Methodology
) -> None:
    complete_region(warehouse)
    with_methodology(
        monkeypatch, gate_methodology, min_group_size=8
    )  # 7 of the 8 bodies are rated (one has no page)
    with pytest.raises(PublicationGateError) as stopped:
        rate()
    message = str(stopped.value)
    assert "групп с числом органов в рейтинге меньше минимума (8): 1 — «Все органы»: 7 из 8" in message
    assert "1 groups have fewer rated bodies than the minimum (8): «Все органы» 7 of 8" in message
    assert '"accept_incomplete_inputs": true' in message  # overridable: the hint says how
    assert [s["status"] for s in warehouse.query("SELECT status FROM mart.rating_snapshot")] == ["draft"]
    assert not list(lake.list("publish/"))
    (row,) = gate_rows(warehouse, "rating")
    assert row["verdict"] == "failed" and row["message"] in message

    reason = "Группа из семи органов утверждена руководителем ЦУР"
    (result,) = rate(accept_incomplete_inputs=True, incomplete_inputs_reason=reason)
    assert result["status"] == "published"
    row = gate_rows(warehouse, "rating")[-1]
    assert (row["verdict"], row["reason"], row["snapshot_ids"]) == ("accepted", reason, result["snapshot_id"])


def test_a_fall_in_rated_bodies_stops_publication(
    warehouse: Warehouse, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete_region(warehouse)
    from gospublic.rating.steps import rate as rate_month

    rate_month("2025-10", [METHODOLOGY])  # 7 rated, published
    warehouse.execute(  # two bodies lose their page in November: 5 rated, 29 % fewer
        "UPDATE mart.rating_base SET pages = 0 WHERE month = :m AND org_id IN ('org-01', 'org-02')",
        {"m": NOVEMBER},
    )
    with pytest.raises(PublicationGateError) as stopped:
        rate()
    message = str(stopped.value)
    assert (
        "органов в рейтинге 5 против 7 в опубликованном рейтинге прошлого месяца "
        "(gate-test:2025-10:r1): на 29\u00a0% меньше (допускается 20\u00a0%)"
    ) in message
    assert "5 rated bodies against 7 in the previous month's published rating" in message
    assert json.loads(gate_rows(warehouse, "rating")[-1]["findings"])["problems"][0]["code"] == "rated_drop"
    monkeypatch.setenv("GOSPUBLIC_GATE_MAX_RATED_DROP", "0.3")
    (result,) = rate()
    assert result["status"] == "published"


def test_a_rated_body_without_a_required_indicator_is_never_published(
    warehouse: Warehouse, lake: Lake
) -> None:
    """A draft whose stored rows lack a required indicator (here taken away after it was computed)
    is refused before publication, whatever the params."""
    complete_region(warehouse)
    (draft,) = rate(publish=False)
    removed = warehouse.execute(
        "DELETE FROM mart.rating_indicator "
        "WHERE snapshot_id = :s AND org_id = 'org-04' AND indicator_id = 'compliance'",
        {"s": draft["snapshot_id"]},
    )
    assert removed == 1
    reason = "пробуем опубликовать всё равно"
    with pytest.raises(PublicationGateError) as stopped:
        rate(accept_incomplete_inputs=True, incomplete_inputs_reason=reason)
    message = str(stopped.value)
    assert "у органов в рейтинге нет обязательных показателей (органов: 1): org-04 (compliance)" in message
    assert "1 rated bodies lack required indicators: org-04 (compliance)" in message
    assert "Такой рейтинг не публикуется ни при каких параметрах" in message
    assert not list(lake.list("publish/"))
    row = gate_rows(warehouse, "rating")[-1]
    assert row["verdict"] == "failed" and row["reason"] is None


def test_the_degeneracy_report_is_stored_with_the_snapshot_logged_and_returned(
    warehouse: Warehouse, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    from gospublic.rating.degeneracy import degeneracies_of

    complete_region(warehouse)
    warehouse.execute("UPDATE mart.rating_base SET compliance_score = 100 WHERE month = :m", {"m": NOVEMBER})
    with caplog.at_level("INFO"):
        (result,) = rate()
    found = degeneracies_of(warehouse, result["snapshot_id"])
    assert [(d.kind, d.group, d.indicator) for d in found] == [("equal_points", "Все органы", "compliance")]
    assert dict(found[0].counts) == {"equal": 7, "rated": 7, "points": 100.0, "share": 1.0}
    assert found[0].message_ru.startswith(
        "«Соответствие требованиям», группа «Все органы»: одинаковый балл (100,0)"
    )
    assert result["degeneracies"] == [d.as_dict() for d in found]
    from gospublic.rating.publication import hooks

    # the methodology page of the publication
    assert hooks.degeneracies(warehouse, result["snapshot_id"]) == [found[0].message_ru]
    assert found[0].message_ru in caplog.text
    (again,) = rate()  # inputs unchanged: the stored report is returned and logged again
    assert not again["created"] and again["degeneracies"] == result["degeneracies"]


def test_the_rated_drop_setting_is_parsed_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from gospublic.infra import settings

    assert settings.gate_rules().max_rated_drop == 0.2
    monkeypatch.setenv("GOSPUBLIC_GATE_MAX_RATED_DROP", "0.35")
    assert settings.gate_rules().max_rated_drop == 0.35
    for bad, why in (("a fifth", "could not convert"), ("1.5", "max_rated_drop must be within 0..1")):
        monkeypatch.setenv("GOSPUBLIC_GATE_MAX_RATED_DROP", bad)
        with pytest.raises(ValueError, match=why) as refused_value:
            settings.gate_rules()
        assert f"GOSPUBLIC_GATE_MAX_RATED_DROP={bad!r}" in str(refused_value.value)
