"""Sidecars for the VK days a lake already holds (``python -m gospublic.cli vk-sidecars``).

For each day of a range, the raw files of its latest manifest (what a load reads) that have no
current sidecar get one, written as the extractor writes it (``gospublic.vk.answers``): days landed
before the sidecars existed, or whose sidecars a changed column spec retired. Idempotent: a file
whose sidecar is current is left alone, so a second run writes nothing. A raw file the typed
read refuses is counted and left without one (its load refuses it, naming the file).

:func:`prune_stale_sidecars` (``vk-sidecars --prune-stale``) deletes the sidecars of a range's days
whose version is not the current one of their method (retired by a changed column spec: no load
reads them again), in every run of the day, manifest or not; the raw files and current sidecars
stay. Its dry run lists them and deletes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from gospublic.infra.lake import Lake
from gospublic.vk.answers import has_current_sidecar, land_sidecar, version
from gospublic.vk.extract import METHODS, RAW_PREFIX, manifest_key, read_manifest

log = logging.getLogger(__name__)

# a sidecar's name (gospublic.vk.answers.sidecar_key): its raw file's, then its version
_SIDECAR = re.compile(r"/batch-\d+\.answers-(?P<version>[0-9a-f]{12})\.parquet$")


@dataclass
class Backfill:
    """What a backfill found and did, over its days."""

    written: int = 0  # sidecars written
    missing: list[str] = field(default_factory=list)  # a dry run's raw files lacking a current sidecar
    current: int = 0  # raw files whose sidecar was already current
    refused: list[str] = field(default_factory=list)  # raw files the typed read refused
    days: list[str] = field(default_factory=list)  # days with a manifest
    without_manifest: list[str] = field(default_factory=list)  # days with none (nothing landed)


def backfill_sidecars(
    lake: Lake, days: Iterable[date], root: Path | None = None, *, dry_run: bool = False
) -> Backfill:
    """Write the missing or stale sidecars of the raw files of each day's latest manifest
    (``dry_run``: only list those raw files in ``missing``)."""
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
                elif dry_run:
                    done.missing.append(key)
                elif land_sidecar(lake, method, key, lake.get_bytes(key), root) is None:
                    done.refused.append(key)
                else:
                    done.written += 1
        log.info("VK sidecars of %s: %d written, %d current so far", dt, done.written, done.current)
    return done


@dataclass
class Pruned:
    """What a prune of stale sidecars found and did, over its days."""

    stale: list[str] = field(default_factory=list)  # deleted (or, in a dry run, to delete)
    current: int = 0  # sidecars of the current version, kept
    dry_run: bool = False


def prune_stale_sidecars(
    lake: Lake, days: Iterable[date], root: Path | None = None, *, dry_run: bool = False
) -> Pruned:
    """Delete (``dry_run``: only list) the sidecars of each day whose version is not the current one
    of their method; every other object of the day stays."""
    done = Pruned(dry_run=dry_run)
    current = {method: version(method, root) for method in METHODS}
    for dt in days:
        for method in METHODS:
            for obj in lake.list(f"{RAW_PREFIX}/{method}/dt={dt.isoformat()}/"):
                found = _SIDECAR.search(obj.key)
                if found is None:  # a raw file, or anything else: not a sidecar
                    continue
                if found["version"] == current[method]:
                    done.current += 1
                    continue
                done.stale.append(obj.key)
                if not dry_run:
                    lake.delete(obj.key)
        log.info(
            "VK sidecars of %s: %d stale %s so far", dt, len(done.stale), "found" if dry_run else "deleted"
        )
    return done
