"""Defaults every gospublic DAG shares: owner, retries with backoff, failure alerts.

Kept free of heavy imports: DAG files import it at parse time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from gospublic.infra import settings

log = logging.getLogger("gospublic.alerts")

OWNER = "gospublic"
START_DATE = datetime(2024, 1, 1, tzinfo=UTC)
# The writing tasks' pool: 1 slot on DuckDB (one writing process per file), more on PostgreSQL,
# where runs of one loader still take turns through its advisory lock (Warehouse.writer_lock).
WAREHOUSE_POOL = "warehouse_writer"

# Timeouts, sized from docs/benchmarks.md (national scale, the slower engine, 2026-12-01): the
# slowest task is vk_load on PostgreSQL (415 s); marts 122 s, incidents 141 s, rating 17 s, the
# registry 9 s; VK extraction of all 4,825 pages with one token 564 s (a task does one batch).
# A task gets 1 hour (about 8x the slowest stage, 6x a whole-country extraction); a run gets
# 4 hours: three attempts of its longest task (retries 2) plus their backoff, and the rest.
TASK_TIMEOUT = timedelta(hours=1)
DAGRUN_TIMEOUT = timedelta(hours=4)
# Tasks of one DAG run at once: 2 cores, and the warehouse writers take turns in their pool anyway.
MAX_ACTIVE_TASKS = 2


def default_args(**overrides: Any) -> dict[str, Any]:
    """``default_args`` for a DAG: retries with exponential backoff and the failure hook."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": settings.task_retries(),
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": TASK_TIMEOUT,
        "on_failure_callback": notify_failure,
    }
    args.update(overrides)
    return args


def month_param(when_empty: str) -> Any:
    """The ``month`` param of a DAG: ``YYYY-MM`` within the supported range (checked when the run
    is triggered; the task parses it again with ``transforms.months.parse_month``)."""
    from airflow.sdk import Param

    from transforms.months import MONTH_FORM, MONTH_PATTERN

    return Param(
        None, type=["null", "string"], pattern=MONTH_PATTERN, description=f"{MONTH_FORM}; empty: {when_empty}"
    )


def notify_failure(context: dict[str, Any]) -> None:
    """Alerts when a task fails for good.

    Logs one structured line and, when ``GOSPUBLIC_ALERT_LOG`` names a file, appends the alert
    there as JSON (only ids, never payloads or connection details); then sends the message of
    :func:`gospublic.orchestration.notify.failure_message` by mail and Telegram when their
    connections exist (docs/operations.md, "Notifications").
    """
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    alert = {
        "at": datetime.now(UTC).isoformat(),
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "error": type(exception).__name__ if exception else None,
    }
    from gospublic.orchestration import notify

    notify.record_alert("task failed", alert)
    notify.alert_failure(context)


def notify_published(context: dict[str, Any]) -> None:
    """``on_success_callback`` of monthly_rating's ``rate``: a notice with links to the files of
    each rating the run published (nothing when it published nothing new)."""
    from gospublic.orchestration import notify

    notify.alert_published(context)
