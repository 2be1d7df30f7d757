"""``make test-prod``: docker-compose.yml's topology as local processes runs the sample month.

PostgreSQL metadata database, Redis broker, scheduler, dag-processor, api-server, triggerer and two
Celery workers with their own hostnames, the warehouse on PostgreSQL as a non-superuser role, the
lake on moto's S3 server and the VK sandbox — configured from compose's own environment block
(tests/prod/topology.py). The month (tests/prod/driver.py: warehouse_migrate, registry, three VK
days in several mapped batches, two export days, warehouse_build, monthly_rating) goes through the
real scheduler while the embedded setup runs the same plan with ``dag.test()``; then:

* every run succeeded;
* ``vk_pages``' mapped ``extract`` tasks ran on both workers (task instances' ``hostname``);
* the rating landed in S3 with ``latest.json`` pointing at a revision whose manifest exists;
* the warehouse's core, mart and restricted tables equal the embedded run's (order-independent
  checksums of every row, without the columns that record *when* a run happened).

The run table (DAG, run id, seconds, worker hostnames) goes to ``var/test-prod/run-table.md``.
Selected only by ``pytest --prod`` (``make test-prod``); ``make test`` deselects it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.prod import topology
from tests.prod.driver import MONTH, plan

PROJECT = Path(__file__).resolve().parents[2]
RESULTS = PROJECT / "var" / "test-prod"
SAMPLE = PROJECT / "var" / "sample" / MONTH
COMPARED_SCHEMAS = ("core", "mart", "restricted")

pytestmark = [pytest.mark.prod, pytest.mark.postgres, pytest.mark.s3, pytest.mark.airflow, pytest.mark.slow]


def ensure_sample() -> Path:
    """``make sample``'s region (deterministic, seed 42)."""
    if not (SAMPLE / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "sandbox", "generate", "--preset", "region", "--month", MONTH,
             "--seed", "42", "--out", str(SAMPLE)],
            cwd=PROJECT, check=True, capture_output=True,
        )  # fmt: skip
    return SAMPLE


