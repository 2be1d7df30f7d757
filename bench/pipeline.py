"""Benchmark: the whole pipeline, stage by stage, at region and national scale on both engines.

For each scale the generated month is made once and cached under ``var/bench/<scale>-2025-11/``
(``national``: ~55,000 pages, ~850,000 incidents), and its VK answers are landed once in a lake in
the exact raw format of ``vk_pages`` (``bench/vk_raw.py``, no HTTP, not timed), with the Parquet
sidecars the load reads (a lake landed before them gets them, untimed). Then, per engine,
each stage runs ``--repeat`` times (default: 3 at region scale, 1 at national) in a fresh child
process, on top of the previous stages' tables, each repeat from the state before the stage:

    registry   the registry → core.dim_org / dim_page
    incidents  every export file: parse + validate + load (incidents_ingest's code)
    vk_load    every day's raw answers → staging → core (vk_pages' load task)
    marts      incident timing + every mart of the month (warehouse_build)
    rating     rating under penza-2025 + publication to the lake (monthly_rating)

After ``incidents`` and ``vk_load``, ``ceiling:<stage>`` times the database's own bulk load of the
rows the stage wrote (``bench/ceiling.py``); ``share_of_ceiling`` = ceiling time / stage time.

Reported per stage: median wall time, rows a second, the peak RSS of the child and its worker
processes together (DuckDB runs inside the child, with ``memory_limit`` 1GB as a production
connection would set; PostgreSQL's server memory is not counted). Results go to ``--out``
(``bench/results.json``) after each scale × engine, replacing the rows of the stages measured and
keeping the others' (each row carries ``measured_on``).

    .venv/bin/python -m bench.pipeline [--scales region,national] [--engines duckdb,postgres]
        [--repeat N] [--stages registry,incidents] [--no-baseline] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.incidents import TreePeak, create_database, drop_database, peak_rss_mb, postgres_reachable

PROJECT = Path(__file__).resolve().parents[1]
BENCH = PROJECT / "var" / "bench"
MONTH = "2025-11"
STAGES = ("registry", "incidents", "vk_load", "marts", "rating")
CEILINGS = ("incidents", "vk_load")  # load stages measured beside the database's own bulk load
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PSEUDONYM_KEY = b"bench-pseudonym-key-0123456789abcdef"
DUCKDB_MEMORY = "1GB"  # the warehouse connection's extra.memory_limit: keeps a task under 2 GiB
DEFAULT_REPEAT = {"region": 3, "national": 1}  # a national sitting of 3 runs a stage would take hours
SHARDS = {"national": 24}  # the VK sandbox's in-memory Dataset of a national month needs > 23 GB


# -- data, made once ---------------------------------------------------------------------------


def scale_data(scale: str) -> Path:
    """The generated month of ``scale`` (region or national), generated once."""
    out = BENCH / f"{scale}-{MONTH}"
    if not (out / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "sandbox", "generate", "--preset", scale, "--month", MONTH, "--seed", "42",
             "--out", str(out)],
            check=True, cwd=PROJECT,
        )  # fmt: skip
    return out


def vk_lake(scale: str, data: Path) -> Path:
    """A lake holding the month's raw VK answers and manifests, landed once."""
    from bench.vk_raw import land_month, month_days
    from gospublic.infra.lake import LocalLake

    root = BENCH / f"{scale}-{MONTH}-vklake"
    marker = root / ".landed.json"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.monotonic()
        stats = land_month(
            data, LocalLake(root), month_days(MONTH), shards=SHARDS.get(scale, 1),
            shards_dir=BENCH / f"{scale}-{MONTH}-vkshards", workers=min(2, os.cpu_count() or 1),
        )  # fmt: skip
        stats["seconds"] = round(time.monotonic() - started, 1)
        marker.write_text(json.dumps(stats))
    _current_sidecars(root)
    return root


def _current_sidecars(root: Path) -> None:
    """The extractor lands each raw file's Parquet sidecar, which the load reads; a lake landed
    before them (or under another column spec) gets them here, untimed, as ``vk-sidecars`` would."""
    from bench.vk_raw import month_days
    from gospublic.infra.lake import LocalLake
    from gospublic.vk.backfill import backfill_sidecars

    done = backfill_sidecars(LocalLake(root), month_days(MONTH))
    if done.written or done.refused:
        print(
            f"{root}: {done.written} VK sidecars written, {len(done.refused)} raw files refused", flush=True
        )


def export_files(data: Path) -> list[Path]:
    return sorted((data / "exports").rglob("*_*_*.*"))


# -- one stage, in a child process ------------------------------------------------------------


