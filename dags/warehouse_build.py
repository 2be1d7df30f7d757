"""
### warehouse_build

Builds the marts — the BI contract in schema `mart` ([docs/data-dictionary.md](docs/data-dictionary.md))
— from `core`, month by month.

* **Trigger:** every update of the pages' tables (VK's, and OK's, MAX's and Telegram's
  `core.fct_network_*`) or the incident tables (Assets), and by hand for any month
  (`{"month": "2025-11"}`). Without a month it rebuilds the Moscow month of the run and the month
  before (month-end exports arrive on the 1st).
* **Steps:** per-incident timing (calendar and working hours on the production calendar in the
  region's zone, deadlines from `config/marts.yaml`, answer-quality flags) into
  `core.fct_incident_timing`, then the models of `sql/mart/` in file order; each month in one
  transaction, so a re-run gives the same tables.
* **Checks:** Great Expectations suites `mart_*` and reconciliation with `core` (every incident with
  a body counted once, every page and body present, posts equal core's); a failure fails the run.
* Publishes the Assets of the marts.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, get_current_context, task

from gospublic.marts.results import MonthBuilt
from gospublic.orchestration.assets import INCIDENTS, MARTS, NETWORK_PAGES, VK_PAGES
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
    month_param,
)
from gospublic.orchestration.failures import fail_fast


@dag(
    dag_id="warehouse_build",
    description="Rebuilds the marts of the months whose pages (any network) or incidents changed",
    schedule=AssetAny(*VK_PAGES, *NETWORK_PAGES, *INCIDENTS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "warehouse", "mart"],
    doc_md=__doc__,
    default_args=default_args(),
    params={"month": month_param("the month of the run and the month before")},
)
def warehouse_build() -> None:
    @task
    @fail_fast
    def months() -> list[str]:
        """The months to rebuild."""
        from gospublic.marts import steps

        context = get_current_context()
        return steps.months_to_build(context["params"].get("month"), context["dag_run"].run_after)

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def build(months: list[str]) -> list[MonthBuilt]:
        """Incident timing, then every mart model, month by month."""
        from gospublic.marts import steps

        return steps.build(months)

    @task(multiple_outputs=True, outlets=MARTS)
    @fail_fast
    def check(months: list[str]) -> dict[str, dict[str, int]]:
        """GE suites and reconciliation of each rebuilt month."""
        from gospublic.marts import steps

        return steps.check(months)

    chosen = months()
    build(chosen) >> check(chosen)


warehouse_build()
