"""What-if ratings: a month rated under any methodology — a preset, a draft file, ``--set`` overrides —
compared with the month's published snapshot, without publishing or writing a snapshot.

``what_if`` reads the warehouse only (``snapshot.score_without_writing`` and the published
snapshot's rows); ``comparison_html`` and ``comparison_xlsx`` render the comparison in Russian
(«ноябрь 2025», 80,6, Moscow time; the workbook holds values only, text that a spreadsheet would
execute escaped). ``python -m gospublic.cli rate`` writes them to a folder, the ``monthly_rating``
DAG's ``dry_run`` to the lake under ``whatif/``.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.snapshot import methodologies, score_without_writing
from transforms import ru_format as ru
from transforms.methodology import Methodology, MethodologyError, methodology_dir
from transforms.methodology_override import load_with_overrides
from transforms.months import parse_month
from transforms.rating import ZONE_CAPTIONS
from transforms.rating_compare import Comparison, Rated, Summary, compare
from transforms.rating_degeneracy import find_degeneracies
from transforms.spreadsheet import spreadsheet_value

FILES = ("comparison.html", "comparison.xlsx")
ZONE_COLOURS = {"green": "#c8e6c9", "yellow": "#fff59d", "red": "#ffcdd2"}


@dataclass(frozen=True)
class WhatIf:
    """A month rated under ``methodology`` and compared with ``against``."""

    month: date
    methodology: Methodology
    overrides: tuple[str, ...]
    against_id: str
    against_snapshot: str | None  # the published snapshot compared with; None: rated now, unpublished
    comparison: Comparison
    names: dict[str, str]
    captions: dict[str, str]  # indicator id → caption (the draft's, else the compared one's)
    against_file: str | None = None  # compared with this methodology file rated now
    degeneracies: tuple[str, ...] = ()  # the draft's degeneracy report (transforms.rating_degeneracy)
    units: dict[str, str] = field(default_factory=dict)  # indicator id → unit (share, hours, points…)
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def headline(self) -> list[str]:
        return headline(self.comparison.summary)


def resolve(spec: str, overrides: Sequence[str] = (), home: Path | None = None) -> Methodology:
    """A preset id of ``config/methodologies`` or a YAML file, with ``overrides`` (``path=value``)."""
    from gospublic.infra import settings

    known = methodologies()
    if spec in known:
        path = Path(known[spec].source)
    else:
        path = Path(spec)
        if not path.is_file():
            folder = methodology_dir(home or settings.project_home())
            raise MethodologyError(f"{spec}: neither a methodology of {folder} {sorted(known)} nor a file")
    return load_with_overrides(path, list(overrides))


def snapshot_side(warehouse: Warehouse, snapshot_id: str) -> Rated:
    """A stored snapshot's bodies and indicators as ``transforms.rating_compare`` reads them."""
    bodies = warehouse.query_df(
        "SELECT org_id, rating_group, is_rated, score, rank, zone FROM mart.rating_monthly "
        "WHERE snapshot_id = :s ORDER BY org_id",
        {"s": snapshot_id},
    )
    indicators = warehouse.query_df(
        "SELECT org_id, indicator_id, raw_value, points, weight, weighted_points FROM mart.rating_indicator "
        "WHERE snapshot_id = :s ORDER BY org_id, indicator_id",
        {"s": snapshot_id},
    )
    return Rated(bodies, indicators)


def published_snapshot(warehouse: Warehouse, methodology_id: str, month: date) -> str | None:
    """The latest published revision of the month under ``methodology_id``."""
    rows = warehouse.query(
        "SELECT snapshot_id FROM mart.rating_snapshot WHERE methodology_id = :m AND month = :month "
        "AND status = 'published' ORDER BY revision DESC LIMIT 1",
        {"m": methodology_id, "month": month},
    )
    return str(rows[0]["snapshot_id"]) if rows else None


