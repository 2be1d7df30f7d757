"""Benchmark: share of each network's rate-limit ceiling the OK, MAX and Telegram extractions reach.

For each network, one day of a generated world's pages goes through the network's
``steps.extract`` — the function a mapped ``extract`` task of ``ok_pages``, ``max_pages`` or
``tg_pages`` calls, its client or reader built from the Airflow connection — batch after batch
(the DAGs' pools give each application, bot or reading account one slot), into a local lake;
the run's manifest is then written by the network's ``land`` (not timed). Reported per network:
requests the client made, wall time, requests a second, the ceiling and the share reached, and
the sandbox's own count of requests and of rate-limit answers.

* **OK**: the OK sandbox (``python -m sandbox serve-ok``) in its own process. Ceiling: the
  application's sliding one-second window the sandbox enforces (``--app KEY:SECRET:RPS``; its
  default, 10, is what ``make demo`` registers), answered with error 8 over it. OK publishes no
  per-second limit (docs/networks.md); the client is given the same rate (``extra.rps``).
* **MAX**: the MAX sandbox (``serve-max``) in its own process. Ceiling: 30 requests a second per
  bot token, the rate a MAX partner publishes (docs/networks.md, "Sources") and the sandbox's
  default window (``--token TOKEN:30``), answered 429 over it; the client is given 30.
* **Telegram**: faked at Telethon's request boundary (``sandbox.tg_sandbox``), in this process by
  design. That boundary enforces no rate: it answers FLOOD_WAIT only when a storm is planned (none
  here), and its clock moves only when the reader sleeps on it. The ceiling is therefore the
  reader's own pace, one request per ``extra.pause`` (default 1 s; Telegram publishes no rate),
  kept on the sandbox's clock: requests a second and the share are on that clock; the wall-clock
  rate says how far the code itself could go.

    .venv/bin/python -m bench.extract_networks [--seconds 90] [--network ok]... [--data DIR]
        [--out bench/extract_networks.json]

The world is the national preset's OK, MAX and Telegram worlds (generated once into ``--data``
when given). OK and MAX extract as many pages as their ceiling reads in about ``--seconds``;
Telegram, whose pace costs no wall time, every channel (``--pages`` caps any network).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

PROJECT = Path(__file__).resolve().parents[1]
MONTH = "2025-11"
DAY = date(2025, 11, 20)
MOSCOW = ZoneInfo("Europe/Moscow")
NETWORKS = ("ok", "max", "tg")

OK_APP, OK_SECRET, OK_TOKEN = "CBABENCHAPP", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "tkn_bench_access_token"
OK_RPS = 10  # the OK sandbox's default application window (sandbox.ok_server.server.DEFAULT_RPS)
MAX_TOKEN, MAX_RPS = "max_bench_bot_token_0123456789abcdef", 30  # sandbox.max_server DEFAULT_RPS
TG_API_ID, TG_API_HASH = 611336, "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TG_PAUSE = 1.0  # the reader's default extra.pause (gospublic.telegram.client.DEFAULT_PAUSE)


@dataclass
class NetworkResult:
    """One network's run (see the module docstring); ``seconds`` is on ``clock``."""

    network: str
    pages: int
    batches: int
    requests: int  # what the client or reader counted (its BatchResult's "requests")
    sandbox_requests: int  # what the sandbox counted
    rate_limit_errors: int  # the sandbox's rate-limit answers (OK error 8, MAX 429, FLOOD_WAIT)
    wall_seconds: float
    seconds: float  # on the clock the ceiling is kept on
    clock: str  # "wall" or "sandbox"
    ceiling: float  # requests a second
    ceiling_source: str
    client_rate: float  # the pace the client was given (requests a second)
    calls: dict[str, int] = field(default_factory=dict)  # answers landed, per method
    sandbox_errors: dict[str, int] = field(default_factory=dict)  # every error the sandbox answered
    manifest_status: str = ""

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def share(self) -> float:
        return self.requests_per_second / self.ceiling

    @property
    def wall_requests_per_second(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "requests_per_second": round(self.requests_per_second, 3),
            "share": round(self.share, 4),
            "wall_requests_per_second": round(self.wall_requests_per_second, 1),
        }


# -- the world --------------------------------------------------------------------------------


