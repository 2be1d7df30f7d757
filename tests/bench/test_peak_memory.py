"""A stage child's peak memory is its own: ``ru_maxrss`` keeps the peak of the process that
started it (Linux carries it across fork and exec), so every stage of a bench whose parent had
landed the national month reported the parent's peak, not the stage's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PARENT_MB = 400


def test_a_child_reports_its_own_peak_not_its_parents() -> None:
    held = bytearray(PARENT_MB * 2**20)
    for i in range(0, len(held), 4096):
        held[i] = 1  # resident, so the parent's peak is at least PARENT_MB
    code = (
        "from bench.incidents import peak_rss_mb, TreePeak\n"
        "with TreePeak() as t: pass\n"
        "print(peak_rss_mb(), t.peak_mb)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    own, tree = (float(x) for x in done.stdout.split())
    assert own < PARENT_MB / 2, f"the child reported {own:.0f} MB: its parent's peak"
    assert tree < PARENT_MB / 2, f"TreePeak reported {tree:.0f} MB: its parent's peak"
    assert held[0] == 1
