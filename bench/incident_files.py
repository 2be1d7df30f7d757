"""Benchmark: the engine's check of incident export files one after another — seconds and DuckDB
statements per file (issue 29: the fixed cost per file of the national ``incidents`` stage).

The files are those of a generated month (``var/bench/<scale>-2025-11/exports/``, made by
``bench.pipeline.scale_data``; never written here): ``--files`` of them, evenly spread over the
month's files sorted by name. Each goes through ``engine_prepare`` (detect the format, read the
header, check in DuckDB, spill the staging rows as Arrow) as ``stage_export`` calls it, with the
region's time zone and executor resolver of the month's registry (loaded once into a temporary
DuckDB warehouse; the answers are cached in the system's temp folder). ``--at-once 2`` checks two
files at a time on threads, each with its share of the cores and memory, as ``ingest_landed``
does (``STAGED_AT_ONCE``). Statements are counted on the engine's connection (``execute``, ``sql``
and ``register`` calls, through ``transforms.incident_engine.engine_connection``).

    PYTHONPATH=/work/main .venv/bin/python bench/incident_files.py [--scale national] [--files 40]
        [--at-once 2] [--repeat 1]

To time another checkout on the same files (interleaved before/after runs), run this file with
that checkout first on ``PYTHONPATH`` (``PYTHONPATH=/tmp/base:/tmp/base/plugins``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2025-11"
PSEUDONYM_KEY = b"bench-pseudonym-key-0123456789abcdef"


def registry_lookups(data: Path) -> tuple[dict[str, str], Any]:
    """Region zones and the alias rows of the month's registry (loaded once, then cached)."""
    stamp = "-".join(str(int((data / "registry" / n).stat().st_mtime)) for n in ("orgs.csv", "pages.csv"))
    cache = Path(tempfile.gettempdir()) / f"gospublic-incident-files-{data.name}-{stamp}.pkl"
    if cache.exists():
        cached: tuple[dict[str, str], Any] = pickle.loads(cache.read_bytes())  # our own cache file
        return cached
    from gospublic.infra.migrations import migrate
    from gospublic.infra.warehouse import Warehouse
    from gospublic.registry.load import load_registry
    from gospublic.registry.lookups import region_timezones

    with tempfile.TemporaryDirectory(prefix="gospublic-incident-files-") as tmp:
        warehouse = Warehouse.duckdb(str(Path(tmp) / "registry.duckdb"))
        with warehouse:
            migrate(warehouse)
            load_registry(warehouse, data / "registry")
            zones = region_timezones(warehouse)
            aliases = warehouse.query_df(
                "SELECT a.region_code, a.alias_key, a.org_id, o.valid_from, o.valid_to "
                "FROM core.dim_org_alias AS a JOIN core.dim_org AS o "
                "ON o.org_id = a.org_id AND o.version = a.version"
            )
    cache.write_bytes(pickle.dumps((zones, aliases)))
    return zones, aliases


def pick_files(exports: Path, count: int) -> list[Path]:
    """``count`` files evenly spread over the month's exports sorted by name."""
    found = sorted(p for p in exports.glob("*/*") if p.suffix in (".csv", ".xlsx", ".xls"))
    if count >= len(found):
        return found
    step = len(found) / count
    return [found[int(i * step)] for i in range(count)]


class CountingConnection:
    """A DuckDB connection that counts the statements it is given."""

    counts: ClassVar[dict[int, int]] = {}
    lock = threading.Lock()

    def __init__(self, con: Any) -> None:
        self._con = con

    def _count(self) -> None:
        key = threading.get_ident()
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return self._con.execute(*args, **kwargs)

    def sql(self, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return self._con.sql(*args, **kwargs)

    def register(self, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return self._con.register(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def count_statements() -> None:
    """Wrap the connections the engine makes in a ``CountingConnection``."""
    from transforms import incident_engine

    made = incident_engine.engine_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        return CountingConnection(made(*args, **kwargs))

    incident_engine.engine_connection = counted


def check_files(paths: list[Path], data: Path, at_once: int) -> dict[str, Any]:
    """Check ``paths`` ``at_once`` at a time; seconds and statements per file, and the wall time."""
    import pandas as pd

    from gospublic.incidents.files import FILE_NAME
    from gospublic.incidents.load import ExportFileInfo, engine_prepare, export_spec
    from transforms.executor_resolve import ExecutorResolver
    from transforms.pseudonymize import make_pseudonymizer

    zones, aliases = registry_lookups(data)
    resolvers = {str(r): ExecutorResolver(rows) for r, rows in aliases.groupby("region_code")}
    empty = ExecutorResolver(pd.DataFrame(columns=["alias_key", "org_id", "valid_from", "valid_to"]))
    spec, pseudonymize = export_spec(), make_pseudonymizer(PSEUDONYM_KEY)

    def one(path: Path) -> tuple[float, int, int]:
        match = FILE_NAME.match(path.name)
        assert match is not None, path
        region = str(int(match["region"])).zfill(2)
        info = ExportFileInfo(
            path=path, file=path.name, sha=f"{abs(hash(path.name)):016x}", source=path.parent.name,
            region_code=region, export_date=datetime.strptime(match["day"], "%Y%m%d").date(),
            processed_at=datetime.now(UTC),
        )  # fmt: skip
        before = CountingConnection.counts.get(threading.get_ident(), 0)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="gospublic-incident-files-") as work:
            ready = engine_prepare(
                info, spec=spec, timezone=zones[region], resolver=resolvers.get(region, empty),
                pseudonymize=pseudonymize, work=Path(work), shares=at_once,
            )  # fmt: skip
        seconds = time.perf_counter() - started
        statements = CountingConnection.counts.get(threading.get_ident(), 0) - before
        return seconds, statements, ready.checks.read

    started = time.perf_counter()
    with ThreadPoolExecutor(at_once) as pool:
        done = list(pool.map(one, paths))
    wall = time.perf_counter() - started
    seconds = [s for s, _, _ in done]
    return {
        "files": len(paths),
        "rows": sum(r for _, _, r in done),
        "wall_seconds": round(wall, 2),
        "wall_per_file": round(wall / len(paths), 4),
        "check_median": round(statistics.median(seconds), 4),
        "check_mean": round(statistics.mean(seconds), 4),
        "statements_per_file": round(sum(n for _, n, _ in done) / len(paths), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="national", help="the generated month: region or national")
    parser.add_argument("--files", type=int, default=40, help="files to check (evenly spread)")
    parser.add_argument("--at-once", type=int, default=2, help="files checked at a time, on threads")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    data = ROOT / "var" / "bench" / f"{args.scale}-{MONTH}"
    paths = pick_files(data / "exports", args.files)
    count_statements()
    import transforms

    for _ in range(args.repeat):
        result = check_files(paths, data, args.at_once)
        result["code"] = str(Path(transforms.__file__).parents[1])
        result["at_once"] = args.at_once
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    sys.exit(main())
