"""``make test-prod``: docker-compose.yml's topology as local processes runs the sample month.

PostgreSQL metadata database, Redis broker, scheduler, dag-processor, api-server, triggerer and two
Celery workers with their own hostnames, the warehouse on PostgreSQL as a non-superuser role, the
lake on moto's S3 server and the VK, OK, MAX and Telegram sandboxes — configured from compose's
own environment block (tests/prod/topology.py). The month (tests/prod/driver.py: warehouse_migrate,
registry, three days of ``vk_pages`` in several mapped batches each followed by ``ok_pages``,
``max_pages`` and ``tg_pages``, two export days, warehouse_build, monthly_rating) goes through the
real scheduler while the embedded setup runs the same plan with ``dag.test()``; then:

* every run succeeded;
* ``vk_pages``' mapped ``extract`` tasks ran on both workers (task instances' ``hostname``);
* the rating landed in S3 with ``latest.json`` pointing at a revision whose manifest exists;
* the warehouse's core, mart and restricted tables equal the embedded run's (order-independent
  checksums of every row, without the columns that record *when* a run happened);
* per network (VK, OK, MAX, Telegram), on PostgreSQL and on DuckDB, the subscribers of every
  page-day in ``mart.subscribers_daily`` and the posts of every page-day in core equal the
  sandbox worlds' truth over the plan's days (``sandbox.demo_truth``, the demo's closing lines):
  none differs, none is missing (but on pages the truth marks unreadable), none is extra.

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

from sandbox.demo_truth import Tally, compare
from tests.prod import topology
from tests.prod.driver import MONTH, VK_DAYS, plan

PROJECT = Path(__file__).resolve().parents[2]
RESULTS = PROJECT / "var" / "test-prod"
SAMPLE = PROJECT / "var" / "sample" / MONTH
COMPARED_SCHEMAS = ("core", "mart", "restricted")
NETWORKS = ("vk", "ok", "max", "tg")  # every network's world in the sample, compared with its truth

pytestmark = [pytest.mark.prod, pytest.mark.postgres, pytest.mark.s3, pytest.mark.airflow, pytest.mark.slow]


def ensure_sample() -> Path:
    """``make sample``'s region (deterministic, seed 42) with every network's world; one made
    before OK, MAX and Telegram had worlds gets them beside its data, as ``make sample`` does."""
    if not (SAMPLE / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "sandbox", "generate", "--preset", "region", "--month", MONTH,
             "--seed", "42", "--out", str(SAMPLE)],
            cwd=PROJECT, check=True, capture_output=True,
        )  # fmt: skip
    for network in NETWORKS[1:]:
        if not (SAMPLE / network / "manifest.json").exists():
            subprocess.run(
                [sys.executable, "-m", "sandbox", f"generate-{network}", "--data", str(SAMPLE)],
                cwd=PROJECT, check=True, capture_output=True,
            )  # fmt: skip
    return SAMPLE


def truth_tallies(conn: dict) -> dict[str, dict[str, Tally]]:
    """``sandbox.demo_truth``'s comparison of a warehouse with the sample's truth over the plan's
    days: network → measure → Tally."""
    from tests.reliability.harness import open_warehouse

    warehouse = open_warehouse(conn)
    try:
        return compare(warehouse, SAMPLE, MONTH, VK_DAYS[-1])
    finally:
        warehouse.close()


def truth_lines(engine: str, tallies: dict[str, dict[str, Tally]]) -> list[str]:
    """The demo's closing lines, one per network and measure, naming the engine."""
    lines = []
    for network, measures in tallies.items():
        for measure, counts in measures.items():
            verdict = "reconciled" if counts.reconciled else "NOT reconciled"
            lines.append(f"- {engine}: truth {network} {measure} to {VK_DAYS[-1]}: {verdict}: {counts}")
    return lines


# Besides the harness's VOLATILE_COLUMNS (when a load ran, which run): when VK was called, which is
# the extracting task's clock (gospublic.vk.extract), not the sandbox's.
EXTRACTED_AT = frozenset({"observed_at", "first_observed_at", "observed_dt"})
RUN_TIME_COLUMNS = {
    "mart.rating_snapshot": {"published_at"},  # when monthly_rating published it
    # which load wrote the row: "<network>:<day>:<run_id>", the run's id (the run's other ids are
    # VOLATILE_COLUMNS); the rows' values are compared
    "core.fct_network_page_daily": {"load_id"},
    "core.fct_network_post": {"load_id"},
}


def plain(value: object) -> object:
    """The harness's one representation per value on both engines; floats first rounded to 12
    decimals, so that the engines' last-bit differences (sums in another order) cannot tip a
    value that lies on a rounding tie at 6 decimals (k / 128 hours) one way on each."""
    from decimal import Decimal

    from tests.reliability.harness import _plain

    if isinstance(value, float | Decimal):
        value = round(float(value), 12)
    return _plain(value)


