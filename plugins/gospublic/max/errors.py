"""MAX extraction errors in ``audit.extract_errors``, replaced per day from a run's manifest.

The table was made for VK (``vk_group_id``, no ``network`` column) and no migration is added, so
a MAX row is told apart by its method, prefixed ``max/`` (``max/getChat``, ``max/getMessages``),
keeps ``vk_group_id`` empty and names the channel at the start of ``error_msg``
(``chat -7000…: chat.denied: …``); ``error_code`` is the HTTP status MAX answered (403, 404, …)
or -1 for a call given up. Re-running a day replaces only that day's MAX rows. The VK load
replaces *all* of a day's rows, so a VK (re)load of a day removes its MAX rows until they are
recorded again from the lake (:func:`record_errors` with the day's manifest), as for OK.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.warehouse import Warehouse, writer

METHOD_PREFIX = "max/"
COLUMNS = ("dt", "run_id", "vk_group_id", "method", "kind", "error_code", "error_msg", "occurred_at")
_DELETE = "DELETE FROM audit.extract_errors WHERE dt = :dt AND method LIKE 'max/%'"


def error_rows(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest's errors as rows of ``audit.extract_errors``."""
    dt = date.fromisoformat(manifest["dt"])
    rows = []
    for batch in manifest["batches"]:
        for error in batch["errors"]:
            text = f"chat {error.get('max_chat_id')}: {error.get('error_msg') or ''}"
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
    """Replace the day's MAX rows of ``audit.extract_errors`` with the manifest's errors."""
    frame = error_rows(manifest)
    with warehouse.transaction() as tx:
        tx.execute(_DELETE, {"dt": date.fromisoformat(manifest["dt"])})
        tx.bulk_load("audit.extract_errors", frame)
    return len(frame)
