"""File-level failures, late exports, alias fixes, repeated ids and personal data, through the
lake (moto S3) and the warehouse on both engines."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from gospublic.incidents import files as incident_files
from gospublic.incidents.files import ingest_landed
from gospublic.incidents.load import export_spec, resolve_unresolved
from gospublic.infra.pseudonym_key import pseudonymizer
from gospublic.registry.load import load_registry
from tests.incidents.conftest import IncidentWorld, export_files, truth_rows
from transforms import incident_engine
from transforms.ru_format import MOSCOW

pytestmark = [pytest.mark.s3]


def ingest(world: IncidentWorld, **options):
    return ingest_landed(world.lake, world.warehouse, pseudonymize=pseudonymizer(), **options)


def sample_csv(world: IncidentWorld, source: str = "im") -> tuple[list[str], list[list[str]], str, str]:
    """Header and rows of the first CSV export of ``source``, with its encoding and separator."""
    for row in truth_rows(world.data, "exports.csv"):
        if row["source"] == source and row["format"] == "csv":
            text = (world.data / row["file"]).read_bytes().decode(row["encoding"])
            records = list(csv.reader(io.StringIO(text), delimiter=row["separator"]))
            return records[0], records[1:], row["encoding"], row["separator"]
    raise AssertionError(f"no CSV export of {source} in the sample")


def write_csv(
    header: list[str], rows: list[list[str]], *, encoding: str = "utf-8", separator: str = ";"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n" if encoding == "cp1251" else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def column(header: list[str], *names: str) -> int:
    return next(i for i, h in enumerate(header) if h in names)


# -- file-level failures --------------------------------------------------------------------------

STATUS_NAMES = ("Статус", "Состояние", "Статус инцидента")


def _ambiguous_status(header: list[str], rows: list[list[str]]) -> bytes:
    """A file with a second status column under another of the field's names."""
    at = column(header, *STATUS_NAMES)
    other = next(name for name in STATUS_NAMES if name != header[at])
    return write_csv([*header, other], [[*row, row[at]] for row in rows[:3]])


