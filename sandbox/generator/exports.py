"""Incident export files (IM, ПОС): weekly cumulative snapshots plus a month-end one, with defects.

Each file is a snapshot of the incidents registered since the month start, with their state at
the moment of export. Files differ like real ones do: XLSX or CSV, encodings, separators, alias
headers, column order, extra columns. About 1 % of rows carry a defect recorded in ground truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
from dataclasses import dataclass, field

import numpy as np
import xlsxwriter

from sandbox.generator import export_spec
from sandbox.generator.incidents import Incidents, status_at
from sandbox.generator.regions import Region
from sandbox.generator.timeutil import DAY, HOUR

EXPORT_DAYS = (8, 15, 22)  # weekly snapshots; the month-end one is taken on the 1st of the next month
DEFECT_RATE = 0.009
DEFECT_KINDS = [
    "empty_required",
    "unparseable_date",
    "answer_before_registration",
    "duplicate_row",
    "out_of_scale_satisfaction",
]
DEFECT_WEIGHTS = [0.25, 0.2, 0.15, 0.2, 0.2]
INVALIDATING = {
    "empty_required",
    "unparseable_date",
    "answer_before_registration",
    "out_of_scale_satisfaction",
}
BAD_DATES = [
    "31.11.2025 10:15",
    "45.11.2025 12:00",
    "2025-13-45",
    "не указано",
    "##.##.####",
    "10:61 12.11.2025",
    "32/11/2025",
]
BAD_SCORES = [0, 6, 7, 10, -1]
FIXED_CREATED = dt.datetime(2000, 1, 1)


@dataclass
class ExportFile:
    """One export file and how it is written."""

    name: str
    source: str
    region: Region
    format: str  # xlsx / csv
    encoding: str  # utf-8 / utf-8-sig / cp1251 ("" for xlsx)
    separator: str  # ";" / "," ("" for xlsx)
    line_end: str
    exported_at: int
    seconds: bool  # datetimes written with seconds
    excel_dates: bool  # XLSX: real date cells
    headers: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # canonical name per column, "" for an extra column
    status_rejected: str = "Отклонён"
    channel_vk: str = "ВКонтакте"
    rows: int = 0


@dataclass
class Defect:
    """One defect as listed in ``truth/export_defects.csv``."""

    file: str
    row: int
    column: str
    kind: str
    value: str
    incident_id: str


def plan(
    source: str,
    region: Region,
    *,
    month: dt.date,
    next_month: dt.date,
    utc_offset: int,
    formats: list[str],
    rng: np.random.Generator,
) -> list[ExportFile]:
    """The export files of one source and region for the month, in export order."""
    days = [month.replace(day=d) for d in EXPORT_DAYS] + [next_month]
    file_formats = [formats[i % len(formats)] for i in range(len(days))]
    rng.shuffle(file_formats)
    encodings = ["utf-8", "utf-8-sig", "cp1251"]
    files = []
    csv_count = 0
    first_encoding = {"im": 0, "pos": 2}[source]  # both sources together use all three encodings
    for k, day in enumerate(days):
        fmt = file_formats[k]
        local = dt.datetime(day.year, day.month, day.day, 9) + dt.timedelta(minutes=int(rng.integers(0, 90)))
        exported_at = int(local.replace(tzinfo=dt.UTC).timestamp()) - utc_offset
        encoding, separator = "", ""
        if fmt == "csv":
            turn = csv_count + first_encoding
            encoding = encodings[turn % 3]
            separator = "," if turn % 4 == 1 or rng.random() < 0.1 else ";"
            csv_count += 1
        files.append(
            ExportFile(
                name=f"{source}_{region.code}_{day:%Y%m%d}.{fmt}",
                source=source,
                region=region,
                format=fmt,
                encoding=encoding,
                separator=separator,
                line_end="\r\n" if encoding == "cp1251" else "\n",
                exported_at=exported_at,
                seconds=bool(rng.random() < 0.5),
                excel_dates=bool(rng.random() < 0.6),
                status_rejected="Отклонен" if rng.random() < 0.3 else "Отклонён",
                channel_vk=str(rng.choice(["ВКонтакте", "ВКонтакте", "ВКонтакте", "Вконтакте", "ВК"])),
            )
        )
    return files


def _layout(export: ExportFile, rng: np.random.Generator) -> None:
    """Headers (canonical or alias), column order and extra columns of a file."""
    fields = export_spec.FIELDS[export.source]
    alias_style = rng.random() < 0.5
    columns = [f.name for f in fields]
    if rng.random() < 0.3:
        rest = columns[1:]
        rng.shuffle(rest)
        columns = [columns[0], *rest]
    if rng.random() < 0.4:
        extras = list(
            rng.choice(export_spec.EXTRA_COLUMNS[export.source], size=int(rng.integers(1, 3)), replace=False)
        )
        for extra in extras:
            columns.insert(int(rng.integers(1, len(columns) + 1)), f"extra:{extra}")
    by_name = {f.name: f for f in fields}
    headers = []
    for column in columns:
        if column.startswith("extra:"):
            headers.append(column.removeprefix("extra:"))
            continue
        spec = by_name[column]
        use_alias = alias_style and spec.aliases and rng.random() < 0.5
        headers.append(spec.aliases[int(rng.integers(len(spec.aliases)))] if use_alias else spec.header)
    export.columns = ["" if c.startswith("extra:") else c for c in columns]
    export.headers = headers


def _local(ts: int, utc_offset: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts + utc_offset, dt.UTC).replace(tzinfo=None)


def _text(value: dt.datetime, seconds: bool) -> str:
    return value.strftime("%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")


def write(
    export: ExportFile,
    inc: Incidents,
    *,
    utc_offset: int,
    out_dir: str,
    rng: np.random.Generator,
    rnd: random.Random,
) -> tuple[list[Defect], np.ndarray, np.ndarray]:
    """Write one file; returns its defects, the incidents it contains and which of their rows are valid."""
    _layout(export, rng)
    at = export.exported_at
    included = np.flatnonzero(inc.registered < at)
    status = status_at(inc, at)
    excel = export.format == "xlsx" and export.excel_dates

    def when(ts: int) -> object:
        if ts < 0 or ts > at:
            return None
        local = _local(ts, utc_offset)
        return local if excel else _text(local, export.seconds)

    rows: list[list[object]] = []
    for index in included:
        i = int(index)
        answered = 0 <= inc.answered[i] <= at
        rated = inc.score[i] > 0 and 0 <= inc.closed[i] <= at
        st = status[i]
        values: dict[str, object] = {
            "incident_id": int(inc.ids[i]) if export.format == "xlsx" and inc.source == "im" else inc.ids[i],
            "registered_at": when(int(inc.registered[i])),
            "executor": inc.executor[i],
            "status": export.status_rejected if st == "Отклонён" else st,
            "answered_at": when(int(inc.answered[i])),
            "answer_text": inc.answer[i].text if answered and inc.answer[i] else None,
            "message_text": inc.message[i],
            "author": inc.author[i],
        }
        if inc.source == "im":
            score: object = None
            if rated:
                score = (
                    ("Удовлетворён" if inc.score[i] >= 4 else "Не удовлетворён")
                    if inc.score_words[i]
                    else int(inc.score[i])
                )
            values.update(
                {
                    "channel": export.channel_vk if inc.channel[i] == "ВКонтакте" else inc.channel[i],
                    "message_type": inc.message_type[i],
                    "url": inc.url[i],
                    "rubric": inc.rubric[i],
                    "first_reaction_at": when(int(inc.first_reaction[i])),
                    "satisfaction": score,
                }
            )
        else:
            due_local = _local(int(inc.due[i]) - DAY, utc_offset).replace(hour=0, minute=0, second=0)
            values.update(
                {
                    "category": inc.rubric[i],
                    "subcategory": inc.subcategory[i],
                    "due_at": due_local if excel else inc.due_date[i],
                    "satisfaction": int(inc.score[i]) if rated else None,
                }
            )
        rows.append(
            [
                values.get(c) if c else _extra(h, export, rnd)
                for c, h in zip(export.columns, export.headers, strict=True)
            ]
        )

    defects, valid, rows = _inject(export, inc, included, rows, utc_offset=utc_offset, rng=rng, rnd=rnd)
    export.rows = len(rows)
    path = os.path.join(out_dir, export.name)
    if export.format == "xlsx":
        _write_xlsx(path, export, rows)
    else:
        _write_csv(path, export, rows)
    return defects, included, valid


def _extra(header: str, export: ExportFile, rnd: random.Random) -> str:
    options = {
        "Регион": [export.region.name],
        "Муниципальное образование": [f"г. {export.region.capital}", "Центральный район", "Заречный район"],
        "Тег": ["#ЖКХ", "#дороги", "#важное", ""],
        "Куратор ЦУР": ["Петрова А.С.", "Иванов Д.В.", "Смирнова Е.Н."],
        "Способ подачи": ["Госуслуги", "Виджет ПОС на сайте", "Мобильное приложение"],
        "Быстрый ответ": ["Да", "Нет", "Нет"],
    }
    return rnd.choice(options.get(header, [""]))


def _kind(row: list[object], col: dict[str, int], rng: np.random.Generator) -> str:
    """A defect kind that fits the row (no answer to predate, no rating to break: another kind)."""
    kind = str(rng.choice(DEFECT_KINDS, p=DEFECT_WEIGHTS))
    if kind == "answer_before_registration" and row[col["answered_at"]] is None:
        return "unparseable_date"
    if kind == "out_of_scale_satisfaction" and row[col["satisfaction"]] is None:
        return "empty_required"
    return kind


def _corrupt(
    kind: str, row: list[object], col: dict[str, int], *, export: ExportFile, registered: int,
    utc_offset: int, rng: np.random.Generator, rnd: random.Random,
) -> tuple[str, str]:  # fmt: skip
    """Break ``row`` in place with a defect of ``kind``; returns the field and the value written."""
    if kind == "empty_required":
        required = [f.name for f in export_spec.FIELDS[export.source] if f.required]
        name = required[int(rng.integers(len(required)))]
        row[col[name]] = None
        return name, ""
    if kind == "unparseable_date":
        answered = row[col["answered_at"]] is not None and rng.random() < 0.3
        name = "answered_at" if answered else "registered_at"
        row[col[name]] = rnd.choice(BAD_DATES)
        return name, str(row[col[name]])
    if kind == "answer_before_registration":
        early = _local(registered - int(rng.integers(HOUR, 48 * HOUR)), utc_offset)
        excel = export.format == "xlsx" and export.excel_dates
        row[col["answered_at"]] = early if excel else _text(early, export.seconds)
        return "answered_at", _text(early, excel or export.seconds)
    row[col["satisfaction"]] = int(rnd.choice(BAD_SCORES))  # out_of_scale_satisfaction
    return "satisfaction", str(row[col["satisfaction"]])


def _inject(
    export: ExportFile, inc: Incidents, included: np.ndarray, rows: list[list[object]], *, utc_offset: int,
    rng: np.random.Generator, rnd: random.Random,
) -> tuple[list[Defect], np.ndarray, list[list[object]]]:  # fmt: skip
    """Put defects into about 1 % of rows (plus every row of an unknown executor); record them."""
    col = {c: k for k, c in enumerate(export.columns) if c}
    n = len(rows)
    valid = np.ones(n, dtype=bool)
    defects: list[tuple[int, str, str, str]] = []  # (row index before duplicates, field, kind, value)
    n_defects = int(rng.binomial(n, DEFECT_RATE)) if n else 0
    chosen = sorted(int(r) for r in rng.choice(n, size=min(n, n_defects), replace=False)) if n_defects else []
    duplicates: set[int] = set()
    for r in chosen:
        kind = _kind(rows[r], col, rng)
        if kind == "duplicate_row":
            duplicates.add(r)
            continue
        name, value = _corrupt(
            kind, rows[r], col, export=export, registered=int(inc.registered[int(included[r])]),
            utc_offset=utc_offset, rng=rng, rnd=rnd,
        )  # fmt: skip
        defects.append((r, name, kind, value))
        valid[r] = False
    for r in range(n):
        if inc.org[int(included[r])] < 0:
            defects.append((r, "executor", "unknown_executor", str(rows[r][col["executor"]])))
    # Final row numbers: a duplicate follows its original; the header is spreadsheet row 1.
    final_rows: list[list[object]] = []
    position: dict[int, int] = {}
    for r, row in enumerate(rows):
        position[r] = len(final_rows) + 2
        final_rows.append(row)
        if r in duplicates:
            final_rows.append(list(row))
            defects.append((r, "", "duplicate_row", inc.ids[int(included[r])]))
    header_of = {c: h for c, h in zip(export.columns, export.headers, strict=True) if c}
    result = []
    for r, name, kind, value in sorted(defects, key=lambda d: (d[0], d[2])):
        row_number = position[r] + (1 if kind == "duplicate_row" else 0)
        column = header_of.get(name, "") if name else ""
        result.append(Defect(export.name, row_number, column, kind, value, inc.ids[int(included[r])]))
    return result, valid, final_rows


def _write_csv(path: str, export: ExportFile, rows: list[list[object]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=export.separator, lineterminator=export.line_end)
    writer.writerow(export.headers)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue().encode(export.encoding))


def _write_xlsx(path: str, export: ExportFile, rows: list[list[object]]) -> None:
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
        },
    )
    workbook.set_properties({"created": FIXED_CREATED, "author": "ЦУР"})
    sheet = workbook.add_worksheet("Инциденты" if export.source == "im" else "Обращения")
    date_format = workbook.add_format(
        {"num_format": "dd.mm.yyyy hh:mm:ss" if export.seconds else "dd.mm.yyyy hh:mm"}
    )
    day_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    bold = workbook.add_format({"bold": True})
    for c, header in enumerate(export.headers):
        sheet.write_string(0, c, header, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                sheet.write_datetime(
                    r, c, value, day_format if export.columns[c] == "due_at" else date_format
                )
            elif isinstance(value, int):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    workbook.close()
