"""Issue 23 through the lake (moto S3) and the warehouse on both engines: no column, row or file
is lost in silence, and every message names the real problem."""

from __future__ import annotations

import json

import pytest

from gospublic.incidents.files import ingest_landed
from gospublic.infra.pseudonym_key import pseudonymizer
from tests.incidents.conftest import IncidentWorld
from tests.incidents.test_incident_files import sample_csv, write_csv
from transforms.incident_spec import header_key

pytestmark = [pytest.mark.s3]


def ingest(world: IncidentWorld):
    return ingest_landed(world.lake, world.warehouse, pseudonymize=pseudonymizer())


def data_rows(rows: list[list[str]], *, encoding: str, separator: str) -> bytes:
    """CSV lines of ``rows`` without a header."""
    return write_csv(["x"], rows, encoding=encoding, separator=separator).split(b"\n", 1)[1]


def field_column(header: list[str], field: str, source: str = "im") -> int:
    """The position of ``field``'s column in ``header``, whichever alias the export used."""
    from gospublic.incidents.load import export_spec

    names = {header_key(n) for f in export_spec().sources[source].fields if f.name == field for n in f.names}
    return next(i for i, h in enumerate(header) if header_key(h) in names)


# -- 1. headers -----------------------------------------------------------------------------------


def test_a_rating_header_written_with_e_for_yo_loads_its_ratings(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world)
    rating = field_column(header, "satisfaction")
    header = list(header)
    header[rating] = "Удовлетворенность"  # the alias is «Удовлетворённость»
    rated = sum(1 for row in rows if row[rating].strip())
    assert rated > 0
    world.drop_bytes("im_58_20251110.csv", write_csv(header, rows, encoding=encoding, separator=separator))

    (loaded,) = ingest(world)["loaded"]

    assert "satisfaction" in loaded["columns_read"]
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event WHERE satisfaction IS NOT NULL") > 0
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event WHERE satisfied IS NOT NULL") > 0


def test_unrecognised_and_changed_columns_are_recorded_and_counted(incident_world: IncidentWorld) -> None:
    from gospublic.incidents.steps import publish

    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world)
    world.drop_bytes(
        "im_58_20251110.csv", write_csv(header, rows[:20], encoding=encoding, separator=separator)
    )
    first = ingest(world)
    rating = field_column(header, "satisfaction")
    misspelt = [("Оценка отвта" if i == rating else h) for i, h in enumerate(header)] + ["Примечание"]
    world.drop_bytes(
        "im_58_20251111.csv",
        write_csv(misspelt, [[*r, "x"] for r in rows[20:40]], encoding=encoding, separator=separator),
    )

    second = ingest(world)

    assert first["loaded"][0]["columns_unrecognised"] == [] and first["loaded"][0]["columns_changed"] is None
    (loaded,) = second["loaded"]
    assert loaded["columns_unrecognised"] == [
        f"column {rating + 1} 'Оценка отвта' (closest known: 'Оценка ответа')",
        f"column {len(header) + 1} 'Примечание'",
    ]
    assert loaded["columns_changed"] == "-satisfaction"
    recorded = wh.query(
        "SELECT columns_read, columns_unrecognised, columns_changed FROM audit.export_file "
        "WHERE file = 'im_58_20251111.csv'"
    )
    assert recorded == [
        {
            "columns_read": ", ".join(loaded["columns_read"]),
            "columns_unrecognised": "; ".join(loaded["columns_unrecognised"]),
            "columns_changed": "-satisfaction",
        }
    ]
    totals = publish(second, resolved=0)  # ingest_landed returns the task's IngestResult
    assert (totals["files_with_unrecognised_columns"], totals["files_with_changed_columns"]) == (1, 1)


# -- 2. rows with the wrong number of fields --------------------------------------------------------


def test_short_and_long_csv_rows_are_quarantined_alone(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world)
    rows = rows[:30]
    width = len(header)
    short = rows[4][: width - 2]  # the answer text and the rating cut off
    long = [*rows[9], "лишнее"]
    body = [*rows[:4], short, *rows[5:9], long, *rows[10:]]
    world.drop_bytes("im_58_20251110.csv", write_csv(header, body, encoding=encoding, separator=separator))

    summary = ingest(world)

    (loaded,) = summary["loaded"]
    assert loaded["rows_read"] == 30
    assert (
        loaded["rows_read"] == loaded["rows_loaded"] + loaded["rows_quarantined"] + loaded["rows_duplicate"]
    )
    quarantined = wh.query(
        "SELECT row_number, column_name, reason, value FROM audit.quarantine WHERE row_number IN (6, 11) "
        "ORDER BY row_number"
    )
    assert quarantined == [
        {
            "row_number": 6,
            "column_name": None,
            "reason": f"{width - 2} fields where the header has {width} (line 6): the row is cut short",
            "value": None,
        },
        {
            "row_number": 11,
            "column_name": None,
            "reason": f"{width + 1} fields where the header has {width} (line 11): "
            f"a {separator!r} inside a text that is not quoted?",
            "value": None,
        },
    ]
    raw = wh.query("SELECT row_number, line_number, raw_text FROM restricted.quarantine_raw_row ORDER BY 1")
    assert [(r["row_number"], r["line_number"]) for r in raw] == [(6, 6), (11, 11)]
    assert (
        raw[0]["raw_text"]
        == data_rows([short], encoding=encoding, separator=separator).decode(encoding).rstrip()
    )
    ids = {r["incident_id"] for r in wh.query("SELECT incident_id FROM core.fct_incident_event")}
    incident = field_column(header, "incident_id")
    assert rows[4][incident] not in ids and rows[9][incident] not in ids
    assert rows[3][incident] in ids and rows[10][incident] in ids


