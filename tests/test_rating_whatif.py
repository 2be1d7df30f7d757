"""What-if re-rating and revisions that explain themselves (DuckDB and PostgreSQL).

The small region of tests/test_rating_publish.py (bodies org-01..org-07 rated, k = 1..7) is rated and
published under a test methodology of two indicators, photo/video share (higher is better, 10·k
points) and page compliance (lower is better here, 100 − 11.667·k points), 50/50:

    score = 50 − 0.833·k  → 49.2, 48.3, 47.5, 46.7, 45.8, 45.0, 44.2: places 1..7
    zones (green ≥ 48, yellow ≥ 45): green, green, yellow, yellow, yellow, yellow, red

A draft weighs them 80/20: score = 20 + 5.667·k → 25.7, 31.3, 37.0, 42.7, 48.3, 54.0, 59.7, so the
places reverse (moves −6, −4, −2, 0, +2, +4, +6) and every zone changes (red, red, red, red, green,
green, green). The weighted points of the photo/video share change by +3·k and of compliance by
−(30 − 3.5·k): compliance moved k = 1..4 most, the photo/video share k = 5..7.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gospublic.infra.lake import Lake
from gospublic.infra.warehouse import Warehouse
from tests.test_rating_publish import FORMULA_STARTS, HOSTILE_NAMES, lake_files, seed_region
from transforms.methodology import MethodologyError

MONTH = "2025-11"
METHODOLOGY = "whatif-test"
BASE_YAML = """\
id: whatif-test
version: 1
title: Проверка расчёта «что, если»
groups: {by: all}
min_pages: 1
zones: {green: 48, yellow: 45}
indicators:
  - {id: content, caption: "Доля публикаций с фото или видео", expression: photo_video_share,
     direction: higher, scoring: {type: linear, worst: 0, best: 1}, weight: 50, unit: share}
  - {id: compliance, caption: "Соответствие требованиям (меньше — лучше)", expression: compliance_score,
     direction: lower, scoring: {type: linear, worst: 100, best: 40}, weight: 50, unit: points}
"""
DRAFT_YAML = BASE_YAML.replace("best: 1}, weight: 50", "best: 1}, weight: 80")
NAMES = ["Без страницы", *HOSTILE_NAMES]  # org-01 is named =HYPERLINK(…)
# by body k = 1..7: place before, place after, zone before, zone after, top indicator
EXPECTED = {
    1: (1, 7, "зелёная", "красная", "compliance"),
    2: (2, 6, "зелёная", "красная", "compliance"),
    3: (3, 5, "жёлтая", "красная", "compliance"),
    4: (4, 4, "жёлтая", "красная", "compliance"),
    5: (5, 3, "жёлтая", "зелёная", "content"),
    6: (6, 2, "жёлтая", "зелёная", "content"),
    7: (7, 1, "красная", "зелёная", "content"),
}
TABLES = (
    "mart.rating_snapshot", "mart.rating_monthly", "mart.rating_indicator",
    "audit.rating_snapshot_input", "audit.rating_gate",
)  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project with one more methodology: its folders linked, config/methodologies holding the
    test methodology beside the presets."""
    project = Path(os.environ.get("GOSPUBLIC_HOME") or Path(__file__).resolve().parents[1])
    home = tmp_path / "home"
    (home / "config" / "methodologies").mkdir(parents=True)
    for entry in project.iterdir():
        if entry.name != "config":
            (home / entry.name).symlink_to(entry)
    for entry in (project / "config").iterdir():
        if entry.name != "methodologies":
            (home / "config" / entry.name).symlink_to(entry)
    (home / "config" / "methodologies" / f"{METHODOLOGY}.yaml").write_text(BASE_YAML, encoding="utf-8")
    monkeypatch.setenv("GOSPUBLIC_HOME", str(home))
    return home


def counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows of every rating table of mart and audit (those of TABLES and any other named rating_*)."""
    found = warehouse.query(
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
        "WHERE table_schema IN ('mart', 'audit') AND table_name LIKE 'rating%'"
    )
    tables = sorted({*TABLES, *(row["name"] for row in found)})
    return {table: warehouse.scalar(f"SELECT COUNT(*) FROM {table}") for table in tables}


def published(warehouse: Warehouse, lake: Lake, *, seed: bool = True, republish: bool = False) -> str:
    """The month rated and its snapshot marked published (``mark_published``, the publication's
    commit point; the files are tests/test_rating_publish.py's business); its snapshot id."""
    from gospublic.rating.snapshot import RatingSnapshot, mark_published
    from gospublic.rating.steps import rate

    if seed:
        seed_region(warehouse, names=NAMES)
    (result,) = rate(MONTH, [METHODOLOGY], publish=False, republish=republish)
    snapshot = RatingSnapshot(
        result["snapshot_id"], date(2025, 11, 1), result["methodology_id"], result["revision"],
        result["status"], result["input_fingerprint"], result["created"],
    )  # fmt: skip
    path = f"publish/rating/{MONTH}/{METHODOLOGY}/rev-{snapshot.revision}"
    assert mark_published(warehouse, snapshot, path, datetime(2025, 12, 3, 3, tzinfo=UTC))
    return snapshot.snapshot_id


def test_cli_rate_compares_a_draft_without_writing(
    warehouse: Warehouse, lake: Lake, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gospublic.cli import main

    published(warehouse, lake)
    before, files_before = counts(warehouse), lake_files(lake, "")
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT_YAML, encoding="utf-8")
    out = tmp_path / "out"

    assert main(["rate", "--month", MONTH, "--methodology", str(draft), "--set", "compliance.weight=20",
                 "--out", str(out)]) == 0  # fmt: skip
    assert counts(warehouse) == before and lake_files(lake, "") == files_before  # nothing written
    printed = capsys.readouterr().out
    assert "Место изменилось у 6\u00a0органов: выше — 3, ниже — 3" in printed
    assert "Зона изменилась у 7\u00a0органов" in printed

    workbook = load_workbook(out / "comparison.xlsx")
    assert workbook.sheetnames == ["Сравнение", "Показатели", "Параметры"]
    sheet = workbook["Сравнение"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, values, strict=True)) for values in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(rows) == 7
    by_body = {int(row["ID органа"][-2:]): row for row in rows}
    for k, (place_before, place_after, zone_before, zone_after, top) in EXPECTED.items():
        row = by_body[k]
        assert (row["Место было"], row["Место стало"]) == (place_before, place_after), k
        assert row["Движение"] == place_before - place_after, k
        assert (row["Зона была"], row["Зона стала"]) == (zone_before, zone_after), k
        assert row["Больше всего изменил балл"].startswith(
            "Доля публикаций" if top == "content" else "Соответствие"
        )
    assert by_body[1]["Балл был"] == pytest.approx(49.2) and by_body[1]["Балл стал"] == pytest.approx(25.7)
    assert by_body[7]["Изменение балла"] == pytest.approx(15.5)
    assert by_body[1]["Изменение его баллов"] == pytest.approx(-26.5)  # compliance: −(30 − 3.5)
    assert by_body[7]["Изменение его баллов"] == pytest.approx(21.0)  # content: +3·7
    assert [row["ID органа"] for row in rows] == [f"org-{k:02d}" for k in range(7, 0, -1)]  # by new place
    assert by_body[1]["Орган"] == "'" + HOSTILE_NAMES[0]  # a spreadsheet would have run it
    assert sheet.cell(row=2, column=header.index("Балл стал") + 1).number_format == "0.0"
    for worksheet in workbook.worksheets:
        for line in worksheet.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (worksheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_STARTS), (worksheet.title, cell.coordinate)
    points = workbook["Показатели"]
    columns = [cell.value for cell in points[1]]
    formats = {
        (line[columns.index("ID показателя")].value, line[columns.index("Значение стало")].number_format)
        for line in points.iter_rows(min_row=2)
    }
    assert formats == {("content", "0.0%"), ("compliance", "0.00")}  # a share reads as a percentage
    params = dict(workbook["Параметры"].iter_rows(values_only=True))
    assert params["Месяц"] == "ноябрь 2025" and params["Изменения (--set)"] == "compliance.weight=20"
    assert params["Сравнение с"] == f"опубликованный выпуск {METHODOLOGY}:{MONTH}:r1"
    assert params["Рассчитано"].endswith(" МСК")

    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert "ноябрь 2025" in page and "49,2" in page and "25,7" in page and "+15,5" in page
    assert "\u221223,5" in page  # a fall with a true minus
    assert "<td class='n up'>+6</td>" in page and "<td class='n down'>\u22126</td>" in page  # places: whole
    assert '=HYPERLINK("http' not in page and "<script" not in page


