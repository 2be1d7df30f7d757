"""The publication gate's queries: what the warehouse knows about a month's inputs, judged by
``transforms.publication_gate``, and the record of every check in ``audit.rating_gate``.

``monthly_rating`` checks before it computes anything: VK days (``audit.vk_day_status``, and
successful VK loads in ``audit.load_runs`` for days loaded before that table existed), the latest
export loaded per source and region (``audit.export_file``), and the bodies of ``mart.rating_base``
with data this month and the month before. Scores are checked per snapshot: before it is written
(``snapshot.compute_snapshot``) and again before a draft is published.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from gospublic.infra import settings
from gospublic.infra.warehouse import Warehouse
from transforms.months import parse_month, previous_month
from transforms.publication_gate import (
    GateRules,
    MonthInputs,
    PublicationGateError,
    Verdict,
    check_inputs,
    check_scores,
    month_days,
)

log = logging.getLogger(__name__)

PASSED, FAILED, ACCEPTED = "passed", "failed", "accepted"

_VK_DAYS = "SELECT dt, complete, covered_by_dt FROM audit.vk_day_status WHERE dt >= :first AND dt <= :last"
# days loaded before audit.vk_day_status existed (migration 0015) left only their load runs
_VK_LOADS = (
    "SELECT DISTINCT partition_key FROM audit.load_runs WHERE source LIKE 'vk/%' AND status = 'success' "
    "AND partition_key >= :first_key AND partition_key <= :last_key"
)
_REGIONS = (
    "SELECT DISTINCT region_code FROM core.dim_org WHERE region_code IS NOT NULL "
    "AND valid_from < :month_end AND (valid_to IS NULL OR valid_to > :month_start) ORDER BY region_code"
)
_EXPORTS = (
    "SELECT source, region_code, MAX(export_date) AS last_export FROM audit.export_file "
    "WHERE state = 'loaded' AND export_date IS NOT NULL AND region_code IS NOT NULL "
    "GROUP BY source, region_code"
)
# a body has data in a month when it received messages, or its pages posted or were commented on
_BODIES = (
    "SELECT month, COUNT(*) AS bodies, SUM(CASE WHEN incidents > 0 OR photo_video_share IS NOT NULL "
    "OR replied_share IS NOT NULL THEN 1 ELSE 0 END) AS with_data "
    "FROM mart.rating_base WHERE month IN (:month, :previous) GROUP BY month"
)
_RECORD = (
    "INSERT INTO audit.rating_gate (month, checked_at, dag_id, run_id, verdict, reason, findings, message) "
    "VALUES (:month, :checked_at, :dag_id, :run_id, :verdict, :reason, :findings, :message)"
)
_SNAPSHOT_IDS = (
    "UPDATE audit.rating_gate SET snapshot_ids = :ids WHERE month = :month AND checked_at = :checked_at"
)
_SCORES = "SELECT org_id, is_rated, score FROM mart.rating_monthly WHERE snapshot_id = :s ORDER BY org_id"


@dataclass(frozen=True)
class GateCheck:
    """One recorded check of a month's inputs."""

    month: date
    checked_at: datetime
    verdict: Verdict
    outcome: str  # passed | failed | accepted
    reason: str | None

    def record_snapshots(self, warehouse: Warehouse, snapshot_ids: Sequence[str]) -> None:
        """Name the snapshots the run made or kept after this check."""
        warehouse.execute(
            _SNAPSHOT_IDS,
            {"ids": ", ".join(snapshot_ids), "month": self.month, "checked_at": self.checked_at},
        )


