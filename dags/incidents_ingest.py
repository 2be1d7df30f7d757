"""
### incidents_ingest

Turns the exports of Инцидент Менеджмент (IM) and ПОС dropped into the lake into
`core.fct_incident` (latest state per incident) and `core.fct_incident_event` (every observation),
without losing or silently dropping a row.

* **Input:** `incoming/im/` and `incoming/pos/` of the lake (`gospublic_lake`: S3/MinIO or a
  folder), files named `<source>_<region>_<YYYYMMDD>.<xlsx|xls|csv>`, taken in arrival order and
  known by content hash: the same file dropped twice loads once.
* **Parsing:** format, encoding (UTF-8, UTF-8 with BOM, cp1251, UTF-16 with or without BOM) and
  separator are detected from the bytes; headers are matched through `config/incident_exports.yaml`;
  local times of the region become UTC. DuckDB reads and checks two files at a time within
  `GOSPUBLIC_ENGINE_MEMORY_LIMIT`.
* **Checks:** Great Expectations suites `incident_export_im` / `incident_export_pos`. Bad rows go
  to `audit.quarantine` (file, row, column, value, reason); a file that cannot be used moves to
  `rejected/` with a `.report.json`. Verdicts per file: `audit.validation_result`. Counts per
  file: `audit.load_runs` and `audit.export_file` (read = loaded + quarantined + duplicates).
* **Latest wins:** the newest export day, then the latest arrival; an old export arriving late
  changes nothing. Executors resolve to bodies through the registry's aliases; unknown ones load
  without a body and are listed in `audit.unresolved_executor` until an alias is added (the
  registry's update triggers this DAG, which then resolves them).
* **Personal data:** authors become keyed hashes (`gospublic_pseudonym`); texts and links go to
  `restricted.incident_text` only.
* **Schedule:** every 15 minutes (a LIST of two prefixes when nothing is new) and on every
  update of the registry. Object-store events would need a queue that neither the local folder
  nor a plain MinIO provide; a 15-minute delay is nothing for a monthly rating. Loaded files move
  to `archive/<source>/YYYY/MM/`. Publishes the Assets of both incident tables when they change.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.incidents.results import IngestResult, IngestTotals
from gospublic.orchestration.assets import INCIDENTS, REGISTRY, record_counts
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)
from gospublic.orchestration.failures import fail_fast

# The run's counts on its Asset events (IngestTotals' keys)
EVENT_COUNTS = ("files_loaded", "files_rejected", "rows_loaded", "rows_quarantined", "rows_unresolved")


@dag(
    dag_id="incidents_ingest",
    description="Loads incident exports from incoming/ every 15 minutes, Moscow time, and after the registry",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="Europe/Moscow"), assets=REGISTRY
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "incidents", "ingest"],
    doc_md=__doc__,
    default_args=default_args(),
)
def incidents_ingest() -> None:
    @task(multiple_outputs=True, pool=WAREHOUSE_POOL)
    @fail_fast
    def ingest_new_files() -> IngestResult:
        """Load, reject or recognise every file waiting in incoming/, oldest first."""
        from gospublic.incidents import steps

        context = get_current_context()
        return steps.ingest(dag_id=context["dag"].dag_id, run_id=context["run_id"])

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def resolve_executors() -> int:
        """Find bodies for incidents loaded without one (aliases added since)."""
        from gospublic.incidents import steps

        return steps.resolve()

    @task(multiple_outputs=True, outlets=INCIDENTS)
    @fail_fast
    def publish(summary: IngestResult, resolved: int) -> IngestTotals:
        """Announce the incident tables when this run changed them; skipped otherwise."""
        from gospublic.incidents import steps

        totals = steps.publish(summary, resolved)
        record_counts(  # shown on the Asset events in the UI
            get_current_context()["outlet_events"],
            INCIDENTS,
            {k: totals[k] for k in EVENT_COUNTS},
        )
        return totals

    summary = ingest_new_files()
    resolved = resolve_executors()
    summary >> resolved
    publish(summary, resolved)


incidents_ingest()