def test_overrides_are_allow_listed_and_validated(home: Path) -> None:
    from gospublic.rating.whatif import resolve

    assert resolve(METHODOLOGY, ["content.weight=70", "zones.green=85,5"]).zones == (85.5, 45.0)
    assert {i.id: i.weight for i in resolve(METHODOLOGY, ["indicators.content.weight=70"]).indicators} == {
        "content": 70.0, "compliance": 50.0,
    }  # fmt: skip
    refused = {
        "content.weight": "path=value",
        "content.colour=red": "cannot be set",
        "speed.weight=10": "neither a settable field",
        "indicators.speed.weight=10": "no indicator 'speed'",
        "content.weight=много": "is not a float",
        "min_pages=1.5": "is not a int",
        "content.required=perhaps": "is not a bool",
        "zones.green=20": "zones.green=20: ",  # the loader: yellow (45) <= green
        "content.weight=-5": "content.weight=-5: ",  # the loader: must be positive
        "DROP TABLE=1": "path=value",
    }
    for override, message in refused.items():
        with pytest.raises(MethodologyError, match=re.escape(message)):
            resolve(METHODOLOGY, [override])
    # the loader's error names the override that set the field at fault
    with pytest.raises(MethodologyError, match=re.escape("zones.green=20")):
        resolve(METHODOLOGY, ["content.weight=60", "zones.green=20"])
    with pytest.raises(MethodologyError, match="neither a methodology"):
        resolve("no-such-methodology")


