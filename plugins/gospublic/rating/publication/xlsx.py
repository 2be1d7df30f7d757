"""The rating workbook: a sheet per group (title row, frozen header, autofilter, number formats
``0.0`` and ``0%`` — shown «80,6» and «88 %» by a Russian Excel — rows filled by zone, each
indicator's score, a bar chart of every body), the unrated bodies with reasons, the indicators of
every body, the methodology. No cell holds a formula; the bytes depend only on the inputs and the
publication time. The workbook is written row by row (openpyxl's write-only mode: a sheet's panes
and column widths first, each row's cells styled as they are appended), not built whole in memory
and written after."""

from __future__ import annotations

import io
from copy import copy
from datetime import datetime
from typing import Any

import pandas as pd

from transforms import ru_format as ru
from transforms.methodology import Methodology
from transforms.spreadsheet import spreadsheet_value

from .model import networks_column

ZONE_FILLS = {"green": "C8E6C9", "yellow": "FFF59D", "red": "FFCDD2"}
SCORE, SHARE, WHOLE = "0.0", "0%", "0"
SIGNED_SCORE, SIGNED_WHOLE = "+0.0;-0.0;0", "+0;-0;0"


def sheet_title(group: str, used: set[str]) -> str:
    title = "".join(ch for ch in group if ch not in "[]:*?/\\")[:28] or "Группа"
    base, n = title, 2
    while title in used:
        title = f"{base[:25]} {n}"
        n += 1
    used.add(title)
    return title