def warehouse_checksums(conn: dict) -> dict[str, str]:
    from tests.reliability.harness import open_warehouse, table_checksums, warehouse_tables

    warehouse = open_warehouse(conn)
    try:
        tables = [t for t in warehouse_tables(warehouse) if t.split(".")[0] in COMPARED_SCHEMAS]
        sums = table_checksums(warehouse, tables)
        counts = {t: int(warehouse.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in tables}
    finally:
        warehouse.close()
    return {t: f"{counts[t]}:{sums[t]}" for t in tables}


def published_rating(top: topology.Topology) -> dict[str, str]:
    """``latest.json`` of each methodology of the month on S3 → the manifest key it points at."""
    import boto3

    lake = json.loads(top.env["AIRFLOW_CONN_GOSPUBLIC_LAKE"])
    s3 = boto3.client(
        "s3",
        endpoint_url=lake["extra"]["endpoint_url"],
        region_name=lake["extra"].get("region_name", "us-east-1"),
        aws_access_key_id=lake["login"],
        aws_secret_access_key=lake["password"],
    )
    bucket = lake["extra"]["bucket"]
    prefix = f"publish/rating/{MONTH}/"
    keys = {
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    }
    found = {}
    for key in sorted(k for k in keys if k.endswith("/latest.json")):
        pointer = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        found[key] = json.dumps(pointer, ensure_ascii=False)
        base = key.rsplit("/", 1)[0]
        manifests = [k for k in keys if k.startswith(base + "/rev-") and k.endswith("/manifest.json")]
        assert manifests, f"{key} points at no published revision: {sorted(keys)[:20]}"
    return found


def run_table(prod: list[dict], embedded: list[dict], timings: dict[str, float]) -> str:
    seconds = {r["label"]: r["seconds"] for r in embedded}
    lines = [
        "| DAG | run id | state | seconds | embedded s | worker hostnames of mapped extract tasks |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in prod:
        hosts = ", ".join(f"{h} ×{n}" for h, n in sorted(r["mapped_extract_hosts"].items())) or "—"
        lines.append(
            f"| {r['dag_id']} | {r['run_id']} | {r['state']} | {r['seconds']:.1f} | "
            f"{seconds.get(r['label'], float('nan')):.1f} | {hosts} |"
        )
    lines.append("")
    lines += [f"- {name}: {value:.1f} s" for name, value in timings.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(1800)
def test_the_compose_topology_runs_the_sample_month(postgres_available: None) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}
    sample = ensure_sample()
    RESULTS.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="gospublic-prod-"))
    try:
        # The embedded reference runs alongside: its own process, SQLite, DuckDB and lake folder.
        embedded_out = folder / "embedded.json"
        embedded_env = topology.embedded_environment(folder / "embedded")
        with open(folder / "embedded.log", "wb") as log:
            embedded = subprocess.Popen(
                [sys.executable, "-m", "tests.prod.driver", "embedded", "--sample", str(sample),
                 "--out", str(embedded_out), "--tokens", json.dumps(topology.VK_TOKENS)],
                cwd=PROJECT, env=embedded_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            with topology.running(folder / "prod") as top:
                timings["topology start"] = time.monotonic() - started
                prod_out = folder / "prod.json"
                month_started = time.monotonic()
                driven = subprocess.run(
                    [sys.executable, "-m", "tests.prod.driver", "prod", "--sample", str(sample),
                     "--out", str(prod_out), "--pools", json.dumps(topology.init_pools())],
                    cwd=PROJECT, env=top.env, capture_output=True, text=True, timeout=1500, check=False,
                )  # fmt: skip
                timings["month through the scheduler"] = time.monotonic() - month_started
                (RESULTS / "driver.log").write_text(driven.stdout + driven.stderr)
                prod = json.loads(prod_out.read_text()) if prod_out.exists() else []
                top.check_alive()
                published = published_rating(top) if driven.returncode == 0 else {}
                warehouse = json.loads(top.env["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"])
                prod_sums = warehouse_checksums(warehouse) if driven.returncode == 0 else {}
                stop_started = time.monotonic()
            timings["teardown"] = time.monotonic() - stop_started
            embedded.wait(timeout=900)
        finally:
            if embedded.poll() is None:
                os.killpg(embedded.pid, 9)
                embedded.wait()
        timings["embedded reference (in parallel)"] = time.monotonic() - started - timings["topology start"]
        (RESULTS / "embedded.log").write_text((folder / "embedded.log").read_text(errors="replace"))
        reference = json.loads(embedded_out.read_text()) if embedded_out.exists() else []
        embedded_sums = (
            warehouse_checksums(
                {
                    "conn_type": "duckdb",
                    "extra": {"path": embedded_env["GOSPUBLIC_VAR_DIR"] + "/warehouse.duckdb"},
                }
            )
            if embedded.returncode == 0
            else {}
        )
        timings["total"] = time.monotonic() - started
        table = run_table(prod, reference, timings)
        (RESULTS / "run-table.md").write_text(table)
        (RESULTS / "runs.json").write_text(json.dumps({"prod": prod, "embedded": reference}, indent=1))
        print("\n" + table)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    assert driven.returncode == 0, (
        f"the month through the scheduler failed:\n{driven.stdout[-6000:]}\n{driven.stderr[-3000:]}"
    )
    assert [r["label"] for r in prod] == [s.label for s in plan()]
    assert all(r["state"] == "success" for r in prod), prod
    assert embedded.returncode == 0, (RESULTS / "embedded.log").read_text()[-5000:]

    vk_runs = [r for r in prod if r["dag_id"] == "vk_pages"]
    assert all(sum(r["mapped_extract_hosts"].values()) > 1 for r in vk_runs), vk_runs
    hosts = {h for r in vk_runs for h in r["mapped_extract_hosts"]}
    assert hosts == set(topology.WORKER_HOSTNAMES), f"mapped extract tasks ran on {hosts}"

    assert published, "no latest.json under publish/rating/ on S3"
    methodologies = top.env["GOSPUBLIC_RATING_METHODOLOGIES"]
    assert len(published) == len(methodologies.split(",")), published

    assert prod_sums and prod_sums.keys() == embedded_sums.keys(), prod_sums.keys() ^ embedded_sums.keys()
    differ = {t: (prod_sums[t], embedded_sums[t]) for t in prod_sums if prod_sums[t] != embedded_sums[t]}
    assert not differ, f"tables differ from the embedded run's (rows:checksum prod, embedded): {differ}"
    assert any(int(v.split(":")[0]) > 0 for t, v in prod_sums.items() if t.startswith("mart.")), prod_sums
