"""The publication gate in the rating step (issue 22, item 3) on DuckDB and PostgreSQL: a month is
rated only when its inputs are complete — or when incomplete inputs are accepted deliberately with
a reason — and a snapshot with no rated body or a non-finite score is never made, whatever the
override. Every check is recorded in ``audit.rating_gate``.

The region of tests/test_rating_publish.py (``mart.rating_base`` seeded directly) with its inputs'
records (tests/rating_inputs.py). The DAG's params are tested in tests/vk/test_dag_monthly_rating.py.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.gate import month_inputs
from gospublic.rating.snapshot import compute_snapshot
from tests.rating_inputs import record_vk_days
from tests.test_rating_publish import METHODOLOGY, seed_region
from transforms.methodology import load_methodology
from transforms.publication_gate import PublicationGateError

MONTH = "2025-11"
OCTOBER, NOVEMBER = date(2025, 10, 1), date(2025, 11, 1)


def rate(**options):
    from gospublic.rating.steps import rate as rate_month

    return rate_month(MONTH, [METHODOLOGY], **options)


def gate_rows(warehouse: Warehouse) -> list[dict]:
    return warehouse.query(
        "SELECT month, verdict, reason, findings, message, snapshot_ids FROM audit.rating_gate "
        "ORDER BY checked_at"
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


def test_a_snapshot_with_a_nan_score_is_never_made(warehouse: Warehouse, tmp_path: Path) -> None:
    """A rated body with every indicator missing (all re-weighted away) scores NaN: the snapshot
    is refused before anything is written, and no override reaches this check."""
    complete_region(warehouse)
    warehouse.execute("UPDATE mart.rating_base SET satisfied_share = 0.5 WHERE month = :m", {"m": NOVEMBER})
    warehouse.execute(
        "UPDATE mart.rating_base SET satisfied_share = NULL WHERE month = :m AND org_id = 'org-03'",
        {"m": NOVEMBER},
    )
    path = tmp_path / "gaps.yaml"
    path.write_text(METHODOLOGY_WITH_GAPS, encoding="utf-8")
    with pytest.raises(PublicationGateError) as stopped:
        compute_snapshot(warehouse, load_methodology(path), NOVEMBER)
    message = str(stopped.value)
    assert "оценка не является числом (органов: 1): org-03" in message
    assert "the score is not a finite number for 1 bodies: org-03" in message
    assert snapshot_count(warehouse) == 0
    assert warehouse.scalar("SELECT COUNT(*) FROM mart.rating_monthly") == 0

    assert "оценки нельзя публиковать" in message and "its scores cannot be published" in message

    nobody = tmp_path / "nobody.yaml"  # every body needs two official pages: none has them
    nobody.write_text(METHODOLOGY_WITH_GAPS.replace("id: gaps", "id: nobody\nmin_pages: 2"), encoding="utf-8")
    with pytest.raises(PublicationGateError, match=r"ни один орган не получил оценку \(органов: 8\)"):
        compute_snapshot(warehouse, load_methodology(nobody), NOVEMBER)
    assert snapshot_count(warehouse) == 0
