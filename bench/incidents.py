"""Benchmark: a 1,000,000-row incident export through the loader — wall time and peak memory.

The sample region (``python -m sandbox generate --preset region --month 2025-11 --seed 42``) is
generated once into ``var/bench/incidents/``. The rows of its largest IM export are replicated to
``--rows`` rows, each with a fresh unique ``ID инцидента`` (the ~1 % defects replicate with them),
and written as ``im_<region>_20251201.csv`` (UTF-8, ``;``) and, with ``--xlsx``, as
``im_<region>_20251202.xlsx`` (native cells: numbers, Excel date cells, texts). These files are
cached by row count under ``var/bench/incidents/rows-<N>/``; making them is not measured.

Each case (engine × format) runs in its own process so that its peak RSS is its own: a fresh
warehouse (DuckDB file, or a fresh PostgreSQL database ``gospublic_bench_<random>`` dropped
afterwards), ``migrate``, ``load_registry``, the file put into ``incoming/im/`` of a local lake,
then the one measured call: ``ingest_landed`` — the code the ``incidents_ingest`` DAG runs, from
the download out of the lake to the archived file (since issue 29 the engine path: DuckDB's
``read_csv`` or calamine into Arrow, checks as SQL in an in-process DuckDB, no worker pool).
Reported per case: wall time of that call,
rows a second, CPU seconds, RSS before the call and the process's peak RSS (``ru_maxrss``;
PostgreSQL's own memory is not in it), and the file's counts, which must reconcile
(read = loaded + quarantined + duplicate, read = ``--rows``) or the script exits with 1.

    .venv/bin/python bench/incidents.py [--rows 1000000] [--memory-limit 1GB]
        [--engines duckdb,postgres] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres] [--xlsx]

``make bench-incidents`` runs it with the defaults. PostgreSQL is skipped when ``--pg-url`` is not
given and the default server does not answer. The table goes to stdout and, as JSON, to
``var/bench/incidents-<timestamp>.json``; each case's library logs go to
``var/bench/incidents-<timestamp>-<case>.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from gospublic.incidents.load import export_spec
from gospublic.infra.settings import engine_memory_limit
from transforms.incident_read import detect_format, read_chunks
from transforms.incident_spec import match_headers

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
CACHE_DIR = BENCH_DIR / "incidents"
MONTH = "2025-11"
SEED = 42
SOURCE = "im"
CSV_DAY = "20251201"
XLSX_DAY = "20251202"
FIRST_ID = 50_000_001
PSEUDONYM_KEY = b"bench-key-0123456789abcdef"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATETIME_TEXT = "%d.%m.%Y %H:%M:%S"
XLSX_DATETIME = "dd.mm.yyyy hh:mm:ss"
MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One measured load: an engine and a file format."""

    engine: str
    fmt: str

    @property
    def name(self) -> str:
        return f"{self.engine}-{self.fmt}"


# -- input files (not measured) ---------------------------------------------------------------


def sample_region() -> Path:
    """The generated sample region, made once (about 5 s)."""
    out = CACHE_DIR / f"sample-{MONTH}-seed{SEED}"
    if not (out / "manifest.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "sandbox", "generate", "--preset", "region"]
        command += ["--month", MONTH, "--seed", str(SEED), "--out", str(out)]
        with (CACHE_DIR / "generate.log").open("w") as log:
            subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)
    return out


def read_export(path: Path) -> tuple[list[Any], pd.DataFrame]:
    """Header and raw cells of an export, read as the loader reads it."""
    spec = export_spec()
    fmt = detect_format(
        path, spec.sources[SOURCE], encodings=spec.csv_encodings, separators=spec.csv_separators
    )
    header, chunks = read_chunks(path, fmt)
    return header, pd.concat(list(chunks)).astype(object)


def largest_export(data: Path) -> tuple[Path, list[Any], pd.DataFrame]:
    """The IM export of the sample with the most rows, with its header and cells."""
    exports = [(path, *read_export(path)) for path in sorted((data / "exports" / SOURCE).iterdir())]
    return max(exports, key=lambda item: len(item[2]))


