"""OK extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table holds every network's rows (migration 0027): an OK row has ``network`` 'ok', the OK
group id in ``page_key``, OK's method name (``group.getInfo``, ``mediatopic.getTopics``) and OK's
message as it came; ``vk_group_id`` stays empty (an OK group id is not a VK id). Re-running a day
replaces only that day's OK rows, and a VK (re)load of the day replaces only its VK rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.warehouse import Warehouse, writer

NETWORK = "ok"
COLUMNS = (
    "dt", "run_id", "network", "page_key", "vk_group_id", "method", "kind", "error_code", "error_msg",
    "occurred_at",
)  # fmt: skip


def error_rows(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest's errors as rows of ``audit.extract_errors``."""
    dt = date.fromisoformat(manifest["dt"])
    rows = []
    for batch in manifest["batches"]:
        for error in batch["errors"]:
            group, message = error.get("ok_group_id"), error.get("error_msg")
            rows.append(
                {
                    "dt": dt,
                    "run_id": manifest["run_id"],
                    "network": NETWORK,
                    "page_key": None if group is None else str(group),
                    "vk_group_id": None,
                    "method": str(error["method"]),
                    "kind": error["kind"],
                    "error_code": int(error["error_code"]),
                    "error_msg": redacted(str(message))[:1000] if message else None,
                    "occurred_at": datetime.fromisoformat(error["occurred_at"]).astimezone(UTC),
                }
            )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"vk_group_id": "Int64"})


# Two recordings of a day would each delete, then both insert: they take turns. The VK load
# replaces only VK's rows, so it need not wait for it (nor it for this).
@writer("ok_load")
def record_errors(warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
    """Replace the day's OK rows of ``audit.extract_errors`` with the manifest's errors."""
    frame = error_rows(manifest)
    with warehouse.transaction() as tx:
        tx.replace_partition(
            "audit.extract_errors", frame, {"dt": date.fromisoformat(manifest["dt"]), "network": NETWORK}
        )
    return len(frame)