def cell(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return spreadsheet_value(value.item() if hasattr(value, "item") else value)


def rating_xlsx(
    groups: list[dict[str, Any]],
    unrated: list[dict[str, Any]],
    indicators: list[dict[str, Any]],
    *,
    methodology: Methodology,
    meta: dict[str, Any],
    name_column: str,
    published_at: datetime,
    methodology_rows: list[dict[str, str]],
) -> bytes:
    """``groups``: ``{caption, rows}`` in publication order (rows with ``scores``: indicator id →
    points); ``indicators``: one row per body × indicator; ``methodology_rows``: the methodology
    table as printed on the pages."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    used: set[str] = set()
    heading = f"{methodology.title} — {ru.month(meta['month'])}, редакция {meta['revision']}"
    for group in groups:
        _group_sheet(workbook.create_sheet(sheet_title(str(group["caption"]), used)), group, heading,
                     methodology, name_column)  # fmt: skip
    _unrated_sheet(workbook.create_sheet("Не оценены"), unrated, name_column)
    _indicator_sheet(workbook.create_sheet("Показатели"), indicators, methodology, name_column)
    _methodology_sheet(workbook.create_sheet("Методика"), methodology, methodology_rows)
    return workbook_bytes(workbook, published_at)


def _dimension(sheet: Any, columns: int, rows: int) -> None:
    """The sheet's used range (``<dimension>``, written before its rows): a write-only sheet cannot
    compute it, and openpyxl's writer asks the sheet for it, so it is told. The file is then the one
    a workbook built whole in memory gives, byte for byte."""
    from openpyxl.utils import get_column_letter

    ref = f"A1:{get_column_letter(columns)}{rows}"
    sheet.calculate_dimension = lambda: ref


def _header(sheet: Any, values: list[Any]) -> list[Any]:
    """A header row's cells: bold, wrapped, at the top of their cells, escaped as every other text (a
    group sheet's header holds the indicators' captions, from the methodology's YAML)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    bold, wrapped = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    cells = []
    for value in values:
        item = WriteOnlyCell(sheet, spreadsheet_value(value))
        item.font, item.alignment = bold, wrapped
        cells.append(item)
    return cells


class _Styled:
    """Cells of a write-only sheet with a number format and a fill, their styles looked up once per
    combination (assigning a style to a cell looks it up in the workbook's tables each time)."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.styles: dict[tuple[str | None, Any], Any] = {}

    def cell(self, value: Any, number_format: str | None, fill: Any = None) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if number_format is None and fill is None:
            return value  # a plain value is written as such (None: no cell, as an unstyled empty one)
        item = WriteOnlyCell(self.sheet, value)
        style = self.styles.get((number_format, fill))
        if style is None:
            if number_format:
                item.number_format = number_format
            if fill is not None:
                item.fill = fill
            self.styles[(number_format, fill)] = style = copy(item._style)
        else:
            item._style = copy(style)
        return item


def _group_sheet(
    sheet: Any, group: dict[str, Any], heading: str, methodology: Methodology, name_column: str
) -> None:
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    fills = {zone: PatternFill("solid", fgColor=colour) for zone, colour in ZONE_FILLS.items()}
    specs = list(methodology.indicators)
    header = ["Место", name_column, "Балл", "Зона", "Изменение балла", "Изменение места в группе",
              "Сообщений", *[f"{i.caption}, оценка из 100" for i in specs]]  # fmt: skip
    last = 2 + len(group["rows"])
    _dimension(sheet, len(header), max(last, 2))
    sheet.freeze_panes = "C3"  # the range, panes and widths before the first row (write-only)
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(header))}{max(last, 3)}"
    sheet.column_dimensions["B"].width = 60
    for column in range(3, len(header) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    sheet.append([spreadsheet_value(f"{heading}. Группа «{group['caption']}»")])
    sheet.append(_header(sheet, header))
    formats = [WHOLE, None, SCORE, None, SIGNED_SCORE, SIGNED_WHOLE, WHOLE, *[SCORE] * len(specs)]
    styled = _Styled(sheet)
    for row in group["rows"]:
        values = [
            cell(row["place"]),
            cell(row["name"]),
            cell(row["score"]),
            cell(row["zone_ru"]),
            cell(row["score_change"]),
            None if row["previous_group"] else cell(row["place_change"]),
            cell(row["incidents"]),
            *[cell(row["scores"].get(i.id)) for i in specs],
        ]
        fill = fills[row["zone"]] if isinstance(row["zone"], str) else None
        sheet.append(
            [
                styled.cell(value, number_format, fill if column <= 7 else None)
                for column, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1)
            ]
        )
    if group["rows"]:
        sheet.add_chart(
            _score_chart(sheet, str(group["caption"]), last), f"{get_column_letter(len(header) + 2)}2"
        )


def _score_chart(sheet: Any, caption: str, last: int) -> Any:
    """A horizontal bar per body (its score), first place on top; references cells, no formula."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type, chart.style = "bar", 10
    chart.title = f"Балл: {caption}"[:200]
    chart.y_axis.title = "Балл"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    chart.x_axis.scaling.orientation = "maxMin"
    chart.add_data(Reference(sheet, min_col=3, min_row=2, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=3, max_row=last))
    chart.legend = None
    chart.width, chart.height = 24, max(8.0, 0.5 * (last - 2))
    return chart


def _unrated_sheet(sheet: Any, unrated: list[dict[str, Any]], name_column: str) -> None:
    _dimension(sheet, 5, 1 + len(unrated))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:E{max(2, len(unrated) + 1)}"
    sheet.column_dimensions["B"].width = 60
    sheet.column_dimensions["D"].width = 40
    sheet.append(_header(sheet, ["Группа", name_column, "Сообщений", "Причина", "Код органа"]))
    for row in unrated:
        reason = row["not_rated_reason"] or "причина не указана"
        sheet.append([cell(row["rating_group"]), cell(row["name"]), cell(row["incidents"]), cell(reason),
                      cell(row["org_id"])])  # fmt: skip


def _indicator_sheet(
    sheet: Any, rows: list[dict[str, Any]], methodology: Methodology, name_column: str
) -> None:
    _dimension(sheet, 9, 1 + len(rows))
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:I{max(2, len(rows) + 1)}"
    sheet.column_dimensions["B"].width = 50
    sheet.column_dimensions["C"].width = 40
    sheet.append(_header(sheet, ["Группа", name_column, "Показатель", "Значение", "Оценка, из 100", "Вес, %",
                                 "Баллов в итог", "Потеряно баллов", "Код органа"]))  # fmt: skip
    units = {i.id: i.unit for i in methodology.indicators}
    styled = _Styled(sheet)
    for row in rows:
        share = units.get(row["indicator_id"]) == "share"
        sheet.append(
            [
                cell(row["rating_group"]),
                cell(row["name"]),
                cell(row["caption"]),
                styled.cell(cell(row["raw_value"]), SHARE if share else SCORE),
                *[
                    styled.cell(cell(row[key]), SCORE)
                    for key in ("points", "weight", "weighted_points", "lost")
                ],
                cell(row["org_id"]),
            ]
        )


def _methodology_sheet(sheet: Any, methodology: Methodology, rows: list[dict[str, str]]) -> None:
    keys = ["caption", "direction", "weight", "scale", "missing"]
    header = ["Показатель", "Направление", "Вес", "Шкала", "Нет данных"]
    if networks_column(rows):  # some indicator reads official pages: say whose
        keys.append("networks")
        header.append("Соцсети")
    _dimension(sheet, len(header), 3 + len(rows) + 1)  # title, description, header, rows, zones
    sheet.column_dimensions["A"].width = 50
    sheet.column_dimensions["D"].width = 50
    sheet.append([spreadsheet_value(methodology.title)])
    sheet.append([spreadsheet_value(methodology.description)])
    sheet.append(_header(sheet, header))
    for row in rows:
        sheet.append([spreadsheet_value(row[k]) for k in keys])
    green, yellow = methodology.zones
    sheet.append([f"Зоны: зелёная — от {ru.number(green, 0)}, жёлтая — от {ru.number(yellow, 0)}, "
                  f"красная — ниже {ru.number(yellow, 0)}"])  # fmt: skip


def workbook_bytes(workbook: Any, at: datetime) -> bytes:
    """The workbook saved with ``at`` as its creation and modification time and as the time of every
    part of its zip archive (``Workbook.save`` stamps the wall clock): reproducible bytes."""
    from datetime import UTC
    from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

    from openpyxl.writer.excel import ExcelWriter

    stamp = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)
    workbook.properties.created = workbook.properties.modified = stamp

    class StampedZip(ZipFile):
        def writestr(self, zinfo_or_arcname: str | ZipInfo, data: Any, *args: Any, **kwargs: Any) -> None:
            name = zinfo_or_arcname
            if isinstance(name, str):
                name = ZipInfo(name, date_time=stamp.timetuple()[:6])
                name.compress_type = ZIP_DEFLATED
                name.external_attr = 0o644 << 16
            super().writestr(name, data, *args, **kwargs)

        def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
            with open(filename, "rb") as part:  # a worksheet spooled to a file: stamped as the rest
                self.writestr(str(arcname or filename), part.read())

    buffer = io.BytesIO()
    archive = StampedZip(buffer, "w", ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()  # closes the archive
    return buffer.getvalue()