def what_if(
    warehouse: Warehouse,
    month: date | str,
    methodology: Methodology,
    *,
    overrides: Sequence[str] = (),
    against: str | Methodology | None = None,
) -> WhatIf:
    """``month`` rated under ``methodology`` (nothing written) against the published snapshot of
    ``against`` (default: the same methodology id); when that month is not published under it, against
    the preset ``against`` rated now. A ``Methodology`` (a draft file) is always rated now."""
    first_day = parse_month(month)
    _, indicators, bodies = score_without_writing(warehouse, methodology, first_day)
    after = Rated(bodies, indicators)
    found = find_degeneracies(indicators, bodies, methodology)
    known = methodologies()
    draft = against if isinstance(against, Methodology) else None
    against_id = draft.id if draft else (against if isinstance(against, str) else None) or methodology.id
    snapshot_id = None if draft else published_snapshot(warehouse, against_id, first_day)
    if draft:
        _, old_indicators, old_bodies = score_without_writing(warehouse, draft, first_day)
        before = Rated(old_bodies, old_indicators)
        known = {**known, draft.id: draft}
    elif snapshot_id:
        before = snapshot_side(warehouse, snapshot_id)
    elif against_id in known:
        _, old_indicators, old_bodies = score_without_writing(warehouse, known[against_id], first_day)
        before = Rated(old_bodies, old_indicators)
    else:
        raise MethodologyError(
            f"{first_day:%Y-%m} is not published under {against_id!r} and no preset has that id: "
            f"compare with --against one of {sorted(known)}"
        )
    sources = [methodology, *([known[against_id]] if against_id in known else []), *known.values()]
    captions = indicator_captions(sources)
    comparison = compare(before, after, group_order=methodology.group_order())
    return WhatIf(
        first_day, methodology, tuple(overrides), against_id, snapshot_id, comparison,
        body_names(warehouse, comparison.bodies["org_id"].tolist()), captions,
        against_file=Path(draft.source).name if draft else None,
        degeneracies=tuple(d.message_ru for d in found),
        units=indicator_units(sources),
    )  # fmt: skip


def indicator_captions(sources: Sequence[Methodology]) -> dict[str, str]:
    """Each indicator id's caption from the first methodology that has it (the draft, the compared
    one, then any preset: a published snapshot may hold an indicator its preset has since dropped)."""
    captions: dict[str, str] = {}
    for methodology in sources:
        for indicator in methodology.indicators:
            captions.setdefault(indicator.id, indicator.caption)
    return captions


def indicator_units(sources: Sequence[Methodology]) -> dict[str, str]:
    """Each indicator id's unit, found as ``indicator_captions`` finds captions."""
    units: dict[str, str] = {}
    for methodology in sources:
        for indicator in methodology.indicators:
            units.setdefault(indicator.id, indicator.unit)
    return units


def body_names(warehouse: Warehouse, org_ids: list[str]) -> dict[str, str]:
    """The registry's current name of each body (its id where the registry has none)."""
    if not org_ids:
        return {}
    rows = warehouse.query("SELECT org_id, name FROM core.dim_org WHERE is_current")
    names = {str(r["org_id"]): str(r["name"]) for r in rows}
    return {org: names.get(org, org) for org in org_ids}


# -- words ------------------------------------------------------------------------------------------


def _bodies(value: int) -> str:
    """``у 1 органа``, ``у 5 органов``: the genitive after «у»."""
    return f"у {ru.counted(value, 'органа', 'органов', 'органов')}"


def headline(summary: Summary) -> list[str]:
    """The comparison's summary in Russian, a sentence a line."""
    lines = [
        f"Органов в рейтинге: {ru.count(summary.rated_after)} (было {ru.count(summary.rated_before)}).",
        f"Место изменилось {_bodies(summary.moved)}: выше — {ru.count(summary.moved_up)}, "
        f"ниже — {ru.count(summary.moved_down)}, сменили группу — {ru.count(summary.group_changed)}, "
        f"вошли в рейтинг — {ru.count(summary.entered)}, выбыли — {ru.count(summary.left)}.",
        f"Зона изменилась {_bodies(summary.zone_changed)}, балл — {_bodies(summary.score_changed)}.",
    ]
    if summary.largest_rise is not None or summary.largest_fall is not None:
        lines.append(
            f"Наибольший рост балла: {ru.change(summary.largest_rise)}; "
            f"наибольшее падение: {ru.change(summary.largest_fall)}."
        )
    return lines


def what_happened(row: Any) -> str:
    """One body's move in words."""
    if row.rated_after and not row.rated_before:
        return "вошёл в рейтинг"
    if row.rated_before and not row.rated_after:
        return "выбыл из рейтинга"
    if row.group_changed:
        return f"перешёл из группы «{row.rating_group_before}»"
    move = 0 if pd.isna(row.place_move) else int(row.place_move)
    if move > 0:
        return f"выше на {ru.counted(move, 'место', 'места', 'мест')}"
    if move < 0:
        return f"ниже на {ru.counted(-move, 'место', 'места', 'мест')}"
    return "место то же"


def zone_caption(value: Any) -> str:
    return ZONE_CAPTIONS.get(str(value), "") if isinstance(value, str) else ""


