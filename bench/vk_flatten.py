"""Benchmark: the VK load's SQL flatten of one landed day, per method, against another version.

Each method's :meth:`gospublic.vk.flatten.Flatten.flatten` (DuckDB reading the day's gzip JSON-lines
files, the method's SQL into a temporary table, the outcomes counted) is timed on a fresh in-memory
DuckDB connection, ``--runs`` times; the medians of wall and CPU seconds are reported (CPU: this
process's, DuckDB's threads included — steadier than wall time on a shared machine). With
``--compare REV`` the SQL of ``sql/flatten`` at git revision ``REV`` is timed too, interleaved with
the working tree's (A, B, A, B), and ``same_rows`` says whether both staged the same rows (an
order-independent digest of every column, and the counts; untimed). ``--sidecars`` also times the
working tree's flatten reading the day's Parquet sidecars of typed answers instead of the raw
files (``gospublic.vk.answers``; the lake needs them: the extractor writes them, or
``python -m gospublic.cli vk-sidecars``), interleaved likewise, and what the extractor adds to
each batch to write them (``extract_sidecar``: the typed read of each raw file into Parquet bytes,
medians per file). ``--floor`` also times what no flatten can beat: DuckDB reading the day's lines
alone (``read_ndjson_objects``), from the gzip files and from decompressed copies.

    .venv/bin/python -m bench.vk_flatten [--lake var/bench/region-2025-11-vklake] [--day 2025-11-02]
        [--runs 5] [--compare HEAD] [--sidecars] [--floor] [--threads N] [--out FILE.json]
        [--batches 'batch-0[0-9]00.jsonl.gz']  # a day still being landed: these files, no manifest

The lake is only read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.pipeline import BENCH, MONTH, PROJECT, PSEUDONYM_KEY

METHODS = ("groups.getById", "wall.get", "wall.getComments")
WORKING = "working tree"
SIDECARS = "working tree, sidecars"


@dataclass(frozen=True)
class Day:
    """A landed day as the load flattens it: its raw files per method (local paths), the start of
    its re-read window and its load id."""

    dt: date
    files: dict[str, list[str]]
    window_start: int | None
    load_id: str

    def sidecars(self, method: str) -> list[str]:
        """The current sidecars of the method's raw files (local paths); refuses a file without one."""
        from gospublic.vk.answers import sidecar_key, version

        paths = [sidecar_key(path, version(method)) for path in self.files[method]]
        missing = [path for path in paths if not Path(path).is_file()]
        if missing:
            raise SystemExit(
                f"{len(missing)} {method} raw files of {self.dt} have no current sidecar (first: "
                f"{missing[0]}): land the day again or run python -m gospublic.cli vk-sidecars"
            )
        return paths


def landed_day(lake: Path, dt: date) -> Day:
    """The day of ``dt`` from its latest manifest in the local lake ``lake``."""
    from gospublic.infra.lake import LocalLake
    from gospublic.vk.extract import read_manifest

    manifest = read_manifest(LocalLake(lake), dt)
    window = manifest.get("window_start")
    window_start = int(datetime.fromisoformat(window).timestamp()) if window else None
    files = {method: [str(lake / key) for key in manifest["files"].get(method, [])] for method in METHODS}
    return Day(dt, files, window_start, f"vk:{dt.isoformat()}:{manifest['run_id']}")


def partial_day(lake: Path, dt: date, batches: str) -> Day:
    """The files of ``dt`` whose name matches ``batches`` (e.g. ``batch-0[0-5]00.jsonl.gz``), for a
    day still being landed (no manifest yet): its window starts the day before, as the bench
    lands it (``bench.vk_raw``)."""
    files = {
        method: sorted(str(p) for p in (lake / "raw" / "vk" / method / f"dt={dt}").glob(f"run=*/{batches}"))
        for method in METHODS
    }
    window_start = int(datetime.combine(dt - timedelta(days=1), datetime.min.time(), UTC).timestamp())
    return Day(dt, files, window_start, f"vk:{dt.isoformat()}:partial")


