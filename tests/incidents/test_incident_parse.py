"""Export parsing without a warehouse: detection, header aliases, dates in local time, ratings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from gospublic.incidents.load import export_spec
from transforms.incident_parse import parse_chunk
from transforms.incident_read import detect_format, read_chunks
from transforms.incident_spec import FileRejectedError, match_headers

SPEC = export_spec()
IM = SPEC.sources["im"]
HEADER = ["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус", "Оценка ответа", "Автор"]
ROWS = [
    ["101", "01.11.2025 10:15", "ВКонтакте", "Минздрав", "В работе", "", "id777"],
    ["102", "02.11.2025 23:59:30", "ВК", "Минздрав", "Закрыт", "5", "Пётр Иванов"],
    ["103", "03.11.2025 08:00", "Телеграм", "Минздрав", "Закрыт", "Не удовлетворён", "пётр  иванов"],
]


def parse_file(path: Path, timezone: str = "Asia/Yekaterinburg"):
    fmt = detect_format(path, IM, encodings=SPEC.csv_encodings, separators=SPEC.csv_separators)
    header, chunks = read_chunks(path, fmt)
    mapping = match_headers(header, IM, path.name)
    options = {"spec": SPEC, "source": IM, "timezone": timezone, "file": path.name}
    parsed = [
        parse_chunk(chunk, mapping, header, pseudonymize=lambda value: f"key({value})", **options)
        for chunk in chunks
    ]
    return fmt, parsed[0]


@pytest.mark.parametrize(
    ("encoding", "separator"), [("utf-8", ";"), ("utf-8-sig", ","), ("cp1251", ";"), ("cp1251", ",")]
)
def test_csv_encoding_and_separator_are_detected(tmp_path: Path, encoding: str, separator: str) -> None:
    text = "\r\n".join(
        separator.join(f'"{c}"' if separator in c else c for c in row) for row in [HEADER, *ROWS]
    )
    path = tmp_path / "im_66_20251104.csv"
    path.write_bytes(text.encode(encoding))

    fmt, parsed = parse_file(path)

    assert (fmt.kind, fmt.encoding, fmt.separator) == ("csv", encoding, separator)
    rows = parsed.rows
    assert list(rows.index) == [2, 3, 4]  # spreadsheet rows, header = row 1
    assert rows["incident_id"].tolist() == ["101", "102", "103"]
    # Yekaterinburg is UTC+5: local times come out in UTC.
    assert rows.loc[2, "registered_at"] == pd.Timestamp("2025-11-01 05:15", tz="UTC")
    assert rows.loc[3, "registered_at"] == pd.Timestamp("2025-11-02 18:59:30", tz="UTC")
    assert rows["channel"].tolist() == ["vk", "vk", "tg"]
    assert rows["status"].tolist() == ["in_progress", "closed", "closed"]
    assert rows["satisfaction"].tolist() == [pd.NA, 5, pd.NA]
    assert rows["satisfied"].tolist() == [pd.NA, 1, 0]
    # A VK profile id is keyed as the VK pipeline keys it; names case- and ё-insensitively.
    assert rows["author_key"].tolist() == ["key(vk:777)", "key(im:петр иванов)", "key(im:петр иванов)"]
    assert parsed.problems == []


def test_excel_date_cells_serials_and_text_dates(tmp_path: Path) -> None:
    path = tmp_path / "im_58_20251104.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    stamp = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    for c, name in enumerate(
        ["  id инцидента ", "ДАТА СОЗДАНИЯ", "Источник", "Ответственный", "Состояние", "Регион"]
    ):
        sheet.write_string(0, c, name)
    sheet.write_number(1, 0, 201)
    sheet.write_datetime(1, 1, dt.datetime(2025, 11, 1, 10, 15, 29, 700000), stamp)
    sheet.write_number(2, 0, 202)
    sheet.write_number(2, 1, 45962.5)  # an Excel serial without a date format: 2025-11-01 12:00
    sheet.write_number(3, 0, 203)
    sheet.write_string(3, 1, "31.11.2025 10:15")
    for r in (1, 2, 3):
        sheet.write_string(r, 2, "ОК")
        sheet.write_string(r, 3, "Минздрав")
        sheet.write_string(r, 4, "Неизвестный статус")
        sheet.write_string(r, 5, "Пензенская область")
    workbook.close()

    fmt, parsed = parse_file(path, timezone="Europe/Moscow")

    assert fmt.kind == "xlsx"
    rows = parsed.rows
    assert rows["incident_id"].tolist() == ["201", "202", "203"]
    assert rows.loc[2, "registered_at"] == pd.Timestamp(
        "2025-11-01 07:15:30", tz="UTC"
    )  # rounded to the second
    assert rows.loc[3, "registered_at"] == pd.Timestamp("2025-11-01 09:00", tz="UTC")
    assert rows["channel"].tolist() == ["ok"] * 3
    assert rows["status"].tolist() == ["Неизвестный статус"] * 3  # kept as written: the GE suite names it
    (problem,) = parsed.problems
    assert (problem.row, problem.column, problem.value) == (4, "ДАТА СОЗДАНИЯ", "31.11.2025 10:15")
    assert problem.reason.startswith("not a date-time")


def test_ratings_that_are_neither_numbers_nor_words_are_problems(tmp_path: Path) -> None:
    rows = [
        ["301", "01.11.2025 10:15", "ВК", "Минздрав", "Закрыт", score, ""]
        for score in ("4.5", "отлично", "10")
    ]
    path = tmp_path / "im_58_20251104.csv"
    path.write_text("\n".join(";".join(r) for r in [HEADER, *rows]), encoding="utf-8")

    _, parsed = parse_file(path)

    assert [(p.row, p.column, p.value) for p in parsed.problems] == [
        (2, "Оценка ответа", "4.5"),
        (3, "Оценка ответа", "отлично"),
    ]
    assert parsed.rows.loc[4, "satisfaction"] == 10  # a number off the scale: the GE suite rejects it


def test_header_matching_rejects_repeated_fields() -> None:
    with pytest.raises(FileRejectedError) as caught:
        match_headers(
            ["ID", "Дата регистрации", "Статус", "Состояние", "Соцсеть", "Исполнитель"], IM, "f.csv"
        )
    assert caught.value.kind == "ambiguous_header"
    assert "columns 3 ('Статус') and 4 ('Состояние') both map to field status" in caught.value.reason
