"""Publish a rating snapshot to the lake: the files of ``gospublic.rating.publication`` (the
month's summary, a page per group, a card per body, the methodology, XLSX, CSV, JSON, PDF) in one
atomic step. No citizens' personal data: scores, counts, identifiers and dates of messages, and the
stock phrases the answer-quality rules matched, in the rules' own words (what a free span of a rule
matched, a name or a street, is shown as «…»). Published files are readable by others (0644 on a
local lake, the last ones written so before they get their names), so a web server running as
another user can serve them.

Layout: ``publish/rating/YYYY-MM/<methodology>/rev-N/`` (with ``manifest.json``: every file's
SHA-256) and ``…/<methodology>/latest.json``.

Publication is one atomic step, on a local folder and on S3 alike (S3 renames no folder):

1. every file is written under ``…/<methodology>/_staging/rev-N-<token>/``, its manifest last;
2. the commit point: one statement turns the snapshot ``published`` in the warehouse;
3. the files move to ``rev-N/`` (a file already there is never replaced: the same bytes are
   kept, other bytes stop the run), then ``rev-N/manifest.json``, then ``latest.json``;
4. the staging folder is removed.

A crash before 2 leaves nothing visible: the next run removes the staging and publishes anew. A
crash after 2 leaves a published snapshot whose files are staged: the next run finishes step 3
from the staged bytes (``recover``) before it computes anything, so a change of inputs is refused
as for any published month. Files of a revision are a function of the snapshot and its
publication time, so a recovered revision is byte for byte the one a clean run writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.lake import Lake, LakeError, LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.publication.cards import CardData
from gospublic.rating.publication.csv_files import machine_csv as rating_csv
from gospublic.rating.publication.files import publication_meta, render_files
from gospublic.rating.publication.queries import quality_by_org, rating_table
from gospublic.rating.snapshot import RatingSnapshot, mark_published
from transforms.methodology import Methodology

log = logging.getLogger(__name__)

__all__ = ["CardData", "Publication", "PublicationConflictError", "PublicationError", "publish_snapshot",
           "quality_by_org", "rating_csv", "rating_table", "recover", "render_files"]  # fmt: skip

STAGING = "_staging"
MANIFEST = "manifest.json"
READABLE = 0o644  # published files: a web server under another user serves them


class PublicationError(RuntimeError):
    """A publication cannot be made or completed as the protocol requires."""


class PublicationConflictError(PublicationError):
    """A file is already at a published place with other bytes: it is never replaced."""


@dataclass(frozen=True)
class Publication:
    snapshot_id: str
    path: str
    files: list[str]


def utc_now() -> datetime:
    """The publication time (whole seconds: it is printed in the files and kept in the warehouse)."""
    return datetime.now(UTC).replace(microsecond=0)


def methodology_root(month: date, methodology_id: str) -> str:
    return f"publish/rating/{month:%Y-%m}/{methodology_id}"


def publish_snapshot(
    warehouse: Warehouse, lake: Lake, snapshot: RatingSnapshot, methodology: Methodology
) -> Publication:
    """Stage every file, commit in the warehouse, then move the files to ``rev-N/`` (module doc)."""
    base = methodology_root(snapshot.month, methodology.id)
    root = f"{base}/rev-{snapshot.revision}"
    published_at = utc_now()
    files = render_files(warehouse, snapshot, methodology, published_at)
    manifest = {
        "meta": _meta(snapshot, methodology, published_at),
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    _refuse_conflicts(lake, root, manifest["files"])
    staging = f"{base}/{STAGING}/rev-{snapshot.revision}-{secrets.token_hex(6)}"
    for name, data in files.items():
        lake.put_bytes(f"{staging}/{name}", data)
        _readable(lake, f"{staging}/{name}")
    lake.put_bytes(f"{staging}/{MANIFEST}", _json(manifest))  # last: the staging is complete
    if not mark_published(warehouse, snapshot, root, published_at):  # the commit point
        lake.delete_prefix(staging)
        raise PublicationError(
            f"{snapshot.snapshot_id} was published or replaced by another run meanwhile; nothing written"
        )
    _promote(lake, staging, root, manifest)
    _point_latest(lake, base, root, manifest)
    lake.delete_prefix(staging)
    return Publication(snapshot.snapshot_id, root, sorted(files))


def recover(warehouse: Warehouse, lake: Lake, methodology_id: str, month: date) -> list[str]:
    """Finish what an interrupted publication of the month left: move the staged files of every
    published revision that lacks its manifest, point ``latest.json`` at the newest published
    revision, remove the staging of revisions never committed and temporary files. Returns the
    revisions completed."""
    base = methodology_root(month, methodology_id)
    _adopt_announced_draft(warehouse, lake, base, methodology_id, month)
    published = warehouse.query(
        "SELECT snapshot_id, revision, published_at, publish_path FROM mart.rating_snapshot "
        "WHERE methodology_id = :m AND month = :month AND status = 'published' ORDER BY revision",
        {"m": methodology_id, "month": month},
    )
    staged = _staged_manifests(lake, base)
    completed = []
    for row in published:
        root = row["publish_path"]
        if lake.exists(f"{root}/{MANIFEST}"):
            continue
        at = _utc(row["published_at"]).isoformat(timespec="seconds")
        wanted = {"snapshot_id": row["snapshot_id"], "published_at": at}
        found = [(staging, manifest) for staging, manifest in staged if _matches(manifest["meta"], wanted)]
        if found:
            staging, manifest = found[0]
            _promote(lake, staging, root, manifest)
            completed.append(row["snapshot_id"])
            log.warning(
                "rating %s: publication of %s completed after an interruption", base, row["snapshot_id"]
            )
        elif not any(True for _ in lake.list(f"{root}/")):
            raise PublicationError(
                f"{row['snapshot_id']} is published in the warehouse but its files are neither at {root} "
                "nor staged: restore them from a backup of the lake"
            )
        # else: published by an earlier version, before manifests: complete as it stands
    if published:
        newest = published[-1]["publish_path"]
        if lake.exists(f"{newest}/{MANIFEST}"):
            _point_latest(lake, base, newest, json.loads(lake.get_bytes(f"{newest}/{MANIFEST}")))
    removed = lake.delete_prefix(f"{base}/{STAGING}") + lake.clean_interrupted(base)
    if removed:
        log.info("rating %s: %d leftovers of interrupted publications removed", base, removed)
    return completed


def _adopt_announced_draft(
    warehouse: Warehouse, lake: Lake, base: str, methodology_id: str, month: date
) -> None:
    """A draft that ``latest.json`` already announces was published by an earlier version, which
    wrote every file and ``latest.json`` before it marked the snapshot: killed in between, it left
    the month public but a draft. Such a draft is marked published as its files stand (with a
    manifest of them), so a change of inputs is refused rather than written over it."""
    key = f"{base}/latest.json"
    if not lake.exists(key):
        return
    announced = json.loads(lake.get_bytes(key))
    rows = warehouse.query(
        "SELECT snapshot_id, revision, input_fingerprint FROM mart.rating_snapshot "
        "WHERE methodology_id = :m AND month = :month AND snapshot_id = :s AND status = 'draft'",
        {"m": methodology_id, "month": month, "s": announced.get("snapshot_id")},
    )
    if not rows:
        return
    root = f"{base}/rev-{rows[0]['revision']}"
    if announced.get("path") != root or lake.exists(f"{root}/{MANIFEST}"):
        return
    if announced.get("input_fingerprint") != rows[0]["input_fingerprint"]:
        raise PublicationConflictError(
            f"{key} announces {root} with other inputs than the draft {rows[0]['snapshot_id']}"
        )
    meta = {k: v for k, v in announced.items() if k != "path"}
    snapshot = RatingSnapshot(
        rows[0]["snapshot_id"], month, methodology_id, int(rows[0]["revision"]), "draft",
        rows[0]["input_fingerprint"], created=False,
    )  # fmt: skip
    if mark_published(warehouse, snapshot, root, _utc(meta["published_at"])):
        files = {obj.key[len(root) + 1 :]: _sha256(lake.get_bytes(obj.key)) for obj in lake.list(f"{root}/")}
        _put_readable(lake, f"{root}/{MANIFEST}", _json({"meta": meta, "files": dict(sorted(files.items()))}))
        log.warning(
            "rating %s: %s was announced but left a draft; marked published", base, snapshot.snapshot_id
        )


def _meta(snapshot: RatingSnapshot, methodology: Methodology, published_at: datetime) -> dict[str, Any]:
    return publication_meta(snapshot, methodology, published_at)


def _readable(lake: Lake, key: str) -> None:
    """A local lake writes private temporary files (0600) and renames them: a published file is
    made readable by others (moves keep the mode). Object stores serve by policy, not mode."""
    if isinstance(lake, LocalLake):
        os.chmod(lake.root / key, READABLE)


def _put_readable(lake: Lake, key: str, data: bytes) -> None:
    """Write ``key`` readable by others from its first moment. On a local lake the bytes go to a
    temporary key (``.tmp-<hex>-<name>``: hidden from ``list``, removed by ``clean_interrupted``),
    made 0644, then renamed over ``key``. Written in place and made readable after, a file the run
    was killed between the two stayed private for good: the recovery compares bytes, and they were
    right."""
    if not isinstance(lake, LocalLake):
        lake.put_bytes(key, data)
        return
    folder, slash, name = key.rpartition("/")
    temporary = f"{folder}{slash}.tmp-{secrets.token_hex(6)}-{name}"  # named as the file it becomes
    lake.put_bytes(temporary, data)
    _readable(lake, temporary)
    lake.move(temporary, key)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _refuse_conflicts(lake: Lake, root: str, digests: dict[str, str]) -> None:
    """Stop before the commit when a file of the revision is already in place with other bytes."""
    for obj in lake.list(f"{root}/"):
        name = obj.key[len(root) + 1 :]
        if name != MANIFEST and _sha256(lake.get_bytes(obj.key)) != digests.get(name):
            raise PublicationConflictError(
                f"{obj.key} is already in the lake with other content; a published file is never "
                "replaced (left by an interrupted run of an earlier version? compare it with the "
                "warehouse's snapshot, then move the folder aside)"
            )


def _promote(lake: Lake, staging: str, root: str, manifest: dict[str, Any]) -> None:
    """Move the staged files of a committed revision to ``root``; idempotent, never overwrites."""
    present = {obj.key for obj in lake.list(f"{root}/")}
    for name, digest in manifest["files"].items():
        target = f"{root}/{name}"
        if target in present:  # moved before the interruption (on S3 perhaps not yet deleted)
            if _sha256(lake.get_bytes(target)) != digest:
                raise PublicationConflictError(f"{target} differs from the revision's manifest; not replaced")
            lake.delete(f"{staging}/{name}")
            continue
        try:
            lake.move(f"{staging}/{name}", target)
        except LakeError as exc:
            raise PublicationError(f"{staging}/{name} is missing: the staged revision is incomplete") from exc
        _readable(lake, target)
    _put_readable(lake, f"{root}/{MANIFEST}", _json(manifest))  # the revision is complete in the lake


def _point_latest(lake: Lake, base: str, root: str, manifest: dict[str, Any]) -> None:
    """``latest.json`` → ``root``, written only when it points elsewhere (it is the one mutable key)."""
    data = _json({**manifest["meta"], "path": root})
    key = f"{base}/latest.json"
    if not lake.exists(key) or lake.get_bytes(key) != data:
        _put_readable(lake, key, data)


def _staged_manifests(lake: Lake, base: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in lake.list(f"{base}/{STAGING}/"):
        if obj.key.endswith(f"/{MANIFEST}"):
            found.append((obj.key[: -len(MANIFEST) - 1], json.loads(lake.get_bytes(obj.key))))
    return found


def _matches(meta: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(meta.get(key) == value for key, value in wanted.items())


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    utc: datetime = stamp.to_pydatetime()
    return utc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
