"""The degeneracy report of a rating snapshot (``transforms.rating_degeneracy``): stored with the
snapshot in ``audit.rating_degeneracy``, read back for the publication's methodology sheet and the
task's result, and written to the run log."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from gospublic.infra.warehouse import Transaction, Warehouse
from transforms.rating_degeneracy import Degeneracy

log = logging.getLogger(__name__)

TABLE = "audit.rating_degeneracy"
_COLUMNS = [
    "snapshot_id",
    "finding_no",
    "kind",
    "rating_group",
    "indicator_id",
    "counts",
    "org_ids",
    "message_ru",
]
_READ = (
    "SELECT kind, rating_group, indicator_id, counts, org_ids, message_ru FROM audit.rating_degeneracy "
    "WHERE snapshot_id = :s ORDER BY finding_no"
)


def store(tx: Transaction, snapshot_id: str, found: Sequence[Degeneracy]) -> None:
    """Replace the snapshot's report within the snapshot's transaction ``tx``."""
    tx.delete_partition(TABLE, {"snapshot_id": snapshot_id})
    if not found:
        return
    rows = [
        {
            "snapshot_id": snapshot_id,
            "finding_no": n,
            "kind": d.kind,
            "rating_group": d.group,
            "indicator_id": d.indicator,
            "counts": json.dumps(dict(d.counts), ensure_ascii=False, sort_keys=True),
            "org_ids": json.dumps(list(d.org_ids), ensure_ascii=False),
            "message_ru": d.message_ru,
        }
        for n, d in enumerate(found, start=1)
    ]
    frame = pd.DataFrame(rows, columns=_COLUMNS).astype({"rating_group": object, "indicator_id": object})
    tx.bulk_load(TABLE, frame)


def degeneracies_of(warehouse: Warehouse, snapshot_id: str) -> list[Degeneracy]:
    """The stored report of a snapshot, in the order it was found (groups in publication order);
    empty for a snapshot without findings (or computed before the report existed)."""
    return [
        Degeneracy(
            kind=str(row["kind"]),
            group=None if row["rating_group"] is None else str(row["rating_group"]),
            indicator=None if row["indicator_id"] is None else str(row["indicator_id"]),
            counts=json.loads(row["counts"]),
            message_ru=str(row["message_ru"]),
            org_ids=tuple(json.loads(row["org_ids"])),
        )
        for row in warehouse.query(_READ, {"s": snapshot_id})
    ]


def report(warehouse: Warehouse, snapshot_id: str) -> list[dict[str, Any]]:
    """The snapshot's report, written to the run log (a warning per finding) and returned JSON-ready
    for the task's result."""
    found = degeneracies_of(warehouse, snapshot_id)
    if not found:
        log.info("rating %s: degeneracy report empty", snapshot_id)
    for degeneracy in found:
        log.warning("rating %s: degeneracy %s — %s", snapshot_id, degeneracy.kind, degeneracy.message_ru)
    return [d.as_dict() for d in found]