def generate(preset: str, out: Path) -> Path:
    """The OK, MAX and Telegram worlds of ``preset`` in ``out`` (each kept when already there)."""
    from sandbox.generator import params
    from sandbox.generator.max_pages import generate_max
    from sandbox.generator.ok_pages import generate_ok
    from sandbox.generator.tg_pages import generate_tg

    p = params.build(preset, MONTH, 42)
    for network, run in (("ok", generate_ok), ("max", generate_max), ("tg", generate_tg)):
        if not (out / network / "manifest.json").exists():
            run(p, str(out))
    return out


def world_pages(data: Path, network: str) -> list[str]:
    """The network's pages as the registry names them (``screen_name``), sorted as ``plan`` sorts."""
    column = {"ok": "gid", "max": "chat_id", "tg": "username"}[network]
    with (data / network / "truth" / "pages.csv").open(encoding="utf-8") as handle:
        return sorted({row[column] for row in csv.DictReader(handle)})


def batches(pages: Sequence[str], spec: Any) -> list[dict[str, Any]]:
    """The pages in the network's batches, as its ``plan`` gives them."""
    from gospublic.infra.network_day import window_start_for

    start = window_start_for(DAY, spec.window_days).isoformat()
    size = spec.batch_pages
    return [
        {"batch": n, spec.batch_field: list(pages[i : i + size]), "window_start": start}
        for n, i in enumerate(range(0, len(pages), size))
    ]


def run_moment(hour: int, minute: int) -> datetime:
    """The day's scheduled run (Moscow time) as the logical date a task gets."""
    return datetime.combine(DAY, dtime(hour, minute), MOSCOW).astimezone(UTC)


# -- sandboxes in their own process ------------------------------------------------------------


def start_server(command: list[str], log: Path) -> tuple[subprocess.Popen[str], str]:
    """``python -m sandbox <command>`` in its own process; its output goes to ``log``."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", *command],
            stdout=out, stderr=subprocess.STDOUT, text=True, cwd=PROJECT,
        )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            return process, match.group(1)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the sandbox did not start: {log.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` (Airflow connections) for the block, then restored."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def lake_connection(root: Path) -> str:
    return json.dumps({"conn_type": "fs", "extra": {"path": str(root)}})


# -- one network --------------------------------------------------------------------------------


@dataclass
class Run:
    """What a network's extraction gave: its batches' results and its timing."""

    results: list[dict[str, Any]]
    wall_seconds: float
    status: str


def extract_all(
    extract: Callable[[dict[str, Any]], Any],
    day: Any,
    plan: list[dict[str, Any]],
    lake_root: Path,
    run_id: str,
) -> Run:
    """Every batch through ``extract`` one after another (timed), then the run's manifest."""
    from gospublic.infra.lake import LocalLake

    started = time.perf_counter()
    results = [dict(extract(batch)) for batch in plan]
    wall = time.perf_counter() - started
    manifest = day.land(LocalLake(lake_root), DAY, run_id, results)
    return Run(results, wall, str(manifest["status"]))


