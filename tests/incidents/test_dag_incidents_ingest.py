"""incidents_ingest end to end: dag.test() on the sample month's exports, lake on moto's S3 server,
on DuckDB and PostgreSQL, reconciled with the generator's ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.incidents.conftest import IncidentWorld, export_files, truth_rows
from tests.keys import repeated_keys

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.s3]

GE_REASONS = {
    "empty_required": "required field {field} is empty",
    "out_of_scale_satisfaction": "satisfaction outside the scale 1–5",
    "answer_before_registration": "answer dated before registration",
}
TABLES = (
    "core.fct_incident",
    "core.fct_incident_event",
    "restricted.incident_text",
    "audit.quarantine",
    "audit.export_file",
    "audit.validation_result",
)


def run(dagbag, minute: int = 0):
    dag = dagbag.get_dag("incidents_ingest")
    return dag.test(logical_date=datetime(2025, 12, 1, 9, minute, tzinfo=UTC))


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def fingerprint(world: IncidentWorld) -> dict[str, list]:
    """Every table's rows minus the columns that record when they were written."""
    volatile = {"processed_at", "quarantined_at", "validated_at", "run_id", "exported_at"}
    out = {}
    for table in TABLES:
        frame = world.warehouse.query_df(f"SELECT * FROM {table}")
        frame = frame.drop(columns=[c for c in frame.columns if c in volatile]).astype(str)
        out[table] = sorted(map(tuple, frame.to_numpy().tolist()))
    return out


def field_of(header: str, data_file: str) -> str:
    """The yaml field a header of the sample stands for (headers or aliases)."""
    from gospublic.incidents.load import export_spec
    from transforms.incident_spec import header_key

    source = export_spec().sources[data_file.rsplit("/", maxsplit=1)[-1].split("_", maxsplit=1)[0]]
    return next(f.name for f in source.fields if header_key(header) in {header_key(n) for n in f.names})