def id_position(header: list[Any], file: str) -> int:
    mapping = match_headers([str(h) for h in header], export_spec().sources[SOURCE], file)
    return next(pos for pos, name in mapping.items() if name == "incident_id")


def replicate(cells: pd.DataFrame, id_pos: int, rows: int) -> pd.DataFrame:
    """``rows`` rows cycling through ``cells``, each with its own incident id."""
    template = cells.reset_index(drop=True)
    big = template.iloc[np.resize(np.arange(len(template)), rows)].reset_index(drop=True)
    big[id_pos] = pd.Series(np.arange(FIRST_ID, FIRST_ID + rows), dtype=object)
    return big


def cell_text(value: Any) -> str:
    """A raw cell as an exporter writes it into CSV."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_TEXT)
    if isinstance(value, date):
        return value.strftime(DATETIME_TEXT[:8])
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv(header: list[Any], cells: pd.DataFrame, path: Path) -> None:
    text = cells.apply(lambda column: column.map(cell_text))
    text.columns = [str(h) for h in header]
    partial = path.with_suffix(".partial")
    text.to_csv(partial, sep=";", index=False, encoding="utf-8", chunksize=100_000)
    partial.replace(path)


def write_xlsx(header: list[Any], cells: pd.DataFrame, path: Path) -> None:
    """One sheet written row by row (xlsxwriter's constant-memory mode)."""
    import xlsxwriter

    partial = path.with_suffix(".partial")
    workbook = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    sheet = workbook.add_worksheet("Инциденты")
    stamp = workbook.add_format({"num_format": XLSX_DATETIME})
    sheet.write_row(0, 0, [str(h) for h in header])
    for r, row in enumerate(cells.itertuples(index=False, name=None), start=1):
        for c, value in enumerate(row):
            write_cell(sheet, r, c, value, stamp)
    workbook.close()
    partial.replace(path)


def write_cell(sheet: Any, row: int, column: int, value: Any, stamp: Any) -> None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return
    if isinstance(value, datetime | date):
        sheet.write_datetime(row, column, value, stamp)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, str(value))