def landed_calls(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    calls: dict[str, int] = {}
    for result in results:
        for method, n in result["calls"].items():
            calls[method] = calls.get(method, 0) + int(n)
    return calls


def run_ok(data: Path, pages: list[str], scratch: Path) -> NetworkResult:
    from gospublic.ok import daily, steps

    when = run_moment(23, 35)
    spec = ["serve-ok", "--data", str(data), "--port", "0", "--now", when.isoformat()]
    spec += ["--app", f"{OK_APP}:{OK_SECRET}:{OK_RPS}", "--token", OK_TOKEN]
    process, base_url = start_server(spec, scratch / "ok-server.log")
    connection = {
        "conn_type": "http", "host": base_url, "login": OK_APP, "password": OK_TOKEN,
        "extra": {"application_secret_key": OK_SECRET, "rps": OK_RPS},
    }  # fmt: skip
    lake = scratch / "lake-ok"
    env = {
        "AIRFLOW_CONN_GOSPUBLIC_OK": json.dumps(connection),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": lake_connection(lake),
    }
    try:
        with environment(env):
            run = extract_all(
                lambda batch: steps.extract(batch, when, "bench-ok"),  # type: ignore[arg-type]
                daily.DAY, batches(pages, daily.SPEC), lake, "bench-ok",
            )  # fmt: skip
        stats = requests.get(f"{base_url}/_sandbox/stats", timeout=10).json()
    finally:
        stop_server(process)
    return _http_result("ok", pages, run, stats, rate_code="8", rate=OK_RPS, source=OK_CEILING)


def run_max(data: Path, pages: list[str], scratch: Path) -> NetworkResult:
    from gospublic.max import daily, steps

    when = run_moment(23, 40)
    spec = ["serve-max", "--data", str(data), "--port", "0", "--now", when.isoformat()]
    spec += ["--token", f"{MAX_TOKEN}:{MAX_RPS}"]
    process, base_url = start_server(spec, scratch / "max-server.log")
    connection = {"conn_type": "http", "host": base_url, "password": MAX_TOKEN, "extra": {"rps": MAX_RPS}}
    lake = scratch / "lake-max"
    env = {
        "AIRFLOW_CONN_GOSPUBLIC_MAX": json.dumps(connection),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": lake_connection(lake),
    }
    try:
        with environment(env):
            run = extract_all(
                lambda batch: steps.extract(batch, when, "bench-max"),  # type: ignore[arg-type]
                daily.DAY, batches(pages, daily.SPEC), lake, "bench-max",
            )  # fmt: skip
        stats = requests.get(f"{base_url}/_sandbox/stats", timeout=10).json()
    finally:
        stop_server(process)
    return _http_result("max", pages, run, stats, rate_code="429", rate=MAX_RPS, source=MAX_CEILING)


OK_CEILING = (
    "the OK sandbox's one-second window per application (--app KEY:SECRET:10, its default and what "
    "make demo registers; error 8 over it); OK publishes no per-second limit"
)
MAX_CEILING = (
    "30 requests a second per bot token: the rate GREEN-API's MAX Bot API FAQ quotes, enforced by the "
    "MAX sandbox's one-second window (--token TOKEN:30, its default; 429 over it)"
)
TG_CEILING = (
    "the reader's own pace, one request per extra.pause (1 s, the default) on the sandbox's clock: "
    "Telegram publishes no rate and the sandbox boundary enforces none (FLOOD_WAIT only when planned)"
)


def _http_result(
    network: str,
    pages: list[str],
    run: Run,
    stats: Mapping[str, Any],
    *,
    rate_code: str,
    rate: float,
    source: str,
) -> NetworkResult:
    return NetworkResult(
        network=network,
        pages=len(pages),
        batches=len(run.results),
        requests=sum(int(r["requests"]) for r in run.results),
        sandbox_requests=int(stats["total_requests"]),
        rate_limit_errors=int(stats["errors"].get(rate_code, 0)),
        wall_seconds=round(run.wall_seconds, 3),
        seconds=round(run.wall_seconds, 3),
        clock="wall",
        ceiling=float(rate),  # the sandbox's window, and the client's pace
        ceiling_source=source,
        client_rate=float(rate),
        calls=landed_calls(run.results),
        sandbox_errors={str(k): int(v) for k, v in stats["errors"].items()},
        manifest_status=run.status,
    )


def telegram_session() -> str:
    """A StringSession of a logged-in account the sandbox accepts (a data centre and an auth key)."""
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes((11 + i * 7) % 256 for i in range(256)))
    return str(session.save())