# -- 3. objects outside incoming/<source>/ -----------------------------------------------------------


def test_objects_outside_a_source_folder_are_rejected_with_a_reason(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world)
    content = write_csv(header, rows[:5], encoding=encoding, separator=separator)
    world.lake.put_bytes("incoming/im_58_20251110.csv", content)
    world.lake.put_bytes("incoming/exports/pos_58_20251110.csv", content + b"\n")
    world.lake.put_bytes("incoming/im/.~lock.im_58_20251110.csv#", b"lock")

    summary = ingest(world)

    assert world.keys("incoming/") == []
    assert summary["loaded"] == []
    assert sorted(r["landed_key"] for r in summary["rejected"]) == [
        "incoming/exports/pos_58_20251110.csv",
        "incoming/im/.~lock.im_58_20251110.csv#",
        "incoming/im_58_20251110.csv",
    ]
    report = json.loads(world.lake.get_bytes("rejected/im_58_20251110.csv.report.json"))
    assert report["kind"] == "misplaced"
    assert report["reason"].startswith(
        "incoming/im_58_20251110.csv: placed directly in incoming/; exports go into incoming/im/"
    )
    assert "incoming/im/" in report["reason_ru"]
    other = json.loads(world.lake.get_bytes("rejected/exports/pos_58_20251110.csv.report.json"))
    assert other["reason"].startswith(
        "incoming/exports/pos_58_20251110.csv: placed in incoming/exports/, which is not a source's folder; "
        "exports go into incoming/pos/"
    )
    recorded = wh.query(
        "SELECT source, landed_key, state, reject_kind FROM audit.export_file ORDER BY landed_key"
    )
    assert recorded == [
        {"source": "pos", "landed_key": "incoming/exports/pos_58_20251110.csv", "state": "rejected",
         "reject_kind": "misplaced"},
        {"source": "im", "landed_key": "incoming/im/.~lock.im_58_20251110.csv#", "state": "rejected",
         "reject_kind": "misplaced"},
        {"source": "im", "landed_key": "incoming/im_58_20251110.csv", "state": "rejected",
         "reject_kind": "misplaced"},
    ]  # fmt: skip


# -- 4. formats and encodings ------------------------------------------------------------------------


def test_html_saved_as_xlsx_is_rejected_as_html(incident_world: IncidentWorld) -> None:
    world = incident_world
    world.drop_bytes(
        "im_58_20251110.xlsx",
        b"<html><head><meta charset='utf-8'><title>Report</title></head><body><table></table></body></html>",
    )

    (rejected,) = ingest(world)["rejected"]

    assert rejected["kind"] == "html"
    assert rejected["reason"].startswith(
        "im_58_20251110.xlsx: an HTML page titled 'Report', not a spreadsheet"
    )


def test_a_utf16_export_loads(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, _, separator = sample_csv(world)
    world.drop_bytes(
        "im_58_20251110.csv", write_csv(header, rows[:25], encoding="utf-16", separator=separator)
    )

    (loaded,) = ingest(world)["loaded"]

    assert loaded["format"].startswith("csv (utf-16")
    assert loaded["rows_read"] == 25
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event") == loaded["rows_loaded"] > 0


def test_a_cp1251_row_in_a_utf8_export_is_quarantined_with_its_row_and_byte(
    incident_world: IncidentWorld,
) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, _, separator = sample_csv(world)
    head = write_csv(header, rows[:40], encoding="utf-8", separator=separator)
    bad = data_rows([rows[40]], encoding="cp1251", separator=separator)
    tail = data_rows(rows[41:50], encoding="utf-8", separator=separator)
    first_bad = next(i for i, b in enumerate(bad) if b >= 0x80)
    world.drop_bytes("im_58_20251110.csv", head + bad + tail)

    (loaded,) = ingest(world)["loaded"]

    assert loaded["rows_read"] == 50
    (problem,) = wh.query("SELECT row_number, reason FROM audit.quarantine WHERE row_number = 42")
    assert problem["reason"].startswith(
        f"bytes not valid utf-8 at byte {len(head) + first_bad} (row 42, line 42: "
    )
    assert problem["reason"].endswith("the row looks cp1251-encoded")


# -- 5. quarantine values as written -------------------------------------------------------------------


def test_quarantine_values_are_the_cells_as_written_labelled_by_column(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world)
    registered, answered = field_column(header, "registered_at"), field_column(header, "answered_at")
    rating = field_column(header, "satisfaction")
    rows = [list(r) for r in rows[:10]]
    rows[2][registered], rows[2][answered] = "03.11.2025 12:37", "03.11.2025 10:00"
    rows[5][rating] = "7"
    world.drop_bytes("im_58_20251110.csv", write_csv(header, rows, encoding=encoding, separator=separator))

    ingest(world)

    found = wh.query(
        "SELECT row_number, column_name, value FROM audit.quarantine WHERE row_number IN (4, 7) "
        "ORDER BY row_number"
    )
    pair = sorted([(registered, "03.11.2025 12:37"), (answered, "03.11.2025 10:00")])  # in the file's order
    assert found == [
        {
            "row_number": 4,
            "column_name": header[answered],
            "value": "; ".join(f"{header[position]}={written}" for position, written in pair),
        },
        {"row_number": 7, "column_name": header[rating], "value": "7"},
    ]