def run_stage(spec: dict[str, Any]) -> dict[str, Any]:
    """Reset what the stage writes (untimed), then time the stage; returns its numbers."""
    from gospublic.infra.lake import LocalLake
    from gospublic.infra.warehouse import Warehouse
    from gospublic.infra.workers import shutdown as shutdown_workers

    warehouse = (
        Warehouse.duckdb(spec["duckdb"], memory_limit=DUCKDB_MEMORY)
        if spec.get("duckdb")
        else Warehouse.postgres(spec["pg_url"])
    )
    data, stage = Path(spec["data"]), spec["stage"]
    if stage.startswith("ceiling:"):
        from bench.ceiling import measure

        measured = measure(warehouse, stage.removeprefix("ceiling:"))
        warehouse.close()
        return {"stage": stage, **measured, "peak_rss_mb": round(peak_rss_mb(), 1)}
    exports_lake = LocalLake(spec["exports_lake"])
    first_day = date.fromisoformat(f"{MONTH}-01")
    prepare = {"incidents": _reset_incidents, "vk_load": _reset_vk_load, "rating": _reset_rating}.get(stage)
    if prepare:
        prepare(warehouse, exports_lake, data)
    with TreePeak() as memory:
        started = time.monotonic()
        vk = LocalLake(spec["vk_lake"]) if spec.get("vk_lake") else None
        rows = STAGE_BODIES[stage](warehouse, data, vk, exports_lake, first_day)
        seconds = time.monotonic() - started
        warehouse.close()
        shutdown_workers()  # inside the sampled block: worker processes count towards the peak
    return {"stage": stage, "seconds": seconds, "rows": rows, "peak_rss_mb": round(memory.peak_mb, 1)}


def _stage_registry(warehouse, data, _vk, _lake, _month) -> int:
    from gospublic.infra.migrations import migrate
    from gospublic.registry.load import load_registry

    migrate(warehouse)
    result = load_registry(warehouse, data / "registry")
    return result["orgs_read"] + result["pages_read"]


def _reset_incidents(warehouse, lake, data) -> None:
    for table in (
        "core.fct_incident", "core.fct_incident_event", "restricted.incident_text", "audit.export_file",
        "audit.validation_result",
    ):  # fmt: skip
        warehouse.execute(f"DELETE FROM {table}")
    warehouse.execute("DELETE FROM audit.quarantine WHERE source LIKE 'incidents/%'")
    for path in export_files(data):
        lake.put_file(f"incoming/{path.parent.name}/{path.name}", path)


def _stage_incidents(warehouse, _data, _vk, lake, _month) -> int:
    from gospublic.incidents.files import ingest_landed
    from transforms.pseudonymize import make_pseudonymizer

    summary = ingest_landed(lake, warehouse, pseudonymize=make_pseudonymizer(PSEUDONYM_KEY))
    assert not summary["rejected"], summary["rejected"]
    return sum(f["rows_read"] for f in summary["loaded"])


def _reset_vk_load(warehouse, _lake, _data) -> None:
    """Forget the previous repeat's VK days, so that every repeat loads each day for the first time
    (the daily, forward rebuild) rather than re-running it (the full rebuild): the load's staging
    tables, what step ``vk`` of the model graph writes, the days' status, errors and load runs."""
    from gospublic.infra.model_graph import graph
    from gospublic.vk.load import TARGETS

    models = graph()
    written = [table for file in models.step("vk") for table in models.model(file).writes]
    for table in (*(target.table for target in TARGETS), *written, "audit.vk_day_status"):
        warehouse.execute(f"DELETE FROM {table}")
    warehouse.execute("DELETE FROM audit.extract_errors WHERE network = 'vk'")
    warehouse.execute("DELETE FROM audit.load_runs WHERE load_id LIKE 'vk:%'")


def _stage_vk_load(warehouse, _data, vk, _lake, _month) -> int:
    from bench.vk_raw import month_days
    from gospublic.vk.load import load_day
    from transforms.pseudonymize import make_pseudonymizer

    pseudonymize = make_pseudonymizer(PSEUDONYM_KEY)
    rows = 0
    for day in month_days(MONTH):
        counts = load_day(warehouse, vk, day, pseudonymize)["counts"]
        rows += sum(c["written"] for c in counts.values())
    return rows


def _stage_marts(warehouse, _data, _vk, _lake, month) -> int:
    from gospublic.marts.build import build_month

    result = build_month(warehouse, month)
    return result["incidents"] + sum(result["mart_rows"].values())


