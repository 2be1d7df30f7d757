"""Compute the monthly rating under a methodology into immutable snapshots.

Same inputs and methodology → the same fingerprint → nothing new. A published snapshot never
changes: when inputs or the methodology changed, only ``republish=True`` creates revision N+1, and
every earlier revision stays readable. A draft (not yet published) is simply replaced.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra import settings
from gospublic.infra.warehouse import Warehouse
from gospublic.rating import degeneracy
from gospublic.rating.gate import require_scores
from gospublic.rating.results import RatedMonth
from transforms.measures import NEEDED_COLUMNS, measure_values
from transforms.methodology import RESERVED_IDS, Methodology, MethodologyError, compile_indicators, load_all
from transforms.months import parse_month, previous_month
from transforms.rating import score_month
from transforms.rating_degeneracy import find_degeneracies

log = logging.getLogger(__name__)
SNAPSHOT_TABLES = ("mart.rating_indicator", "mart.rating_monthly", "mart.rating_snapshot")


class SnapshotChangedError(RuntimeError):
    """The inputs or the methodology changed after the month was published."""


@dataclass(frozen=True)
class RatingSnapshot:
    snapshot_id: str
    month: date
    methodology_id: str
    revision: int
    status: str
    input_fingerprint: str
    created: bool  # False: the existing snapshot already had these inputs

    def as_dict(self) -> RatedMonth:
        """The task's result (XCom): the month as ``YYYY-MM``."""
        return RatedMonth(
            snapshot_id=self.snapshot_id,
            month=f"{self.month:%Y-%m}",
            methodology_id=self.methodology_id,
            revision=self.revision,
            status=self.status,
            input_fingerprint=self.input_fingerprint,
            created=self.created,
        )


def methodologies() -> dict[str, Methodology]:
    return load_all(settings.project_home())


def rating_inputs(warehouse: Warehouse, methodology: Methodology, month: date) -> pd.DataFrame:
    """One row per body of the month: group inputs, volumes and ratings per source, the pages of
    every network when the methodology counts them (``Methodology.page_inputs``), and every
    indicator's raw value (an expression's from ``mart.rating_base``, a measure's from
    ``core.fct_incident_timing`` by ``transforms.measures``).

    No text of the methodology reaches the SQL: each expression is parsed into an allow-listed
    tree and written out by ``transforms.rating_expression``; the columns it reads are checked
    against the warehouse's ``mart.rating_base`` first.
    """
    compiled = compile_indicators(methodology)
    present = set(warehouse.table_columns("mart.rating_base"))
    where = methodology.source or methodology.id
    positions = [n for n, i in enumerate(methodology.indicators, start=1) if i.measure is None]
    for n, indicator in zip(positions, compiled, strict=True):
        if missing := sorted(indicator.columns - present):
            raise MethodologyError(
                f"{where}: indicators[{n}].expression reads {missing}, "
                "which mart.rating_base of the warehouse lacks: migrate the warehouse"
            )
    # the pages of every network only where rated_when or a min_volume counts them: a methodology of
    # VK pages reads what it read before issue 28, and its snapshots keep their fingerprints
    inputs_read = [*RESERVED_IDS, *methodology.page_inputs()]
    if missing := sorted(set(inputs_read) - present):
        raise MethodologyError(f"{where}: mart.rating_base lacks {missing}: migrate the warehouse")
    columns = [*inputs_read, *(f"{i.sql} AS {i.name}" for i in compiled)]
    inputs = warehouse.query_df(
        f"SELECT {', '.join(columns)} FROM mart.rating_base WHERE month = :month ORDER BY org_id",
        {"month": month},
    )
    if not methodology.measures() or inputs.empty:
        return inputs.assign(**{i.id: float("nan") for i in methodology.measures()})
    timing = warehouse.query_df(
        f"SELECT {', '.join(NEEDED_COLUMNS)} FROM core.fct_incident_timing "
        "WHERE month = :month AND org_id IS NOT NULL",
        {"month": month},
    )
    measured = measure_values(timing, methodology)
    return inputs.merge(measured, on="org_id", how="left")


