"""`make bench` measures both scales: `$(or $(SCALES),region,national)` had given `region` alone
(make's `or` takes its commas as separate arguments), so the national month was never re-measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _pipeline_command(*args: str) -> str:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "bench-pipeline", *args],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    (line,) = [line for line in dry.stdout.splitlines() if "-m bench.pipeline" in line]
    return line


def test_make_bench_measures_region_and_national() -> None:
    assert _pipeline_command().split("--scales", 1)[1].split() == ["region,national"]


def test_scales_narrows_it() -> None:
    assert _pipeline_command("SCALES=region").split("--scales", 1)[1].split() == ["region"]
