"""The steps of the ``monthly_rating`` DAG, callable without Airflow (tests, CLI, demo)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gospublic.infra import settings
from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating import degeneracy, whatif
from gospublic.rating.gate import check_month, check_snapshot
from gospublic.rating.publish import publish_snapshot, recover
from gospublic.rating.results import RatedMonth, WhatIfMonth
from gospublic.rating.snapshot import compute_snapshot, methodologies
from transforms.methodology import Methodology
from transforms.months import format_month, month_start, parse_month, previous_month

log = logging.getLogger(__name__)
MOSCOW = ZoneInfo("Europe/Moscow")


def rated_month(month: str | None, run_after: datetime) -> str:
    """``month`` when given, else the month before the run (the rating runs after the month closes)."""
    if month:
        return format_month(month)
    current = month_start(run_after.astimezone(MOSCOW).date())
    return f"{previous_month(current):%Y-%m}"


def rate(
    month: str,
    methodology_ids: list[str] | None = None,
    *,
    republish: bool = False,
    publish: bool = True,
    accept_incomplete_inputs: bool = False,
    incomplete_inputs_reason: str | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
) -> list[RatedMonth] | list[WhatIfMonth]:
    """Compute (and publish) the month under each methodology; unchanged inputs create nothing.

    A publication an earlier run left half done is completed (or its staging removed) first, so a
    month whose publication was committed is published, and a change of its inputs refused. Then
    the publication gate (``gospublic.rating.gate``) checks the month's inputs: incomplete ones stop
    the run with the reason, unless accepted deliberately with a reason, which is recorded.

    ``dry_run``: each methodology's what-if comparison with the month's published snapshot is written
    to the lake under ``whatif/<month>/<methodology>/<run_id>/`` instead; nothing else is written."""
    known = methodologies()
    chosen = methodology_ids or settings.rating_methodologies()
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise ValueError(f"unknown methodologies {unknown}; config/methodologies has {sorted(known)}")
    if dry_run:
        return what_if_month(month, chosen, run_id or f"manual-{datetime.now(MOSCOW):%Y%m%dT%H%M%S}")
    first_day = parse_month(month)
    results: list[RatedMonth] = []
    # one rating run at a time: a second would take the first's publication under way for a
    # half-published one and recover it
    with Warehouse.from_connection() as warehouse, warehouse.writer_lock("rating"):
        lake = Lake.from_connection()
        if publish:
            for methodology_id in chosen:
                recover(warehouse, lake, known[methodology_id].id, first_day)
        gate = check_month(
            warehouse,
            first_day,
            accept_incomplete_inputs=accept_incomplete_inputs,
            reason=incomplete_inputs_reason,
        )
        for methodology_id in chosen:
            methodology = known[methodology_id]
            snapshot = compute_snapshot(warehouse, methodology, first_day, republish=republish)
            result = snapshot.as_dict()
            result["degeneracies"] = degeneracy.report(warehouse, snapshot.snapshot_id)
            if publish and snapshot.status == "draft":
                check_snapshot(warehouse, gate, snapshot.snapshot_id, methodology)
                publication = publish_snapshot(warehouse, lake, snapshot, methodology)
                result["status"] = "published"
                result["path"] = publication.path
                result["files"] = len(publication.files)
            results.append(result)
        gate.record_snapshots(warehouse, [r["snapshot_id"] for r in results])
    return results


def what_if_month(month: str, methodology_ids: list[str], run_id: str) -> list[WhatIfMonth]:
    """The month under each methodology compared with its published snapshot; the comparisons go to
    the lake under ``whatif/`` (never ``publish/``), the warehouse is only read."""
    first_day = parse_month(month)
    lake = Lake.from_connection()
    results: list[WhatIfMonth] = []
    with Warehouse.from_connection() as warehouse:
        for methodology_id in methodology_ids:
            methodology = methodologies()[methodology_id]
            outcome = whatif.what_if(warehouse, first_day, methodology)
            root = whatif.lake_folder(first_day, methodology_id, run_id)
            written = whatif.write_lake(outcome, lake, root)
            summary = outcome.comparison.summary
            log.info("what-if %s %s: %s", methodology_id, f"{first_day:%Y-%m}", " ".join(outcome.headline))
            results.append(
                WhatIfMonth(
                    month=f"{first_day:%Y-%m}",
                    methodology_id=methodology_id,
                    status="what-if",
                    against_snapshot=outcome.against_snapshot,
                    path=root,
                    files=written,
                    rated=summary.rated_after,
                    moved=summary.moved,
                    zone_changed=summary.zone_changed,
                )
            )
    return results


def what_if_folder(
    month: str, methodology: str, overrides: list[str], against: str | None, out: Path
) -> whatif.WhatIf:
    """``python -m gospublic.cli rate``: the comparison written to the folder ``out``."""
    draft = whatif.resolve(methodology, overrides)
    # a file to compare with is rated now; an id means its published rating
    compared: str | Methodology | None = against
    if against and against not in methodologies() and Path(against).is_file():
        compared = whatif.resolve(against)
    with Warehouse.from_connection() as warehouse:
        outcome = whatif.what_if(warehouse, month, draft, overrides=overrides, against=compared)
    whatif.write_folder(outcome, out)
    return outcome


def summary_lines(month: str, methodology_id: str, top: int = 5) -> list[str]:
    """The top and bottom ``top`` bodies of each group of the latest snapshot, and where the page is."""
    with Warehouse.from_connection() as warehouse:
        rows = warehouse.query(
            "SELECT s.snapshot_id, s.publish_path FROM mart.rating_snapshot AS s WHERE s.methodology_id = :m "
            "AND s.month = :month ORDER BY s.revision DESC LIMIT 1",
            {"m": methodology_id, "month": parse_month(month)},
        )
        if not rows:
            return [f"no rating of {month} under {methodology_id}"]
        snapshot = rows[0]
        table = warehouse.query_df(
            "SELECT r.rating_group, r.rank, r.score, r.zone, COALESCE(o.name, r.org_id) AS name "
            "FROM mart.rating_monthly AS r "
            "LEFT JOIN core.dim_org AS o ON o.org_id = r.org_id AND o.is_current "
            "WHERE r.snapshot_id = :s AND r.is_rated ORDER BY r.rating_group, r.rank, name",
            {"s": snapshot["snapshot_id"]},
        )
        lake = Lake.from_connection()
    lines = [f"Рейтинг {month}, методика {methodology_id} ({snapshot['snapshot_id']})"]
    for group, part in table.groupby("rating_group", sort=True):
        lines.append(f"\n  {group} — органов в рейтинге: {len(part)}")
        for label, rows_ in (("лучшие", part.head(top)), ("последние", part.tail(top))):
            lines.append(f"    {label}:")
            lines += [f"      {int(r.rank):>3}. {r.score:5.1f}  {r.name}" for r in rows_.itertuples()]
    if snapshot["publish_path"]:
        lines.append(f"\nrating.html: {lake.uri(snapshot['publish_path'] + '/rating.html')}")
    return lines
