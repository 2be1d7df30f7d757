"""monthly_rating with ``dry_run`` (DuckDB and PostgreSQL): the month compared with its published
rating under ``whatif/`` in the lake, nothing published, no snapshot written; the task says where.

The region of tests/test_rating_whatif.py is published; then org-05's photo/video share falls
(0.5 → 0.05). A dry run shows what republishing would do — org-05 from place 5 to 7 and red,
org-06 and org-07 one place up — and leaves the published revision, the tables and ``publish/`` as
they were."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from tests.test_rating_publish import change_inputs, lake_files
from tests.test_rating_whatif import METHODOLOGY, MONTH, counts, home, published  # noqa: F401 (fixture)

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
WHEN = datetime(2025, 12, 3, 3, tzinfo=UTC)


def test_dry_run_compares_and_publishes_nothing(warehouse: Warehouse, lake: Lake, home, dagbag) -> None:  # noqa: F811
    published(warehouse, lake)
    change_inputs(warehouse)
    before, files_before = counts(warehouse), lake_files(lake, "publish/")
    run = dagbag.get_dag("monthly_rating").test(
        logical_date=WHEN,
        run_conf={
            "month": MONTH, "methodologies": [METHODOLOGY], "republish": False, "dry_run": True,
            "accept_incomplete_inputs": False, "incomplete_inputs_reason": None,
        },
    )  # fmt: skip
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert counts(warehouse) == before and lake_files(lake, "publish/") == files_before
    assert warehouse.scalar("SELECT MAX(revision) FROM mart.rating_snapshot") == 1

    (task,) = [ti for ti in run.get_task_instances() if ti.task_id == "rate"]
    (result,) = task.xcom_pull(task_ids="rate")
    root = result["path"]
    assert root.startswith(f"whatif/{MONTH}/{METHODOLOGY}/") and len(root.split("/")) == 4
    assert result["status"] == "what-if" and result["against_snapshot"] == f"{METHODOLOGY}:{MONTH}:r1"
    assert (result["moved"], result["zone_changed"], result["rated"]) == (3, 1, 7)
    assert sorted(result["files"]) == [f"{root}/comparison.html", f"{root}/comparison.xlsx"]
    assert {obj.key for obj in lake.list("whatif/")} == set(result["files"])

    sheet = load_workbook(io.BytesIO(lake.get_bytes(f"{root}/comparison.xlsx")))["Сравнение"]
    header = [cell.value for cell in sheet[1]]
    rows = {r[header.index("ID органа")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    place = header.index("Движение")
    assert {org: rows[org][place] for org in ("org-05", "org-06", "org-07")} == {
        "org-05": -2, "org-06": 1, "org-07": 1,
    }  # fmt: skip
    assert "ноябрь 2025" in lake.get_bytes(f"{root}/comparison.html").decode("utf-8")