def _reset_rating(warehouse, lake, _data) -> None:
    """Forget the previous repeat's rating: its rows and its published files (a published file is
    never replaced, and the next repeat publishes the same revision at another time)."""
    for table in ("mart.rating_indicator", "mart.rating_monthly", "mart.rating_snapshot"):
        warehouse.execute(f"DELETE FROM {table}")
    lake.delete_prefix("publish/")


def _stage_rating(warehouse, _data, _vk, lake, month) -> int:
    from gospublic.rating.publish import publish_snapshot
    from gospublic.rating.snapshot import compute_snapshot, methodologies

    methodology = methodologies()["penza-2025"]
    snapshot = compute_snapshot(warehouse, methodology, month)
    publication = publish_snapshot(warehouse, lake, snapshot, methodology)
    return len(publication.files)


STAGE_BODIES = {
    "registry": _stage_registry,
    "incidents": _stage_incidents,
    "vk_load": _stage_vk_load,
    "marts": _stage_marts,
    "rating": _stage_rating,
}


def child_env() -> dict[str, str]:
    """A stage child's environment: the publication prints its PDFs or fails (``on``), never skips
    them as ``auto`` does without a Chromium, so the rating stage always measures the same work."""
    return {
        **os.environ, "GX_ANALYTICS_ENABLED": "False", "GOSPUBLIC_HOME": str(PROJECT),
        "GOSPUBLIC_PUBLICATION_PDF": "on",
    }  # fmt: skip


def spawn(spec: dict[str, Any], log: Path) -> dict[str, Any]:
    spec_file = log.with_suffix(".spec.json")
    spec_file.write_text(json.dumps(spec))
    env = child_env()
    with open(log, "a", encoding="utf-8") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.pipeline", "--child", str(spec_file)],
            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=out, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"stage {spec['stage']} failed (exit {done.returncode}); see {log}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the benchmark -------------------------------------------------------------------------------


def bench_engine(
    scale: str,
    engine: str,
    *,
    data: Path,
    vk: Path | None,
    repeat: int,
    pg_server: str | None,
    stages: tuple[str, ...] = STAGES,
    baseline: bool = True,
    keep: bool = False,
) -> list[dict[str, Any]]:
    workdir = BENCH / f"run-{scale}-{engine}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    spec: dict[str, Any] = {
        "data": str(data), "vk_lake": str(vk) if vk else None, "exports_lake": str(workdir / "lake"),
    }  # fmt: skip
    database = None
    if engine == "duckdb":
        spec["duckdb"] = str(workdir / "warehouse.duckdb")
    else:
        assert pg_server
        database, spec["pg_url"] = create_database(pg_server)
    results = []
    try:
        for stage in stages:
            runs = [spawn({**spec, "stage": stage}, workdir / f"{stage}.log") for _ in range(repeat)]
            seconds = statistics.median(r["seconds"] for r in runs)
            rows = runs[-1]["rows"]
            results.append(
                {
                    "scale": scale, "engine": engine, "stage": stage, "runs": len(runs),
                    "seconds": round(seconds, 2), "all_seconds": [round(r["seconds"], 2) for r in runs],
                    "rows": rows, "rows_per_second": round(rows / seconds) if seconds else None,
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                }
            )  # fmt: skip
            print(_line(results[-1]), flush=True)
            if stage in CEILINGS:
                measured = spawn({**spec, "stage": f"ceiling:{stage}"}, workdir / "ceiling.log")
                results.append(ceiling_of(results[-1], measured))
                print(_line(results[-1]), flush=True)
        url = f"duckdb:///{spec['duckdb']}" if engine == "duckdb" else spec["pg_url"]
        if baseline and stages == STAGES:  # the baseline beside a whole pipeline only
            results += run_baseline(scale, engine, data, url, workdir / "baseline.log")
    finally:
        if database and pg_server and not keep:
            drop_database(pg_server, database)
        elif database:
            print(f"kept the PostgreSQL warehouse: database {database}", flush=True)
    return results