def month_inputs(warehouse: Warehouse, month: date) -> MonthInputs:
    """What the warehouse knows about the inputs of ``month``."""
    month = parse_month(month)
    days = month_days(month)
    first, last = days[0], days[-1]
    vk = warehouse.query(_VK_DAYS, {"first": first, "last": last})
    loaded = {_day(row["dt"]) for row in vk}
    keys = warehouse.query(_VK_LOADS, {"first_key": first.isoformat(), "last_key": last.isoformat()})
    loaded |= {d for d in (_iso_day(row["partition_key"]) for row in keys) if d is not None}
    incomplete = {_day(row["dt"]) for row in vk if not row["complete"] and row["covered_by_dt"] is None}
    regions = tuple(
        str(row["region_code"])
        for row in warehouse.query(_REGIONS, {"month_start": first, "month_end": last + timedelta(days=1)})
    )
    exports = {
        (str(row["source"]), str(row["region_code"])): _day(row["last_export"])
        for row in warehouse.query(_EXPORTS)
    }
    before = previous_month(month)
    counts = {
        _day(row["month"]): (int(row["bodies"]), int(row["with_data"] or 0))
        for row in warehouse.query(_BODIES, {"month": month, "previous": before})
    }
    bodies, with_data = counts.get(month, (0, 0))
    previous_bodies, previous_with_data = counts.get(before, (0, 0))
    return MonthInputs(
        month=month,
        vk_days=frozenset(d for d in loaded if first <= d <= last),
        vk_incomplete_days=frozenset(incomplete),
        regions=regions,
        last_exports=exports,
        bodies=bodies,
        bodies_with_data=with_data,
        previous_bodies=previous_bodies,
        previous_bodies_with_data=previous_with_data,
    )


def check_month(
    warehouse: Warehouse,
    month: date,
    *,
    accept_incomplete_inputs: bool = False,
    reason: str | None = None,
    rules: GateRules | None = None,
) -> GateCheck:
    """Check the month's inputs and record the check; raise :class:`PublicationGateError` when
    they are incomplete, unless accepted deliberately with a reason (recorded)."""
    month = parse_month(month)
    reason = (reason or "").strip() or None
    if accept_incomplete_inputs and not reason:
        raise ValueError(
            "accept_incomplete_inputs needs a reason (incomplete_inputs_reason: who accepts what, and why; "
            "it is recorded in audit.rating_gate) / публикации при неполных данных нужна причина"
        )
    verdict = check_inputs(month_inputs(warehouse, month), rules or settings.gate_rules())
    outcome = PASSED if verdict.passed else ACCEPTED if accept_incomplete_inputs else FAILED
    check = GateCheck(month, datetime.now(UTC), verdict, outcome, reason if outcome == ACCEPTED else None)
    warehouse.execute(  # committed on its own: a refusal is recorded too
        _RECORD,
        {
            "month": check.month,
            "checked_at": check.checked_at,
            "dag_id": os.environ.get("AIRFLOW_CTX_DAG_ID"),
            "run_id": os.environ.get("AIRFLOW_CTX_DAG_RUN_ID"),
            "verdict": check.outcome,
            "reason": check.reason,
            "findings": verdict.as_json(),
            "message": verdict.message(),
        },
    )
    if outcome == FAILED:
        raise PublicationGateError(verdict, hint=override_hint(month))
    if outcome == ACCEPTED:
        log.warning("inputs incomplete, accepted for publication (%s):\n%s", reason, verdict.message())
    else:
        log.info("%s", verdict.message())
    return check


def require_scores(subject: str, bodies: pd.DataFrame) -> None:
    """Raise :class:`PublicationGateError` unless a body is rated and every rated score is finite
    (``bodies``: org_id, is_rated, score)."""
    scores = [
        (str(org), bool(rated), None if pd.isna(score) else float(score))
        for org, rated, score in zip(bodies["org_id"], bodies["is_rated"], bodies["score"], strict=True)
    ]
    verdict = check_scores(subject, scores)
    if not verdict.passed:
        raise PublicationGateError(verdict)


def require_publishable(warehouse: Warehouse, snapshot_id: str, subject: str) -> None:
    """The stored snapshot's scores, checked again before its publication (a draft may predate the
    gate)."""
    require_scores(subject, warehouse.query_df(_SCORES, {"s": snapshot_id}))


def override_hint(month: date) -> str:
    conf = json.dumps(
        {"month": f"{month:%Y-%m}", "accept_incomplete_inputs": True, "incomplete_inputs_reason": "…"},
        ensure_ascii=False,
    )
    return (
        "Загрузите недостающее и запустите снова; чтобы сознательно опубликовать при неполных данных, "
        f"запустите monthly_rating с {conf}.\n"
        "Load what is missing and run again; to publish deliberately with incomplete inputs, trigger "
        f"monthly_rating with {conf}."
    )


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    day: date = pd.Timestamp(str(value)).date()
    return day


def _iso_day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