def sql_at(rev: str, into: Path) -> Path:
    """The ``sql/flatten`` folder of git revision ``rev``, written under ``into`` (a SQL root)."""
    folder = into / "flatten"
    folder.mkdir(parents=True)
    for name in _git("ls-tree", "--name-only", f"{rev}:sql/flatten").split():
        (folder / name).write_text(_git("show", f"{rev}:sql/flatten/{name}"), encoding="utf-8")
    return into


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=PROJECT, check=True, capture_output=True, text=True).stdout


def _connection(threads: int | None) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    return connection


def flatten_once(
    root: Path | None,
    method: str,
    day: Day,
    *,
    threads: int | None = None,
    digest: bool = False,
    columnar: bool = False,
) -> dict[str, Any]:
    """One timed flatten of ``method`` (with the SQL of ``root``, the project's if None; with
    ``columnar``, of the day's sidecars) on a fresh connection: seconds, CPU seconds of the process
    (DuckDB's threads included) and counts; with ``digest``, the staged rows' digest (untimed)."""
    from gospublic.vk.flatten import Flatten, LocalFile
    from transforms.pseudonymize import make_pseudonymizer

    connection = _connection(threads)
    try:
        flatten = Flatten(connection, make_pseudonymizer(PSEUDONYM_KEY), root)
        paths = day.sidecars(method) if columnar else day.files[method]
        local = [LocalFile(path, path) for path in paths]
        started, cpu = time.perf_counter(), time.process_time()
        counts = flatten.flatten(method, local, day.dt, day.load_id, day.window_start, columnar=columnar)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        out: dict[str, Any] = {
            "seconds": seconds, "cpu_seconds": cpu, "rows": counts.rows, "rejected": counts.rejected,
            "before_window": counts.before_window,
        }  # fmt: skip
        if digest and counts.rows:
            # every column of every row, order-independent (HASH of the row, summed as HUGEINT)
            ((count, total),) = connection.execute(
                f"SELECT COUNT(*), SUM(CAST(HASH(r) AS HUGEINT)) FROM ({flatten.rows_sql()}) AS r"
            ).fetchall()
            out["digest"] = f"{count}:{total}"
        return out
    finally:
        connection.close()


def sidecar_once(method: str, path: str) -> dict[str, float]:
    """One timed typed read of the raw file ``path`` into its sidecar's bytes, as the extractor
    does after landing a batch file: seconds and CPU seconds."""
    from gospublic.vk.answers import sidecar_bytes

    raw = Path(path).read_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    data = sidecar_bytes(method, path, raw)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert data is not None, f"the typed read refused {path}"
    return {"seconds": seconds, "cpu_seconds": cpu, "raw_bytes": len(raw), "sidecar_bytes": len(data)}


def floor_once(files: list[str], compression: str, threads: int | None) -> float:
    """Seconds DuckDB takes to read the files' lines as JSON objects and count them."""
    connection = _connection(threads)
    try:
        started = time.perf_counter()
        connection.execute(
            "SELECT COUNT(*) FROM READ_NDJSON_OBJECTS($files, compression = $compression)",
            {"files": files, "compression": compression},
        ).fetchall()
        return time.perf_counter() - started
    finally:
        connection.close()


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def run(args: argparse.Namespace) -> dict[str, Any]:
    dt = date.fromisoformat(args.day)
    day = partial_day(args.lake, dt, args.batches) if args.batches else landed_day(args.lake, dt)
    with tempfile.TemporaryDirectory(prefix="gospublic-vk-flatten-bench-") as scratch:
        roots: dict[str, tuple[Path | None, bool]] = {WORKING: (None, False)}  # SQL root, columnar
        if args.compare:
            roots[args.compare] = (sql_at(args.compare, Path(scratch) / "sql"), False)
        if args.sidecars:
            roots[SIDECARS] = (None, True)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {m: [] for m in METHODS} for name in roots}
        for repeat in range(args.runs):
            for name, (root, columnar) in roots.items():  # interleaved: A, B, A, B
                for method in METHODS:
                    one = flatten_once(
                        root, method, day, threads=args.threads, digest=repeat == 0, columnar=columnar
                    )
                    runs[name][method].append(one)
                    print(f"run {repeat + 1} {name} {method}: {one['seconds']:.3f} s", file=sys.stderr)
        out: dict[str, Any] = {
            "lake": str(args.lake), "day": args.day, "runs": args.runs, "threads": args.threads,
            "files": {m: len(f) for m, f in day.files.items()},
            "gzip_bytes": {m: sum(Path(p).stat().st_size for p in f) for m, f in day.files.items()},
            "versions": {name: _summary(by_method) for name, by_method in runs.items()},
        }  # fmt: skip
        first = {name: [r[0] for r in by_method.values()] for name, by_method in runs.items()}
        for other_name in [name for name in roots if name != WORKING]:
            key = "same_rows" if other_name == args.compare else "same_rows_sidecars"
            out[key] = all(
                {k: v for k, v in one.items() if "seconds" not in k}
                == {k: v for k, v in other.items() if "seconds" not in k}
                for one, other in zip(first[WORKING], first[other_name], strict=True)
            )
        if args.sidecars:
            out["extract_sidecar"] = _extract_cost(day.files, args.runs)
        if args.floor:
            out["floor"] = _floor(day.files, Path(scratch), args.runs, args.threads)
    return out


