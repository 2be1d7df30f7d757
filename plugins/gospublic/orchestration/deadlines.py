"""Deadline Alerts of the DAGs: when a run's result must be there, and who hears when it is not.

A deadline counts from the run's logical date (its trigger time on the Moscow clock of the
DAG's ``CronTriggerTimetable``). The scheduler finds a missed deadline on its loop and queues the
``SyncCallback`` to the executor, which runs it in a process of its own with the keyword
arguments given here and a ``context`` of the run (``{"dag_run": {...}, "deadline": {...}}``, the
run as the REST API shows it). The callback logs one structured line (and appends to
``GOSPUBLIC_ALERT_LOG``), then sends the alert by the channels of
``gospublic.orchestration.notify`` (mail, Telegram). ``tests/test_deadline_scheduler.py`` has
Airflow's own scheduler fire one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from gospublic.infra import settings

log = logging.getLogger("gospublic.alerts")

CALLBACK = "gospublic.orchestration.deadlines.deadline_missed"

# monthly_rating runs on the 3rd at 06:00 Moscow: the rating published by 12:00 the same day.
RATING_PUBLISHED_WITHIN = timedelta(hours=6)
# The network DAGs run late in the evening (Moscow) for the day ending; each day is due by 03:00
# Moscow the next morning (vk_pages at 23:30: 3 h 30 min; ok_pages, max_pages and tg_pages are
# staggered after it, docs/networks.md "Schedules").
DAY_DUE = time(3, 0)


def day_due_within(cron: str) -> timedelta:
    """From a daily evening run (``cron``: ``"M H * * *"`` on the Moscow clock) to ``DAY_DUE``
    the next morning."""
    minute, hour = (int(part) for part in cron.split()[:2])
    run = timedelta(hours=hour, minutes=minute)
    return timedelta(days=1, hours=DAY_DUE.hour, minutes=DAY_DUE.minute) - run


# vk_pages runs at 23:30 Moscow for the day ending: loaded by 03:00 Moscow the next morning.
VK_DAY_LOADED_WITHIN = day_due_within("30 23 * * *")


def network_day_deadline(network: str, cron: str) -> Any:
    """The deadline of a network DAG run daily at ``cron`` (Moscow): the day ending landed by
    03:00 Moscow, promised in the words of vk_pages's («данные VK за прошедший день…»)."""
    return deadline(
        day_due_within(cron), f"данные {network} за прошедший день загружены к 03:00 (московское время)"
    )


def deadline(interval: timedelta, what: str) -> Any:
    """A ``DeadlineAlert`` ``interval`` after the run's logical date; ``what`` names the promise.
    None when ``GOSPUBLIC_DEADLINE_ALERTS=off`` (runs through ``dag.test()``; see
    ``settings.deadline_alerts``)."""
    if not settings.deadline_alerts():
        return None
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=interval,
        callback=SyncCallback(CALLBACK, kwargs={"what": what}),
        name=what,
    )


def deadline_missed(context: Any = None, what: str = "", **kwargs: Any) -> None:
    """Called by Airflow when a run misses its deadline; ``what`` names the promise in Russian
    (ЦУР staff read it). One alert line with ids only, then every configured channel."""
    from gospublic.orchestration import notify

    context = context if isinstance(context, dict) else {}
    dag_id, run_id = notify.deadline_run(context)
    alert = {
        "at": datetime.now(UTC).isoformat(),
        "kind": "deadline_missed",
        "what": what,
        "dag_id": dag_id,
        "run_id": run_id,
    }

    notify.record_alert("deadline missed", alert)
    notify.send_deadline_missed(what, context)
