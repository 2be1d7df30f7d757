"""OK extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table was made for VK (``vk_group_id``, no ``network`` column) and this session adds no
migration, so an OK row is told apart by its method, prefixed ``ok/`` (``ok/group.getInfo``,
``ok/mediatopic.getTopics``), keeps ``vk_group_id`` empty (an OK group id is not a VK id) and
names the OK group at the start of ``error_msg`` (``group 5000…: PERMISSION_DENIED : …``).
Re-running a day replaces only that day's OK rows. The VK load replaces *all* of a day's rows
(``replace_partition`` on ``dt``), so a VK (re)load of a day removes its OK rows until they are
recorded again from the lake (:func:`record_errors` with the day's manifest): a ``network``
column and a VK load scoped to it are the proper fix (a migration, reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.warehouse import Warehouse, writer

METHOD_PREFIX = "ok/"
COLUMNS = ("dt", "run_id", "vk_group_id", "method", "kind", "error_code", "error_msg", "occurred_at")
_DELETE = "DELETE FROM audit.extract_errors WHERE dt = :dt AND method LIKE 'ok/%'"


def error_rows(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest's errors as rows of ``audit.extract_errors``."""
    dt = date.fromisoformat(manifest["dt"])
    rows = []
    for batch in manifest["batches"]:
        for error in batch["errors"]:
            text = f"group {error.get('ok_group_id')}: {error.get('error_msg') or ''}"
            rows.append(
                {
                    "dt": dt,
                    "run_id": manifest["run_id"],
                    "vk_group_id": None,
                    "method": METHOD_PREFIX + str(error["method"]),
                    "kind": error["kind"],
                    "error_code": int(error["error_code"]),
                    "error_msg": redacted(text)[:1000],
                    "occurred_at": datetime.fromisoformat(error["occurred_at"]).astimezone(UTC),
                }
            )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"vk_group_id": "Int64"})


@writer("vk_load")  # audit.extract_errors is the VK load's table too: take turns with it
def record_errors(warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
    """Replace the day's OK rows of ``audit.extract_errors`` with the manifest's errors."""
    frame = error_rows(manifest)
    with warehouse.transaction() as tx:
        tx.execute(_DELETE, {"dt": date.fromisoformat(manifest["dt"])})
        tx.bulk_load("audit.extract_errors", frame)
    return len(frame)
