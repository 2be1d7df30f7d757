"""Telegram extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

A Telegram row has ``network`` 'tg', the channel's username in ``page_key``, the TL method
(``contacts.resolveUsername``, ``channels.getFullChannel``, ``messages.getHistory``), Telegram's
error code (400, 406…) and name (``CHANNEL_PRIVATE``) as its message; ``vk_group_id`` stays empty.
Re-running a day replaces only that day's Telegram rows (migration 0027's ``network`` column).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.warehouse import Warehouse, writer

NETWORK = "tg"  # the registry's code (dim_page.network), one code per network everywhere
COLUMNS = (
    "dt", "run_id", "network", "page_key", "vk_group_id", "method", "kind", "error_code", "error_msg",
    "occurred_at",
)  # fmt: skip


def error_rows(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest's errors as rows of ``audit.extract_errors``."""
    dt = date.fromisoformat(manifest["dt"])
    rows = [
        {
            "dt": dt,
            "run_id": manifest["run_id"],
            "network": NETWORK,
            "page_key": error.get("username"),
            "vk_group_id": None,
            "method": str(error["method"]),
            "kind": error["kind"],
            "error_code": int(error["error_code"]),
            "error_msg": redacted(str(error["error_msg"]))[:1000] if error.get("error_msg") else None,
            "occurred_at": datetime.fromisoformat(error["occurred_at"]).astimezone(UTC),
        }
        for batch in manifest["batches"]
        for error in batch["errors"]
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"vk_group_id": "Int64"})


# Two recordings of a day would each delete, then both insert: they take turns. Other networks'
# loads replace only their own rows, so they need not wait.
@writer("telegram_load")
def record_errors(warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
    """Replace the day's Telegram rows of ``audit.extract_errors`` with the manifest's errors."""
    frame = error_rows(manifest)
    with warehouse.transaction() as tx:
        tx.replace_partition(
            "audit.extract_errors", frame, {"dt": date.fromisoformat(manifest["dt"]), "network": NETWORK}
        )
    return len(frame)
