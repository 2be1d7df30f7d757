"""
### monthly_rating

Every month each body gets a score out of 100, a place in its group and a zone, under the
methodologies of `config/methodologies/` (`GOSPUBLIC_RATING_METHODOLOGIES`, default `penza-2025`).

* **Schedule:** the 3rd day of the month at 06:00 Moscow time, for the month before (late answers
  are in by then); by hand for any month: `{"month": "2025-11", "methodologies": ["kirov-2024"]}`.
* **Snapshots:** `mart.rating_snapshot` / `mart.rating_indicator` / `mart.rating_monthly`. Same
  inputs and methodology → same fingerprint → nothing new. A published month never changes: when
  inputs changed the run fails until triggered with `{"republish": true}`, which publishes revision
  N+1 and keeps every earlier revision.
* **Publication gate:** before anything is computed the month's inputs are checked — every VK day
  loaded (`GOSPUBLIC_GATE_VK_MISSING_DAYS` tolerated, default 0), an export dated after the month's
  end for each source (`GOSPUBLIC_GATE_EXPORT_SOURCES`, IM and ПОС) and region, the share of bodies
  with data not fallen by more than `GOSPUBLIC_GATE_MAX_DATA_SHARE_DROP` (0.2) from the month before.
  Missing inputs fail the run (no retry) with the reason in Russian and English listing the days,
  sources and counts. To publish anyway: `{"accept_incomplete_inputs": true,
  "incomplete_inputs_reason": "…"}`; every check is recorded in `audit.rating_gate`. Then each
  rating: no snapshot is made, whatever the params, with no rated body, a score that is not a
  number or a rated body lacking a required indicator; a draft is published only when every group
  has the methodology's `min_group_size` rated bodies and the rated bodies have not fallen by more
  than `GOSPUBLIC_GATE_MAX_RATED_DROP` (0.2) from last month's publication (these two lifted by the
  same params).
* **Degeneracy report:** every snapshot stores (`audit.rating_degeneracy`), logs and returns where
  its scores cannot tell bodies apart — an indicator with equal points for ≥ 90 % of a group, a group
  below its minimum size, an indicator missing for more than half a group, a group in one zone,
  shared 100s; the publication's methodology page shows it (docs/rating.md).
* **What-if:** `{"dry_run": true}` rates the month under each methodology and compares it with the
  published rating (place moves, zone changes, the indicator that moved each body most) in
  `whatif/YYYY-MM/<methodology>/<run id>/comparison.html|xlsx`; nothing is published or snapshotted.
  From a shell, with a draft methodology or `--set` overrides: `python -m gospublic.cli rate`.
* **Publication:** `publish/rating/YYYY-MM/<methodology>/rev-N/` in the lake — `rating.xlsx`,
  `rating.html`, `rating.csv`, `rating.json`, `cards/<body>.html`, `manifest.json` — and
  `latest.json` beside. One atomic step: staged, committed by the snapshot turning `published`,
  then moved; a published file is never rewritten. A run first completes (or rolls back) what an
  interrupted one left, then refuses changed inputs of a published month as usual.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from gospublic.orchestration.assets import MARTS, RATING, RATING_PUBLICATION, record_counts
from gospublic.orchestration.deadlines import RATING_PUBLISHED_WITHIN, deadline
from gospublic.orchestration.defaults import (
    DAGRUN_TIMEOUT,
    MAX_ACTIVE_TASKS,
    START_DATE,
    WAREHOUSE_POOL,
    default_args,
    month_param,
    notify_published,
)
from gospublic.orchestration.failures import fail_fast
from gospublic.rating.results import RatedMonth, WhatIfMonth


@dag(
    dag_id="monthly_rating",
    description="Rates and publishes the month before: the 3rd at 06:00, Moscow time",
    schedule=CronTriggerTimetable("0 6 3 * *", timezone="Europe/Moscow"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=DAGRUN_TIMEOUT,
    max_active_tasks=MAX_ACTIVE_TASKS,
    deadline=deadline(
        RATING_PUBLISHED_WITHIN, "рейтинг за месяц опубликован к 12:00 3-го числа (московское время)"
    ),
    tags=["gospublic", "rating", "publish"],
    doc_md=__doc__,
    default_args=default_args(),
    params={
        "month": month_param("the month before the run"),
        "methodologies": Param(None, type=["null", "array"], description="methodology ids"),
        "republish": Param(False, type="boolean", description="publish a new revision of a published month"),
        "accept_incomplete_inputs": Param(
            False, type="boolean", description="publish although the publication gate finds inputs missing"
        ),
        "incomplete_inputs_reason": Param(
            None, type=["null", "string"], description="who accepts the incomplete inputs and why (recorded)"
        ),
        "dry_run": Param(
            False,
            type="boolean",
            description="what-if: compare with the published rating (lake: whatif/); publish nothing",
        ),
    },
)
def monthly_rating() -> None:
    @task
    @fail_fast
    def rated_month() -> str:
        """The month to rate."""
        from gospublic.rating import steps

        context = get_current_context()
        return steps.rated_month(context["params"].get("month"), context["dag_run"].run_after)

    # Lineage: reads the marts (inlets; scheduled by the clock, not by their updates: a rating
    # follows the month's late answers, not each rebuild), updates the rating tables and the
    # publication, whose events carry each methodology's revision and folder.
    @task(
        pool=WAREHOUSE_POOL,
        on_success_callback=notify_published,  # the notice with links
        inlets=MARTS,
        outlets=[*RATING, RATING_PUBLICATION],
    )
    @fail_fast
    def rate(month: str) -> list[RatedMonth] | list[WhatIfMonth]:
        """Compute, snapshot and publish under each methodology (``dry_run``: compare only)."""
        from gospublic.rating import steps

        context = get_current_context()
        params = context["params"]
        rated = steps.rate(
            month,
            params.get("methodologies"),
            republish=bool(params.get("republish")),
            accept_incomplete_inputs=bool(params.get("accept_incomplete_inputs")),
            incomplete_inputs_reason=params.get("incomplete_inputs_reason"),
            dry_run=bool(params.get("dry_run")),
            run_id=context["run_id"],
        )
        record_counts(
            context["outlet_events"],
            [*RATING, RATING_PUBLICATION],
            {
                "month": month,
                "dry_run": bool(params.get("dry_run")),  # a what-if run publishes nothing
                "ratings": [
                    {k: r.get(k) for k in ("methodology_id", "status", "revision", "path")} for r in rated
                ],
            },
        )
        return rated

    rate(rated_month())


monthly_rating()
