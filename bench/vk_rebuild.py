"""Benchmark: the re-run cost of the VK load's two rebuild scopes, forward and full.

On a fresh warehouse (registry loaded) every day of the month's landed raw VK answers is loaded
in order — each a day's first load, the forward scope — and then every day is loaded again in
order, which takes the full rebuild (the day was loaded before). Timed per day: the whole
``load_day`` (decode, staging, models, audit, vacuum) and, inside it, the core models alone —
wall time and this process's CPU time (DuckDB runs in the process; PostgreSQL's server does not).
``--repeat`` repeats both passes, emptying the VK tables between them. Each engine ends with an
order-independent digest of the core VK tables, so that two versions of the code can be shown to
leave the same rows.

    .venv/bin/python -m bench.vk_rebuild [--scale region] [--engines duckdb,postgres] [--repeat 3]
        [--out var/bench/vk_rebuild.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.incidents import create_database, drop_database
from bench.pipeline import DEFAULT_PG, DUCKDB_MEMORY, MONTH, PSEUDONYM_KEY, scale_data, vk_lake

CORE = ("core.fct_page_daily", "core.fct_post", "core.fct_comment")
RESET = (
    *CORE, "staging.vk_post_observations", "staging.vk_comment_observations",
    "staging.vk_page_observations", "audit.extract_errors", "audit.load_runs",
)  # fmt: skip


def _modules() -> tuple[Any, Any, Any, Any, Any]:
    """(warehouse, lake, migrations, registry load, vk load) modules, in either package layout:
    copied into a checkout from before the package split (issue 21), this file measures it too."""
    import importlib

    for names in (
        ("gospublic.infra.warehouse", "gospublic.infra.lake", "gospublic.infra.migrations",
         "gospublic.registry.load", "gospublic.vk.load"),
        ("gospublic.warehouse", "gospublic.lake", "gospublic.migrations", "gospublic.registry_load",
         "gospublic.vk_load"),
    ):  # fmt: skip
        try:
            return tuple(importlib.import_module(n) for n in names)  # type: ignore[return-value]
        except ModuleNotFoundError:
            continue
    raise ImportError("no gospublic package layout found")


def digest(warehouse: Any, table: str) -> str:
    """Order-independent digest of a table's rows (times in UTC, floats to 6 places)."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, float):
            return round(value, 6)
        return value

    rows = sorted(
        repr(tuple(plain(v) for v in r.values())) for r in warehouse.query(f"SELECT * FROM {table}")
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def timed_models(vk_load: Any) -> list[tuple[float, float]]:
    """Wrap the model runner for the VK loader's step (``tx.run_models("vk", …)`` calls
    ``gospublic.infra.model_runner.run_models``); returns the list each VK call's (wall, CPU of
    this process) seconds are appended to (DuckDB runs in this process; PostgreSQL's server is
    not counted)."""
    from gospublic.infra import model_runner
    from gospublic.infra.model_graph import graph

    spent: list[tuple[float, float]] = []
    run: Callable[..., Any] = model_runner.run_models
    vk_models = tuple(graph().step(vk_load.VkDayLoad.step))

    def timed(conn: Any, names: Any, *args: Any, **kwargs: Any) -> Any:
        if tuple(names) != vk_models:
            return run(conn, names, *args, **kwargs)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return run(conn, names, *args, **kwargs)
        finally:
            spent.append((time.perf_counter() - started, time.process_time() - cpu))

    model_runner.run_models = timed
    return spent


def one_pass(
    warehouse: Any, vk_load: Any, lake: Any, days: list[date], spent: list[tuple[float, float]]
) -> dict[str, Any]:
    from transforms.pseudonymize import make_pseudonymizer

    pseudonymize = make_pseudonymizer(PSEUDONYM_KEY)
    loads, models, models_cpu, scopes = [], [], [], []
    for day in days:
        before = len(spent)
        started = time.perf_counter()
        result = vk_load.load_day(warehouse, lake, day, pseudonymize)
        loads.append(time.perf_counter() - started)
        models.append(sum(wall for wall, _ in spent[before:]))
        models_cpu.append(sum(cpu for _, cpu in spent[before:]))
        scopes.append(result["rebuild"])
    return {
        "scopes": sorted(set(scopes)),
        "load_s": round(sum(loads), 3),
        "models_s": round(sum(models), 3),
        "models_cpu_s": round(sum(models_cpu), 3),
        "last_day_load_s": round(loads[-1], 3),
        "last_day_models_s": round(models[-1], 3),
    }


def bench_engine(engine: str, data: Path, lake_root: Path, repeat: int, pg_url: str) -> dict[str, Any]:
    from bench.vk_raw import month_days

    wh_mod, lake_mod, migrations, registry_load, vk_load = _modules()
    spent = timed_models(vk_load)
    days = month_days(MONTH)
    with tempfile.TemporaryDirectory(prefix="vk-rebuild-") as tmp:
        name = None
        if engine == "duckdb":
            warehouse = wh_mod.Warehouse.duckdb(str(Path(tmp) / "wh.duckdb"), memory_limit=DUCKDB_MEMORY)
        else:
            name, url = create_database(pg_url)
            warehouse = wh_mod.Warehouse.postgres(url)
        try:
            migrations.migrate(warehouse)
            registry_load.load_registry(warehouse, data / "registry")
            lake = lake_mod.LocalLake(lake_root)
            runs: dict[str, list[dict[str, Any]]] = {"forward": [], "full": []}
            digests: dict[str, str] = {}
            for n in range(repeat):
                if n:
                    for table in RESET:
                        warehouse.execute(f"DELETE FROM {table}")
                    warehouse.vacuum(RESET)
                runs["forward"].append(one_pass(warehouse, vk_load, lake, days, spent))
                forward_digests = {t: digest(warehouse, t) for t in CORE}
                runs["full"].append(one_pass(warehouse, vk_load, lake, days, spent))
                digests = {t: digest(warehouse, t) for t in CORE}
                assert digests == forward_digests, (forward_digests, digests)
            counts = {t: warehouse.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in CORE}
        finally:
            warehouse.close()
            if name:
                drop_database(pg_url, name)
    summary = {
        scope: {
            key: round(statistics.median(r[key] for r in passes), 3)
            for key in ("load_s", "models_s", "models_cpu_s", "last_day_load_s", "last_day_models_s")
        }
        | {"scopes": passes[0]["scopes"], "runs": [r["load_s"] for r in passes]}
        for scope, passes in runs.items()
    }
    return {
        "engine": engine,
        "days": len(days),
        "repeat": repeat,
        **summary,
        "rows": counts,
        "digests": digests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="region")
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    data = scale_data(args.scale)
    lake_root = vk_lake(args.scale, data)
    results = []
    for engine in args.engines.split(","):
        result = bench_engine(engine, data, lake_root, args.repeat, args.pg_url)
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