def _summary(by_method: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians of each method's runs (seconds, CPU seconds) with the first run's counts, and of
    the three methods' sum."""
    out: dict[str, Any] = {}
    for method, runs in by_method.items():
        counts = {k: v for k, v in runs[0].items() if "seconds" not in k}
        out[method] = {
            "median_s": _median([r["seconds"] for r in runs]),
            "median_cpu_s": _median([r["cpu_seconds"] for r in runs]),
            "runs_s": [round(r["seconds"], 3) for r in runs],
            **counts,
        }
    totals = [
        sum(r[n]["seconds"] for r in by_method.values()) for n in range(len(next(iter(by_method.values()))))
    ]
    out["total_median_s"] = _median(totals)
    return out


def _extract_cost(files: dict[str, list[str]], runs: int) -> dict[str, Any]:
    """What writing the sidecars adds to the extractor, per method: medians over the raw files
    (one a batch) and ``runs`` repeats, with the bytes of raw files and sidecars."""
    out: dict[str, Any] = {}
    for method, paths in files.items():
        times = [sidecar_once(method, path) for _ in range(runs) for path in paths]
        out[method] = {
            "files": len(paths),
            "median_s_per_file": _median([t["seconds"] for t in times]),
            "median_cpu_s_per_file": _median([t["cpu_seconds"] for t in times]),
            "raw_bytes": sum(t["raw_bytes"] for t in times[: len(paths)]),
            "sidecar_bytes": sum(t["sidecar_bytes"] for t in times[: len(paths)]),
        }
    return out


def _floor(files: dict[str, list[str]], scratch: Path, runs: int, threads: int | None) -> dict[str, Any]:
    """Reading the lines alone, gzip files against decompressed copies (interleaved)."""
    plain: dict[str, list[str]] = {}
    for method, paths in files.items():
        plain[method] = []
        for n, path in enumerate(paths):
            target = scratch / "plain" / method / f"{n}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "rb") as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            plain[method].append(str(target))
    times: dict[str, dict[str, list[float]]] = {m: {"gzip": [], "none": []} for m in METHODS}
    for _ in range(runs):
        for method in METHODS:
            times[method]["gzip"].append(floor_once(files[method], "gzip", threads))
            times[method]["none"].append(floor_once(plain[method], "none", threads))
    return {
        method: {
            "gzip_median_s": _median(t["gzip"]), "decompressed_median_s": _median(t["none"]),
            "decompressed_bytes": sum(Path(p).stat().st_size for p in plain[method]),
        }
        for method, t in times.items()
    }  # fmt: skip


def main(argv: list[str] | None = None, report: Callable[[str], Any] = print) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--lake", type=Path, default=BENCH / f"region-{MONTH}-vklake")
    parser.add_argument("--day", default=f"{MONTH}-02")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--batches", metavar="GLOB", help="the day's files of these names, not its manifest's"
    )
    parser.add_argument("--compare", metavar="REV", help="also time the SQL of git revision REV, interleaved")
    parser.add_argument(
        "--sidecars", action="store_true", help="also time reading the Parquet sidecars, and writing them"
    )
    parser.add_argument("--floor", action="store_true", help="also time reading the lines alone")
    parser.add_argument("--threads", type=int, help="DuckDB threads (its default: the cores)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    out = run(args)
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    report(text)
    return out


if __name__ == "__main__":
    main()
