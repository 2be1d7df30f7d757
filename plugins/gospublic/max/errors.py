"""MAX extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table holds every network's rows (migration 0027): a MAX row has ``network`` 'max', the
channel's chat id in ``page_key``, the Bot API's operation (``getChat``, ``getMessages``),
``error_code`` the HTTP status MAX answered (403 the bot is not in the channel, 404, 400) or -1
for a call given up, and MAX's ``code: message`` as its message; ``vk_group_id`` stays empty.
Re-running a day replaces only that day's MAX rows; the other networks' rows are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.warehouse import Warehouse, writer

NETWORK = "max"
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
            chat, message = error.get("max_chat_id"), error.get("error_msg")
            rows.append(
                {
                    "dt": dt,
                    "run_id": manifest["run_id"],
                    "network": NETWORK,
                    "page_key": None if chat is None else str(chat),
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


# Two recordings of a day would each delete, then both insert: they take turns. The other
# networks' loads replace only their own rows, so they need not wait for it.
@writer("max_load")
def record_errors(warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
    """Replace the day's MAX rows of ``audit.extract_errors`` with the manifest's errors."""
    frame = error_rows(manifest)
    with warehouse.transaction() as tx:
        tx.replace_partition(
            "audit.extract_errors", frame, {"dt": date.fromisoformat(manifest["dt"]), "network": NETWORK}
        )
    return len(frame)