def big_exports(rows: int, formats: list[str]) -> tuple[dict[str, Path], Path]:
    """The replicated exports (cached by row count) and the registry folder of the sample."""
    data = sample_region()
    folder = CACHE_DIR / f"rows-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    template, header, cells = largest_export(data)
    region = re.match(rf"{SOURCE}_(\d+)_", template.name)
    prefix = f"{SOURCE}_{region[1] if region else '58'}"
    files = {"csv": folder / f"{prefix}_{CSV_DAY}.csv", "xlsx": folder / f"{prefix}_{XLSX_DAY}.xlsx"}
    missing = [fmt for fmt in formats if not files[fmt].exists()]
    if missing:
        started = time.perf_counter()
        big = replicate(cells, id_position(header, template.name), rows)
        for fmt in missing:
            (write_csv if fmt == "csv" else write_xlsx)(header, big, files[fmt])
        print(
            f"made {', '.join(files[f].name for f in missing)} ({rows} rows from {template.name}, "
            f"{len(cells)} rows) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return {fmt: files[fmt] for fmt in formats}, data / "registry"


# -- PostgreSQL databases --------------------------------------------------------------------


def libpq_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(libpq_url(url), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def create_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the server; its name and SQLAlchemy URL."""
    import psycopg
    import sqlalchemy as sa

    name = f"gospublic_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    return name, url.render_as_string(hide_password=False)


def database_mb(server_url: str, name: str) -> float:
    import psycopg

    with psycopg.connect(libpq_url(server_url), autocommit=True) as admin:
        size = admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
    return size[0] / MB if size else 0.0


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(server_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- one case, in its own process ------------------------------------------------------------


def rss_mb() -> float:
    """Current resident set of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB: Linux's ``VmHWM`` of its memory, which starts afresh at
    exec. ``ru_maxrss`` does not: it keeps the peak of the process that started this one, so a
    stage child of a bench that had landed the national month reported the bench's own peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux, elsewhere a bound


class TreePeak:
    """Peak RSS (MB) of this process and every process it started (worker pools), summed, sampled
    every ``interval`` seconds while the ``with`` block runs; never below this process's own peak."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, peak_rss_mb())

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.interval)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(spec_path: Path) -> int:
    """Set up a fresh warehouse and lake, time ``ingest_landed`` on the big file, write the result."""
    from gospublic.incidents.files import ingest_landed
    from gospublic.infra.lake import LocalLake
    from gospublic.infra.migrations import migrate
    from gospublic.infra.warehouse import Warehouse
    from gospublic.registry.load import load_registry
    from transforms.pseudonymize import make_pseudonymizer

    spec = json.loads(spec_path.read_text())
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    if spec["engine"] == "duckdb":
        warehouse = Warehouse.duckdb(spec["duckdb_path"])
    else:
        warehouse = Warehouse.postgres(spec["pg_url"])
    with warehouse:
        migrate(warehouse)
        load_registry(warehouse, Path(spec["registry"]))
        lake = LocalLake(spec["lake"])
        file = Path(spec["file"])
        lake.put_file(f"incoming/{SOURCE}/{file.name}", file)
        setup_seconds = time.perf_counter() - started
        gc.collect()
        before, cpu_before = rss_mb(), cpu_seconds()
        started = time.perf_counter()
        summary = ingest_landed(
            lake,
            warehouse,
            pseudonymize=make_pseudonymizer(PSEUDONYM_KEY),
        )
        seconds = time.perf_counter() - started
        result = {
            "seconds": seconds,
            "cpu_seconds": cpu_seconds() - cpu_before,
            "setup_seconds": setup_seconds,
            "rss_before_mb": before,
            "peak_rss_mb": peak_rss_mb(),
            "summary": summary,
        }
    Path(spec["result"]).write_text(json.dumps(result, default=str))
    return 0


def run_case(
    case: Case, file: Path, registry: Path, args: argparse.Namespace, *, stamp: str, pg_url: str | None
) -> dict[str, Any]:
    """Run ``case`` in a child process; its measurements and counts."""
    scratch = Path(tempfile.mkdtemp(prefix=f"run-{case.name}-", dir=CACHE_DIR))
    log = BENCH_DIR / f"incidents-{stamp}-{case.name}.log"
    database = None
    spec = {
        "engine": case.engine,
        "file": str(file),
        "registry": str(registry),
        "lake": str(scratch / "lake"),
        "duckdb_path": str(scratch / "warehouse.duckdb"),
        "result": str(scratch / "result.json"),
    }
    try:
        if case.engine == "postgres" and pg_url:
            database, spec["pg_url"] = create_database(pg_url)
        (scratch / "case.json").write_text(json.dumps(spec))
        load_before = os.getloadavg()[0]
        rc = spawn(scratch / "case.json", scratch / "var", log, args.timeout)
        if rc != 0:
            return {"case": case.name, "rows": args.rows, "error": f"exit {rc}", "log": str(log)}
        measured = json.loads((scratch / "result.json").read_text())
        measured["loadavg_1min_before"] = load_before  # other work on the machine skews the times
        measured["db_mb"] = (
            database_mb(pg_url, database)
            if database and pg_url
            else (scratch / "warehouse.duckdb").stat().st_size / MB
        )
    finally:
        if database and pg_url:
            drop_database(pg_url, database)
        shutil.rmtree(scratch, ignore_errors=True)
    return outcome(case, args.rows, file, measured, log)


def spawn(spec: Path, var_dir: Path, log: Path, timeout: float) -> int:
    """This script in ``--child`` mode; its output goes to ``log``."""
    env = {**os.environ, "GOSPUBLIC_VAR_DIR": str(var_dir), "GX_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(spec)]
    with log.open("w") as out:
        try:
            return subprocess.run(
                command, check=False, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            return -1


def outcome(case: Case, rows: int, file: Path, measured: dict[str, Any], log: Path) -> dict[str, Any]:
    """One row of the report: the counts of the file and whether they reconcile."""
    summary = measured.pop("summary")
    loaded = summary["loaded"][0] if len(summary["loaded"]) == 1 else {}
    counts = {k: loaded.get(k) for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")}
    problems = []
    if not loaded:
        problems.append(f"expected one loaded file, got {summary}")
    elif counts["rows_read"] != rows:
        problems.append(f"rows_read {counts['rows_read']} != {rows}")
    elif counts["rows_read"] != counts["rows_loaded"] + counts["rows_quarantined"] + counts["rows_duplicate"]:
        problems.append(f"counts do not reconcile: {counts}")
    return {
        "case": case.name,
        "rows": rows,
        "file": file.name,
        "file_mb": round(file.stat().st_size / MB, 1),
        **{k: round(v, 2) for k, v in measured.items()},
        "rows_per_second": round(rows / measured["seconds"]),
        **counts,
        "rows_unresolved": loaded.get("rows_unresolved"),
        "error": "; ".join(problems) or None,
        "log": str(log),
    }


# -- report --------------------------------------------------------------------------------


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"{'case':16} {'rows':>9} {'seconds':>8} {'rows/s':>8} {'RSS before MB':>13} {'peak RSS MB':>11}"
        f" {'loaded':>9} {'quarant.':>8} {'dup.':>6}"
    )
    for r in results:
        if "seconds" not in r:
            print(f"{r['case']:16} {r['rows']:9d}  FAILED: {r['error']} (see {r['log']})")
            continue
        counts = " ".join(
            f"{'-' if r[k] is None else r[k]:>{w}}"
            for k, w in (("rows_loaded", 9), ("rows_quarantined", 8), ("rows_duplicate", 6))
        )
        print(
            f"{r['case']:16} {r['rows']:9d} {r['seconds']:8.1f} {r['rows_per_second']:8d}"
            f" {r['rss_before_mb']:13.0f} {r['peak_rss_mb']:11.0f} {counts}"
            + (f"  FAILED: {r['error']}" if r["error"] else "")
        )


def pick_postgres(args: argparse.Namespace, engines: list[str]) -> str | None:
    """The server URL for the postgres cases, or None when they are skipped."""
    if "postgres" not in engines:
        return None
    url = args.pg_url or DEFAULT_PG_URL
    if postgres_reachable(url):
        return url
    if args.pg_url:
        raise SystemExit(f"PostgreSQL unreachable at {args.pg_url}")
    print(f"PostgreSQL unreachable at {DEFAULT_PG_URL}: postgres skipped", flush=True)
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows of the big export")
    parser.add_argument(
        "--memory-limit", default=None,
        help="GOSPUBLIC_ENGINE_MEMORY_LIMIT of the loader's in-process DuckDB (default: the setting's)",
    )  # fmt: skip
    parser.add_argument("--engines", default="duckdb,postgres", help="comma-separated: duckdb,postgres")
    parser.add_argument("--pg-url", help=f"PostgreSQL server to create the database on ({DEFAULT_PG_URL})")
    parser.add_argument("--xlsx", action="store_true", help="also load the export as XLSX")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a case may take")
    parser.add_argument("--out", type=Path, help="JSON report (default var/bench/incidents-<timestamp>.json)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args.child)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"duckdb", "postgres"}
    if unknown:
        raise SystemExit(f"unknown engines {sorted(unknown)}")
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    formats = ["csv", "xlsx"] if args.xlsx else ["csv"]
    files, registry = big_exports(args.rows, formats)
    pg_url = pick_postgres(args, engines)
    cases = [Case(e, f) for e in engines for f in formats if e == "duckdb" or pg_url]
    if args.memory_limit:
        os.environ["GOSPUBLIC_ENGINE_MEMORY_LIMIT"] = args.memory_limit  # the children inherit it
    memory_limit = engine_memory_limit()
    results = []
    for case in cases:
        print(f"running {case.name} ({args.rows} rows, engine memory {memory_limit}) ...", flush=True)
        results.append(run_case(case, files[case.fmt], registry, args, stamp=stamp, pg_url=pg_url))
    print_table(results)
    out = args.out or BENCH_DIR / f"incidents-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": stamp,
        "rows": args.rows,
        "engine_memory_limit": memory_limit,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "results": results,
    }
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