def test_sample_month_reconciles_with_truth(incident_world: IncidentWorld, dagbag) -> None:
    world, wh = incident_world, incident_world.warehouse
    for path in export_files(world.data):
        world.drop(path)

    dag_run = run(dagbag)
    assert dag_run.state == "success", task_states(dag_run)
    assert task_states(dag_run)["publish"] == "success"

    # Every incident once, with the state of its latest valid row.
    truth = pd.DataFrame(truth_rows(world.data, "incidents.csv"))
    got = wh.query_df("SELECT * FROM core.fct_incident")
    assert len(got) == len(truth)
    merged = truth.merge(
        got, on=["source", "incident_id"], how="outer", suffixes=("_truth", ""), indicator=True
    )
    assert (merged["_merge"] == "both").all()
    assert (merged["status_code"] == merged["status"]).all()
    assert (merged["org_id_truth"].replace("", None).fillna("-") == merged["org_id"].fillna("-")).all()
    assert (merged["last_export"] == merged["last_file"]).all()
    for column in ("registered_at", "first_reaction_at", "answered_at", "due_at"):
        expected = pd.to_datetime(merged[f"{column}_truth"].replace("", None), utc=True)
        actual = pd.to_datetime(merged[column], utc=True)
        same = (expected == actual) | (expected.isna() & actual.isna())
        assert same.all(), merged.loc[~same, ["incident_id", f"{column}_truth", column]].head()
    for column in ("satisfaction", "satisfied"):
        expected = pd.to_numeric(merged[f"{column}_truth"].replace("", None)).astype("Int64")
        assert expected.equals(pd.to_numeric(merged[column]).astype("Int64")), column
    assert (merged["answered"].astype(int).astype(bool) == merged["is_answered"].astype(bool)).all()
    assert (merged["overdue"].astype(int).astype(bool) == merged["is_overdue"].astype(bool)).all()

    # Every file archived, counts reconciled per file and equal to the rows written.
    assert world.keys("incoming/") == []
    exports = {r["file"].split("/")[-1]: r for r in truth_rows(world.data, "exports.csv")}
    archived = {key.rsplit("/", 1)[-1]: key for key in world.keys("archive/")}
    assert set(archived) == set(exports)
    assert archived["im_58_20251108.csv"] == "archive/im/2025/11/im_58_20251108.csv"
    assert archived["im_58_20251201.xlsx"] == "archive/im/2025/12/im_58_20251201.xlsx"
    runs = wh.query("SELECT * FROM audit.load_runs WHERE source LIKE 'incidents/%'")
    assert len(runs) == len(exports)
    for load_run in runs:
        assert load_run["status"] == "success"
        assert load_run["rows_read"] == int(exports[load_run["partition_key"]]["rows"])
        assert load_run["rows_read"] == (
            load_run["rows_written"] + load_run["rows_rejected"] + load_run["rows_duplicate"]
        )
    files = wh.query("SELECT * FROM audit.export_file")
    assert {f["state"] for f in files} == {"loaded"}
    assert sum(f["rows_loaded"] for f in files) == wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event")

    # Every defect the generator injected is accounted for, with its file, row, column and reason.
    defects = truth_rows(world.data, "export_defects.csv")
    quarantine = wh.query("SELECT file, row_number, column_name, reason, value FROM audit.quarantine")
    by_cell = {(q["file"], q["row_number"], q["column_name"]): q for q in quarantine}
    invalid = [d for d in defects if d["kind"] in {*GE_REASONS, "unparseable_date"}]
    assert len(quarantine) == len(invalid)
    for defect in invalid:
        name = defect["file"].split("/")[-1]
        found = by_cell.get((name, int(defect["row"]), defect["column"]))
        assert found, defect
        if defect["kind"] == "unparseable_date":
            assert found["reason"].startswith("not a date-time (expected ДД.ММ.ГГГГ")
            assert found["value"] == defect["value"]
        else:
            field = field_of(defect["column"], defect["file"])
            assert found["reason"] == GE_REASONS[defect["kind"]].format(field=field), defect
    duplicates = Counter(d["file"].split("/")[-1] for d in defects if d["kind"] == "duplicate_row")
    assert {r["partition_key"]: r["rows_duplicate"] for r in runs if r["rows_duplicate"]} == duplicates
    unknown = {d["value"] for d in defects if d["kind"] == "unknown_executor"}
    listed = {r["executor"] for r in wh.query("SELECT executor FROM audit.unresolved_executor")}
    assert listed == unknown

    # Great Expectations verdicts are kept per file and expectation.
    verdicts = wh.query(
        "SELECT file, severity, unexpected_count FROM audit.validation_result WHERE NOT success"
    )
    assert {v["file"] for v in verdicts} <= set(exports)
    failed = sum(v["unexpected_count"] for v in verdicts if v["severity"] != "warning")
    assert failed == len([d for d in defects if d["kind"] in GE_REASONS])

    # A re-run finds nothing new and changes nothing; the same file dropped again is recognised.
    before = fingerprint(world)
    again = run(dagbag, minute=15)
    assert again.state == "success"
    assert task_states(again)["publish"] == "skipped"
    first = export_files(world.data)[0]
    world.drop(first)
    third = run(dagbag, minute=30)
    assert third.state == "success"
    assert task_states(third)["publish"] == "skipped"
    assert world.keys("incoming/") == []
    assert fingerprint(world) == before
    assert repeated_keys(wh) == {}

    # The run's counts on its Asset events, where the Airflow UI shows them (issue 26), and the
    # health views agree with the files (audit.health_export, audit.health_quarantine).
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        extras = session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "core.fct_incident", AssetEvent.source_run_id == dag_run.run_id)
        ).all()
    assert len(extras) == 1, extras
    assert extras[0]["rows_quarantined"] == len(quarantine) > 0
    assert extras[0]["rows_loaded"] == sum(f["rows_loaded"] for f in files)
    assert (extras[0]["files_loaded"], extras[0]["files_rejected"]) == (len(files), 0)
    health = wh.query("SELECT source, region_code, last_export_date, files FROM audit.health_export")
    assert sum(h["files"] for h in health) == len(files)
    assert max(h["last_export_date"] for h in health) == max(f["export_date"] for f in files)
    assert wh.scalar("SELECT SUM(rows_quarantined) FROM audit.health_quarantine") == len(quarantine)
