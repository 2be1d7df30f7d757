"""warehouse_build end to end: VK days and incident exports of the small region loaded, the marts
built by dag.test() on DuckDB and PostgreSQL, reconciled with the sandbox's truth and with core."""

from __future__ import annotations

import csv
import multiprocessing
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from gospublic.incidents.files import ingest_landed
from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Transaction
from gospublic.marts import build as marts_build
from gospublic.marts.build import build_month
from gospublic.marts.check import MartCheckError, check_month
from tests.keys import repeated_keys
from tests.vk.conftest import VkWorld, days
from transforms import answer_quality
from transforms.pseudonymize import make_pseudonymizer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NOVEMBER = date(2025, 11, 1)
RUN_DAYS = days(date(2025, 11, 26), 2)
MART_TABLES = (
    "mart.subscribers_daily",
    "mart.page_activity_monthly",
    "mart.page_compliance_monthly",
    "mart.response_metrics_monthly",
)


def truth(data: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data / "truth" / name, dtype=str, keep_default_na=False)


def load_world(world: VkWorld, dagbag, tmp_path: Path) -> None:
    for day in RUN_DAYS:
        assert world.run(dagbag.get_dag("vk_pages"), day).state == "success"
    lake = LocalLake(tmp_path / "exports-lake")
    with open(world.data / "truth" / "exports.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            path = world.data / row["file"]
            lake.put_file(f"incoming/{row['source']}/{path.name}", path)
    summary = ingest_landed(
        lake, world.warehouse, pseudonymize=make_pseudonymizer(b"marts-test-key-0123456789")
    )
    assert summary["rejected"] == [] and len(summary["loaded"]) == 8


def snapshot(world: VkWorld) -> dict[str, list]:
    """Every mart's rows; floats rounded (PostgreSQL may sum in another order on a rebuild)."""
    out = {}
    for table in (*MART_TABLES, "mart.dim_org", "mart.dim_page", "core.fct_incident_timing"):
        frame = world.warehouse.query_df(f"SELECT * FROM {table}")
        for column in frame.columns:
            if frame[column].dtype.kind == "f":
                frame[column] = frame[column].round(9)
        out[table] = sorted(map(tuple, frame.astype(str).to_numpy().tolist()))
    return out


def test_marts_of_the_month_reconcile_with_truth(
    vk_world: VkWorld, dagbag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, wh = vk_world, vk_world.warehouse
    load_world(world, dagbag, tmp_path)

    run = dagbag.get_dag("warehouse_build").test(
        logical_date=datetime(2025, 11, 28, 6, tzinfo=UTC), run_conf={"month": "2025-11"}
    )
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert repeated_keys(wh) == {}

    # Response metrics: per body and source, the truth's incidents of November (Moscow time).
    incidents = truth(world.data, "incidents.csv")
    incidents = incidents[incidents["org_id"] != ""]
    local = pd.to_datetime(incidents["registered_at"], utc=True).dt.tz_convert("Europe/Moscow")
    incidents = incidents[(local.dt.year == 2025) & (local.dt.month == 11)].copy()
    # a rejected incident («Отклонён») counts in incidents only: never answered, overdue or rated
    rejected = incidents["status_code"] == "rejected"
    for column in ("answered", "overdue"):
        incidents[column] = incidents[column].astype(int).where(~rejected, 0)
    for column in ("satisfaction", "satisfied"):
        incidents[column] = incidents[column].where(~rejected, "")
    expected = incidents.groupby(["org_id", "source"]).agg(
        incidents=("incident_id", "size"),
        excluded=("status_code", lambda s: int((s == "rejected").sum())),
        answered=("answered", "sum"),
        overdue=("overdue", "sum"),
        satisfaction_avg=("satisfaction", lambda s: pd.to_numeric(s.replace("", None)).mean()),
        satisfied_share=("satisfied", lambda s: pd.to_numeric(s.replace("", None)).mean()),
    )
    got = wh.query_df("SELECT * FROM mart.response_metrics_monthly WHERE month = :m", {"m": NOVEMBER})
    got = got.set_index(["org_id", "source"]).sort_index()
    expected = expected.sort_index()
    assert list(got.index) == list(expected.index)
    assert int(expected["excluded"].sum()) > 0  # the month has rejected incidents to exclude
    for column in ("incidents", "excluded", "answered", "overdue"):
        assert got[column].astype(int).tolist() == expected[column].tolist(), column
    for column in ("satisfaction_avg", "satisfied_share"):
        pd.testing.assert_series_equal(
            got[column].astype(float), expected[column].astype(float), check_names=False, atol=1e-9
        )
    assert (got["answer_work_hours_median"].dropna() <= got["answer_hours_median"].dropna() + 1e-9).all()

    # Every flag raised by a phrase keeps that phrase (restricted: quotes from answers).
    for flag in ("formal", "redirect"):
        flagged = wh.scalar(f"SELECT COUNT(*) FROM core.fct_incident_timing WHERE {flag}")
        explained = wh.scalar(
            "SELECT COUNT(DISTINCT source || incident_id) FROM restricted.answer_quality_evidence "
            "WHERE flag = :f",
            {"f": flag},
        )
        assert flagged > 0 and explained == flagged, flag

    # Subscribers: the truth's count for every page and day observed.
    subscribers = truth(world.data, "subscribers_daily.csv").set_index(["page_id", "date"])["members_count"]
    rows = wh.query_df("SELECT page_id, dt, subscribers, change_day FROM mart.subscribers_daily")
    assert len(rows) > 0
    for row in rows.itertuples():
        assert int(row.subscribers) == int(subscribers[(row.page_id, str(row.dt))])
    second = rows[rows["dt"].astype(str) == str(RUN_DAYS[1])]
    for row in second.itertuples():
        previous = int(subscribers[(row.page_id, str(RUN_DAYS[0]))])
        assert int(row.change_day) == int(row.subscribers) - previous

    # Page activity: posts per page equal the truth's posts of the days the window covered.
    activity = wh.query_df("SELECT * FROM mart.page_activity_monthly WHERE month = :m", {"m": NOVEMBER})
    assert activity["page_id"].is_unique and (activity["posts"] >= activity["days_with_post"]).all()
    assert ((activity["longest_gap_days"] >= 0) & (activity["longest_gap_days"] <= 30)).all()

    # Checks pass on the built month, fail on a broken row; a rebuild changes nothing.
    before = snapshot(world)
    build_month(wh, NOVEMBER)
    assert snapshot(world) == before
    monkeypatch.setattr(marts_build, "TIMING_BATCH_ROWS", 1)  # one region a batch: the same tables
    build_month(wh, NOVEMBER)
    assert snapshot(world) == before
    # Answers assessed in the worker processes, the next batch while this one finishes: the same.
    monkeypatch.setattr(answer_quality, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(answer_quality, "PARALLEL_CHUNK_TEXTS", 50)
    monkeypatch.setenv("GOSPUBLIC_WORKER_PROCESSES", "2")
    workers_at_models: list[int] = []
    run_models = Transaction.run_models

    def counting_workers(tx: Transaction, *args, **kwargs):  # the mart models run without idle workers
        workers_at_models.append(len(multiprocessing.active_children()))
        return run_models(tx, *args, **kwargs)

    monkeypatch.setattr(Transaction, "run_models", counting_workers)
    build_month(wh, NOVEMBER)
    monkeypatch.setattr(Transaction, "run_models", run_models)
    assert snapshot(world) == before
    assert workers_at_models == [0]
    wh.execute(
        "UPDATE mart.response_metrics_monthly SET answered = incidents + 1 WHERE month = :m", {"m": NOVEMBER}
    )
    with pytest.raises(MartCheckError, match="answered cannot exceed incidents"):
        check_month(wh, NOVEMBER)
    build_month(wh, NOVEMBER)
    wh.execute(
        "DELETE FROM mart.page_activity_monthly "
        "WHERE page_id = (SELECT MIN(page_id) FROM mart.page_activity_monthly)"
    )
    with pytest.raises(MartCheckError, match="every VK page official in the month has its activity row"):
        check_month(wh, NOVEMBER)
