"""
### registry

Loads the registry of bodies and their official pages (`orgs.csv`, `pages.csv`, see
`docs/registry-format.md`) into `core.dim_org`, `core.dim_org_alias` and `core.dim_page`.

* **Input:** the folder `GOSPUBLIC_REGISTRY_DIR` (default `config/registry`).
* **Checks:** Great Expectations suites `registry_orgs` and `registry_pages`, then cross-row rules
  (duplicate versions, overlapping validity, unknown parents and owners). Bad rows go to
  `audit.quarantine` with file, row, column and reason; the others load. A file without the
  documented columns fails the run.
* **History:** body versions keep `valid_from`/`valid_to`, so a past month is rated with the
  registry as it was then.
* **Schedule:** daily at 00:15 Moscow time, and by hand after editing the registry. Re-running
  replaces the dimensions with the same rows. Publishes the Assets of the three tables.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.orchestration.assets import REGISTRY
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)
from gospublic.orchestration.failures import fail_fast
from gospublic.registry.results import RegistryCounts


@dag(
    dag_id="registry",
    description="Reloads the registry of bodies and their pages: daily at 00:15, Moscow time",
    schedule=CronTriggerTimetable("15 0 * * *", timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "registry"],
    doc_md=__doc__,
    default_args=default_args(),
)
def registry() -> None:
    @task(multiple_outputs=True, outlets=REGISTRY, pool=WAREHOUSE_POOL)
    @fail_fast
    def load_registry() -> RegistryCounts:
        """Validate the registry files and replace the dimensions; returns the counts."""
        from gospublic.registry import steps

        context = get_current_context()
        return steps.load(dag_id=context["dag"].dag_id, run_id=context["run_id"])

    load_registry()


registry()