def fingerprint(methodology: Methodology, inputs: pd.DataFrame) -> str:
    canonical = inputs.sort_values("org_id").round(9).to_csv(index=False, na_rep="")
    return hashlib.sha256(f"{methodology.content_hash}\n{canonical}".encode()).hexdigest()[:24]


def input_parts(methodology: Methodology, inputs: pd.DataFrame) -> pd.DataFrame:
    """The fingerprint part by part (``audit.rating_snapshot_input``): the methodology, the bodies
    (every column that is not an indicator's value) and each indicator's raw values."""
    ordered = inputs.sort_values("org_id").round(9)
    indicator_ids = [i.id for i in methodology.indicators if i.id in ordered.columns]
    body_columns = [c for c in ordered.columns if c not in indicator_ids]
    rows = [{"input_id": "methodology", "fingerprint": methodology.content_hash, "bodies": len(ordered)}]
    parts = [("bodies", body_columns)] + [(f"indicator:{i}", ["org_id", i]) for i in indicator_ids]
    for input_id, columns in parts:
        canonical = ordered[columns].to_csv(index=False, na_rep="")
        present = len(ordered) if input_id == "bodies" else int(ordered[columns[-1]].notna().sum())
        rows.append(
            {
                "input_id": input_id,
                "fingerprint": hashlib.sha256(canonical.encode()).hexdigest()[:24],
                "bodies": present,
            }
        )
    return pd.DataFrame(rows, columns=["input_id", "fingerprint", "bodies"])


