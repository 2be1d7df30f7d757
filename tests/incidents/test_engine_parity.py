"""The engine path (DuckDB's reader, calamine into Arrow, the suite as SQL) against the old path
(Python's csv reader, pandas typing, GX on frames) on the sample region's exports and on a crafted
file with every defect the old parser quarantines: the same quarantine rows (file, row, column,
reason, value), read faults, counts, verdicts and staging rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from gospublic.incidents.load import RegistryLookups
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from tests.incidents.conftest import export_files, truth_rows
from tests.incidents.parity import Outcome, engine_path, info_of, old_path
from transforms.pseudonymize import make_pseudonymizer

PSEUDONYMIZE = make_pseudonymizer(b"parity-key-0123456789abcdef")


@pytest.fixture(scope="module")
def lookups(export_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryLookups]:
    """The sample region's registry in a DuckDB warehouse (neither path writes to it)."""
    import json
    import os

    path = tmp_path_factory.mktemp("parity") / "warehouse.duckdb"
    conn = json.dumps({"conn_type": "duckdb", "extra": {"path": str(path)}})
    before = os.environ.get("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE")
    os.environ["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"] = conn
    try:
        with Warehouse.from_connection() as warehouse:
            migrate(warehouse)
            load_registry(warehouse, export_data / "registry")
            found = RegistryLookups(warehouse)
            found.timezone("58", "-")  # read both while the warehouse is open
            found.resolver("58")
            yield found
    finally:
        if before is None:
            os.environ.pop("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", None)
        else:
            os.environ["AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE"] = before


def both(path: Path, lookups: RegistryLookups, source: str | None = None) -> tuple[Outcome, Outcome]:
    name = path.name
    source = source or name.split("_", 1)[0]
    region = name.split("_")[1]
    stamp = Path(name).stem.rsplit("_", 1)[-1]
    day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))
    info = info_of(path, source, region, day)
    zone, resolver = lookups.timezone(region, name), lookups.resolver(region)
    return old_path(info, zone, resolver, PSEUDONYMIZE), engine_path(info, zone, resolver, PSEUDONYMIZE)


def assert_same(old: Outcome, new: Outcome) -> None:
    assert new.rejected == old.rejected
    assert new.quarantine == old.quarantine
    assert new.faults == old.faults
    assert new.counts == old.counts
    assert new.results == old.results
    pd.testing.assert_frame_equal(new.events, old.events, check_dtype=False)
    pd.testing.assert_frame_equal(new.texts, old.texts, check_dtype=False)


def test_every_sample_export_gives_the_same_quarantine_and_rows(
    export_data: Path, lookups: RegistryLookups
) -> None:
    files = export_files(export_data)
    assert {path.suffix for path in files} >= {".csv", ".xlsx"}
    defects = truth_rows(export_data, "export_defects.csv")
    quarantined = 0
    for path in files:
        old, new = both(path, lookups)
        assert old.rejected is None, path.name
        assert_same(old, new)
        quarantined += len(new.quarantine)
    assert quarantined > 0 and defects  # the sample's defects are exercised, not only clean rows


HEADER = [
    "ID инцидента", "Дата регистрации", "Соцсеть", "Тип сообщения", "Ссылка", "Автор", "Текст сообщения",
    "Рубрика", "Исполнитель", "Статус", "Дата первой реакции", "Дата ответа", "Текст ответа", "Оценка ответа",
]  # fmt: skip


def _row(incident: int, **changes: str) -> list[str]:
    cells = {
        "ID инцидента": str(incident),
        "Дата регистрации": "03.11.2025 10:15",
        "Соцсеть": "ВКонтакте",
        "Тип сообщения": "пост",
        "Ссылка": f"https://vk.com/wall-1_{incident}",
        "Автор": f"id{incident}",
        "Текст сообщения": "Яма на дороге",
        "Рубрика": "Дороги",
        "Исполнитель": "Министерство без псевдонима",
        "Статус": "Ответ дан",
        "Дата первой реакции": "03.11.2025 10:30",
        "Дата ответа": "03.11.2025 12:00",
        "Текст ответа": "Отремонтируем",
        "Оценка ответа": "5",
    }
    cells.update({k.replace("_", " "): v for k, v in changes.items()})
    return [cells[h] for h in HEADER]


