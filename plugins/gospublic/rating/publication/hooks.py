"""What other parts of the rating contribute to a publication, looked up when they are there:

* ``card_trend`` — a body's last 12 months (score, place, zone) from published snapshots;
* ``municipalities`` — the bodies of each municipality (name, OKTMO code);
* ``degeneracies`` — the degeneracy report of a snapshot's indicators (the publication gate);
* ``revision_changes`` — what a republished revision changed against the one before.

Each returns ``None`` while its provider has not landed (the page then says nothing of it), so
the publication does not depend on the order in which those parts arrive.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from gospublic.infra.warehouse import Warehouse


def _provider(module: str, name: str) -> Callable[..., Any] | None:
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return found if callable(found) else None


def card_trends(
    warehouse: Warehouse, methodology_id: str, month: Any, org_ids: list[str]
) -> dict[str, Any] | None:
    """org_id → its last 12 months, or ``None`` until the trend queries exist."""
    provider = _provider("gospublic.rating.trends", "body_trends")
    return provider(warehouse, methodology_id, month, org_ids) if provider else None


def municipalities(warehouse: Warehouse, month: Any) -> Any | None:
    provider = _provider("gospublic.rating.municipalities", "municipality_bodies")
    return provider(warehouse, month) if provider else None


def degeneracies(warehouse: Warehouse, snapshot_id: str) -> Any | None:
    provider = _provider("gospublic.rating.gate", "degeneracies_of")
    return provider(warehouse, snapshot_id) if provider else None


def revision_changes(warehouse: Warehouse, snapshot_id: str) -> Any | None:
    provider = _provider("gospublic.rating.whatif", "revision_changes")
    return provider(warehouse, snapshot_id) if provider else None
