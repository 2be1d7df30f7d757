"""Benchmark: share of the VK rate-limit ceiling the extractor reaches against the sandbox.

For each token set, a fresh sandbox server runs in its own process (so it does not compete with
the client for the GIL) and one batch of pages goes through ``extract_batch`` — the code a
mapped ``vk_pages`` task runs — into a local lake. Reported per scenario: API calls made, wall
time, calls a second, the ceiling (user token: 3 requests/s × 25 calls; service token: its rate)
and the share reached, plus the sandbox's own count of requests and error-6 answers.

    .venv/bin/python -m bench.extract [--subset 5000] [--scenario NAME]... [--out var/bench/extract.json]

By default the user-token scenarios extract a 5,000-page subset of a generated 5,400-page region
(about 8 calls a page with the 7-day window: some nine minutes at one token, three at three).
The service-token scenario, selected with ``--scenario``, gets as many pages as its ceiling
reads in about ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import requests

from gospublic.infra.lake import LocalLake
from gospublic.vk.client import VkClient, VkConfig, VkToken
from gospublic.vk.extract import extract_batch

MONTH = "2025-11"
DAY = date(2025, 11, 20)
SCENARIOS = {
    "1 user token": ["usr_bench1"],
    "3 user tokens": ["usr_bench1", "usr_bench2", "usr_bench3"],
    "1 service token @20": ["svc_bench1:20"],
}
DEFAULT_SCENARIOS = ("1 user token", "3 user tokens")


@dataclass
class Result:
    scenario: str
    pages: int
    calls: int
    requests: int
    seconds: float
    ceiling: float
    rate_errors: int

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds

    @property
    def share(self) -> float:
        return self.calls_per_second / self.ceiling

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "calls_per_second": round(self.calls_per_second, 1),
            "share": round(self.share, 3),
        }


def generate(pages: int, out: Path) -> Path:
    from sandbox.generator import params
    from sandbox.generator.pipeline import generate as run

    if not (out / "manifest.json").exists():
        run(params.build("region", MONTH, 7, pages=pages, incidents=1000, start_days_before=14), str(out))
    return out


def start_server(data: Path, specs: list[str], now: datetime, log: Path) -> tuple[subprocess.Popen, str]:
    """The sandbox in its own process; its output goes to ``log`` (a pipe left unread would block it)."""
    command = [sys.executable, "-m", "sandbox", "serve-vk", "--data", str(data), "--port", "0"]
    command += ["--now", now.isoformat()]
    for spec in specs:
        command += ["--token", spec]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            return process, match.group(1)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the VK sandbox did not start: {log.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def tokens(specs: list[str]) -> tuple[VkToken, ...]:
    out = []
    for spec in specs:
        name, _, rps = spec.partition(":")
        if name.startswith("usr_"):
            out.append(VkToken("user", name, label=name[:5]))
        else:
            out.append(VkToken("service", name, rps=float(rps or 20), label=name[:5]))
    return tuple(out)


def run_scenario(name: str, specs: list[str], data: Path, group_ids: list[int], lake_root: Path) -> Result:
    now = datetime.combine(DAY, dtime(20, 30), UTC)
    process, base_url = start_server(data, specs, now, lake_root.parent / f"server-{len(specs)}.log")
    try:
        config = VkConfig(tokens(specs), base_url)
        client = VkClient(config)
        started = time.perf_counter()
        outcome = extract_batch(
            client,
            LocalLake(lake_root / name.replace(" ", "_")),
            group_ids=group_ids,
            dt=DAY,
            window_start=now - timedelta(days=7),
            run_id=f"bench-{int(time.time())}",
            batch=0,
        )
        seconds = time.perf_counter() - started
        stats = requests.get(f"{base_url}/_sandbox/stats", timeout=10).json()
    finally:
        stop_server(process)
    return Result(
        scenario=name,
        pages=len(group_ids),
        calls=sum(outcome.calls.values()),
        requests=stats["total_requests"],
        seconds=seconds,
        ceiling=config.ceiling,
        rate_errors=int(stats["errors"].get("6", 0)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5400, help="pages in the generated region")
    parser.add_argument("--subset", type=int, default=5000, help="pages a user-token scenario extracts")
    parser.add_argument("--seconds", type=float, default=60.0, help="service token: target duration")
    parser.add_argument("--data", type=Path, help="reuse a generated data folder")
    parser.add_argument("--out", type=Path, default=Path("var/bench/extract.json"))
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only these")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-extract-") as scratch:
        data = generate(args.pages, args.data or Path(scratch) / "data")
        groups = [json.loads(line) for line in (data / "vk" / "groups.jsonl").open()]
        group_ids = [
            g["id"] for g in groups if "_sandbox_error" not in g and "_sandbox_deactivated_at" not in g
        ]
        results = []
        for name in args.scenario or list(DEFAULT_SCENARIOS):
            ceiling = VkConfig(tokens(SCENARIOS[name])).ceiling
            size = args.subset if name.endswith(("user token", "user tokens")) else ceiling * args.seconds / 8
            pages = group_ids[: max(1, int(size))]
            result = run_scenario(name, SCENARIOS[name], data, pages, Path(scratch) / "lake")
            results.append(result)
            print(
                f"{name:22} {result.calls:6d} calls in {result.seconds:6.1f} s"
                f" = {result.calls_per_second:6.1f}/s"
                f" of {result.ceiling:5.0f}/s ceiling: {result.share:6.1%}"
                f" ({result.requests} requests, {result.rate_errors} error-6 answers)",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    measured = {r.scenario: r.as_dict() for r in results}
    if args.scenario and args.out.exists():  # a partial run keeps the other scenarios' numbers
        kept = [r for r in json.loads(args.out.read_text()) if r["scenario"] not in measured]
        measured = {**{r["scenario"]: r for r in kept}, **measured}
    args.out.write_text(json.dumps(list(measured.values()), indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
