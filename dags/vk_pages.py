"""
### vk_pages

Keeps the warehouse's picture of the official VK pages current: subscribers and page-compliance
fields (`groups.getById`), posts with their metrics (`wall.get`) and comments with the page's
replies (`wall.getComments`), through the real `vk-api` client.

* **Partition:** one Moscow calendar day `dt` (the run's logical date in Moscow). Scheduled at
  23:30 Moscow time, so subscribers are the day's last count.
* **Posts:** new posts plus a re-read window (`GOSPUBLIC_VK_WINDOW_DAYS`, default 7, or the
  `window_days` param) so views, likes, comments and reposts keep being updated; the window
  stretches back to the last extracted day when runs were missed, and to the day before the
  first incomplete day (calls given up, see Faults) until a complete run has re-read it.
* **Throughput:** pages are split into batches (`GOSPUBLIC_VK_BATCH_PAGES`, mapped tasks, at most
  1000); each batch uses every token of the `gospublic_vk` connection at its ceiling (user tokens:
  `execute` with 25 calls, 3 a second; service tokens: plain calls at their rate). The pool
  `vk_api` (1 slot per set of tokens) keeps two tasks from sharing a token's rate.
* **Lake first:** answers land in `raw/vk/<method>/dt=…/run=…/` and every finished run writes its
  manifest with its checks' verdict; the day's `latest.json` moves to a run only when it passed
  them. `load` reads only the lake, so `replay=true` reloads a past day without calling VK.
* **Faults:** errors 6/29, 5xx and dropped connections are retried with backoff; a captcha (14)
  retires the token. Two kinds of errors go to `audit.extract_errors` (`kind`), each with its own
  budget: pages VK refuses — closed, deleted, private, invalid (15/18/30/100), `kind = 'page'`,
  at most `GOSPUBLIC_VK_MAX_FAILED_SHARE` (default 5 %) of the pages — and calls *given up*
  after their retries — 5xx, dropped connections, timeouts, `kind = 'gave_up'`, pages with such
  calls at most `GOSPUBLIC_VK_MAX_GIVEUP_SHARE` (default 1 %). Over either budget `finish` fails
  and `latest.json` stays on the last passing run. Within it the day is loaded but incomplete
  (`audit.vk_day_status`) and the next run re-reads it.
* **Safe loads:** `load` refuses a manifest whose run did not pass its checks (a lake written
  before they existed) and a load that leaves the day with fewer pages in `core.fct_page_daily`
  than it has; trigger with `{"replay": true, "allow_fewer_pages": true}` when pages really left.
* **Backfill:** VK only tells the present, so re-extracting a past day gives today's metrics
  (observed_at says when). Missed days are covered by the next run's window. To rebuild tables
  from the lake: `airflow backfill create --dag-id vk_pages --from-date D1 --to-date D2
  --dag-run-conf '{"replay": true}'`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.orchestration.assets import VK_PAGES, record_counts
from gospublic.orchestration.deadlines import VK_DAY_LOADED_WITHIN, deadline
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)
from gospublic.orchestration.failures import fail_fast
from gospublic.vk.results import Batch, BatchResult, DayLoad, DaySummary

VK_POOL = "vk_api"


@dag(
    dag_id="vk_pages",
    description="Loads the day's VK pages and posts: daily at 23:30, Moscow time",
    schedule=CronTriggerTimetable("30 23 * * *", timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    deadline=deadline(
        VK_DAY_LOADED_WITHIN, "данные VK за прошедший день загружены к 03:00 (московское время)"
    ),
    tags=["gospublic", "vk", "extract"],
    doc_md=__doc__,
    default_args=default_args(),
    params={
        "replay": Param(False, type="boolean", description="load the day from the lake, no VK calls"),
        "window_days": Param(None, type=["null", "integer"], minimum=0, description="re-read window"),
        "allow_fewer_pages": Param(
            False,
            type="boolean",
            description="let load replace a loaded day with fewer pages than it has (pages really left)",
        ),
    },
)
def vk_pages() -> None:
    @task.branch
    @fail_fast
    def choose_mode() -> str:
        """Replay loads from the lake only; otherwise extract first."""
        from gospublic.vk import steps

        return steps.first_task(bool(get_current_context()["params"].get("replay")))

    @task
    @fail_fast
    def plan() -> list[Batch]:
        """The day's VK pages in batches, with the start of the posts' re-read window."""
        from gospublic.vk import steps

        context = get_current_context()
        return steps.plan(context["logical_date"], window_days=context["params"].get("window_days"))

    @task(multiple_outputs=True, pool=VK_POOL)
    @fail_fast
    def extract(batch: Batch) -> BatchResult:
        """Call VK for one batch of pages; every answer lands in the lake."""
        from gospublic.vk import steps

        context = get_current_context()
        return steps.extract(batch, context["logical_date"], context["run_id"])

    @task(multiple_outputs=True)
    @fail_fast
    def finish(outcomes: list[BatchResult]) -> DaySummary:
        """Write the run's manifest; move latest.json to it only if it passed its checks."""
        from gospublic.vk import steps

        context = get_current_context()
        return steps.finish(context["logical_date"], context["run_id"], list(outcomes))

    @task(
        multiple_outputs=True,
        outlets=VK_PAGES,
        trigger_rule="none_failed_min_one_success",
        pool=WAREHOUSE_POOL,
    )
    @fail_fast
    def load() -> DayLoad:
        """Load the day's latest manifest from the lake into staging and core."""
        from gospublic.vk import steps

        context = get_current_context()
        loaded = steps.load(
            context["logical_date"],
            allow_fewer_pages=bool(context["params"].get("allow_fewer_pages")),
            dag_id=context["dag"].dag_id,
            task_id=context["task"].task_id,
        )
        record_counts(  # shown on the Asset events in the UI
            context["outlet_events"],
            VK_PAGES,
            {
                "dt": loaded["dt"],
                "complete": loaded["complete"],
                "extraction_errors": loaded["errors"],
                "rows_rejected": sum(int(c.get("rejected", 0)) for c in loaded["counts"].values()),
            },
        )
        return loaded

    mode = choose_mode()
    batches = plan()
    mode >> [batches, load_task := load()]
    finish(extract.expand(batch=batches)) >> load_task


vk_pages()
