"""What other parts of the rating contribute to a publication, each read through one function here:

* ``card_trends`` — a body's last 12 months (``gospublic.rating.trends.body_trends``);
* ``municipalities`` — the bodies of each municipality (``gospublic.rating.municipalities``);
* ``region_topics`` — the month's messages by rubric and channel (``gospublic.rating.topics``);
* ``degeneracies`` — the degeneracy report of the snapshot (``gospublic.rating.degeneracy``);
* ``revision_changes`` — what a republished revision changed («Что изменилось»,
  ``gospublic.rating.changes``).

A provider that is not installed gives ``None`` (the page then says nothing of it).
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
    """org_id → its points of the last 12 months, oldest first (``TrendPoint``: month, score,
    rank, rating_group, zone_ru)."""
    provider = _provider("gospublic.rating.trends", "body_trends")
    return provider(warehouse, methodology_id, month, org_ids) if provider else None


def municipalities(warehouse: Warehouse, month: Any) -> list[Any] | None:
    """``MunicipalityBodies`` (oktmo, name, bodies, page) of the month."""
    provider = _provider("gospublic.rating.municipalities", "municipality_bodies")
    return list(provider(warehouse, month)) if provider else None


def region_topics(warehouse: Warehouse, month: Any) -> Any | None:
    """``Topics`` of the region (incidents, rubrics, channels)."""
    provider = _provider("gospublic.rating.topics", "topics_summary")
    return provider(warehouse, month) if provider else None


def degeneracies(warehouse: Warehouse, snapshot_id: str) -> list[str]:
    """The degeneracy report's findings, a sentence each."""
    provider = _provider("gospublic.rating.degeneracy", "degeneracies_of")
    return [str(d.message_ru) for d in provider(warehouse, snapshot_id)] if provider else []


def revision_changes(warehouse: Warehouse, snapshot_id: str) -> list[str]:
    """«Что изменилось» against the previous published revision; empty for a first revision."""
    provider = _provider("gospublic.rating.changes", "revision_changes")
    changes = provider(warehouse, snapshot_id) if provider else None
    if changes is None:
        return []
    return [*changes.lines(), *changes.body_lines(limit=30)]
