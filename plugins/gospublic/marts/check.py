"""Checks of the marts of one month: Great Expectations suites and reconciliation with ``core``.

Marts are outputs: a failed check fails the build (nothing to quarantine), naming the mart, the
check and a few offending rows.
"""

from __future__ import annotations

import logging
from datetime import date

from gospublic.infra.model_graph import graph
from gospublic.infra.validation import validate_frame
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import mart_params
from transforms.months import month_start

log = logging.getLogger(__name__)

RECONCILIATIONS = {
    "every incident with a body is counted once": (
        "SELECT (SELECT COUNT(*) FROM core.fct_incident_timing "
        "WHERE month = :month_start AND org_id IS NOT NULL) - (SELECT COALESCE(SUM(incidents), 0) "
        "FROM mart.response_metrics_monthly WHERE month = :month_start)"
    ),
    "every body with incidents has its rows": (
        "SELECT COUNT(*) FROM (SELECT DISTINCT org_id, source FROM core.fct_incident_timing "
        "WHERE month = :month_start AND org_id IS NOT NULL) AS t "
        "WHERE NOT EXISTS (SELECT 1 FROM mart.response_metrics_monthly AS m "
        "WHERE m.month = :month_start AND m.org_id = t.org_id AND m.source = t.source)"
    ),
    "topics add up to each body's incidents per source": (
        "SELECT COUNT(*) FROM (SELECT org_id, source, SUM(incidents) AS incidents "
        "FROM mart.incident_topics_monthly WHERE month = :month_start GROUP BY org_id, source) AS t "
        "FULL OUTER JOIN (SELECT org_id, source, incidents FROM mart.response_metrics_monthly "
        "WHERE month = :month_start) AS r ON r.org_id = t.org_id AND r.source = t.source "
        "WHERE t.incidents IS NULL OR r.incidents IS NULL OR t.incidents <> r.incidents"
    ),
    "every VK page official in the month has its activity row": (
        "SELECT COUNT(*) FROM core.dim_page AS p WHERE p.vk_group_id IS NOT NULL "
        "AND p.valid_from < :month_end AND (p.valid_to IS NULL OR p.valid_to > :month_start) "
        "AND NOT EXISTS (SELECT 1 FROM mart.page_activity_monthly AS a "
        "WHERE a.month = :month_start AND a.page_id = p.page_id)"
    ),
    "posts of the activity mart equal core's posts of the month": (
        "SELECT COUNT(*) FROM mart.page_activity_monthly AS a "
        "WHERE a.month = :month_start AND a.network = 'vk' AND a.posts <> ("
        "SELECT COUNT(*) FROM core.fct_post AS po "
        "JOIN core.dim_org AS o ON o.org_id = a.org_id AND o.is_current "
        "WHERE po.vk_group_id = a.vk_group_id AND po.published_at >= :window_start "
        "AND po.published_at < :window_end "
        "AND CAST(po.published_at AT TIME ZONE o.timezone AS DATE) >= :month_start "
        "AND CAST(po.published_at AT TIME ZONE o.timezone AS DATE) < :month_end)"
    ),
    "posts of the activity mart equal core's posts of the month (OK, MAX, Telegram)": (
        "SELECT COUNT(*) FROM mart.page_activity_monthly AS a "
        "JOIN core.dim_page AS p ON p.page_id = a.page_id "
        "WHERE a.month = :month_start AND a.network <> 'vk' AND a.posts <> ("
        "SELECT COUNT(*) FROM core.fct_network_post AS po "
        "JOIN core.dim_org AS o ON o.org_id = a.org_id AND o.is_current "
        "WHERE po.network = a.network AND po.page_key = p.screen_name "
        "AND po.published_at >= :window_start AND po.published_at < :window_end "
        "AND CAST(po.published_at AT TIME ZONE o.timezone AS DATE) >= :month_start "
        "AND CAST(po.published_at AT TIME ZONE o.timezone AS DATE) < :month_end)"
    ),
}


class MartCheckError(RuntimeError):
    """A mart of the month broke a check."""


def check_month(warehouse: Warehouse, month: date) -> dict[str, int]:
    """Run every check on the month's marts; raises ``MartCheckError`` listing the failures."""
    params = mart_params(month_start(month))
    failures: list[str] = []
    checked: dict[str, int] = {}
    for model in graph().checked():  # the models with a suite in sql/models.yml, partitioned by month
        table = model.target
        frame = warehouse.query_df(f"SELECT * FROM {table} WHERE month = :month_start", params)
        checked[table] = len(frame)
        outcome = validate_frame(frame, str(model.suite))
        failures += [f"{table}: {f}" for f in outcome.table_failures]
        for failure in outcome.row_failures[:5]:
            row = frame.iloc[int(failure.row)] if isinstance(failure.row, int) else None
            key = ", ".join(str(row[c]) for c in frame.columns[:3]) if row is not None else failure.row
            failures.append(f"{table}: {failure.reason} ({failure.column}={failure.value!r} at {key})")
    for name, sql in RECONCILIATIONS.items():
        difference = warehouse.scalar(sql, params)
        if difference:
            failures.append(f"reconciliation failed: {name} (off by {difference})")
    if failures:
        raise MartCheckError(f"marts of {params['month_start']:%Y-%m}: " + "; ".join(failures))
    log.info("marts of %s pass every check: %s", f"{params['month_start']:%Y-%m}", checked)
    return checked
