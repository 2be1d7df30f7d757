"""The publication gate's queries: what the warehouse knows about a month's inputs, judged by
``transforms.publication_gate``, and the record of every check in ``audit.rating_gate``.

``monthly_rating`` checks before it computes anything: VK days (``audit.vk_day_status``, and
successful VK loads in ``audit.load_runs`` for days loaded before that table existed), the latest
export loaded per source and region (``audit.export_file``), and the bodies of ``mart.rating_base``
with data this month and the month before. Each computed rating is checked too
(``transforms.publication_gate.check_rating``): before its snapshot is written
(``snapshot.compute_snapshot``: scores finite, a body rated, every required indicator present —
``require_scores``) and, from the stored snapshot, before a draft is published (those again, and
its groups' sizes and rated bodies against last month's publication — ``check_snapshot``). Every
check is a row of ``audit.rating_gate`` (``stage`` inputs or rating).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from gospublic.infra import settings
from gospublic.infra.warehouse import Warehouse
from transforms.methodology import Methodology
from transforms.months import parse_month, previous_month
from transforms.publication_gate import (
    GateRules,
    MonthInputs,
    PublicationGateError,
    RatingFacts,
    Verdict,
    check_inputs,
    check_rating,
    check_scores,
    month_days,
    required_gaps,
    required_problem,
)
from transforms.rating_degeneracy import is_required, min_group_size

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
    "INSERT INTO audit.rating_gate (month, checked_at, dag_id, run_id, verdict, reason, findings, message, "
    "stage, methodology_id, snapshot_ids) VALUES (:month, :checked_at, :dag_id, :run_id, :verdict, :reason, "
    ":findings, :message, :stage, :methodology_id, :snapshot_ids)"
)
_SNAPSHOT_IDS = (
    "UPDATE audit.rating_gate SET snapshot_ids = :ids WHERE month = :month AND checked_at = :checked_at "
    "AND stage = 'inputs'"
)
_SCORES = (
    "SELECT org_id, is_rated, score, rating_group FROM mart.rating_monthly WHERE snapshot_id = :s "
    "ORDER BY org_id"
)
_INDICATORS = "SELECT org_id, indicator_id, points, weight FROM mart.rating_indicator WHERE snapshot_id = :s"
# rated bodies of the latest published revision of a month under a methodology
_PREVIOUS_RATED = (
    "SELECT s.snapshot_id, SUM(CASE WHEN r.is_rated THEN 1 ELSE 0 END) AS rated "
    "FROM mart.rating_snapshot AS s JOIN mart.rating_monthly AS r ON r.snapshot_id = s.snapshot_id "
    "WHERE s.methodology_id = :m AND s.month = :month AND s.status = 'published' "
    "GROUP BY s.snapshot_id, s.revision ORDER BY s.revision DESC LIMIT 1"
)


@dataclass(frozen=True)
class GateCheck:
    """One recorded check of a month's inputs."""

    month: date
    checked_at: datetime
    verdict: Verdict
    outcome: str  # passed | failed | accepted
    reason: str | None
    # the run asked to publish deliberately (accept_incomplete_inputs), with this reason: it lifts
    # the rating's overridable checks too (transforms.publication_gate.OVERRIDABLE_RATING_CHECKS)
    override_reason: str | None = field(default=None, compare=False)

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
    check = GateCheck(
        month, datetime.now(UTC), verdict, outcome, reason if outcome == ACCEPTED else None,
        override_reason=reason if accept_incomplete_inputs else None,
    )  # fmt: skip
    _record(warehouse, check, stage="inputs")
    if outcome == FAILED:
        raise PublicationGateError(verdict, hint=override_hint(month))
    if outcome == ACCEPTED:
        log.warning("inputs incomplete, accepted for publication (%s):\n%s", reason, verdict.message())
    else:
        log.info("%s", verdict.message())
    return check


def require_scores(
    subject: str,
    bodies: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    methodology: Methodology | None = None,
) -> None:
    """Raise :class:`PublicationGateError` unless a body is rated, every rated score is finite and,
    given ``indicators`` and ``methodology``, every rated body has every required indicator — the
    checks no override lifts (``bodies``: org_id, is_rated, score; ``indicators``: org_id,
    indicator_id, points, weight)."""
    problems = list(check_scores(subject, _scores(bodies)).problems)
    if indicators is not None and methodology is not None:
        gaps = _required_gaps(bodies, indicators, methodology)
        if gaps:
            problems.append(required_problem(gaps))
    if problems:
        raise PublicationGateError(Verdict(subject, tuple(problems), kind="scores"))


def require_publishable(warehouse: Warehouse, snapshot_id: str, subject: str) -> None:
    """The stored snapshot's scores, checked again before its publication (a draft may predate the
    gate)."""
    require_scores(subject, warehouse.query_df(_SCORES, {"s": snapshot_id}))


@dataclass(frozen=True)
class RatingCheck:
    """One recorded check of a computed rating."""

    snapshot_id: str
    verdict: Verdict
    outcome: str  # passed | failed | accepted