# (file name, its content from the sample's header and rows, kind, the start of the English reason,
# a fragment of the Russian reason ЦУР staff act on)
REJECTIONS = [
    ("im_58_20251110.csv", lambda h, r: b"", "empty", "im_58_20251110.csv: the file is empty", "файл пуст"),
    (
        "im_58_20251110.csv",
        lambda h, r: write_csv(h, []),
        "empty",
        "im_58_20251110.csv: no data rows under the header",
        "под строкой заголовков нет ни одной строки данных",
    ),
    (
        "im_58_20251110.csv",
        lambda h, r: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "not_a_spreadsheet",
        "im_58_20251110.csv: not a spreadsheet (binary content; expected XLSX or CSV)",
        "не таблица",
    ),
    (
        "im_58_20251110.xlsx",
        lambda h, r: b"PK\x03\x04 this is no workbook",
        "not_a_spreadsheet",
        "im_58_20251110.xlsx: not a readable workbook",
        "книга Excel не открывается",
    ),
    (
        "im_58_20251110.csv",
        lambda h, r: "Дата;Сумма;Комментарий\n01.11.2025;100;оплата\n".encode(),
        "wrong_format",
        "im_58_20251110.csv: the first row names no known column of im exports (separators tried: ';' ',')",
        "нет ни одного известного столбца",
    ),
    (
        "im_58_20251110.csv",
        lambda h, r: write_csv(
            [x for i, x in enumerate(h) if i != column(h, *STATUS_NAMES)],
            [[x for i, x in enumerate(row) if i != column(h, *STATUS_NAMES)] for row in r[:5]],
        ),
        "missing_column",
        "im_58_20251110.csv: required column 'Статус' is missing "
        "(tried 'Статус', 'Состояние', 'Статус инцидента')",
        "нет обязательного столбца «Статус»",
    ),
    (
        "im_58_20251110.csv",
        _ambiguous_status,
        "ambiguous_header",
        "im_58_20251110.csv: columns ",
        "означают одно поле «Статус»",
    ),
    (
        "im_58_20251110.xlsx",
        lambda h, r: b"<!DOCTYPE html><html><head><title>Export</title></head><body></body></html>",
        "html",
        "im_58_20251110.xlsx: an HTML page titled 'Export', not a spreadsheet",
        "HTML-страница",
    ),
    (
        "export_november.csv",
        lambda h, r: write_csv(h, r[:3]),
        "bad_name",
        "export_november.csv: name it im_<region code>_<YYYYMMDD>",
        "назовите файл im_<код региона>_<ГГГГММДД>",
    ),
    (
        "im_58_20251131.csv",
        lambda h, r: write_csv(h, r[:3]),
        "bad_name",
        "im_58_20251131.csv: 20251131 is not a date YYYYMMDD",
        "20251131 — не дата",
    ),
    (
        "im_58_20991201.csv",
        lambda h, r: write_csv(h, r[:3]),
        "bad_name",
        "im_58_20991201.csv: export day 2099-12-01 is after today",
        "день выгрузки в имени файла (1 декабря 2099) ещё не наступил",
    ),
    (
        "im_99_20251110.csv",
        lambda h, r: write_csv(h, r[:3]),
        "unknown_region",
        "im_99_20251110.csv: region 99 has no body in core.dim_org",
        "региона с кодом 99 нет в реестре органов",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "kind", "reason", "reason_ru"),
    REJECTIONS,
    ids=[f"{r[2]}-{i}" for i, r in enumerate(REJECTIONS)],
)
def test_unusable_file_moves_to_rejected_with_its_reason(
    incident_world: IncidentWorld, *, name, content, kind, reason, reason_ru
) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, _, _ = sample_csv(world)
    world.drop_bytes(name, content(header, rows))

    summary = ingest(world)

    assert summary["loaded"] == [] and len(summary["rejected"]) == 1
    assert world.keys("incoming/") == []
    assert world.keys("rejected/") == [f"rejected/im/{name}", f"rejected/im/{name}.report.json"]
    report = json.loads(world.lake.get_bytes(f"rejected/im/{name}.report.json"))
    assert report["kind"] == kind and report["reason"].startswith(reason), report
    assert report["reason_ru"] and re.search("[а-яё]", report["reason_ru"], re.I), report
    assert reason_ru in report["reason_ru"], report  # says what is wrong in words ЦУР staff act on
    recorded = wh.query("SELECT state, reject_kind, reason FROM audit.export_file")
    assert recorded == [{"state": "rejected", "reject_kind": kind, "reason": report["reason"]}]
    load_run = wh.query(
        "SELECT status, message, rows_read FROM audit.load_runs WHERE source = 'incidents/im'"
    )
    assert load_run == [{"status": "rejected", "message": report["reason"], "rows_read": 0}]
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident_event") == 0
    assert wh.scalar("SELECT COUNT(*) FROM staging.incident_export") == 0


# -- order, aliases, repeats ------------------------------------------------------------------------


