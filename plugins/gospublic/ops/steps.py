"""The ops DAGs' steps: ops_check reads the health views and fails on a crossed threshold;
staging_retention deletes the staged days the retention rule no longer keeps."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from gospublic.infra import settings
from gospublic.infra.retention import clean_staging
from gospublic.infra.retention_results import StagingCleaned
from gospublic.infra.retention_rule import load_rule
from gospublic.infra.warehouse import Warehouse
from gospublic.ops import health, thresholds
from gospublic.ops.results import OpsChecked

MOSCOW = ZoneInfo("Europe/Moscow")


class OpsThresholdError(RuntimeError):
    """Thresholds crossed; the message is in Russian, then in English."""


def today_moscow(now: datetime | None = None) -> date:
    """Today's date in Moscow."""
    return (now or datetime.now(MOSCOW)).astimezone(MOSCOW).date()


def check(now: datetime | None = None) -> OpsChecked:
    """Judge the warehouse's health today (Moscow); raise ``OpsThresholdError`` when crossed."""
    today = today_moscow(now)
    limits = thresholds.from_environment()
    with Warehouse.from_connection() as warehouse:
        state = health.read(warehouse, today)
    found = health.findings(state, limits)
    if found:
        raise OpsThresholdError(
            "Проверка эксплуатации: превышены пороги.\n"
            + "\n".join(f"- {f.ru}" for f in found)
            + "\n\nOps check: thresholds crossed.\n"
            + "\n".join(f"- {f.en}" for f in found)
        )
    return OpsChecked(
        today=today.isoformat(),
        pages=len(state.pages),
        network_pages=len(state.network_pages),
        exports=len(state.exports),
        quarantined_rows=sum(int(q["rows_quarantined"]) for q in state.quarantine),
    )


def retain_staging(now: datetime | None = None) -> StagingCleaned:
    """Delete the staged days ``config/retention.yaml`` no longer keeps on today's date (Moscow),
    with the VK re-read window of ``GOSPUBLIC_VK_WINDOW_DAYS`` (``gospublic.infra.retention``)."""
    rule = load_rule()
    horizon = rule.horizon(today_moscow(now), settings.vk_window_days())
    with Warehouse.from_connection() as warehouse:
        return clean_staging(warehouse, rule, horizon)
