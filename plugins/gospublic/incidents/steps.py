"""The steps of the ``incidents_ingest`` DAG, callable without Airflow (tests, CLI)."""

from __future__ import annotations

import logging

from gospublic.incidents.files import ingest_landed
from gospublic.incidents.load import resolve_unresolved
from gospublic.incidents.results import IngestResult, IngestTotals
from gospublic.infra.lake import Lake
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.infra.warehouse import Warehouse

log = logging.getLogger(__name__)


def ingest(dag_id: str | None = None, run_id: str | None = None) -> IngestResult:
    """One pass over the lake's ``incoming/``; returns what was loaded, rejected and recognised."""
    with Warehouse.from_connection() as warehouse:
        summary = ingest_landed(
            Lake.from_connection(),
            warehouse,
            pseudonymize=pseudonymizer(),
            dag_id=dag_id,
            run_id=run_id,
        )
    log.info(
        "incoming: %d loaded, %d rejected, %d already loaded",
        len(summary["loaded"]),
        len(summary["rejected"]),
        len(summary["already_loaded"]),
    )
    return summary


def resolve() -> int:
    """Find bodies for incidents loaded without one (aliases added since); returns how many."""
    with Warehouse.from_connection() as warehouse:
        return resolve_unresolved(warehouse)


def publish(summary: IngestResult, resolved: int) -> IngestTotals:
    """Totals of the run; skips the task (no Asset event) when the tables did not change."""
    totals: IngestTotals = {
        "files_loaded": len(summary["loaded"]),
        "files_rejected": len(summary["rejected"]),
        "files_already_loaded": len(summary["already_loaded"]),
        "rows_loaded": sum(f["rows_loaded"] for f in summary["loaded"]),
        "rows_quarantined": sum(f["rows_quarantined"] for f in summary["loaded"]),
        "rows_unresolved": sum(f["rows_unresolved"] for f in summary["loaded"]),
        "files_misplaced": sum(1 for f in summary["rejected"] if f["kind"] == "misplaced"),
        "files_with_unrecognised_columns": sum(1 for f in summary["loaded"] if f["columns_unrecognised"]),
        "files_with_changed_columns": sum(1 for f in summary["loaded"] if f["columns_changed"]),
        "incidents_resolved": resolved,
    }
    log.info("incidents_ingest: %s", totals)
    for loaded in summary["loaded"]:  # alerts: a file whose header changed or holds unread columns
        if loaded["columns_unrecognised"] or loaded["columns_changed"]:
            log.warning(
                "%s: columns no field reads: %s; fields changed since the region's last file: %s",
                loaded["file"], "; ".join(loaded["columns_unrecognised"]) or "none",
                loaded["columns_changed"] or "none",
            )  # fmt: skip
    for rejected in summary["rejected"]:
        log.warning("rejected %s (%s): %s", rejected["landed_key"], rejected["kind"], rejected["reason"])
    if not totals["files_loaded"] and not resolved:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("nothing new: the incident tables did not change")
    return totals
