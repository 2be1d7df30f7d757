"""kill -9 during rating publication, for real: a child process publishes the month and SIGKILLs
itself at a chosen point — before or after each lake write, rename or delete, inside a local
write (temporary file written, not yet renamed), before or after each warehouse commit. Then:

* at the moment of the kill, nothing of the revision is visible (``rev-N/`` files, ``latest.json``)
  unless the warehouse says it is published;
* the re-run completes or rolls back: the lake holds exactly the files of a clean run, byte for
  byte (checksums), no temporary or staging file, and the warehouse and ``latest.json`` agree;
* with changed inputs and no republish the run raises ``SnapshotChangedError`` — right after a kill
  that came after the commit, and after every recovery — and changes no file.

The points are numbered by a clean run of the child (its trace); a seeded sample of them is tried
on each engine and lake (all of them with ``GOSPUBLIC_KILL_TRIALS=all``)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gospublic.infra.lake import Lake, LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.snapshot import SnapshotChangedError
from tests.test_rating_publish import (
    BASE,
    FROZEN,
    METHODOLOGY,
    MONTH,
    change_inputs,
    lake_files,
    rate,
    restore_inputs,
    seed_region,
    snapshots,
)

PROJECT = Path(__file__).resolve().parents[2]
SEED = 20
KILL_TRIALS = os.environ.get("GOSPUBLIC_KILL_TRIALS", "")  # a number, or "all" points
TRIALS = int(KILL_TRIALS) if KILL_TRIALS.isdigit() else 6  # per engine × lake

# The child: wraps the lake's writes and the warehouse's transactions with numbered points, kills
# itself (SIGKILL: no cleanup, no finally) at point ``kill_at``, and writes the points it passed.
CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from contextlib import contextmanager
    from datetime import datetime

    import sqlalchemy as sa

    from gospublic.infra import lake as lake_module
    from gospublic.rating import publish as rating_publish
    from gospublic.infra.lake import LocalLake, S3Lake
    from gospublic.rating.steps import rate
    from gospublic.infra.warehouse import Warehouse

    kill_at, trace, month, methodology, frozen = sys.argv[1:6]
    kill_at = int(kill_at)
    points = []

    def point(name):
        points.append(name)
        with open(trace, "w") as out:
            json.dump(points, out)
        if len(points) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(cls, name):
        original = getattr(cls, name)

        def wrapped(self, *args, **kwargs):
            point(f"before {name} {args[0] if args else ''}")
            result = original(self, *args, **kwargs)
            point(f"after {name} {args[0] if args else ''}")
            return result

        setattr(cls, name, wrapped)

    for cls in (LocalLake, S3Lake):
        for name in ("put_stream", "move", "delete", "delete_prefix", "clean_interrupted"):
            if name in cls.__dict__:
                wrap(cls, name)

    class InsideWrite:  # a local write killed with its temporary file written, not renamed
        def __getattr__(self, name):
            return getattr(os, name)

        def replace(self, src, dst):
            point(f"inside write {dst}")
            return os.replace(src, dst)

    lake_module.os = InsideWrite()

    wrote = [False]

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _written(conn, cursor, statement, *args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "COPY"):
            wrote[0] = True

    begin = Warehouse.begin

    @contextmanager
    def begin_with_points(self):
        wrote[0] = False
        with begin(self) as conn:
            yield conn
            if wrote[0]:
                point("before commit")
        if wrote[0]:
            point("after commit")

    Warehouse.begin = begin_with_points
    rating_publish.utc_now = lambda: datetime.fromisoformat(frozen)
    rate(month, [methodology])
    """
)


def publish_in_child(tmp_path: Path, kill_at: int = 0) -> tuple[int, list[str]]:
    """Run the publication in a child; kill it at point ``kill_at`` (0: never). Exit code, points."""
    trace = tmp_path / "trace.json"
    trace.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "plugins")])}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(kill_at), str(trace), MONTH, METHODOLOGY, FROZEN.isoformat()],
        check=False, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    points = json.loads(trace.read_text()) if trace.exists() else []
    if kill_at == 0 or kill_at > len(points):
        assert child.returncode == 0, child.stderr[-3000:]
    return child.returncode, points