def test_cli_refuses_a_bad_override(warehouse: Warehouse, lake: Lake, home: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from gospublic.cli import main

    published(warehouse, lake)
    code = main(["rate", "--month", MONTH, "--methodology", METHODOLOGY, "--set", "zones.green=101",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2 and "zones.green=101" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    # a draft under a new id has nothing published to compare with: it names --against
    draft = tmp_path / "new-id.yaml"
    draft.write_text(BASE_YAML.replace("id: whatif-test", "id: whatif-new"), encoding="utf-8")
    code = main(["rate", "--month", MONTH, "--methodology", str(draft), "--out", str(tmp_path / "out")])
    assert code == 2 and "--against" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    # a lenient draft: its degeneracy report is printed with the headline
    code = main(["rate", "--month", MONTH, "--methodology", METHODOLOGY, "--set", "zones.green=20",
                 "--set", "zones.yellow=10", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0 and "Вырожденность: " in capsys.readouterr().out


def test_unpublished_month_is_compared_with_the_preset_rated_now(
    warehouse: Warehouse, lake: Lake, home: Path
) -> None:
    from gospublic.rating.whatif import comparison_html, resolve, what_if

    seed_region(warehouse, names=NAMES)
    result = what_if(warehouse, MONTH, resolve(METHODOLOGY, ["content.weight=80", "compliance.weight=20"]))
    assert result.against_snapshot is None
    assert result.comparison.summary.moved == 6 and result.comparison.summary.zone_changed == 7
    assert result.degeneracies == ()
    # a draft that puts every body in one zone: its degeneracy report says so
    lenient = what_if(warehouse, MONTH, resolve(METHODOLOGY, ["zones.green=20", "zones.yellow=10"]))
    assert lenient.comparison.summary.zone_changed == 5  # all green now; 2 were green
    assert any("зелён" in line for line in lenient.degeneracies), lenient.degeneracies
    assert "Вырожденность по новой методике" in comparison_html(lenient)
    assert warehouse.scalar("SELECT COUNT(*) FROM mart.rating_snapshot") == 0


def test_republished_revision_says_what_changed(warehouse: Warehouse, lake: Lake, home: Path) -> None:
    """Revision 2 after org-05's photo/video share falls from 0.5 to 0.05: the input that changed is
    that indicator's, for one body; org-05 falls from place 5 to 7 (45.8 → 23.3, yellow → red),
    org-06 and org-07 rise one place each, and the photo/video share moved org-05."""
    from gospublic.rating.changes import revision_changes
    from tests.test_rating_publish import change_inputs

    published(warehouse, lake)
    assert revision_changes(warehouse, f"{METHODOLOGY}:{MONTH}:r1") is None
    parts = warehouse.query(
        "SELECT input_id, bodies FROM audit.rating_snapshot_input WHERE snapshot_id = :s ORDER BY input_id",
        {"s": f"{METHODOLOGY}:{MONTH}:r1"},
    )
    assert parts == [
        {"input_id": "bodies", "bodies": 8},
        {"input_id": "indicator:compliance", "bodies": 8},
        {"input_id": "indicator:content", "bodies": 8},
        {"input_id": "methodology", "bodies": 8},
    ]
    change_inputs(warehouse)  # org-05: photo_video_share 0.5 → 0.05
    second = published(warehouse, lake, seed=False, republish=True)
    assert second == f"{METHODOLOGY}:{MONTH}:r2"

    changes = revision_changes(warehouse, second)
    assert changes is not None and changes.parts_recorded
    assert changes.previous_snapshot_id == f"{METHODOLOGY}:{MONTH}:r1"
    assert [(c.input_id, c.bodies_changed) for c in changes.inputs] == [("indicator:content", 1)]
    table = changes.comparison.bodies.set_index("org_id")
    # org-05: 5 points of content at weight 50 % = 2.5 weighted instead of 25: 45.8 − 22.5 → 23.3
    assert table.loc["org-05", ["rank_before", "rank_after"]].tolist() == [5, 7]
    assert table.loc["org-05", "score_after"] == pytest.approx(23.3)
    assert (table.loc["org-05", "zone_before"], table.loc["org-05", "zone_after"]) == ("yellow", "red")
    assert table.loc["org-05", "top_indicator"] == "content"
    assert table.loc["org-05", "top_indicator_change"] == pytest.approx(-22.5)
    assert table.loc[["org-06", "org-07"], "place_move"].tolist() == [1, 1]
    assert changes.comparison.summary.moved == 3 and changes.comparison.summary.zone_changed == 1
    lines = changes.lines()
    assert lines[0] == f"По сравнению с редакцией 1 ({METHODOLOGY}:{MONTH}:r1):"
    assert (
        "Изменено: исходные данные показателя «Доля публикаций с фото или видео» — у 1\u00a0органа"
        in lines[1]
    )
    assert any("Место изменилось у 3\u00a0органов" in line for line in lines)
    body_lines = changes.body_lines()
    assert len(body_lines) == 3
    (fall,) = [line for line in body_lines if "ниже" in line]
    assert fall.startswith(HOSTILE_NAMES[4]) and "ниже на 2\u00a0места" in fall  # org-05
    assert "зона жёлтая → красная" in fall and "«Доля публикаций с фото или видео» (\u221222,5)" in fall


def test_against_a_methodology_file_rated_now(
    warehouse: Warehouse, lake: Lake, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--against FILE``: the draft against another draft, both rated now, although the month is
    published (the published snapshot is left out of it)."""
    from gospublic.cli import main

    published(warehouse, lake)
    base, draft = tmp_path / "base.yaml", tmp_path / "draft.yaml"
    base.write_text(BASE_YAML, encoding="utf-8")
    draft.write_text(DRAFT_YAML.replace("weight: 50", "weight: 20"), encoding="utf-8")  # 80/20
    out = tmp_path / "out"
    assert main(["rate", "--month", MONTH, "--methodology", str(draft), "--against", str(base),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "Место изменилось у 6\u00a0органов" in capsys.readouterr().out
    params = dict(load_workbook(out / "comparison.xlsx")["Параметры"].iter_rows(values_only=True))
    assert params["Сравнение с"] == f"расчёт по методике {METHODOLOGY} из файла base.yaml"
