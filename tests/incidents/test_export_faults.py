"""Issue 23 at the file level, without a warehouse: headers that differ from the aliases only in
the way they are written, unrecognised columns, CSV rows with the wrong number of fields, and
formats and encodings named for what they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from transforms.incident_parse import ParsedChunk, parse_chunk, written_column
from transforms.incident_read import READ_FAULTS, ReadFault, detect_format, read_chunks
from transforms.incident_spec import (
    FileRejectedError,
    header_key,
    load_spec,
    match_headers,
    unrecognised_columns,
)
from transforms.quarantine import Problem

SPEC = load_spec(Path(__file__).resolve().parents[2] / "config" / "incident_exports.yaml")
IM = SPEC.sources["im"]
POS = SPEC.sources["pos"]


# -- 1. headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("Удовлетворенность", "satisfaction"),  # ё written as е
        ("УДОВЛЕТВОРЁННОСТЬ", "satisfaction"),
        ("Оценка\u00a0ответа", "satisfaction"),  # a non-breaking space
        ("  Оценка   ответа: ", "satisfaction"),  # spaces and punctuation around
        ("«Оценка ответа»", "satisfaction"),  # quotes
        ("Дата первой реакции", "first_reaction_at"),
        ("Дата\u2011первой\u2011реакции", "first_reaction_at"),  # non-breaking hyphens vs spaces
        ("Ответ исполнителя", "answer_text"),
        ("Ответ\u00a0исполнителя.", "answer_text"),
    ],
)
def test_headers_match_whatever_their_case_yo_spaces_dashes_quotes_and_punctuation(
    written: str, field: str
) -> None:
    headers = ["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус", written]

    mapping = match_headers(headers, IM, "im_58_20251110.csv")

    assert mapping.get(5) == field, mapping


def test_dashes_of_every_kind_are_one_dash() -> None:
    assert header_key("Плановая дата ответа — срок") == header_key("плановая  дата ответа - срок")
    assert header_key("Плановая дата ответа – срок") == header_key("Плановая дата ответа ‐ срок")
    assert header_key("№ обращения") != header_key("обращения")  # № is a sign, kept


def test_unrecognised_columns_are_reported_with_the_closest_known_header() -> None:
    headers = [
        "ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус",
        "Оценка отвта",  # misspelt: reported, closest known header named
        "Регион",  # a known extra column: not reported
        "Примечание",  # nothing close
        None,  # a column without a header
    ]  # fmt: skip

    mapping = match_headers(headers, IM, "im_58_20251110.csv")
    report = unrecognised_columns(headers, IM, mapping)

    assert 5 not in mapping
    assert [(c.position, c.header, c.closest) for c in report] == [
        (6, "Оценка отвта", "Оценка ответа"),
        (8, "Примечание", None),
        (9, "", None),
    ]
    assert report[0].describe() == "column 6 'Оценка отвта' (closest known: 'Оценка ответа')"
    assert report[1].describe() == "column 8 'Примечание'"
    assert report[2].describe() == "column 9 (no header)"


def test_pos_header_aliases_that_differ_in_yo_match_too() -> None:
    headers = ["№ обращения", "Дата подачи", "Категория", "Ответственный", "Статус", "Срок ответа", "Оценка"]

    mapping = match_headers(headers, POS, "pos_58_20251110.csv")

    assert mapping[6] == "satisfaction"
    assert unrecognised_columns(headers, POS, mapping) == []


def test_a_missing_required_column_still_rejects_the_file() -> None:
    with pytest.raises(FileRejectedError) as caught:
        match_headers(["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель"], IM, "f.csv")
    assert caught.value.kind == "missing_column"


# -- 2. rows with the wrong number of fields ------------------------------------------------------

HEADER = ["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус", "Оценка ответа", "Автор"]


def good_row(number: int) -> list[str]:
    return [str(number), "01.11.2025 10:15", "ВКонтакте", "Минздрав", "Закрыт", "5", f"Автор {number}"]


def csv_bytes(lines: list[str], encoding: str = "utf-8") -> bytes:
    return "".join(f"{line}\n" for line in lines).encode(encoding)


def read_all(path: Path) -> tuple[list[object], pd.DataFrame, list[ReadFault]]:
    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    header, chunks = read_chunks(path, fmt, chunk_rows=2)
    frames = list(chunks)
    faults = [fault for frame in frames for fault in frame.attrs[READ_FAULTS]]
    return header, pd.concat(frames), faults


def test_a_short_row_is_a_fault_of_its_own_row_and_the_rest_reads(tmp_path: Path) -> None:
    short = ";".join(good_row(102)[:5])  # rating and author cut off
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(csv_bytes([";".join(HEADER), ";".join(good_row(101)), short, ";".join(good_row(103))]))

    _, frame, faults = read_all(path)

    assert list(frame.index) == [2, 3, 4]
    assert frame.loc[4, 0] == "103"
    assert faults == [
        ReadFault(3, 3, "5 fields where the header has 7 (line 3): the row is cut short", short)
    ]


def test_a_row_with_too_many_fields_is_a_fault_of_its_own_row(tmp_path: Path) -> None:
    rows = [";".join(good_row(n)) for n in range(101, 106)]
    bad = ";".join([*good_row(104)[:6], "Иванов; Пётр"])  # an unquoted separator inside a text
    rows[3] = bad
    trailing = ";".join(good_row(106)) + ";;"  # empty fields past the header: nothing is lost
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(csv_bytes([";".join(HEADER), *rows, trailing]))

    _, frame, faults = read_all(path)

    assert list(frame.index) == [2, 3, 4, 5, 6, 7]
    assert [(f.row, f.line, f.raw) for f in faults] == [(5, 5, bad)]
    assert faults[0].reason == (
        "8 fields where the header has 7 (line 5): a ';' inside a text that is not quoted?"
    )
    assert frame.loc[7].tolist() == good_row(106)


def test_rows_after_a_quoted_multi_line_text_keep_their_numbers(tmp_path: Path) -> None:
    multi = good_row(102)
    multi[6] = "Иван\nПетров"
    long_text = "ы" * 200_000  # past the csv module's default field limit
    last = [*good_row(103)[:6], long_text]
    path = tmp_path / "im_58_20251110.csv"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows([HEADER, good_row(101), multi, last])
    path.write_text(buffer.getvalue(), encoding="utf-8")

    _, frame, faults = read_all(path)

    assert faults == []
    assert list(frame.index) == [2, 3, 4]
    assert frame.loc[3, 6] == "Иван\nПетров"
    assert frame.loc[4, 6] == long_text


# -- 4. formats and encodings named for what they are ---------------------------------------------


def test_an_html_page_saved_as_xlsx_is_named_an_html_page(tmp_path: Path) -> None:
    path = tmp_path / "im_58_20251110.xlsx"
    path.write_text(
        "<!DOCTYPE html>\n<html><head><title>Выгрузка инцидентов</title></head><body><table>"
        "<tr><td>ID инцидента</td><td>Статус</td></tr></table></body></html>",
        encoding="utf-8",
    )

    with pytest.raises(FileRejectedError) as caught:
        detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)

    assert caught.value.kind == "html"
    assert caught.value.reason.startswith(
        "im_58_20251110.xlsx: an HTML page titled 'Выгрузка инцидентов', not a spreadsheet"
    )
    assert caught.value.reason_ru is not None and "HTML-страница" in caught.value.reason_ru


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_reads_with_or_without_bom(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "im_58_20251110.csv"
    lines = [";".join(HEADER), ";".join(good_row(101)), ";".join(good_row(102))]
    path.write_bytes("\r\n".join(lines).encode(encoding))

    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    header, frame, faults = read_all(path)

    assert fmt.kind == "csv" and fmt.encoding.startswith("utf-16") and fmt.separator == ";"
    assert header == HEADER and faults == []
    assert frame[6].tolist() == ["Автор 101", "Автор 102"]


def test_a_cp1251_row_in_a_utf8_file_is_named_by_row_and_byte(tmp_path: Path) -> None:
    rows = [";".join(good_row(n)) for n in range(101, 101 + 2000)]  # well past the 64 KB sample
    head = csv_bytes([";".join(HEADER), *rows[:1990]])
    bad = ";".join([*good_row(3091)[:6], "Пётр Сидоров"]).encode("cp1251") + b"\n"
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(head + bad + csv_bytes(rows[1990:]))
    offset = len(head) + bad.index("ВКонтакте".encode("cp1251"))  # the first non-ASCII bytes

    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    _, frame, faults = read_all(path)

    assert fmt.encoding == "utf-8"
    assert list(frame.index) == list(range(2, 2003))  # read on past the bad bytes: no row twice or lost
    assert frame[0].tolist() == [str(n) for n in range(101, 101 + 1990)] + ["3091"] + [
        str(n) for n in range(101 + 1990, 101 + 2000)
    ]
    (fault,) = faults
    assert (fault.row, fault.line) == (1992, 1992)
    assert fault.reason.startswith(f"bytes not valid utf-8 at byte {offset} (row 1992, line 1992: ")
    assert fault.reason.endswith("the row looks cp1251-encoded")
    assert fault.raw.endswith("Пётр Сидоров")


def test_a_cp1251_row_early_in_a_utf8_file_does_not_turn_the_file_into_cp1251(tmp_path: Path) -> None:
    bad = ";".join([*good_row(102)[:6], "Пётр"]).encode("cp1251") + b"\n"
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(csv_bytes([";".join(HEADER), ";".join(good_row(101))]) + bad)

    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    header, _, faults = read_all(path)

    assert fmt.encoding == "utf-8" and header == HEADER
    assert [f.row for f in faults] == [3]


def parse_all(path: Path) -> ParsedChunk:
    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    header, chunks = read_chunks(path, fmt)
    mapping = match_headers(header, IM, path.name)
    (chunk,) = list(chunks)
    return parse_chunk(
        chunk, mapping, [str(h) for h in header], spec=SPEC, source=IM, timezone="Europe/Moscow",
        file=path.name, pseudonymize=lambda value: f"key({value})",
    )  # fmt: skip


def test_faulty_rows_are_problems_of_their_whole_row(tmp_path: Path) -> None:
    short = ";".join(good_row(102)[:5])
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(
        csv_bytes([";".join(HEADER), ";".join(good_row(101)), short, "", ";".join(good_row(103))])
    )

    parsed = parse_all(path)

    assert parsed.problems == [
        Problem(path.name, 3, None, "5 fields where the header has 7 (line 3): the row is cut short", None)
    ]
    assert [f.raw for f in parsed.read_faults] == [short]
    assert parsed.empty_rows == 1  # the blank line is not data, and not a fault
    assert list(parsed.rows.index) == [2, 3, 5]


def test_typed_fields_keep_their_cells_as_written(tmp_path: Path) -> None:
    path = tmp_path / "im_58_20251110.csv"
    path.write_bytes(csv_bytes([";".join(HEADER), ";".join(good_row(101))]))

    rows = parse_all(path).rows

    assert rows.loc[2, "registered_at"] == pd.Timestamp("2025-11-01 07:15", tz="UTC")
    assert rows.loc[2, written_column("registered_at")] == "01.11.2025 10:15"
    assert rows.loc[2, written_column("status")] == "Закрыт"
    assert rows.loc[2, written_column("satisfaction")] == "5"
    assert written_column("author") not in rows  # plain text is its own written form