def wipe(warehouse: Warehouse, lake: Lake) -> None:
    """Back to an unpublished month: no snapshot, nothing under publish/ (temporary files too)."""
    with warehouse.begin() as conn:
        import sqlalchemy as sa

        for table in ("mart.rating_indicator", "mart.rating_monthly", "mart.rating_snapshot"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    if isinstance(lake, LocalLake):
        import shutil

        shutil.rmtree(lake.root / "publish", ignore_errors=True)
    else:
        for obj in list(lake.list("publish/")):
            lake.delete(obj.key)
    assert lake_files(lake) == {}


def check_nothing_visible_unless_published(warehouse: Warehouse, lake: Lake, point: str) -> None:
    files = lake_files(lake)
    visible = sorted(k for k in files if k.startswith(f"{BASE}/rev-") or k == f"{BASE}/latest.json")
    statuses = [s["status"] for s in snapshots(warehouse)]
    if visible:
        assert statuses == ["published"], f"killed {point}: {visible[:3]} visible, snapshot {statuses}"


def check_refuses_change(warehouse: Warehouse, lake: Lake, expected: dict[str, str]) -> None:
    change_inputs(warehouse)
    try:
        with pytest.raises(SnapshotChangedError, match="republish"):
            rate()
    finally:
        restore_inputs(warehouse)
    assert lake_files(lake) == expected


def check_published_as_clean(warehouse: Warehouse, lake: Lake, expected: dict[str, str], point: str) -> None:
    files = lake_files(lake)
    assert files == expected, f"killed {point}: {sorted(set(files) ^ set(expected))[:5]} differ"
    (snapshot,) = snapshots(warehouse)
    latest = json.loads(lake.get_bytes(f"{BASE}/latest.json"))
    assert snapshot["status"] == "published" and latest["path"] == snapshot["publish_path"] == f"{BASE}/rev-1"
    assert latest["snapshot_id"] == snapshot["snapshot_id"]


@pytest.mark.slow
def test_publication_survives_kill_9_at_any_point(
    warehouse: Warehouse, lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gospublic.rating.publish.utc_now", lambda: FROZEN, raising=False)
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")  # the child too: no browser per trial
    seed_region(warehouse)
    warehouse.close()  # DuckDB: the child needs the file
    code, points = publish_in_child(tmp_path)
    clean = lake_files(lake)
    assert f"{BASE}/rev-1/rating.xlsx" in clean and f"{BASE}/latest.json" in clean
    assert not [k for k in clean if ".tmp-" in k or "_staging" in k]
    check_published_as_clean(warehouse, lake, clean, "never")

    everything = list(range(1, len(points) + 1))
    commits = [n for n, name in enumerate(points, start=1) if "commit" in name]
    if KILL_TRIALS == "all":
        chosen = everything
    else:  # the last commit (the publication's) and its neighbours, and a seeded sample
        last = max(commits)
        around = [n for n in (last - 1, last, last + 1) if n in everything]
        rest = [n for n in everything if n not in around]
        chosen = sorted(around + random.Random(SEED).sample(rest, min(len(rest), TRIALS - len(around))))
    tried = 0
    for kill_at in chosen:
        wipe(warehouse, lake)
        warehouse.close()
        code, _ = publish_in_child(tmp_path, kill_at)
        where = f"at point {kill_at} ({points[kill_at - 1]})"
        assert code == -signal.SIGKILL, f"the child was to be killed {where}, exit {code}"
        check_nothing_visible_unless_published(warehouse, lake, where)
        if [s["status"] for s in snapshots(warehouse)] == ["published"]:
            change_inputs(warehouse)
            try:
                with pytest.raises(SnapshotChangedError):
                    rate()  # the recovery completes the publication before the change is refused
            finally:
                restore_inputs(warehouse)
            check_published_as_clean(warehouse, lake, clean, where)
        rate()
        check_published_as_clean(warehouse, lake, clean, where)
        check_refuses_change(warehouse, lake, clean)
        tried += 1
    print(f"\nkill -9 trials on {warehouse.dialect} × {type(lake).__name__}: {tried} of {len(points)} points")
    assert tried == len(chosen) > 0