def _number(value: Any) -> float | int | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def _rank(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def caption_of(result: WhatIf, indicator_id: str) -> str:
    """The indicator's caption; an id no methodology at hand knows (a published snapshot's indicator
    since dropped) is named as such."""
    return result.captions.get(indicator_id) or f"{indicator_id} (показатель прежней методики)"


def body_rows(result: WhatIf) -> pd.DataFrame:
    """The comparison as the reader's table: captions in Russian, numbers as numbers."""
    rows = []
    for row in result.comparison.bodies.itertuples():
        top = row.top_indicator if isinstance(row.top_indicator, str) else None
        rows.append(
            {
                "Группа": row.rating_group,
                "Место было": _rank(row.rank_before),
                "Место стало": _rank(row.rank_after),
                "Движение": _rank(row.place_move),
                "Что произошло": what_happened(row),
                "Орган": result.names.get(row.org_id, row.org_id),
                "Балл был": _number(row.score_before),
                "Балл стал": _number(row.score_after),
                "Изменение балла": _number(row.score_change),
                "Зона была": zone_caption(row.zone_before),
                "Зона стала": zone_caption(row.zone_after),
                "Больше всего изменил балл": caption_of(result, top) if top else "",
                "Изменение его баллов": _number(row.top_indicator_change) if top else None,
                "ID органа": row.org_id,
            }
        )
    return pd.DataFrame(rows)


def indicator_rows(result: WhatIf) -> pd.DataFrame:
    frame = result.comparison.indicators
    frame = frame[frame["change"].abs() > 1e-9]
    groups = result.comparison.bodies.set_index("org_id")["rating_group"]
    rows = [
        {
            "Орган": result.names.get(r.org_id, r.org_id),
            "Группа": groups.get(r.org_id, ""),
            "Показатель": caption_of(result, r.indicator_id),
            "Значение было": _number(r.raw_value_before),
            "Значение стало": _number(r.raw_value_after),
            "Баллы были": _number(r.points_before),
            "Баллы стали": _number(r.points_after),
            "Вес был, %": _number(r.weight_before),
            "Вес стал, %": _number(r.weight_after),
            "Взвешенные баллы были": _number(r.weighted_points_before),
            "Взвешенные баллы стали": _number(r.weighted_points_after),
            "Изменение": _number(r.change),
            "ID органа": r.org_id,
            "ID показателя": r.indicator_id,
        }
        for r in frame.itertuples()
    ]
    return pd.DataFrame(rows)


def parameters(result: WhatIf) -> list[tuple[str, str]]:
    methodology = result.methodology
    if result.against_snapshot:
        against = f"опубликованный выпуск {result.against_snapshot}"
    elif result.against_file:
        against = f"расчёт по методике {result.against_id} из файла {result.against_file}"
    else:
        against = f"расчёт по действующей методике {result.against_id} (месяц по ней не опубликован)"
    return [
        ("Месяц", ru.month(result.month)),
        ("Методика", f"{methodology.id}, версия {methodology.version}: {methodology.title}"),
        ("Файл методики", Path(methodology.source.split(" (--set")[0]).name),
        ("Изменения (--set)", "; ".join(result.overrides) or "нет"),
        ("Сравнение с", against),
        ("Рассчитано", ru.moscow_time(result.computed_at)),
        ("Публикация", "не публикуется: расчёт «что, если», выпуски рейтинга не меняются"),
    ]


# -- HTML -------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 24px}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f2f2f2;text-align:left}td.n{text-align:right;white-space:nowrap}
.up{color:#2e7d32}.down{color:#c62828}.params td:first-child{color:#555}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _cell(value: Any, kind: str = "") -> str:
    if kind == "score":
        return f"<td class='n'>{ru.number(value)}</td>"
    if kind in ("change", "move"):
        css = "" if value is None or value == 0 else (" up" if value > 0 else " down")
        return f"<td class='n{css}'>{ru.change(value, 0 if kind == 'move' else 1)}</td>"
    if kind == "place":
        return f"<td class='n'>{'—' if value is None else ru.count(value)}</td>"
    return f"<td>{_e(value)}</td>"


def comparison_html(result: WhatIf) -> str:
    """The comparison as one page (no script, no outside resource)."""
    title = f"Рейтинг за {ru.month(result.month)}: что изменится по методике {result.methodology.id}"
    parts = [
        "<!doctype html><html lang='ru'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        "<table class='params'>",
        *[f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in parameters(result)],
        "</table>",
        "<h2>Итог</h2>",
        *[f"<p>{_e(line)}</p>" for line in result.headline],
        "<h2>Вырожденность по новой методике</h2>",
        *([f"<p>{_e(line)}</p>" for line in result.degeneracies] or ["<p>Не найдена.</p>"]),
    ]
    table = body_rows(result)
    kinds = {
        "Место было": "place", "Место стало": "place", "Движение": "move", "Балл был": "score",
        "Балл стал": "score", "Изменение балла": "change", "Изменение его баллов": "change",
    }  # fmt: skip
    shown = [c for c in table.columns if c not in ("Группа", "ID органа")]
    zones = result.comparison.bodies.set_index("org_id")["zone_after"]
    for group in result.comparison.group_order:
        part = table[table["Группа"] == group]
        if part.empty:
            continue
        parts.append(f"<h2>{_e(group)}</h2><table class='comparison'><tr>")
        parts += [f"<th>{_e(c)}</th>" for c in shown]
        parts.append("</tr>")
        for row in part.to_dict("records"):
            zone = zones.get(row["ID органа"])
            style = f" style='background:{ZONE_COLOURS[zone]}'" if zone in ZONE_COLOURS else ""
            cells = "".join(_cell(row[c], kinds.get(c, "")) for c in shown)
            parts.append(f"<tr{style}>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


# -- XLSX -------------------------------------------------------------------------------------------

NUMBER_FORMATS = {
    "Место было": "0", "Место стало": "0", "Движение": "+0;-0;0", "Балл был": "0.0", "Балл стал": "0.0",
    "Изменение балла": "+0.0;-0.0;0.0", "Изменение его баллов": "+0.0;-0.0;0.0",
    "Значение было": "0.000", "Значение стало": "0.000", "Баллы были": "0.0", "Баллы стали": "0.0",
    "Вес был, %": "0.0", "Вес стал, %": "0.0", "Взвешенные баллы были": "0.00",
    "Взвешенные баллы стали": "0.00", "Изменение": "+0.00;-0.00;0.00",
}  # fmt: skip


def comparison_xlsx(result: WhatIf) -> bytes:
    """Sheets «Сравнение» (a row per body), «Показатели» (changed weighted points), «Параметры»:
    frozen header, filter, number formats; values only."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheets = [("Сравнение", body_rows(result)), ("Показатели", indicator_rows(result))]
    for n, (title, frame) in enumerate(sheets):
        sheet = workbook.active if n == 0 else workbook.create_sheet()
        assert sheet is not None
        sheet.title = title
        columns = list(frame.columns) if not frame.empty else ["Орган"]
        sheet.append([spreadsheet_value(c) for c in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False):
            sheet.append([spreadsheet_value(None if _blank(v) else v) for v in record])
        for index, column in enumerate(columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = 40 if column in ("Орган", "Показатель") else 16
            if column in NUMBER_FORMATS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = NUMBER_FORMATS[column]
        if "ID показателя" in columns:  # a share reads as a percentage, other values as they are
            _value_formats(sheet, columns, result.units)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    params = workbook.create_sheet("Параметры")
    degenerate = [("Вырожденность", line) for line in result.degeneracies] or [
        ("Вырожденность", "не найдена")
    ]
    for key, value in [*parameters(result), *[("Итог", line) for line in result.headline], *degenerate]:
        params.append([spreadsheet_value(key), spreadsheet_value(value)])
    params.column_dimensions["A"].width = 22
    params.column_dimensions["B"].width = 120
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _value_formats(sheet: Any, columns: list[str], units: dict[str, str]) -> None:
    ident = columns.index("ID показателя")
    values = [columns.index(c) for c in ("Значение было", "Значение стало")]
    for row in sheet.iter_rows(min_row=2):
        unit = units.get(str(row[ident].value), "")
        for index in values:
            row[index].number_format = "0.0%" if unit == "share" else "0.00"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def files(result: WhatIf) -> dict[str, bytes]:
    return {
        "comparison.html": comparison_html(result).encode("utf-8"),
        "comparison.xlsx": comparison_xlsx(result),
    }


def write_folder(result: WhatIf, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files(result).items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def lake_folder(month: date, methodology_id: str, run_id: str) -> str:
    """``whatif/<YYYY-MM>/<methodology>/<run id>``: the run id with characters other than letters,
    digits, ``.``, ``_`` and ``-`` replaced by ``_`` (a safe key on every lake)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id).strip("._") or "run"
    return f"whatif/{month:%Y-%m}/{methodology_id}/{safe}"


def write_lake(result: WhatIf, lake: Lake, root: str) -> list[str]:
    """The comparison's files under ``root`` in the lake; their keys."""
    keys = []
    for name, data in files(result).items():
        lake.put_bytes(f"{root}/{name}", data)
        keys.append(f"{root}/{name}")
    return keys
