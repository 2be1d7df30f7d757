"""bench/vk_flatten.py times the flatten of a landed day and says whether two SQL versions stage
the same rows: on a lake holding the parity tests' hand-written answers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.vk_flatten import METHODS, main
from tests.vk.test_vk_sql_flatten import DT, LINES, WINDOW, _oracle


def _lake(root: Path) -> dict[str, Path]:
    """A local lake with one day: a file per method and the day's manifest."""
    files, keys = {}, {}
    for method in METHODS:
        key = f"raw/vk/{method}/dt={DT}/run=r1/batch-0000.jsonl.gz"
        path = root / key
        path.parent.mkdir(parents=True)
        lines = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in LINES[method])
        path.write_bytes(gzip.compress(lines.encode()))
        files[method], keys[method] = path, [key]
    manifest = {
        "dt": DT.isoformat(),
        "run_id": "r1",
        "window_start": "2025-11-11T22:26:40+00:00",
        "files": keys,
    }
    folder = root / "raw" / "vk" / "_manifests" / f"dt={DT}"
    folder.mkdir(parents=True)
    (folder / "latest.json").write_text(json.dumps(manifest))
    return files


def test_the_bench_counts_what_the_load_counts_and_compares_versions(tmp_path: Path) -> None:
    files = _lake(tmp_path / "lake")
    reported: list[str] = []

    lake = ["--lake", str(tmp_path / "lake"), "--day", DT.isoformat()]
    out = main([*lake, "--runs", "2", "--compare", "HEAD", "--floor"], reported.append)

    assert json.loads(reported[0]) == out
    assert out["same_rows"] is True
    for method in METHODS:
        _, counts = _oracle(method, [files[method]], WINDOW)
        for version in out["versions"].values():
            one = version[method]
            assert (one["rows"], one["rejected"], one["before_window"]) == (
                counts.rows, counts.rejected, counts.before_window,
            )  # fmt: skip
            assert one["digest"].startswith(f"{counts.rows}:") and len(one["runs_s"]) == 2
        assert out["floor"][method]["decompressed_bytes"] > 0


def test_a_day_still_being_landed_is_read_by_file_names(tmp_path: Path) -> None:
    """--batches: the day's files of those names, no manifest; its window starts the day before."""
    files = _lake(tmp_path / "lake")
    (tmp_path / "lake" / "raw" / "vk" / "_manifests" / f"dt={DT}" / "latest.json").unlink()
    window = int(datetime.combine(DT - timedelta(days=1), datetime.min.time(), UTC).timestamp())

    lake = ["--lake", str(tmp_path / "lake"), "--day", DT.isoformat()]
    out = main([*lake, "--runs", "1", "--batches", "batch-00*.jsonl.gz"], lambda _: None)

    for method in METHODS:
        _, counts = _oracle(method, [files[method]], window)
        one = out["versions"]["working tree"][method]
        assert (one["rows"], one["rejected"], one["before_window"]) == (
            counts.rows, counts.rejected, counts.before_window,
        )  # fmt: skip
    assert out["versions"]["working tree"]["wall.get"]["before_window"] > 0