def test_an_older_export_arriving_late_changes_nothing(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    im_files = [p for p in export_files(world.data) if p.name.startswith("im_")]
    world.drop(im_files[-1])
    ingest(world)
    newest = wh.query_df("SELECT * FROM core.fct_incident ORDER BY incident_id").drop(
        columns=["observations", "first_export_date"]
    )
    for path in im_files[:-1]:
        world.drop(path)
    summary = ingest(world)

    assert len(summary["loaded"]) == len(im_files) - 1
    after = wh.query_df("SELECT * FROM core.fct_incident ORDER BY incident_id")
    assert len(after) > len(newest)  # incidents whose rows in the newest export were invalid
    after = after[after["incident_id"].isin(newest["incident_id"])].reset_index(drop=True)
    assert after.drop(columns=["observations", "first_export_date"]).equals(newest)
    assert (after["last_file"] == im_files[-1].name).all()
    assert after["observations"].max() == len(im_files)
    history = wh.query(
        "SELECT COUNT(DISTINCT status) AS statuses FROM core.fct_incident_event GROUP BY source, incident_id "
        "ORDER BY 1 DESC LIMIT 1"
    )
    assert history[0]["statuses"] > 1  # the status history is kept


def test_an_export_day_after_today_is_rejected_and_wins_nothing(incident_world: IncidentWorld) -> None:
    """A typo in the name's day (2099 for 2025) would make the file the region's newest export for
    decades: its states would win over every later file, its unanswered incidents would be judged
    overdue in 2099, and the publication gate and ops_check would see an export after any month."""
    world, wh = incident_world, incident_world.warehouse
    im_files = [p for p in export_files(world.data) if p.name.startswith("im_")]
    typo = im_files[0].name.replace("_2025", "_2099", 1)
    world.drop(im_files[0], name=typo)
    for path in im_files[1:3]:
        world.drop(path)

    summary = ingest(world)

    assert [(r["file"], r["kind"]) for r in summary["rejected"]] == [(typo, "bad_name")]
    assert sorted(f["file"] for f in summary["loaded"]) == sorted(p.name for p in im_files[1:3])
    today = datetime.now(MOSCOW).date()
    after_today = "SELECT COUNT(*) FROM audit.export_file WHERE state = 'loaded' AND export_date > :today"
    assert wh.scalar(after_today, {"today": today}) == 0
    assert wh.scalar("SELECT MAX(last_export_date) FROM core.fct_incident") <= today
    assert wh.scalar("SELECT COUNT(*) FROM core.fct_incident WHERE last_file = :typo", {"typo": typo}) == 0


def test_unknown_executor_resolves_after_its_alias_is_added(
    incident_world: IncidentWorld, tmp_path: Path
) -> None:
    world, wh = incident_world, incident_world.warehouse
    world.drop(
        export_files(world.data)[-1]
        if export_files(world.data)[-1].name.startswith("im")
        else export_files(world.data)[0]
    )
    ingest(world)
    unresolved = wh.query("SELECT executor, incidents FROM audit.unresolved_executor ORDER BY incidents DESC")
    assert unresolved
    executor = unresolved[0]["executor"]
    registry = tmp_path / "registry"
    shutil.copytree(world.data / "registry", registry)
    with open(registry / "orgs.csv", encoding="utf-8", newline="") as handle:
        orgs = list(csv.DictReader(handle))
    target = orgs[0]
    target["aliases"] += "|" + executor.upper().replace("«", '"').replace("»", '"')  # case and quotes differ
    with open(registry / "orgs.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(orgs[0]))
        writer.writeheader()
        writer.writerows(orgs)
    load_registry(wh, registry)

    resolved = resolve_unresolved(wh)

    assert resolved == unresolved[0]["incidents"]
    assert executor not in {r["executor"] for r in wh.query("SELECT executor FROM audit.unresolved_executor")}
    orgs_of = wh.query("SELECT DISTINCT org_id FROM core.fct_incident WHERE executor = :e", {"e": executor})
    assert orgs_of == [{"org_id": target["org_id"]}]
    assert (
        wh.scalar(
            "SELECT COUNT(*) FROM core.fct_incident_event WHERE executor = :e AND org_id IS NULL",
            {"e": executor},
        )
        == 0
    )
    assert resolve_unresolved(wh) == 0


def test_repeated_id_first_row_wins_and_blank_rows_are_not_data(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world, "pos")
    status = column(header, "Статус", "Состояние")
    changed = list(rows[0])
    changed[status] = "В работе" if rows[0][status] != "В работе" else "Закрыт"
    body = [rows[0], rows[1], [""] * len(header), rows[1], changed, rows[2]]
    world.drop_bytes(
        "pos_58_20251109.csv", write_csv(header, body, encoding=encoding, separator=separator), source="pos"
    )

    summary = ingest(world)

    (loaded,) = summary["loaded"]
    assert (
        loaded["rows_read"],
        loaded["rows_loaded"],
        loaded["rows_duplicate"],
        loaded["rows_quarantined"],
    ) == (5, 3, 1, 1)
    assert loaded["rows_empty"] == 1
    (problem,) = wh.query("SELECT row_number, column_name, reason FROM audit.quarantine")
    assert problem["row_number"] == 6
    assert problem["reason"] == "incident id repeated within the file with other values (row 2 wins)"


def test_a_repeated_id_whose_first_row_is_invalid_loads_its_valid_row(incident_world: IncidentWorld) -> None:
    """The first row of a repeated id that breaks no other rule loads; a row quarantined as a
    repeat names that row, which loaded."""
    world, wh = incident_world, incident_world.warehouse
    header, rows, encoding, separator = sample_csv(world, "pos")
    status = column(header, "Статус", "Состояние")
    invalid, changed = list(rows[0]), list(rows[0])
    invalid[status] = "Закрыто"  # not a label of the set («Закрыт» is)
    changed[status] = "В работе" if rows[0][status] != "В работе" else "Закрыт"
    body = [invalid, rows[1], rows[2], rows[0], changed]  # spreadsheet rows 2 to 6
    world.drop_bytes(
        "pos_58_20251109.csv", write_csv(header, body, encoding=encoding, separator=separator), source="pos"
    )

    summary = ingest(world)

    (loaded,) = summary["loaded"]
    assert (loaded["rows_read"], loaded["rows_loaded"], loaded["rows_quarantined"]) == (5, 3, 2)
    problems = wh.query("SELECT row_number, reason FROM audit.quarantine ORDER BY row_number, reason")
    assert problems == [
        {"row_number": 2, "reason": "status is not one of the documented labels"},
        {"row_number": 6, "reason": "incident id repeated within the file with other values (row 5 wins)"},
    ]
    events = wh.query("SELECT row_number FROM core.fct_incident_event ORDER BY row_number")
    assert [e["row_number"] for e in events] == [3, 4, 5]  # row 5, not row 2, gave the repeated id's event
    quarantined = {p["row_number"] for p in problems}
    winners = {int(m) for p in problems for m in re.findall(r"\(row (\d+) wins\)", p["reason"])}
    assert winners and not winners & quarantined


def test_a_tight_engine_memory_limit_gives_the_same_tables(
    incident_world: IncidentWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOSPUBLIC_ENGINE_MEMORY_LIMIT bounds the DuckDB that reads and checks a file (it spills
    beyond); the tables do not depend on it. (It replaced GOSPUBLIC_INCIDENT_CHUNK_ROWS, which the
    engine path had left without effect while README still said it bounded memory.)"""
    world, wh = incident_world, incident_world.warehouse
    path = next(p for p in export_files(world.data) if p.suffix == ".xlsx")
    world.drop(path)
    ingest(world)
    whole = wh.query_df("SELECT * FROM core.fct_incident ORDER BY source, incident_id").drop(
        columns=["load_id"]
    )
    counts = wh.query(
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM audit.export_file"
    )
    wh.execute("DELETE FROM audit.export_file")
    for table in (
        "core.fct_incident",
        "core.fct_incident_event",
        "audit.quarantine",
        "restricted.incident_text",
    ):
        wh.execute(f"DELETE FROM {table}")
    world.drop(path)

    limits: list[tuple[str, int]] = []
    connect = incident_engine.engine_connection

    def recorded(
        work: Path, memory_limit: str = incident_engine.MEMORY_LIMIT, threads: int | None = None
    ) -> duckdb.DuckDBPyConnection:
        con = connect(work, memory_limit, threads)
        limits.append(
            con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
        )
        return con

    monkeypatch.setattr(incident_engine, "engine_connection", recorded)
    monkeypatch.setenv("GOSPUBLIC_ENGINE_MEMORY_LIMIT", "256MB")
    ingest(world)

    # a small file is checked beside another: half of 256 MB (10^6 bytes, 125,000 KiB), which
    # DuckDB shows in MiB, and its share of the cores
    shared_threads = max(1, (os.cpu_count() or 1) // incident_files.STAGED_AT_ONCE)
    assert limits == [("122.0 MiB", shared_threads)]
    limited = wh.query_df("SELECT * FROM core.fct_incident ORDER BY source, incident_id").drop(
        columns=["load_id"]
    )
    assert limited.equals(whole)
    assert (
        wh.query("SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM audit.export_file")
        == counts
    )


def test_batches_and_files_checked_at_once_give_the_tables_of_files_applied_one_by_one(
    incident_world: IncidentWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files applied together (one transaction, one pass of the incident model) change no table,
    nor do files checked two at a time on threads or each alone; a copy of a file is recognised,
    not loaded twice, and a file that its check rejects (no data rows) is rejected whatever is
    being checked beside it."""
    world, wh = incident_world, incident_world.warehouse
    files = export_files(world.data)
    copied = next(p for p in files if p.name.startswith("im_"))
    header, _, encoding, separator = sample_csv(world)
    header_only = separator.join(header).encode(encoding) + b"\r\n"
    region = copied.name.split("_")[1]
    columns = {
        "core.fct_incident": "*",
        "core.fct_incident_event": "source, incident_id, file, row_number, exported_at, org_id, status",
        "restricted.incident_text": "source, incident_id, url, message_text, answer_text",
        "audit.quarantine": "source, partition_key, file, row_number, column_name, reason, value",
        "audit.export_file": "file, state, stored_key, reject_kind, rows_read, rows_loaded, rows_quarantined",
        "audit.load_runs": "source, partition_key, status, rows_read, rows_written, rows_rejected",
    }

    def ingest_with(**constants: int) -> dict[str, list[tuple]]:
        for table in (*columns, "audit.validation_result"):
            wh.execute(f"DELETE FROM {table}")
        world.lake.delete_prefix("rejected/")
        for index, path in enumerate(files):
            world.drop(path)
            if index == len(files) // 2:  # rejected by its check while others are being checked
                world.drop_bytes(f"im_{region}_20251130.csv", header_only)
        world.drop(copied, name=copied.name.replace("_2025", "_2026"))  # the same content, another name
        for name, value in constants.items():
            monkeypatch.setattr(incident_files, name, value)
        summary = ingest(world)
        assert len(summary["loaded"]) == len(files) and len(summary["already_loaded"]) == 1
        assert [r["kind"] for r in summary["rejected"]] == ["empty"]
        assert wh.scalar("SELECT COUNT(*) FROM staging.incident_export") == 0
        out = {}
        for table, selected in columns.items():
            frame = wh.query_df(f"SELECT {selected} FROM {table}")
            frame = frame.drop(columns=["load_id", "last_exported_at"], errors="ignore")
            out[table] = sorted(tuple(map(str, row)) for row in frame.itertuples(index=False))
        return out

    together = ingest_with(BATCH_FILES=len(files) + 1, STAGED_AT_ONCE=1)
    assert together["core.fct_incident"] and together["audit.quarantine"]
    assert ingest_with(BATCH_FILES=1, STAGED_AT_ONCE=1) == together
    assert ingest_with(BATCH_FILES=3, STAGED_AT_ONCE=1) == together
    assert ingest_with(BATCH_FILES=3, STAGED_AT_ONCE=2) == together
    assert ingest_with(BATCH_FILES=3, STAGED_AT_ONCE=3) == together
    assert ingest_with(BATCH_FILES=3, STAGED_AT_ONCE=2, ALONE_BYTES=0) == together  # each alone


# -- personal data -------------------------------------------------------------------------------------


def test_personal_fields_are_only_in_the_restricted_schema(incident_world: IncidentWorld) -> None:
    world, wh = incident_world, incident_world.warehouse
    files = (
        export_files(world.data)[:2] + [p for p in export_files(world.data) if p.name.startswith("pos")][:1]
    )
    personal: set[str] = set()
    for path in files:
        world.drop(path)
        header, rows = _records(path, world)
        for i, name in enumerate(header):
            if name in PERSONAL_HEADERS:
                personal |= {str(r[i]).strip() for r in rows if r[i] not in (None, "")}
    assert len(personal) > 100
    ingest(world)

    assert _text_values(wh, "restricted") & personal  # the texts are kept, only there
    for schema in ("core", "mart", "staging", "audit"):
        leaked = _text_values(wh, schema) & personal
        assert not leaked, f"personal data in {schema}: {sorted(leaked)[:3]}"
    keys = {
        r["author_key"]
        for r in wh.query("SELECT author_key FROM core.fct_incident WHERE author_key IS NOT NULL")
    }
    assert keys and all(len(k) == 32 for k in keys)


PERSONAL_HEADERS = {
    name
    for source in export_spec().sources.values()
    for spec in source.fields
    if spec.personal
    for name in spec.names
}


def _records(path: Path, world: IncidentWorld) -> tuple[list[str], list[list[object]]]:
    row = next(r for r in truth_rows(world.data, "exports.csv") if r["file"].endswith(path.name))
    if row["format"] == "csv":
        records = list(
            csv.reader(io.StringIO(path.read_bytes().decode(row["encoding"])), delimiter=row["separator"])
        )
        return records[0], records[1:]
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return [str(h) for h in rows[0]], rows[1:]


def _text_values(wh, schema: str) -> set[str]:
    values: set[str] = set()
    for table in wh.query(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = :s AND table_type = 'BASE TABLE'",
        {"s": schema},
    ):
        name = table["table_name"]
        frame = wh.query_df(f'SELECT * FROM {schema}."{name}"')
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith(("str", "string")):
                values |= {str(v).strip() for v in frame[col].dropna()}
    return values
