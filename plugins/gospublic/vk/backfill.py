"""Sidecars for the VK days a lake already holds (``python -m gospublic.cli vk-sidecars``).

For each day of a range, the raw files of its latest manifest (what a load reads) that have no
current sidecar get one, written as the extractor writes it (``gospublic.vk.answers``): days landed
before the sidecars existed, or whose sidecars a changed column spec retired. Idempotent: a file
whose sidecar is current is left alone, so a second run writes nothing. A raw file the typed
read refuses is counted and left without one (its load refuses it, naming the file).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from gospublic.infra.lake import Lake
from gospublic.vk.answers import has_current_sidecar, land_sidecar
from gospublic.vk.extract import manifest_key, read_manifest

log = logging.getLogger(__name__)


@dataclass
class Backfill:
    """What a backfill found and did, over its days."""

    written: int = 0  # sidecars written
    current: int = 0  # raw files whose sidecar was already current
    refused: list[str] = field(default_factory=list)  # raw files the typed read refused
    days: list[str] = field(default_factory=list)  # days with a manifest
    without_manifest: list[str] = field(default_factory=list)  # days with none (nothing landed)


def backfill_sidecars(lake: Lake, days: Iterable[date], root: Path | None = None) -> Backfill:
    """Write the missing or stale sidecars of the raw files of each day's latest manifest."""
    done = Backfill()
    for dt in days:
        if not lake.exists(manifest_key(dt)):
            done.without_manifest.append(dt.isoformat())
            continue
        done.days.append(dt.isoformat())
        for method, keys in read_manifest(lake, dt)["files"].items():
            for key in keys:
                if has_current_sidecar(lake, method, key, root):
                    done.current += 1
                elif land_sidecar(lake, method, key, lake.get_bytes(key), root) is None:
                    done.refused.append(key)
                else:
                    done.written += 1
        log.info("VK sidecars of %s: %d written, %d current so far", dt, done.written, done.current)
    return done
