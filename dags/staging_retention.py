"""
### staging_retention

Every day at 04:00 Moscow time (after the network days' 03:00 deadline), deletes the staged days the
retention rule of `config/retention.yaml` no longer keeps: by default the current and previous
month plus the VK re-read window (`GOSPUBLIC_VK_WINDOW_DAYS`) stay, and an older day goes once a
rating of its month is published. Tables: the VK page, post and comment observations and the
OK/MAX/Telegram page and post observations (the rule's `tables`, allow-listed in
`gospublic.infra.retention_rule`).

* **One transaction per table partition**, under the writer lock of the load that writes it; each
  recorded in `audit.staging_retention` (rows deleted and folded, the horizon, when).
* **Core and the marts are untouched**; a VK day of posts or comments is first folded into
  `staging.vk_post_retired` / `vk_comment_retired`, which the VK load's full scope reads, and a
  network's day of OK/MAX/Telegram posts into `staging.network_post_retired`, which their post
  model reads, so re-runs stay exact. A deleted day is loaded again by replaying it from the lake
  (docs/operations.md, "Staging retention").
* **Safe to re-run:** a run deletes only what is still there; a second run finds nothing.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.infra.retention_results import StagingCleaned
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)


@dag(
    dag_id="staging_retention",
    description="Deletes staged days older than the retention rule keeps: 04:00, Moscow time",
    schedule=CronTriggerTimetable("0 4 * * *", timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    tags=["gospublic", "ops", "warehouse"],
    doc_md=__doc__,
    default_args=default_args(),
)
def staging_retention() -> None:
    @task(pool=WAREHOUSE_POOL)
    def clean() -> StagingCleaned:
        """Fold and delete the staged partitions older than the rule keeps; audit each."""
        from gospublic.ops import steps

        return steps.retain_staging()

    clean()


staging_retention()
