"""docs/benchmarks.md's national month against the reference sitting and against issue 29's targets."""

from __future__ import annotations

from typing import Any

from bench.report import render


def _row(stage: str, seconds: float, rows: int, *, scale: str, peak: float, **extra: Any) -> dict[str, Any]:
    return {
        "scale": scale, "engine": "duckdb", "stage": stage, "runs": 1, "seconds": seconds, "rows": rows,
        "rows_per_second": round(rows / seconds), "peak_rss_mb": peak, "measured_on": "2026-12-04", **extra,
    }  # fmt: skip


def _sitting(seconds: dict[str, float], ceilings: dict[str, float], peak: float) -> list[dict[str, Any]]:
    """One engine's national stages (and a region beside them, 100× fewer rows, 10× less time)."""
    rows = {"incidents": 2_000_000, "vk_load": 20_000_000, "marts": 2_500_000, "rating": 22_000}
    out = []
    for stage, s in seconds.items():
        out.append(_row(stage, s / 10, rows[stage] // 100, scale="region", peak=300.0))
    for stage, s in seconds.items():
        out.append(_row(stage, s, rows[stage], scale="national", peak=peak))
        if stage in ceilings:
            out.append(
                _row(f"ceiling:{stage}", ceilings[stage], rows[stage], scale="national", peak=900.0,
                     share_of_ceiling=round(ceilings[stage] / s, 3))
            )  # fmt: skip
    return out


MACHINE = {"cpus": 2, "memory_mb": 24000, "python": "3.11.7", "system": "Linux"}


def test_the_national_month_is_shown_against_the_reference_and_the_targets() -> None:
    before = {"month": "2025-11", "machine": MACHINE, "stages": [
        {**r, "measured_on": "2026-12-01"}
        for r in _sitting({"incidents": 80.0, "vk_load": 170.0, "marts": 90.0, "rating": 20.0},
                          {"incidents": 5.0, "vk_load": 10.0}, 1990.0)
    ]}  # fmt: skip
    now_stages = _sitting(
        {"incidents": 40.0, "vk_load": 17.0, "marts": 12.0, "rating": 4.0},
        {"incidents": 5.0, "vk_load": 10.0},
        2100.0,
    )
    now_stages.append(
        _row("baseline:incidents", 730.0, 850_000, scale="national", peak=10_000.0, agreement={})
    )
    text = render({"month": "2025-11", "machine": MACHINE, "stages": now_stages}, reference=before)

    assert "## National month against the reference sitting (2026-12-01)" in text
    assert "| duckdb | vk_load | 170.0 | 17.0 | 10.00× | 5.9% | 58.8% | 1990 | 2100 |" in text
    assert "| duckdb | **lake → published rating** | 360.0 | 73.0 | 4.93× | | | | |" in text
    assert "| duckdb | lake → published rating ≤ 75 s | 73.0 s; 10.00× the baseline | met |" in text
    assert "| duckdb | incidents ≥ 50% of its ceiling | 12.5% | **not met** |" in text
    assert "| duckdb | vk_load ≥ 50% of its ceiling | 58.8% | met |" in text
    assert "| duckdb | peak RSS ≤ 2048 MB | 2100 MB (incidents) | **not met** |" in text
    assert "| duckdb | slowest stage | incidents: 40.0 s, 55% of the month | |" in text
    # the region took a tenth of the time for a hundredth of the rows: growth 0.1 per row
    growth = "| duckdb | vk_load: region → national growth linear or better (seconds × ÷ rows × ≤ 1) |"
    assert f"{growth} 0.10 | met |" in text


def test_without_a_reference_the_targets_stand_alone() -> None:
    stages = _sitting({"incidents": 100.0, "vk_load": 200.0, "marts": 50.0, "rating": 10.0}, {}, 1000.0)
    text = render({"month": "2025-11", "machine": MACHINE, "stages": stages})
    assert "against the reference sitting" not in text
    assert "| duckdb | lake → published rating ≤ 75 s | 360.0 s | **not met** |" in text
    assert "of its ceiling" not in text  # no ceiling measured: no share claimed
