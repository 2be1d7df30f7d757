"""kill -9 while a publication writes its last files, ``rev-N/manifest.json`` and ``latest.json``, on
a local lake: after the re-run every published file is readable by others (0644), as after a clean
run (review finding B3). A local write makes a private temporary file (0600) and renames it; a kill
between that rename and the ``chmod`` left the file private for good, since the recovery compares
bytes only, and a web server running as another user refused the month's entry point.

Every point of the child (tests/reliability/test_publish_kills.py) that writes one of the two files
is tried, on both engines."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from tests.reliability.test_publish_kills import publish_in_child, wipe
from tests.test_rating_publish import BASE, FROZEN, lake_files, rate, seed_region, snapshots


@pytest.fixture
def local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLake:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE",
        json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}),
    )
    return LocalLake(tmp_path / "lake")


def modes(lake: LocalLake) -> dict[str, str]:
    """Every file under ``publish/`` (temporary ones too) with its permission bits."""
    root = lake.root / "publish"
    return {
        path.relative_to(lake.root).as_posix(): oct(stat.S_IMODE(path.stat().st_mode))
        for path in root.rglob("*")
        if path.is_file()
    }


def writes_of_the_last_files(points: list[str]) -> list[int]:
    """The points (numbered from 1) around the writes of ``rev-1/manifest.json`` and ``latest.json``."""
    return [
        n
        for n, name in enumerate(points, start=1)
        if "_staging" not in name
        and (("/rev-1/" in name and "manifest.json" in name) or "latest.json" in name)
    ]


@pytest.mark.slow
def test_the_last_files_are_readable_after_a_kill_while_they_are_written(
    warehouse: Warehouse, local_lake: LocalLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gospublic.rating.publish.utc_now", lambda: FROZEN, raising=False)
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")  # the child too
    seed_region(warehouse)
    warehouse.close()  # DuckDB: the child needs the file
    _, points = publish_in_child(tmp_path)
    clean = lake_files(local_lake)
    assert f"{BASE}/latest.json" in clean and f"{BASE}/rev-1/manifest.json" in clean
    assert set(modes(local_lake).values()) == {"0o644"}  # a clean run: every file readable

    chosen = writes_of_the_last_files(points)
    assert len(chosen) >= 4, points  # at least before and after each of the two writes
    private = {}
    for kill_at in chosen:
        wipe(warehouse, local_lake)
        warehouse.close()
        code, _ = publish_in_child(tmp_path, kill_at)
        where = f"point {kill_at} ({points[kill_at - 1]})"
        assert code == -signal.SIGKILL, f"the child was to be killed at {where}, exit {code}"
        rate()  # recovers, then finds the month published with the same inputs
        assert lake_files(local_lake) == clean, where
        assert [s["status"] for s in snapshots(warehouse)] == ["published"], where
        unreadable = {key: mode for key, mode in modes(local_lake).items() if mode != "0o644"}
        if unreadable:
            private[where] = unreadable
    assert not private, private