def rating_facts(
    warehouse: Warehouse, snapshot_id: str, methodology: Methodology, month: date
) -> RatingFacts:
    """What the gate reads of a stored snapshot: its scores, groups, required indicators, and the
    rated bodies of the previous month's published snapshot under the same methodology."""
    month = parse_month(month)
    bodies = warehouse.query_df(_SCORES, {"s": snapshot_id})
    indicators = warehouse.query_df(_INDICATORS, {"s": snapshot_id})
    previous = warehouse.query(_PREVIOUS_RATED, {"m": methodology.id, "month": previous_month(month)})
    return RatingFacts(
        subject=f"{month:%Y-%m}, {methodology.id}",
        scores=_scores(bodies),
        groups=_groups(bodies, methodology),
        min_group_size=min_group_size(methodology),
        required_gaps=_required_gaps(bodies, indicators, methodology),
        previous_rated=int(previous[0]["rated"] or 0) if previous else None,
        previous_snapshot=str(previous[0]["snapshot_id"]) if previous else None,
    )


def check_snapshot(
    warehouse: Warehouse,
    inputs_check: GateCheck,
    snapshot_id: str,
    methodology: Methodology,
    *,
    rules: GateRules | None = None,
) -> RatingCheck:
    """Check a stored draft before its publication and record the check; raise
    :class:`PublicationGateError` when it fails — unless every problem is overridable and the run
    asked to publish deliberately (``inputs_check.override_reason``), which is recorded."""
    facts = rating_facts(warehouse, snapshot_id, methodology, inputs_check.month)
    verdict = check_rating(facts, rules or settings.gate_rules())
    accepted = bool(inputs_check.override_reason) and verdict.overridable
    outcome = PASSED if verdict.passed else ACCEPTED if accepted else FAILED
    check = GateCheck(
        inputs_check.month, datetime.now(UTC), verdict, outcome,
        inputs_check.override_reason if outcome == ACCEPTED else None,
    )  # fmt: skip
    _record(warehouse, check, stage="rating", methodology_id=methodology.id, snapshot_ids=snapshot_id)
    if outcome == FAILED:
        hint = override_hint(inputs_check.month) if verdict.overridable else _NO_OVERRIDE
        raise PublicationGateError(verdict, hint=hint)
    if outcome == ACCEPTED:
        log.warning(
            "rating %s accepted for publication (%s):\n%s", snapshot_id, check.reason, verdict.message()
        )
    else:
        log.info(
            "rating %s passed the publication gate: %s", snapshot_id, "; ".join(n.ru for n in verdict.notes)
        )
    return RatingCheck(snapshot_id, verdict, outcome)


_NO_OVERRIDE = (
    "Такой рейтинг не публикуется ни при каких параметрах: исправьте методику или данные и запустите снова.\n"
    "No parameter publishes such a rating: fix the methodology or the data and run again."
)


def _record(
    warehouse: Warehouse,
    check: GateCheck,
    *,
    stage: str,
    methodology_id: str | None = None,
    snapshot_ids: str | None = None,
) -> None:
    warehouse.execute(  # committed on its own: a refusal is recorded too
        _RECORD,
        {
            "month": check.month,
            "checked_at": check.checked_at,
            "dag_id": os.environ.get("AIRFLOW_CTX_DAG_ID"),
            "run_id": os.environ.get("AIRFLOW_CTX_DAG_RUN_ID"),
            "verdict": check.outcome,
            "reason": check.reason,
            "findings": check.verdict.as_json(),
            "message": check.verdict.message(),
            "stage": stage,
            "methodology_id": methodology_id,
            "snapshot_ids": snapshot_ids,
        },
    )


def _scores(bodies: pd.DataFrame) -> list[tuple[str, bool, float | None]]:
    return [
        (str(org), bool(rated), None if pd.isna(score) else float(score))
        for org, rated, score in zip(bodies["org_id"], bodies["is_rated"], bodies["score"], strict=True)
    ]


def _required_gaps(
    bodies: pd.DataFrame, indicators: pd.DataFrame, methodology: Methodology
) -> dict[str, tuple[str, ...]]:
    rated = [str(org) for org, is_rated in zip(bodies["org_id"], bodies["is_rated"], strict=True) if is_rated]
    rows = [
        (str(org), str(indicator), _number(points), _number(weight))
        for org, indicator, points, weight in zip(
            indicators["org_id"], indicators["indicator_id"], indicators["points"], indicators["weight"],
            strict=True,
        )
    ]  # fmt: skip
    return required_gaps(rated, rows, [i.id for i in methodology.indicators if is_required(i)])


def _groups(bodies: pd.DataFrame, methodology: Methodology) -> dict[str, tuple[int, int]]:
    """Group → (rated, all) for the groups the gate judges: the methodology's groups present this
    month and any other group with a rated body (not the bodies left out of every group), in
    publication order."""
    counts: dict[str, list[int]] = {}
    for group, rated in zip(bodies["rating_group"], bodies["is_rated"], strict=True):
        entry = counts.setdefault(str(group), [0, 0])
        entry[0] += int(bool(rated))
        entry[1] += 1
    order = [str(g) for g in methodology.group_order()]
    judged = [g for g in order if g in counts] + sorted(g for g in counts if g not in order and counts[g][0])
    return {g: (counts[g][0], counts[g][1]) for g in judged}


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


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