def ceiling_of(stage: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """The ceiling row beside ``stage``: the bulk load's numbers and the stage's share of them."""
    seconds = measured["seconds"]
    return {
        "scale": stage["scale"], "engine": stage["engine"], "stage": measured["stage"], "runs": 1,
        "seconds": round(seconds, 2), "rows": measured["rows"],
        "rows_per_second": round(measured["rows"] / seconds) if seconds else None,
        "peak_rss_mb": measured["peak_rss_mb"], "tables": measured["tables"],
        "share_of_ceiling": round(seconds / stage["seconds"], 3) if stage["seconds"] else None,
    }  # fmt: skip


def run_baseline(scale: str, engine: str, data: Path, url: str, log: Path) -> list[dict[str, Any]]:
    """The naive pandas + to_sql baseline on the same data and warehouse (``bench/baseline.py``)."""
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.baseline", "--data", str(data), "--warehouse-url", url],
            cwd=PROJECT, stdout=subprocess.PIPE, stderr=out, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"baseline failed (exit {done.returncode}); see {log}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    rows = {"incidents": measured["rows"]["incidents"], "posts": measured["rows"]["posts"], "metrics": 0}
    results = []
    for part, seconds in measured["seconds"].items():
        result = {
            "scale": scale, "engine": engine, "stage": f"baseline:{part}", "runs": 1, "seconds": seconds,
            "rows": rows[part],
            "rows_per_second": round(rows[part] / seconds) if seconds and rows[part] else None,
            "peak_rss_mb": measured["peak_rss_mb"], "agreement": measured["agreement"],
        }  # fmt: skip
        print(_line(result), flush=True)
        results.append(result)
    return results


def save(out: Path, measured: list[dict[str, Any]]) -> None:
    """Write ``measured`` into ``out``, replacing the rows of the same scale × engine × stage and
    keeping the rest (each row says when it was measured)."""
    today = datetime.now(UTC).date().isoformat()
    measured = [{**r, "measured_on": r.get("measured_on", today)} for r in measured]
    replaced = {(r["scale"], r["engine"], r["stage"]) for r in measured}
    stages = json.loads(out.read_text())["stages"] if out.exists() else []
    stages = [r for r in stages if (r["scale"], r["engine"], r["stage"]) not in replaced] + measured
    order = {"region": 0, "national": 1}
    position = {stage: n for n, stage in enumerate(STAGES)}

    def place(r: dict[str, Any]) -> tuple[int, str, int, int]:
        """Scale, engine, then each stage with its ceiling after it, then the baseline's parts."""
        stage, (scale, engine) = r["stage"], (r["scale"], r["engine"])
        if stage.startswith("baseline:"):
            return (order.get(scale, 2), engine, 1, 0)  # stable: its parts keep their order
        ceiling = stage.startswith("ceiling:")
        return (order.get(scale, 2), engine, 0, 2 * position.get(stage.removeprefix("ceiling:"), 0) + ceiling)

    stages.sort(key=place)
    payload = {"month": MONTH, "machine": machine(), "stages": stages}
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['scale']:9s} {r['engine']:9s} {r['stage']:10s} {r['seconds']:9.2f} s {r['rows']:>11,} rows "
        f"{(r['rows_per_second'] or 0):>10,} rows/s {r['peak_rss_mb']:>8.0f} MB"
    )


def machine() -> dict[str, Any]:
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 1024
    return {
        "cpus": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="region,national")
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--repeat", type=int, help="runs a stage (default: 3 at region scale, 1 at national)")
    parser.add_argument(
        "--stages", default=",".join(STAGES),
        help="the first stages only (e.g. registry,incidents); the baseline runs with all of them",
    )  # fmt: skip
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the PostgreSQL database afterwards, to inspect or profile (DuckDB files stay anyway)",
    )  # fmt: skip
    parser.add_argument("--pg-url", default=os.environ.get("GOSPUBLIC_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "results.json")
    args = parser.parse_args(argv)
    if args.child:
        import logging

        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(run_stage(json.loads(args.child.read_text()))))
        return 0
    engines = [e for e in args.engines.split(",") if e]
    stages = tuple(s for s in STAGES if s in args.stages.split(","))
    if stages != STAGES[: len(stages)]:
        parser.error(f"--stages: a prefix of {','.join(STAGES)} (a stage runs on the previous ones' tables)")
    pg_server = args.pg_url if "postgres" in engines and postgres_reachable(args.pg_url) else None
    if "postgres" in engines and not pg_server:
        print(f"PostgreSQL unreachable at {args.pg_url}: skipped", file=sys.stderr)
        engines.remove("postgres")
    for scale in [s for s in args.scales.split(",") if s]:
        started = time.monotonic()
        data = scale_data(scale)
        vk = vk_lake(scale, data) if "vk_load" in stages else None  # landing a national month takes ~40 min
        ready = "data and VK raw" if vk else "data"
        print(f"{scale}: {ready} ready in {time.monotonic() - started:.0f} s", flush=True)
        for engine in engines:
            measured = bench_engine(
                scale,
                engine,
                data=data,
                vk=vk,
                repeat=args.repeat or DEFAULT_REPEAT.get(scale, 1),
                pg_server=pg_server,
                stages=stages,
                baseline=not args.no_baseline,
                keep=args.keep,
            )
            save(args.out, measured)  # after every engine: a later failure keeps what was measured
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