def crafted_rows(executor: str) -> list[list[str]]:
    """Rows with every defect the old parser and suite quarantine or count."""
    rows = [_row(1, Исполнитель=executor)]
    rows.append(_row(2, Исполнитель=executor))
    rows.append(list(rows[-1]))  # an exact duplicate
    rows.append(_row(3, Дата_регистрации="31.11.2025 10:15"))  # unparseable date
    rows.append(_row(4, Дата_ответа="не указано"))  # unparseable answer date
    rows.append(_row(5, Оценка_ответа="7"))  # out of scale
    rows.append(_row(6, Оценка_ответа="отлично"))  # not a rating
    rows.append(_row(7, Оценка_ответа="Не удовлетворён"))  # a rating word
    rows.append(_row(8, Дата_ответа="03.11.2025 09:00"))  # answer before registration
    rows.append(_row(9, Исполнитель=""))  # required empty
    rows.append(_row(10, Статус="Потерян"))  # status not in its set
    rows.append(_row(11, Соцсеть="Мастодон"))  # channel not in its set
    rows.append(_row(12, ID_инцидента="12a"))  # not a whole number
    rows.append(_row(2, Текст_ответа="другой ответ", Исполнитель=executor))  # id repeated, other values
    rows.append(_row(13, Дата_регистрации="  03.11.2025 10:15:30 ", Статус=" закрыт "))  # seconds, spaces
    rows.append(_row(14, Автор="Иванов  Иван", Соцсеть="ОК"))  # a name, on another network
    rows.append(_row(15, Оценка_ответа="", Дата_ответа="", Статус="В работе"))  # optional cells empty
    rows.append(["", "", "", "", "", "", "", "", "", "", "", "", "", ""])  # a blank row
    rows.append(_row(16, Дата_регистрации=""))  # required date empty
    rows.append(_row(17, Текст_сообщения="Текст; с разделителем"))  # quoted separator
    rows.append(_row(18, Текст_сообщения="Две\nстроки"))  # quoted new line
    rows.append(_row(19, Оценка_ответа="4.0"))
    return rows


