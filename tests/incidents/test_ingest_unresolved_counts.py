"""Incidents whose executor matched no body of the registry are counted for the run that loaded
them (issue 26): recorded per file in ``audit.export_file.rows_unresolved``, put on the run's Asset
event, and named in the run's failure alert as delivered by mail and Telegram. incidents_ingest
runs for real (``dag.test()``, the sample month's exports, S3 lake on moto) on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest

from tests import alert_channels
from tests.alert_channels import mail_text
from tests.incidents.conftest import IncidentWorld, export_files, truth_rows

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.s3]

smtp_server, telegram_stub = alert_channels.smtp_server, alert_channels.telegram_stub  # the fixtures
UNRESOLVED_LABEL = "Обращений с исполнителем не из реестра"


class _FailedTi:
    """A task instance of the run, as the failure callback's context carries it."""

    def __init__(self, run_id: str) -> None:
        self.dag_id, self.task_id, self.run_id = "incidents_ingest", "resolve_executors", run_id
        self.map_index, self.try_number, self.log_url = -1, 1, "http://airflow.example.ru/log"


def test_unresolved_executors_are_counted_for_the_run(
    incident_world: IncidentWorld,
    dagbag: Any,
    smtp_server: list[Message],
    telegram_stub: list[dict[str, Any]],
) -> None:
    world, wh = incident_world, incident_world.warehouse
    for path in export_files(world.data):
        world.drop(path)
    dag_run = dagbag.get_dag("incidents_ingest").test(logical_date=datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
    assert dag_run.state == "success", {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    # Recorded per file: the rows it loaded without a body, as the fact table holds them.
    recorded = {
        r["file"]: r["rows_unresolved"]
        for r in wh.query("SELECT file, rows_unresolved FROM audit.export_file")
    }
    assert len(recorded) == len(export_files(world.data))
    assert None not in recorded.values(), recorded
    without_body = {
        r["file"]: int(r["n"])
        for r in wh.query(
            "SELECT file, COUNT(*) AS n FROM core.fct_incident_event WHERE org_id IS NULL GROUP BY file"
        )
    }
    assert {f: n for f, n in recorded.items() if n} == without_body
    total = sum(without_body.values())
    # ... and as the generator made them: its unknown-executor rows, those not quarantined for another reason
    quarantined = {
        (q["file"], q["row_number"]) for q in wh.query("SELECT file, row_number FROM audit.quarantine")
    }
    unknown = {
        (d["file"].rsplit("/", 1)[-1], int(d["row"]))
        for d in truth_rows(world.data, "export_defects.csv")
        if d["kind"] == "unknown_executor"
    }
    assert total == len(unknown - quarantined) > 0

    # On the run's Asset event, beside the other counts.
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        extras = session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "core.fct_incident", AssetEvent.source_run_id == dag_run.run_id)
        ).all()
    assert len(extras) == 1 and extras[0]["rows_unresolved"] == total, extras

    # In the run's failure alert, delivered by both channels.
    from gospublic.orchestration.defaults import notify_failure
    from transforms.ru_format import count

    notify_failure(
        {"ti": _FailedTi(dag_run.run_id), "exception": RuntimeError("the registry is unreachable")}
    )
    line = f"{UNRESOLVED_LABEL}: {count(total)}"
    assert len(telegram_stub) == len(smtp_server) == 1
    assert line in telegram_stub[0]["text"].splitlines(), telegram_stub[0]["text"]
    assert line in mail_text(smtp_server[0]).splitlines()
    assert f"Строк в карантине: {count(len(quarantined))}" in telegram_stub[0]["text"].splitlines()
