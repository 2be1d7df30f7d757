"""No preset can publish a non-finite score (issue 24): every preset of config/methodologies rates
and publishes a month with holes — bodies with no ПОС message, with no IM message, with every share
empty, with shares stored as NaN, with messages never answered — and every rated score, stored and
published, is a finite number. Each preset must also meet a hole (a rated body with a missing
indicator), or the test would prove nothing. DuckDB and PostgreSQL; a local lake.

The month is tests/rating/month.py's (``core.fct_incident_timing`` for the time measures,
``mart.rating_base`` for the expressions), with bodies of every kind and registry group the presets
group by.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest

from gospublic.infra import settings
from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from tests.rating.month import MONTH, Body, im, pos, seed_month
from transforms.methodology import load_all

PRESETS = sorted(load_all(settings.project_home()))
NOT_A_NUMBER = re.compile(
    r"(^|[;,\t])\s*\"?[-+]?(nan|inf|infinity)\"?\s*($|[;,\t])", re.IGNORECASE | re.MULTILINE
)
GROUPS = [("ОИВ", "ОИВ"), ("ОМСУ", "ОМСУ города"), ("ОМСУ", "ОМСУ районов"), ("РСО-УК", "РСО-УК")]
NAN = float("nan")
FULL = {
    "pages": 1, "posts_per_week": 3.0, "compliance_score": 80.0, "photo_video_share": 0.5,
    "engagement_rate_pct": 2.0, "replied_share": 0.6, "formal_share": 0.2, "no_specifics_share": 0.3,
    "template_share": 0.1, "impolite_share": 0.0, "redirect_share": 0.1, "answers_assessed": 4,
    "satisfied_share": 0.7, "satisfaction_avg": 4.2, "pos_satisfied_share": 0.6, "pos_satisfaction_avg": 4.0,
    "im_satisfied_share": 0.8, "im_rated": 6, "pos_rated": 6,
}  # fmt: skip
SHARES = [k for k, v in FULL.items() if isinstance(v, float)]


def answered(source: str, day: int) -> object:
    """A message of Monday the 17th (+ ``day``) answered an hour after 10:00."""
    make = im if source == "im" else pos
    return make(f"2025-11-{17 + day} 10:00", f"2025-11-{17 + day} 11:00", 1, 0)


def unanswered(source: str, day: int) -> object:
    make = im if source == "im" else pos
    return make(f"2025-11-{17 + day} 10:00")


def region() -> list[Body]:
    """Per kind and registry group: a body with everything, one with no ПОС message and no shares,
    one with no IM message and no shares, one whose shares are NaN and whose messages are never
    answered, and one with a page and nothing else."""
    bodies = []
    for n, (kind, group) in enumerate(GROUPS):
        both = tuple(answered(s, d) for s in ("im", "pos") for d in range(3))
        bodies += [
            Body(f"g{n}-full", kind, group, dict(FULL), both),
            Body(f"g{n}-no-pos", kind, group, {"pages": 1}, tuple(answered("im", d) for d in range(3))),
            Body(f"g{n}-no-im", kind, group, {"pages": 1}, tuple(answered("pos", d) for d in range(3))),
            Body(
                f"g{n}-nan",
                kind,
                group,
                {"pages": 1, **{k: NAN for k in SHARES}},
                tuple(unanswered(s, d) for s in ("im", "pos") for d in range(3)),
            ),
            Body(f"g{n}-page-only", kind, group, {"pages": 1}),
        ]
    return bodies


@pytest.fixture
def local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE",
        json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}),
    )
    return Lake.from_connection()


def _no_constant(name: str) -> float:
    raise AssertionError(f"a published JSON holds {name}")


@pytest.mark.parametrize("preset", PRESETS)
def test_no_preset_publishes_a_non_finite_score(warehouse: Warehouse, local_lake: Lake, preset: str) -> None:
    from gospublic.rating.steps import rate

    assert len(PRESETS) >= 5, PRESETS
    seed_month(warehouse, region())
    (result,) = rate(
        f"{MONTH:%Y-%m}", [preset], accept_incomplete_inputs=True,
        incomplete_inputs_reason="a month with holes: groups may be small",
    )  # fmt: skip
    assert result["status"] == "published", result
    bodies = warehouse.query(
        "SELECT org_id, is_rated, score FROM mart.rating_monthly WHERE snapshot_id = :s",
        {"s": result["snapshot_id"]},
    )
    rated = [b for b in bodies if b["is_rated"]]
    assert rated, f"{preset} rated no body of the month"
    bad = [(b["org_id"], b["score"]) for b in rated if b["score"] is None or not math.isfinite(b["score"])]
    assert not bad, f"{preset}: non-finite scores {bad}"
    rows = warehouse.query(
        "SELECT org_id, indicator_id, raw_value, points, weight FROM mart.rating_indicator "
        "WHERE snapshot_id = :s",
        {"s": result["snapshot_id"]},
    )
    assert all(math.isfinite(r["points"]) and math.isfinite(r["weight"]) for r in rows), preset
    # the holes reached the scoring: a rated body lacks a value of an indicator the preset scores
    indicator_ids = {r["indicator_id"] for r in rows} | set(_indicators(preset))
    scored = {(r["org_id"], r["indicator_id"]) for r in rows if r["raw_value"] is not None}
    holes = [(b["org_id"], i) for b in rated for i in indicator_ids if (b["org_id"], i) not in scored]
    assert holes, f"{preset}: every rated body had every indicator — the month tested no hole"

    published = [obj.key for obj in local_lake.list(result["path"])]
    assert published, result["path"]
    for key in published:
        if key.endswith(".json"):
            json.loads(local_lake.get_bytes(key), parse_constant=_no_constant)
        if key.endswith(".csv"):
            for column, value in _score_cells(local_lake.get_bytes(key).decode("utf-8-sig")):
                assert not NOT_A_NUMBER.fullmatch(value.strip()), (key, column, value)


def _score_cells(text: str) -> list[tuple[str, str]]:
    """Every cell of a published CSV in a column of scores or points (its header names «балл» or
    score)."""
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = rows[0]
    columns = [n for n, name in enumerate(header) if "балл" in name.lower() or "score" in name.lower()]
    assert columns, header
    return [(header[n], row[n]) for row in rows[1:] for n in columns if n < len(row)]


def _indicators(preset: str) -> list[str]:
    return [i.id for i in load_all(settings.project_home())[preset].indicators]