def write_crafted(path: Path, executor: str, *, encoding: str = "utf-8", separator: str = ";") -> None:
    """The crafted rows, plus a short row, a long row, a blank line and (UTF-8) a cp1251 row."""
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(
            handle, delimiter=separator, lineterminator="\r\n" if encoding == "cp1251" else "\n"
        )
        writer.writerow(HEADER)
        for row in crafted_rows(executor):
            writer.writerow(row)
        handle.write(separator.join(_row(20)[:9]) + "\n")  # a short row
        handle.write(separator.join([*_row(21), "лишнее", "ещё"]) + "\n")  # a long row
        handle.write(separator.join([*_row(22), "", ""]) + "\n")  # empty cells past the header: fine
        handle.write("\n")  # a blank line
        writer.writerow(_row(23))
    if encoding == "utf-8":
        with open(path, "ab") as handle:  # a row in cp1251: bytes not valid UTF-8
            handle.write(separator.join(_row(24, Текст_сообщения="Привет")).encode("cp1251") + b"\n")
            handle.write(separator.join(_row(25)).encode("utf-8") + b"\n")


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """A UTF-8 CSV export of the header and ``rows``, separated by ``;``."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def _executor(export_data: Path) -> str:
    with open(export_data / "registry" / "orgs.csv", encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r.get("region_code", "58").lstrip("0") == "58")
    return str(row.get("short_name") or row.get("name"))


@pytest.mark.parametrize(
    ("encoding", "separator"), [("utf-8", ";"), ("cp1251", ";"), ("utf-8-sig", ","), ("utf-16", ";")]
)
def test_a_crafted_file_with_every_defect_gives_the_same_quarantine(
    export_data: Path, lookups: RegistryLookups, tmp_path: Path, encoding: str, separator: str
) -> None:
    path = tmp_path / "im_58_20251110.csv"
    write_crafted(path, _executor(export_data), encoding=encoding, separator=separator)
    old, new = both(path, lookups)
    assert old.rejected is None
    reasons = {reason for _, _, _, reason, _ in old.quarantine}
    expected = [
        "not a date-time", "not a rating", "satisfaction outside", "answer dated before", "required field",
        "status is not", "channel is not", "not a whole number", "incident id repeated",
        "fields where the header",
    ]  # fmt: skip
    for part in expected:
        assert any(part in reason for reason in reasons), part
    if encoding == "utf-8":
        assert any("bytes not valid" in reason for reason in reasons)
    assert old.counts["duplicates"] == 1
    assert_same(old, new)


def write_crafted_xlsx(path: Path, executor: str) -> None:
    """The crafted rows as a workbook with native cells: numeric ids, Excel date cells, serial
    numbers, ratings as numbers, a blank row and cells beyond the header."""
    import datetime as dt

    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    stamp = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm:ss"})
    for column, header in enumerate(HEADER):
        sheet.write_string(0, column, header)
    rows = crafted_rows(executor)
    for number, cells in enumerate(rows, start=1):
        style = int(cells[0]) if cells[0].isdigit() else number  # a copied row keeps its cells' kinds
        for column, value in enumerate(cells):
            header = HEADER[column]
            if header == "ID инцидента" and value.isdigit():
                sheet.write_number(number, column, int(value))
            elif header.startswith("Дата") and value and style % 3 in (0, 1):
                try:
                    moment = dt.datetime.strptime(value.strip()[:16], "%d.%m.%Y %H:%M")
                except ValueError:  # not a date: stays text
                    sheet.write_string(number, column, value)
                    continue
                if style % 3 == 0:  # an Excel date cell, with a fraction of a second
                    sheet.write_datetime(number, column, moment + dt.timedelta(microseconds=400_000), stamp)
                else:  # an Excel serial number
                    serial = (moment - dt.datetime(1899, 12, 30)).total_seconds() / 86400
                    sheet.write_number(number, column, serial)
            elif header == "Оценка ответа" and value.replace(".", "", 1).isdigit():
                sheet.write_number(number, column, float(value))
            elif value:
                sheet.write_string(number, column, value)
    sheet.write_string(len(rows) + 1, 0, "   ")  # a row of blanks
    sheet.write_string(len(rows) + 1, len(HEADER) + 1, "past the header")  # read by no field
    workbook.close()


def test_a_crafted_workbook_with_native_cells_gives_the_same_quarantine(
    export_data: Path, lookups: RegistryLookups, tmp_path: Path
) -> None:
    path = tmp_path / "im_58_20251111.xlsx"
    write_crafted_xlsx(path, _executor(export_data))
    old, new = both(path, lookups)
    assert old.rejected is None
    assert old.quarantine and old.counts["duplicates"] == 1
    assert_same(old, new)


def test_labels_written_with_quotes_read_as_the_labels_they_name(
    export_data: Path, lookups: RegistryLookups, tmp_path: Path
) -> None:
    """Value labels and rating words are matched in the form of headers, quotes dropped: a cell
    ``'Закрыт'`` or ``В'Контакте`` names its label (the engine writes the texts it found into its
    SQL, so a quote in them must stay text)."""
    executor = _executor(export_data)
    path = tmp_path / "im_58_20251112.csv"
    rows = [
        _row(1, Исполнитель=executor, Статус="'Закрыт'", Соцсеть="В'Контакте"),
        _row(2, Исполнитель=executor, Тип_сообщения="«пост»", Оценка_ответа="Не удовлетворён'"),
        _row(3, Исполнитель=executor, Статус="Закрыт''; DROP TABLE screened; --"),
    ]
    write_rows(path, rows)
    old, new = both(path, lookups)
    assert old.rejected is None
    assert_same(old, new)
    events = new.events.set_index("incident_id")
    assert events.loc["1", "status"] == "closed" and events.loc["1", "channel"] == "vk"
    assert events.loc["2", "message_type"] == "post" and int(events.loc["2", "satisfied"]) == 0
    assert "3" not in events.index  # not a status of the set: quarantined by both paths


def test_a_repeated_id_whose_first_row_breaks_a_rule_gives_the_same_quarantine(
    export_data: Path, lookups: RegistryLookups, tmp_path: Path
) -> None:
    """Both paths load the first row of a repeated id that breaks no other rule, and a repeat's
    reason names that row; an id whose every row breaks a rule has no repeat to report."""
    executor = _executor(export_data)
    path = tmp_path / "im_58_20251113.csv"
    rows = [
        _row(1, Исполнитель=executor, Статус="Закрыто"),  # row 2: not a status of the set
        _row(2, Исполнитель=executor),
        _row(1, Исполнитель=executor),  # row 4: the first valid row of id 1
        _row(1, Исполнитель=executor, Текст_ответа="другой ответ"),  # row 5: a repeat of row 4
        _row(3, Исполнитель=executor, Статус="Потерян"),  # rows 6 and 7: id 3, each breaking a rule
        _row(3, Исполнитель=executor, Соцсеть="Мастодон"),
    ]
    write_rows(path, rows)

    old, new = both(path, lookups)

    assert old.rejected is None
    assert_same(old, new)
    reasons = {(row, reason) for _, row, _, reason, _ in new.quarantine}
    assert reasons == {
        (2, "status is not one of the documented labels"),
        (5, "incident id repeated within the file with other values (row 4 wins)"),
        (6, "status is not one of the documented labels"),
        (7, "channel is not one of the documented labels"),
    }
    events = new.events.set_index("incident_id")
    assert int(events.loc["1", "row_number"]) == 4 and "3" not in events.index
