"""The rating as CSV: ``rating.csv`` for machines (as it always was: UTF-8, commas, the columns'
English names, RFC 4180) and ``rating-excel.csv`` for people opening it in Russian-locale Excel
(UTF-8 with BOM, ``;``, Russian headers, «да»/«нет», decimal comma). Text a spreadsheet would run
as a formula is escaped in both."""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd

from transforms.spreadsheet import spreadsheet_frame, spreadsheet_value

BOM = "\ufeff"


def machine_csv(table: pd.DataFrame) -> bytes:
    """The rating table as CSV (RFC 4180: CRLF line ends, so a field holding a CR or LF is quoted)."""
    text: str = spreadsheet_frame(table).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8")


def _decimal(value: Any, digits: int) -> str:
    if value is None or pd.isna(value):
        return ""
    rounded = round(float(value), digits)
    text = f"{rounded:.{digits}f}" if digits else str(int(rounded))
    return text.replace(".", ",")  # a plain minus: Excel reads "-3,5" as a number


def _text(value: Any) -> str:
    """A text cell: empty for None and for pandas' NaN (which is truthy, and prints as «nan»)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def excel_csv(rows: list[dict[str, Any]], name_column: str) -> bytes:
    """``rows`` (the publication's rows in group and place order) for Russian-locale Excel."""
    header = ["Группа", "Место", name_column, "Балл", "Зона", "Изменение балла", "Изменение места в группе",
              "Сообщений", "Оценивается", "Причина, если не оценивается", "Код органа"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                spreadsheet_value(row["rating_group"]),
                _decimal(row["place"], 0),
                spreadsheet_value(row["name"]),
                _decimal(row["score"], 1),
                _text(row["zone_ru"]),
                _decimal(row["score_change"], 1),
                "" if _text(row["previous_group"]) else _decimal(row["place_change"], 0),
                _decimal(row["incidents"], 0),
                "да" if row["is_rated"] else "нет",
                spreadsheet_value(_text(row["not_rated_reason"])),
                spreadsheet_value(row["org_id"]),
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")