def score_without_writing(
    warehouse: Warehouse, methodology: Methodology, month: date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(inputs, indicators, bodies)``: the month scored under ``methodology`` as a snapshot would
    be, nothing written (what-if ratings; ``compute_snapshot`` stores the same)."""
    month = parse_month(month)
    inputs = rating_inputs(warehouse, methodology, month)
    if inputs.empty:
        raise ValueError(f"mart.rating_base has no body for {month:%Y-%m}: build the marts first")
    indicators, bodies = score_month(inputs, methodology)
    return inputs, indicators, bodies


def compute_snapshot(
    warehouse: Warehouse, methodology: Methodology, month: date, *, republish: bool = False
) -> RatingSnapshot:
    """The month's snapshot under ``methodology``: existing when inputs are unchanged, else a new one."""
    month = parse_month(month)
    inputs, indicators, bodies = score_without_writing(warehouse, methodology, month)
    digest = fingerprint(methodology, inputs)
    latest = _latest(warehouse, methodology.id, month)
    if latest and latest["input_fingerprint"] == digest:
        log.info("rating %s: inputs unchanged, snapshot %s kept", methodology.id, latest["snapshot_id"])
        return _snapshot(latest, created=False)
    if latest and latest["status"] == "published" and not republish:
        raise SnapshotChangedError(
            f"{methodology.id} {month:%Y-%m}: inputs or methodology changed since revision "
            f"{latest['revision']} was published ({latest['snapshot_id']}); run with republish=true "
            f"to publish revision {latest['revision'] + 1}"
        )
    revision = (
        (latest["revision"] + 1 if latest["status"] == "published" else latest["revision"]) if latest else 1
    )
    snapshot_id = f"{methodology.id}:{month:%Y-%m}:r{revision}"
    # the publication gate: no snapshot without a rated body, with a score that is not a number or
    # with a rated body lacking a required indicator
    require_scores(f"{month:%Y-%m}, {methodology.id}", bodies, indicators, methodology)
    bodies = _with_changes(warehouse, methodology, month, bodies)
    snapshot = {
        "snapshot_id": snapshot_id,
        "month": month,
        "methodology_id": methodology.id,
        "methodology_version": methodology.version,
        "methodology_hash": methodology.content_hash,
        "input_fingerprint": digest,
        "revision": revision,
        "status": "draft",
        "created_at": datetime.now(UTC),
        "published_at": None,
        "publish_path": None,
    }
    with warehouse.transaction() as tx:
        for table in (*SNAPSHOT_TABLES, "audit.rating_snapshot_input"):
            tx.delete_partition(table, {"snapshot_id": snapshot_id})
        tx.bulk_load(
            "audit.rating_snapshot_input", input_parts(methodology, inputs).assign(snapshot_id=snapshot_id)
        )
        frame = pd.DataFrame([snapshot])
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
        tx.bulk_load("mart.rating_snapshot", frame.astype({"publish_path": object}))
        tx.bulk_load("mart.rating_indicator", indicators.assign(snapshot_id=snapshot_id, month=month))
        tx.bulk_load("mart.rating_monthly", _monthly_rows(bodies, snapshot_id, month))
        degeneracy.store(tx, snapshot_id, find_degeneracies(indicators, bodies, methodology))
    log.info(
        "rating %s %s: snapshot %s (%d bodies)", methodology.id, f"{month:%Y-%m}", snapshot_id, len(bodies)
    )
    return RatingSnapshot(snapshot_id, month, methodology.id, revision, "draft", digest, created=True)


def mark_published(warehouse: Warehouse, snapshot: RatingSnapshot, path: str, published_at: datetime) -> bool:
    """The commit point of a publication: the draft, still with the inputs its files were made
    from, turns published in one statement. False when it did not (published meanwhile by another
    run, or replaced by a draft of other inputs)."""
    return (
        warehouse.execute(
            "UPDATE mart.rating_snapshot SET status = 'published', published_at = :at, publish_path = :path "
            "WHERE snapshot_id = :s AND status = 'draft' AND input_fingerprint = :fingerprint",
            {
                "at": published_at,
                "path": path,
                "s": snapshot.snapshot_id,
                "fingerprint": snapshot.input_fingerprint,
            },
        )
        == 1
    )


def _latest(warehouse: Warehouse, methodology_id: str, month: date) -> dict[str, Any] | None:
    rows = warehouse.query(
        "SELECT * FROM mart.rating_snapshot WHERE methodology_id = :m AND month = :month "
        "ORDER BY revision DESC, status DESC LIMIT 1",
        {"m": methodology_id, "month": month},
    )
    return rows[0] if rows else None


def _snapshot(row: dict[str, Any], *, created: bool) -> RatingSnapshot:
    month = row["month"] if isinstance(row["month"], date) else pd.Timestamp(row["month"]).date()
    return RatingSnapshot(
        row["snapshot_id"], month, row["methodology_id"], int(row["revision"]), row["status"],
        row["input_fingerprint"], created,
    )  # fmt: skip


def _with_changes(
    warehouse: Warehouse, methodology: Methodology, month: date, bodies: pd.DataFrame
) -> pd.DataFrame:
    """Score and rank change since the previous month's latest published snapshot."""
    previous = previous_month(month)
    previous = warehouse.query_df(
        "SELECT r.org_id, r.score, r.rank FROM mart.rating_monthly AS r "
        "WHERE r.snapshot_id = (SELECT s.snapshot_id FROM mart.rating_snapshot AS s "
        "  WHERE s.methodology_id = :m AND s.month = :month AND s.status = 'published' "
        "  ORDER BY s.revision DESC LIMIT 1)",
        {"m": methodology.id, "month": previous},
    )
    merged = bodies.merge(previous, on="org_id", how="left", suffixes=("", "_previous"))
    merged["score_change"] = (merged["score"] - merged["score_previous"]).round(1)
    merged["rank_change"] = (merged["rank_previous"] - merged["rank"]).astype("Int64")
    return merged.drop(columns=["score_previous", "rank_previous"])


def _monthly_rows(bodies: pd.DataFrame, snapshot_id: str, month: date) -> pd.DataFrame:
    frame = bodies.assign(snapshot_id=snapshot_id, month=month)
    frame["rank"] = frame["rank"].astype("Int32")
    frame["ranked_in_group"] = frame["ranked_in_group"].astype("Int32")
    frame["rank_change"] = frame["rank_change"].astype("Int32")
    frame["not_rated_reason"] = frame["not_rated_reason"].astype(object)
    frame["zone"] = frame["zone"].astype(object)
    return frame[
        [
            "snapshot_id", "org_id", "month", "rating_group", "incidents", "is_rated", "not_rated_reason",
            "score", "rank", "ranked_in_group", "zone", "score_change", "rank_change",
        ]
    ]  # fmt: skip
