"""Build the marts of one month: per-incident timing in Python, then the SQL models of ``sql/mart/``.

Working hours come from ``transforms.worktime`` (production calendar, the region's time zone),
deadlines from ``config/marts.yaml``, answer-quality flags from ``transforms.answer_quality`` on
the latest answer text (read from ``restricted``; only the flags leave it). Everything for the month
is replaced in one transaction, so running it twice gives the same tables.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

import pandas as pd
import yaml

from gospublic.infra import settings
from gospublic.infra.audit import LoadRun, begin_attempt
from gospublic.infra.model_graph import graph
from gospublic.infra.warehouse import Warehouse, writer
from gospublic.infra.workers import process_pool
from gospublic.infra.workers import shutdown as shutdown_workers
from gospublic.marts.results import MonthBuilt
from gospublic.registry import region_timezones
from transforms.answer_quality import (
    AnswerQualityRules,
    PendingAssessments,
    flag_templates_frame,
    load_rules,
    submit_distinct,
)
from transforms.deadlines import Deadlines
from transforms.methodology import DEFAULT_STATUSES
from transforms.months import next_month, parse_month
from transforms.worktime import work_days_between_many, work_hours_between_many

log = logging.getLogger(__name__)

QUALITY_FLAGS = ("formal", "no_specifics", "impolite", "redirect")
TIMING_TABLES = ("core.fct_incident_timing", "restricted.answer_quality_evidence")  # per incident, per flag
TIMING_BATCH_ROWS = 50_000  # incidents read, assessed and written at a time (whole regions)


@cache
def marts_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (settings.project_home() / "config" / "marts.yaml").read_text(encoding="utf-8")
    )
    return config


def checked_marts() -> tuple[str, ...]:
    """The mart tables a Great Expectations suite checks (``suite:`` in sql/models.yml), in run order."""
    return tuple(m.target for m in graph().checked())


def mart_params(start: date) -> dict[str, Any]:
    """Bind parameters of the mart models for the month starting ``start``."""
    end = next_month(start)
    compliance = marts_config()["compliance"]
    weights = compliance["weights"]
    return {
        "month_start": start,
        "month_end": end,
        "window_start": datetime.combine(start - timedelta(days=1), time(), UTC),
        "window_end": datetime.combine(end + timedelta(days=1), time(), UTC),
        "posts_per_week_target": float(compliance["posts_per_week_target"]),
        "views_share_target": float(compliance["views_share_target"]),
        **{f"w_{name}": float(weight) for name, weight in weights.items()},
        "w_total": float(sum(weights.values())),
        **{  # each network's own checks (compliance.networks): w_<network>_<check>
            f"w_{network}_{name}": float(weight)
            for network, checks in compliance.get("networks", {}).items()
            for name, weight in checks.items()
        },
    }


@writer("marts")  # the mart dimensions are rebuilt whole: builds of any month take turns
def build_month(warehouse: Warehouse, month: date) -> MonthBuilt:
    """Replace the month's incident timing and every mart's rows of the month."""
    start = parse_month(month)
    incidents = 0
    run = _load_run(start, datetime.now(UTC))
    attempt = begin_attempt(warehouse, [run])
    with attempt.marking_failure(), warehouse.transaction() as tx:
        for table in TIMING_TABLES:
            tx.delete_partition(table, {"month": start})
        for timing, evidence in incident_timing_batches(warehouse, start):
            incidents += tx.bulk_load("core.fct_incident_timing", timing)
            tx.bulk_load("restricted.answer_quality_evidence", evidence)
        tx.analyze(TIMING_TABLES)
        tx.run_models("marts", mart_params(start))
        counts = {  # the checked marts' rows of the month (table names from the model graph)
            table: int(tx.scalar(f"SELECT COUNT(*) FROM {table} WHERE month = :m", {"m": start}))
            for table in checked_marts()
        }
        tx.finish(attempt)
        finished = dataclasses.replace(
            run, rows_read=incidents, rows_written=incidents, message=f"marts: {counts}"
        )
        tx.record_load_runs([finished], prefix=run.load_id)
    result = MonthBuilt(month=f"{start:%Y-%m}", incidents=incidents, mart_rows=counts)
    log.info("marts of %s built: %s", result["month"], result)
    return result


def _load_run(start: date, started_at: datetime) -> LoadRun:
    """The month's build in ``audit.load_runs``: incidents timed (read = written), mart rows in
    its message."""
    return LoadRun(
        load_id=f"marts:{start:%Y-%m}",
        source="marts",
        partition_key=f"{start:%Y-%m}",
        target_table="core.fct_incident_timing",
        rows_read=0,
        rows_written=0,
        rows_rejected=0,
        started_at=started_at,
    )


def incident_timing_batches(
    warehouse: Warehouse, start: date, batch_rows: int | None = None
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """One row per incident registered in the month (the region's local month), and the evidence
    of its answer's quality flags (one row per flag and phrase), a batch of whole regions at a
    time: memory follows ``batch_rows``, not the month (a body and its templates stay in one
    region, so one batch sees all of a body's answers).

    Pipelined: the worker processes assess the next batch's answers while this process finishes
    the current one (templates) and the caller writes it; at most two batches are held. The worker
    processes are stopped once the last batch's answers are assessed."""
    params = mart_params(start)
    zones = region_timezones(warehouse)
    deadlines = Deadlines(marts_config()["deadlines"])
    rules = load_rules()
    held: _TimingBatch | None = None
    for regions in region_batches(warehouse, params, batch_rows or TIMING_BATCH_ROWS):
        incidents = warehouse.query_frame(
            "SELECT i.source, i.incident_id, i.org_id, i.region_code, i.status, i.registered_at, "
            "i.first_reaction_at, i.answered_at, i.due_at, i.satisfaction, i.satisfied, "
            "i.last_exported_at, t.answer_text "
            "FROM core.fct_incident AS i "
            "LEFT JOIN restricted.incident_text AS t "
            "  ON t.source = i.source AND t.incident_id = i.incident_id AND t.load_id = i.load_id "
            "WHERE i.registered_at >= :window_start AND i.registered_at < :window_end "
            f"AND i.region_code IN ({', '.join(f':r{n}' for n in range(len(regions)))})",
            {**params, **{f"r{n}": region for n, region in enumerate(regions)}},
        )
        frames = [
            _region_timing(rows, start, str(region), zones.get(str(region), "Europe/Moscow"), deadlines)
            for region, rows in incidents.groupby("region_code")
        ]
        frames = [f for f in frames if len(f)]
        batch = (
            _submit_answer_quality(pd.concat(frames, ignore_index=True), incidents, rules) if frames else None
        )
        if held is not None:
            yield held.finish(start)
        held = batch
    last = held.finish(start) if held is not None else None
    # Every answer is assessed: the workers are idle from here on, and the mart models that follow
    # run in the warehouse (in this process on DuckDB), so their memory is given back first.
    shutdown_workers()
    if last is not None:
        yield last


def region_batches(warehouse: Warehouse, params: dict[str, Any], batch_rows: int) -> list[list[str]]:
    """Regions with incidents in the month's window, in batches of about ``batch_rows`` incidents."""
    counts = warehouse.query(
        "SELECT region_code, COUNT(*) AS incidents FROM core.fct_incident "
        "WHERE registered_at >= :window_start AND registered_at < :window_end "
        "GROUP BY region_code ORDER BY region_code",
        params,
    )
    return pack_regions([(str(row["region_code"]), int(row["incidents"])) for row in counts], batch_rows)


def pack_regions(counts: list[tuple[str, int]], batch_rows: int) -> list[list[str]]:
    """``(region, incidents)`` packed in order into batches of at most ``batch_rows`` incidents;
    a region larger than that is a batch of its own (a region is never split)."""
    batches: list[list[str]] = []
    size = 0
    for region, incidents in counts:
        if not batches or (size + incidents > batch_rows and size):
            batches.append([])
            size = 0
        batches[-1].append(region)
        size += incidents
    return batches


@dataclass
class _TimingBatch:
    """A batch's timing and answers, with their quality assessments under way in the workers."""

    timing: pd.DataFrame
    answers: Any  # numpy array of answer texts (None where there is none), aligned with ``timing``
    assessments: PendingAssessments

    def finish(self, start: date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``timing`` with the template flag and each answer's quality flags, and their evidence."""
        timing, answers = self.timing, self.answers
        texts_of_month = timing[["org_id", "source"]].assign(
            answer_text=pd.Series(answers).where(timing["has_answer_text"], None).to_numpy()
        )
        template = flag_templates_frame(texts_of_month, group_columns=("org_id", "source"))
        timing["template"] = template.where(timing["has_answer_text"], None)
        assessed = self.assessments.result()
        answered = timing["has_answer_text"].to_numpy()
        assessments = [assessed[text] if ok else None for text, ok in zip(answers, answered, strict=True)]
        for flag in QUALITY_FLAGS:
            timing[flag] = pd.array([a.flags[flag] if a else None for a in assessments], dtype="boolean")
        evidence = pd.DataFrame(
            [
                (source, incident_id, start, flag, phrase)
                for source, incident_id, assessment in zip(
                    timing["source"], timing["incident_id"], assessments, strict=True
                )
                if assessment is not None
                for flag, phrases in assessment.evidence.items()
                for phrase in phrases
            ],
            columns=_EVIDENCE_COLUMNS,
        )
        return timing[_TIMING_COLUMNS], evidence


def _submit_answer_quality(
    timing: pd.DataFrame, incidents: pd.DataFrame, rules: AnswerQualityRules
) -> _TimingBatch:
    """Mark which incidents have an answer text and hand those texts to the workers to assess."""
    texts = incidents.set_index(["source", "incident_id"])["answer_text"]
    answers = texts.reindex(pd.MultiIndex.from_frame(timing[["source", "incident_id"]])).to_numpy()
    timing["has_answer_text"] = pd.Series(answers).notna().to_numpy() & timing["is_answered"].to_numpy()
    answered = timing["has_answer_text"].to_numpy()
    pending = submit_distinct(answers[answered].tolist(), rules, executor=process_pool())
    return _TimingBatch(timing, answers, pending)


_TIMING_COLUMNS = [
    "source", "incident_id", "month", "org_id", "region_code", "registered_at", "is_answered",
    "reaction_hours", "reaction_work_hours", "answer_hours", "answer_work_hours", "deadline_at",
    "deadline_rule", "is_overdue", "satisfaction", "satisfied", "has_answer_text", *QUALITY_FLAGS, "template",
    "status", "is_counted", "answer_work_days", "reaction_work_days",
]  # fmt: skip


_EVIDENCE_COLUMNS = ["source", "incident_id", "month", "flag", "evidence"]


def _region_timing(
    rows: pd.DataFrame, start: date, region: str, tz: str, deadlines: Deadlines
) -> pd.DataFrame:
    registered = pd.to_datetime(rows["registered_at"], utc=True)
    local_month = registered.dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date
    rows = rows[(local_month == start).to_numpy()].copy()
    if rows.empty:
        return rows
    registered = pd.to_datetime(rows["registered_at"], utc=True)
    answered = pd.to_datetime(rows["answered_at"], utc=True)
    reacted = pd.to_datetime(rows["first_reaction_at"], utc=True).fillna(answered)
    rows["is_answered"] = answered.notna()
    rows["reaction_hours"] = (reacted - registered).dt.total_seconds() / 3600
    rows["answer_hours"] = (answered - registered).dt.total_seconds() / 3600
    rows["reaction_work_hours"] = work_hours_between_many(registered, reacted, tz)
    rows["answer_work_hours"] = work_hours_between_many(registered, answered, tz)
    rows["reaction_work_days"] = pd.array(work_days_between_many(registered, reacted, tz), dtype="Int32")
    rows["answer_work_days"] = pd.array(work_days_between_many(registered, answered, tz), dtype="Int32")
    # the default status rule (a methodology's own rule applies to its measures): an excluded
    # status (rejected) counts in no share and is never overdue
    excluded = [status for status, rule in DEFAULT_STATUSES.items() if rule == "excluded"]
    rows["is_counted"] = ~rows["status"].isin(excluded).to_numpy()
    parts = []
    for source, part in rows.groupby("source"):
        due, rule = deadlines.deadline_at(
            str(source), region, pd.to_datetime(part["registered_at"], utc=True),
            pd.to_datetime(part["due_at"], utc=True), tz,
        )  # fmt: skip
        parts.append(part.assign(deadline_at=due, deadline_rule=rule))
    rows = pd.concat(parts)
    answered = pd.to_datetime(rows["answered_at"], utc=True)
    as_of = pd.to_datetime(rows["last_exported_at"], utc=True)
    rows["is_overdue"] = (answered > rows["deadline_at"]).where(answered.notna(), as_of > rows["deadline_at"])
    rows["is_overdue"] = rows["is_overdue"].astype(bool) & rows["is_counted"]
    rows["month"] = start
    for column in ("satisfaction", "satisfied"):
        rows[column] = pd.to_numeric(rows[column]).astype("Int32")
    return rows.reset_index(drop=True)
