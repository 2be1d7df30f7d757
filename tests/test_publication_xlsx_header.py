"""No header cell of ``rating.xlsx`` is a formula (review finding B6): an indicator's caption comes
from a methodology's YAML, and a caption beginning with ``=`` became a formula in row 2 of every
group sheet, while every other cell is escaped (OWASP's CSV-injection rule)."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from transforms.spreadsheet import FORMULA_TRIGGERS

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["=1+1", '=HYPERLINK("http://x"&A1,"Подробнее")', "@SUM(1+1)", "-Доля", "+7 показатель"]


def test_no_header_cell_of_the_workbook_is_a_formula() -> None:
    from gospublic.rating.publication.files import methodology_rows
    from gospublic.rating.publication.xlsx import rating_xlsx
    from transforms.methodology import load_all

    samara = load_all(ROOT)["samara-2022"]
    indicators = [
        dataclasses.replace(indicator, caption=HOSTILE[n]) if n < len(HOSTILE) else indicator
        for n, indicator in enumerate(samara.indicators)
    ]
    hostile = dataclasses.replace(samara, indicators=tuple(indicators))
    row = {
        "place": 1, "name": "Орган 1", "score": 80.6, "zone_ru": "зелёная", "zone": "green",
        "score_change": -1.5, "previous_group": None, "place_change": -1, "incidents": 10,
        "scores": {i.id: 50.0 for i in hostile.indicators},
    }  # fmt: skip
    data = rating_xlsx(
        [{"caption": "ОИВ", "rows": [row]}], [], [], methodology=hostile,
        meta={"month": "2025-11", "revision": 1}, name_column="Орган власти",
        published_at=datetime(2025, 12, 3, 7, 1, 47, tzinfo=UTC), methodology_rows=methodology_rows(hostile),
    )  # fmt: skip

    workbook = load_workbook(io.BytesIO(data))
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_TRIGGERS), (sheet.title, cell.coordinate)
    header = [cell.value for cell in workbook.worksheets[0][2]]
    for caption in HOSTILE[: len(indicators)]:
        assert f"'{caption}, оценка из 100" in header, header  # the caption kept, shown as text
    values = next(workbook.worksheets[0].iter_rows(min_row=3, max_row=3, values_only=True))
    assert values[4] == -1.5 and values[5] == -1  # the numbers stay numbers
