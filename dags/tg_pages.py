"""
### tg_pages

Lands the day's official Telegram channels in the lake: each channel's full card and subscribers
(`channels.getFullChannel`) and its posts with their views, forwards, replies and reactions
(`messages.getHistory`), read over MTProto by Telethon with the reading account of the
`gospublic_telegram_mtproto` connection (api_id, api_hash, StringSession: masked, never logged;
docs/networks.md, "Telegram").

* **Partition:** one Moscow calendar day `dt` (the run's logical date in Moscow), scheduled at
  23:45 Moscow time, staggered after `vk_pages` (23:30), `ok_pages` (23:35) and `max_pages`
  (23:40); the channels are those official on `dt` in `core.dim_page` (network `tg`, the
  username in `screen_name`), so the registry must be loaded first.
* **Lake first:** answers land in `raw/tg/<method>/dt=…/run=…/`; `land` writes the run's
  manifest with its checks' verdict and moves the day's `latest.json` to it only when it passed
  them.
* **Load:** after `check`, `load` (pool `warehouse_writer`) reads the day's passed manifest from
  the lake and replaces the network's day in `staging.network_*_observations`,
  `core.fct_network_page_daily` and `core.fct_network_post` in one transaction (read = written +
  rejected + duplicate per raw method in `audit.load_runs`); its Assets schedule
  `warehouse_build`, whose marts carry the page's `network`.
* **Pool:** `extract` (mapped over batches of channels) runs in `tg_api` (1 slot per reading
  account), so two tasks never share the account's FLOOD_WAIT budget. FLOOD_WAITs are sat out
  within the connection's `max_flood_wait` and `flood_patience`.
* **Errors:** `record_errors` writes the run's errors to `audit.extract_errors` (network `tg`,
  the username in `page_key`), replacing only the day's Telegram rows. `check` fails — for good,
  no retries — when the run did not pass its checks (too many channels refused or given up).
* **Deadline:** the day landed by 03:00 Moscow the next morning.
* **Asset:** `raw/tg` (lake prefix `raw/tg/`), updated by `check` when the day passed, with
  its counts.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.infra.network_results import NetworkDayLoad
from gospublic.orchestration.assets import NETWORK_PAGES, TG_RAW, record_counts
from gospublic.orchestration.deadlines import network_day_deadline
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
)
from gospublic.orchestration.failures import fail_fast
from gospublic.telegram.results import Batch, BatchResult, DaySummary

TG_POOL = "tg_api"
SCHEDULE = "45 23 * * *"  # Moscow: after vk_pages 23:30, ok_pages 23:35, max_pages 23:40


@dag(
    dag_id="tg_pages",
    description="Lands the day's Telegram channels and posts in lake and core: daily at 23:45 Moscow time",
    schedule=CronTriggerTimetable(SCHEDULE, timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    deadline=network_day_deadline("Telegram", SCHEDULE),
    tags=["gospublic", "telegram", "extract"],
    doc_md=__doc__,
    default_args=default_args(),
)
def tg_pages() -> None:
    @task
    @fail_fast
    def plan() -> list[Batch]:
        """The day's Telegram channels in batches, with the start of the posts' re-read window."""
        from gospublic.telegram import steps

        return steps.plan(get_current_context()["logical_date"])

    @task(pool=TG_POOL)
    @fail_fast
    def extract(batch: Batch) -> BatchResult:
        """Read one batch of channels with Telethon; every answer lands in the lake."""
        from gospublic.telegram import steps

        context = get_current_context()
        return steps.extract(batch, context["logical_date"], context["run_id"])

    @task
    @fail_fast
    def land(outcomes: list[BatchResult]) -> str:
        """Write the run's manifest; latest.json moves to it only if it passed its checks."""
        from gospublic.telegram import steps

        context = get_current_context()
        return steps.land(context["logical_date"], context["run_id"], list(outcomes))

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def record_errors() -> int:
        """The run's errors in audit.extract_errors (the day's Telegram rows replaced)."""
        from gospublic.telegram import steps

        context = get_current_context()
        return steps.record_errors(context["logical_date"], context["run_id"])

    @task(outlets=[TG_RAW])
    @fail_fast
    def check(recorded: int) -> DaySummary:
        """Fail when the run did not pass its checks; else the day's raw/tg is updated."""
        from gospublic.telegram import steps

        context = get_current_context()
        summary = steps.check(context["logical_date"], context["run_id"], recorded)
        record_counts(context["outlet_events"], [TG_RAW], dict(summary))  # shown in the UI
        return summary

    @task(outlets=NETWORK_PAGES, pool=WAREHOUSE_POOL)
    @fail_fast
    def load() -> NetworkDayLoad:
        """The day's passed manifest from the lake into staging and core (one transaction)."""
        from gospublic.telegram import steps

        context = get_current_context()
        loaded = steps.load(
            context["logical_date"], dag_id=context["dag"].dag_id, task_id=context["task"].task_id
        )
        record_counts(  # shown on the Asset events in the UI
            context["outlet_events"],
            NETWORK_PAGES,
            {
                "network": loaded["network"],
                "dt": loaded["dt"],
                "extraction_errors": loaded["errors"],
                "rows_rejected": sum(int(c["rejected"]) for c in loaded["counts"].values()),
            },
        )
        return loaded

    landed = land(extract.expand(batch=plan()))
    recorded = record_errors()
    landed >> recorded
    check(recorded) >> load()


tg_pages()