def run_tg(data: Path, pages: list[str], scratch: Path) -> NetworkResult:
    from gospublic.telegram import daily, steps
    from sandbox.tg_sandbox import TelegramSandbox

    when = run_moment(23, 45)
    session = telegram_session()
    sandbox = TelegramSandbox.from_data(data, api_id=TG_API_ID, api_hash=TG_API_HASH, sessions=[session])
    sandbox.set_clock(when)
    connection = {
        "conn_type": "generic", "login": str(TG_API_ID), "password": TG_API_HASH,
        "extra": {"session": session, "pause": TG_PAUSE},
    }  # fmt: skip
    lake = scratch / "lake-tg"
    env = {
        "AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO": json.dumps(connection),
        "AIRFLOW_CONN_GOSPUBLIC_LAKE": lake_connection(lake),
    }
    options = sandbox.reader_options()
    clock_start = sandbox.clock.now
    with environment(env):
        run = extract_all(
            lambda batch: steps.extract(batch, when, "bench-tg", **options),  # type: ignore[arg-type]
            daily.DAY, batches(pages, daily.SPEC), lake, "bench-tg",
        )  # fmt: skip
    return NetworkResult(
        network="tg",
        pages=len(pages),
        batches=len(run.results),
        requests=sum(int(r["requests"]) for r in run.results),
        sandbox_requests=sum(sandbox.requests.values()),
        rate_limit_errors=len(sandbox.flood_waits) + len(sandbox.early),
        wall_seconds=round(run.wall_seconds, 3),
        seconds=round(sandbox.clock.now - clock_start, 3),
        clock="sandbox",
        ceiling=1.0 / TG_PAUSE,
        ceiling_source=TG_CEILING,
        client_rate=1.0 / TG_PAUSE,
        calls=landed_calls(run.results),
        sandbox_errors={"FLOOD_WAIT": len(sandbox.flood_waits), "sent_during_wait": len(sandbox.early)},
        manifest_status=run.status,
    )


RUNNERS: dict[str, Callable[[Path, list[str], Path], NetworkResult]] = {
    "ok": run_ok,
    "max": run_max,
    "tg": run_tg,
}
# Requests a page takes (one topics call, a getInfo per 100 pages; MAX's chat and messages):
# how many pages the ceiling reads in --seconds. Telegram's pace costs no wall time: every channel.
REQUESTS_PER_PAGE = {"ok": 1.02, "max": 2.0}
CEILINGS = {"ok": float(OK_RPS), "max": float(MAX_RPS)}


def pages_for(network: str, available: list[str], seconds: float, cap: int | None) -> list[str]:
    """The first pages (in ``plan``'s order) the ceiling reads in about ``seconds``."""
    if network in REQUESTS_PER_PAGE:
        size = max(1, int(CEILINGS[network] * seconds / REQUESTS_PER_PAGE[network]))
    else:
        size = len(available)
    return available[: min(size, cap or size)]


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in load]}


def measure(
    data: Path, networks: Sequence[str], seconds: float, cap: int | None, scratch: Path
) -> list[dict[str, Any]]:
    """Run each network in turn; its result with the date and the machine's load around it."""
    from gospublic.infra.connections import get_connection

    get_connection("gospublic_lake")  # Airflow's import, once, before any clock starts
    measured = []
    for network in networks:
        pages = pages_for(network, world_pages(data, network), seconds, cap)
        before = machine()
        result = RUNNERS[network](data, pages, scratch)
        row = result.as_dict()
        row.update(measured_on=datetime.now(UTC).date().isoformat(), load_before=before, load_after=machine())
        measured.append(row)
        print(
            f"{network:4} {result.pages:5d} pages {result.requests:6d} requests in {result.seconds:7.1f} s "
            f"({result.clock}; {result.wall_seconds:.1f} s wall) = {result.requests_per_second:6.2f}/s of "
            f"{result.ceiling:4.0f}/s: {result.share:6.1%}; sandbox: {result.sandbox_requests} requests, "
            f"{result.rate_limit_errors} rate-limit answers",
            flush=True,
        )
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--preset", default="national", help="generator preset of the worlds")
    parser.add_argument("--seconds", type=float, default=90.0, help="OK, MAX: target duration at the ceiling")
    parser.add_argument("--pages", type=int, help="at most this many pages a network")
    parser.add_argument("--data", type=Path, help="generate the worlds here once, and reuse them")
    parser.add_argument("--network", action="append", choices=NETWORKS, help="run only these")
    parser.add_argument("--out", type=Path, default=Path("var/bench/extract_networks.json"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-networks-") as folder:
        scratch = Path(folder)
        data = generate(args.preset, args.data or scratch / "data")
        measured = measure(data, args.network or list(NETWORKS), args.seconds, args.pages, scratch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    by_network = {r["network"]: r for r in measured}
    if args.network and args.out.exists():  # a partial run keeps the other networks' numbers
        kept = {r["network"]: r for r in json.loads(args.out.read_text()) if r["network"] not in by_network}
        by_network = {**kept, **by_network}
    ordered = [by_network[n] for n in NETWORKS if n in by_network]
    args.out.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
