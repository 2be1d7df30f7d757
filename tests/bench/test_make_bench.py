"""`make bench` measures both scales: `$(or $(SCALES),region,national)` had given `region` alone
(make's `or` takes its commas as separate arguments), so the national month was never re-measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.pipeline import child_env

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


def test_make_bench_installs_the_browser_first() -> None:
    """The rating stage publishes PDFs with Chromium: a fresh machine has none, and without it the
    publication skips them (``auto``), so the stage measured less work than it names."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "bench-pipeline"],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = dry.stdout.splitlines()
    browser = next(i for i, line in enumerate(lines) if "command -v chromium" in line)
    pipeline = next(i for i, line in enumerate(lines) if "-m bench.pipeline" in line)
    assert browser < pipeline


def test_stage_children_require_the_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage child prints the PDFs or fails (``on``), whatever the caller's environment says."""
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "auto")
    assert child_env()["GOSPUBLIC_PUBLICATION_PDF"] == "on"
