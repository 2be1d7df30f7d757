"""
### ops_check

Every day at 09:00 Moscow time, reads the warehouse's health views (`audit.health_*`, migration
0024) and fails — alerting through the failure callback — with the reason in Russian and English
when a threshold is crossed: a source and region without an export for longer than
`GOSPUBLIC_OPS_EXPORT_MAX_DAYS` (`im=3,pos=7`, per region `58:pos=10`), a VK page failing
`GOSPUBLIC_OPS_PAGE_FAILING_DAYS` (3) loaded days in a row, an OK, MAX or Telegram page failing its
network's loaded days in a row (`GOSPUBLIC_OPS_NETWORK_PAGE_FAILING_DAYS`, default VK's), more VK
days of the last 7 not fully loaded than `GOSPUBLIC_OPS_VK_MISSING_DAYS` (0), a body with
incidents in each of the three months before the latest export month and none in it. Nothing to
retry: the data must change first.
The same report from a shell: `python -m gospublic.cli health` (docs/operations.md, "Health").
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.ops.results import OpsChecked
from gospublic.orchestration.defaults import DAGRUN_TIMEOUT, MAX_ACTIVE_TASKS, START_DATE, default_args


@dag(
    dag_id="ops_check",
    description="Fails on crossed health thresholds (exports, VK days and pages): 09:00, Moscow time",
    schedule=CronTriggerTimetable("0 9 * * *", timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "ops"],
    doc_md=__doc__,
    default_args=default_args(),
)
def ops_check() -> None:
    @task
    def check() -> OpsChecked:
        """Fail when the health crosses a threshold (the reason in Russian and English)."""
        from airflow.sdk.exceptions import AirflowFailException

        from gospublic.ops import steps

        try:
            return steps.check()
        except steps.OpsThresholdError as exc:  # the data must change: retrying cannot heal it
            raise AirflowFailException(str(exc)) from exc

    check()


ops_check()
