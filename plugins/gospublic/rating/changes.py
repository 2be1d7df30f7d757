"""«Что изменилось»: what a republished revision changed against the revision before it.

A revision N+1 of a month is published only when its inputs or methodology changed. Each snapshot
records its inputs part by part (``audit.rating_snapshot_input``: the methodology, the bodies with
their groups and volumes, each indicator's raw values); ``revision_changes`` compares those parts
with the previous published revision's, counts the bodies whose values changed, and compares the
two ratings body by body (``transforms.rating_compare``): whose place and zone changed and which
indicator moved each most. The publication renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gospublic.infra.warehouse import Warehouse
from gospublic.rating import whatif
from gospublic.rating.snapshot import methodologies
from transforms import ru_format as ru
from transforms.rating_compare import Comparison, compare

BODIES_CAPTION = "Состав органов, их группы, число сообщений и госпабликов"


@dataclass(frozen=True)
class InputChange:
    """One input part that differs between the two revisions."""

    input_id: str  # methodology, bodies, indicator:<id>
    caption: str  # in Russian
    bodies_changed: int | None  # rated bodies whose value differs (None: not countable, e.g. the methodology)


@dataclass(frozen=True)
class RevisionChanges:
    snapshot_id: str
    previous_snapshot_id: str
    previous_revision: int
    inputs: tuple[InputChange, ...]
    parts_recorded: bool  # False: a revision predates per-input fingerprints (changes from stored rows)
    comparison: Comparison
    names: dict[str, str]
    captions: dict[str, str]

    def lines(self) -> list[str]:
        """«Что изменилось» in Russian, a sentence a line: the inputs, then the headline of moves."""
        lines = [f"По сравнению с редакцией {self.previous_revision} ({self.previous_snapshot_id}):"]
        if not self.inputs:
            lines.append("Исходные данные и методика не изменились.")
        for change in self.inputs:
            if change.bodies_changed is None:
                lines.append(f"Изменено: {change.caption}.")
            else:
                count = ru.counted(change.bodies_changed, "органа", "органов", "органов")
                lines.append(f"Изменено: {change.caption} — у {count} в рейтинге.")
        if not self.parts_recorded:
            lines.append("Отпечатки исходных данных по частям у прежней редакции не записаны.")
        return lines + whatif.headline(self.comparison.summary)

    def body_lines(self, limit: int | None = None) -> list[str]:
        """A line per body whose place, group, zone or rating changed, and the indicator behind it."""
        out = []
        moved = self.comparison.bodies
        moved = moved[moved["moved"] | moved["zone_changed"]]
        for row in moved.head(limit).itertuples() if limit else moved.itertuples():
            text = (
                f"{self.names.get(row.org_id, row.org_id)} ({row.rating_group}): {whatif.what_happened(row)}"
            )
            if row.rated_before and row.rated_after:
                text += f", балл {ru.number(row.score_before)} → {ru.number(row.score_after)}"
            if row.zone_changed:
                text += (
                    f", зона {whatif.zone_caption(row.zone_before)} → {whatif.zone_caption(row.zone_after)}"
                )
            if isinstance(row.top_indicator, str):
                caption = self.captions.get(row.top_indicator, row.top_indicator)
                text += f"; больше всего — «{caption}» ({ru.change(row.top_indicator_change)})"
            out.append(text)
        return out


def revision_changes(warehouse: Warehouse, snapshot_id: str) -> RevisionChanges | None:
    """What ``snapshot_id`` changed against the latest published revision before it; None for a
    first revision (or when no earlier revision was published)."""
    rows = warehouse.query("SELECT * FROM mart.rating_snapshot WHERE snapshot_id = :s", {"s": snapshot_id})
    if not rows:
        raise ValueError(f"no snapshot {snapshot_id}")
    current = rows[0]
    previous_rows = warehouse.query(
        "SELECT * FROM mart.rating_snapshot WHERE methodology_id = :m AND month = :month "
        "AND status = 'published' AND revision < :r ORDER BY revision DESC LIMIT 1",
        {"m": current["methodology_id"], "month": current["month"], "r": current["revision"]},
    )
    if not previous_rows:
        return None
    previous = previous_rows[0]
    known = methodologies()
    methodology = known.get(str(current["methodology_id"]))
    captions = whatif.indicator_captions([*([methodology] if methodology else []), *known.values()])
    comparison = compare(
        whatif.snapshot_side(warehouse, str(previous["snapshot_id"])),
        whatif.snapshot_side(warehouse, snapshot_id),
        group_order=methodology.group_order() if methodology else (),
    )
    parts_before, parts_after = (
        _parts(warehouse, str(previous["snapshot_id"])),
        _parts(warehouse, snapshot_id),
    )
    recorded = bool(parts_before) and bool(parts_after)
    inputs = _input_changes(
        warehouse,
        previous,
        current,
        comparison,
        captions=captions,
        parts_before=parts_before,
        parts_after=parts_after,
    )
    return RevisionChanges(
        snapshot_id, str(previous["snapshot_id"]), int(previous["revision"]), tuple(inputs), recorded,
        comparison, whatif.body_names(warehouse, comparison.bodies["org_id"].tolist()), captions,
    )  # fmt: skip


def _parts(warehouse: Warehouse, snapshot_id: str) -> dict[str, str]:
    rows = warehouse.query(
        "SELECT input_id, fingerprint FROM audit.rating_snapshot_input WHERE snapshot_id = :s",
        {"s": snapshot_id},
    )
    return {str(r["input_id"]): str(r["fingerprint"]) for r in rows}


def _input_changes(
    warehouse: Warehouse,
    previous: dict[str, Any],
    current: dict[str, Any],
    comparison: Comparison,
    *,
    captions: dict[str, str],
    parts_before: dict[str, str],
    parts_after: dict[str, str],
) -> list[InputChange]:
    raw = _raw_changes(comparison.indicators)
    bodies = _body_changes(warehouse, str(previous["snapshot_id"]), str(current["snapshot_id"]))
    changes = []
    if previous["methodology_hash"] != current["methodology_hash"]:
        version = (
            f"версия {previous['methodology_version']} → {current['methodology_version']}"
            if previous["methodology_version"] != current["methodology_version"]
            else "версия та же, файл изменён"
        )
        changes.append(InputChange("methodology", f"методика ({version})", None))
    if parts_before and parts_after:
        changed = sorted(
            k for k in set(parts_before) | set(parts_after) if parts_before.get(k) != parts_after.get(k)
        )
        changed = [k for k in changed if k != "methodology"]
    else:  # an older revision: what the stored rows show
        changed = (["bodies"] if bodies else []) + [f"indicator:{i}" for i in sorted(raw) if raw[i]]
    for input_id in changed:
        if input_id == "bodies":
            changes.append(InputChange(input_id, BODIES_CAPTION.lower(), bodies))
        else:
            indicator = input_id.removeprefix("indicator:")
            caption = f"исходные данные показателя «{captions.get(indicator, indicator)}»"
            changes.append(InputChange(input_id, caption, raw.get(indicator, 0)))
    return changes


def _raw_changes(indicators: pd.DataFrame) -> dict[str, int]:
    """Per indicator, the rated bodies whose raw value differs (a value on one side only counts)."""
    before, after = indicators["raw_value_before"], indicators["raw_value_after"]
    same = np.isclose(before.fillna(0.0), after.fillna(0.0), rtol=0, atol=1e-9) & (
        before.isna() == after.isna()
    )
    present = indicators["weighted_points_before"].notna() & indicators["weighted_points_after"].notna()
    differs = indicators[~same & present]
    counts = differs.groupby("indicator_id")["org_id"].nunique()
    return {str(k): int(v) for k, v in counts.items()}


def _body_changes(warehouse: Warehouse, before: str, after: str) -> int:
    """Bodies whose group, message count or rating status differs between two snapshots."""
    frame = warehouse.query_df(
        "SELECT org_id, snapshot_id, rating_group, incidents, is_rated FROM mart.rating_monthly "
        "WHERE snapshot_id IN (:a, :b)",
        {"a": before, "b": after},
    )
    wide = frame.pivot(index="org_id", columns="snapshot_id")
    differs = pd.Series(False, index=wide.index)
    for column in ("rating_group", "incidents", "is_rated"):
        if (column, before) in wide.columns and (column, after) in wide.columns:
            differs |= wide[(column, before)].astype(str) != wide[(column, after)].astype(str)
        else:
            differs |= True
    return int(differs.sum())