def warehouse_digests(conn: dict, rows_out: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """``{table: {column: digest of its sorted values}}`` plus ``"*"``: the digest of the sorted
    rows, and ``"rows"``: their count; columns that record when something ran left out. The sorted
    rows go to ``rows_out`` (to show a difference)."""
    import hashlib

    from tests.reliability.harness import VOLATILE_COLUMNS, open_warehouse, warehouse_tables

    warehouse = open_warehouse(conn)
    digests: dict[str, dict[str, str]] = {}
    try:
        for table in warehouse_tables(warehouse):
            if table.split(".")[0] not in COMPARED_SCHEMAS:
                continue
            skipped = VOLATILE_COLUMNS | EXTRACTED_AT | RUN_TIME_COLUMNS.get(table, set())
            rows = [
                {c: plain(v) for c, v in row.items() if c not in skipped}
                for row in warehouse.query(f"SELECT * FROM {table}")
            ]
            columns = sorted(rows[0]) if rows else []
            digest = {
                c: hashlib.sha256("\n".join(sorted(repr(r[c]) for r in rows)).encode()).hexdigest()
                for c in columns
            }
            whole = sorted(repr(tuple(r[c] for c in columns)) for r in rows)
            digest["*"] = hashlib.sha256("\n".join([",".join(columns), *whole]).encode()).hexdigest()
            rows_out[table] = [",".join(columns), *whole]
            digest["rows"] = str(len(rows))
            digests[table] = digest
    finally:
        warehouse.close()
    return digests


def differences(prod: dict[str, dict[str, str]], embedded: dict[str, dict[str, str]]) -> dict[str, str]:
    """Tables whose rows differ, with the row counts and the columns whose values differ."""
    found = {}
    for table in sorted(prod.keys() | embedded.keys()):
        ours, theirs = prod.get(table, {}), embedded.get(table, {})
        if ours.get("*") != theirs.get("*"):
            columns = sorted(c for c in ours.keys() | theirs.keys() if ours.get(c) != theirs.get(c))
            found[table] = f"rows {ours.get('rows')} vs {theirs.get('rows')}; differing: {', '.join(columns)}"
    return found


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


def run_table(prod: list[dict], embedded: list[dict], timings: dict[str, float], truth: list[str]) -> str:
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
    lines += ["", *truth]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(3000)  # a bound on a hung run, not a speed check
def test_the_compose_topology_runs_the_sample_month(postgres_available: None) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}
    sample = ensure_sample()
    shutil.rmtree(RESULTS, ignore_errors=True)  # no table of an earlier run survives a failed start
    RESULTS.mkdir(parents=True)
    folder = Path(tempfile.mkdtemp(prefix="gospublic-prod-"))
    try:
        # The embedded reference runs alongside: its own process, SQLite, DuckDB and lake folder.
        embedded_out = folder / "embedded.json"
        prod_rows: dict[str, list[str]] = {}
        embedded_rows: dict[str, list[str]] = {}
        env_file = folder / ".env"  # one deployer's .env: the same secrets and pseudonym key for both
        embedded_env = topology.embedded_environment(folder / "embedded", env_file)
        with open(folder / "embedded.log", "wb") as log:
            embedded = subprocess.Popen(
                [sys.executable, "-m", "tests.prod.driver", "embedded", "--sample", str(sample),
                 "--out", str(embedded_out), "--tokens", json.dumps(topology.VK_TOKENS)],
                cwd=PROJECT, env=embedded_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            with topology.running(folder / "prod", env_file) as top:
                timings["topology start"] = time.monotonic() - started
                prod_out = folder / "prod.json"
                month_started = time.monotonic()
                driven = subprocess.run(
                    [sys.executable, "-m", "tests.prod.driver", "prod", "--sample", str(sample),
                     "--out", str(prod_out), "--pools", json.dumps(topology.init_pools())],
                    cwd=PROJECT, env=top.env, capture_output=True, text=True, timeout=2400, check=False,
                )  # fmt: skip
                timings["month through the scheduler"] = time.monotonic() - month_started
                (RESULTS / "driver.log").write_text(driven.stdout + driven.stderr)
                prod = json.loads(prod_out.read_text()) if prod_out.exists() else []
                top.check_alive()
                published = published_rating(top) if driven.returncode == 0 else {}
                warehouse = json.loads(top.env["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"])
                prod_sums = warehouse_digests(warehouse, prod_rows) if driven.returncode == 0 else {}
                prod_truth = truth_tallies(warehouse) if driven.returncode == 0 else {}
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
        embedded_warehouse = {
            "conn_type": "duckdb",
            "extra": {"path": embedded_env["GOSPUBLIC_VAR_DIR"] + "/warehouse.duckdb"},
        }
        embedded_sums = (
            warehouse_digests(embedded_warehouse, embedded_rows) if embedded.returncode == 0 else {}
        )
        embedded_truth = truth_tallies(embedded_warehouse) if embedded.returncode == 0 else {}
        truth = truth_lines("PostgreSQL", prod_truth) + truth_lines("DuckDB", embedded_truth)
        for table in differences(prod_sums, embedded_sums):  # both sides' rows, for a diff
            for side, rows in (("prod", prod_rows), ("embedded", embedded_rows)):
                (RESULTS / f"{table}.{side}.txt").write_text("\n".join(rows.get(table, [])) + "\n")
        digests = {"prod": prod_sums, "embedded": embedded_sums}
        (RESULTS / "digests.json").write_text(json.dumps(digests, indent=1))
        timings["total"] = time.monotonic() - started
        table = run_table(prod, reference, timings, truth)
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
    differ = differences(prod_sums, embedded_sums)
    assert not differ, f"tables differ from the embedded run's (prod vs embedded): {differ}"
    assert any(int(d["rows"]) > 0 for t, d in prod_sums.items() if t.startswith("mart.")), prod_sums

    # every network's subscribers and posts per page-day against the sandbox truth, on both engines
    for engine, tallies in (("PostgreSQL", prod_truth), ("DuckDB", embedded_truth)):
        assert sorted(tallies) == sorted(NETWORKS), (engine, sorted(tallies))
        for network, measures in tallies.items():
            for measure, counts in measures.items():
                assert counts.reconciled and counts.equal > 0, f"{engine} {network} {measure}: {counts}"
    network_runs = [r for r in prod if r["dag_id"] in ("ok_pages", "max_pages", "tg_pages")]
    assert len(network_runs) == 3 * len(VK_DAYS), network_runs
