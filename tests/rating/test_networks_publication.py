"""The published methodology says which networks each indicator read (issue 28), in Russian for ЦУР
staff: methodology.html, rating.html and the «Методика» sheet of rating.xlsx, on DuckDB and
PostgreSQL; and who is rated says on which networks its pages are counted."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gospublic.infra.settings import project_home
from gospublic.rating.publication.files import methodology_rows, rated_when_text, render_files
from gospublic.rating.snapshot import compute_snapshot
from tests.rating.test_networks_indicators import METHODOLOGY as NETWORKS_METHODOLOGY
from tests.rating.test_networks_indicators import MONTH, VK_ONLY, _seed, _write
from transforms.methodology import load_all, load_methodology

ALL = "ВКонтакте, Одноклассники, Telegram, MAX"
VK = "только ВКонтакте"
NOT_PAGES = "—"  # an indicator of messages reads no page
AT = datetime(2025, 12, 3, 7, 1, 47, tzinfo=UTC)
# one indicator of messages beside the two page indicators
METHODOLOGY = NETWORKS_METHODOLOGY.replace(
    "min_group_size: 1\n", "min_group_size: 1\nrated_when: {pages: 1}\n", 1
) + (
    "  - id: answered\n"
    "    caption: Доля сообщений с ответом\n"
    "    expression: answered_share\n"
    "    scoring: {type: linear, worst: 0, best: 1}\n"
    "    weight: 10\n"
    "    required: true\n"  # no body has a message: 0 points, so a rating of messages alone rates them
)


def _methodology_table(page: bytes) -> list[list[str]]:
    """The cells of the methodology table, row by row (the header first)."""
    html = page.decode("utf-8")
    table = html[html.index('<table class="methodology">') :]
    table = table[: table.index("</table>")]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


def _text(page: bytes) -> str:
    html = re.sub(r"<style>.*?</style>", " ", page.decode("utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_indicator_row_names_its_networks(tmp_path: Path) -> None:
    methodology = load_methodology(_write(tmp_path, METHODOLOGY))
    assert [(r["caption"], r["networks"]) for r in methodology_rows(methodology)] == [
        ("Публикаций в неделю, ВКонтакте", VK),
        ("Публикаций в неделю, все соцсети", ALL),
        ("Доля сообщений с ответом", NOT_PAGES),
    ]
    assert rated_when_text(methodology) == (
        f"есть официальная страница (госпаблик) хотя бы в одной из соцсетей: {ALL}"
    )
    vk = load_methodology(
        _write(tmp_path, VK_ONLY.replace("min_group_size: 1\n", "min_group_size: 1\nmin_pages: 2\n"))
    )
    assert rated_when_text(vk) == "не меньше 2 официальных страниц (госпабликов) во ВКонтакте"


def test_the_shipped_presets_say_vk_only_for_their_page_indicators() -> None:
    presets = load_all(project_home())
    samara = presets["samara-2022"]
    assert {r["networks"] for r in methodology_rows(samara)} == {VK}
    assert rated_when_text(samara) == "есть официальная страница (госпаблик) во ВКонтакте"
    penza = {r["caption"]: r["networks"] for r in methodology_rows(presets["penza-2025"])}
    assert penza["Соответствие госпабликов требованиям"] == VK
    assert set(penza.values()) == {VK, NOT_PAGES}


def test_the_published_methodology_says_which_networks_each_indicator_read(
    warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")
    _seed(warehouse)
    methodology = load_methodology(_write(tmp_path, METHODOLOGY))
    snapshot = compute_snapshot(warehouse, methodology, MONTH)
    files = render_files(warehouse, snapshot, methodology, AT)
    for name in ("methodology.html", "rating.html"):
        header, *rows = _methodology_table(files[name])
        assert header[-1] == "Соцсети", name
        assert {row[0]: row[-1] for row in rows} == {
            "Публикаций в неделю, ВКонтакте": VK,
            "Публикаций в неделю, все соцсети": ALL,
            "Доля сообщений с ответом": NOT_PAGES,
        }, name
        assert (
            f"Оцениваются органы, у которых есть официальная страница (госпаблик) хотя бы в одной из "
            f"соцсетей: {ALL}." in _text(files[name])
        ), name
    sheet = load_workbook(io.BytesIO(files["rating.xlsx"]))["Методика"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows.index(["Показатель", "Направление", "Вес", "Шкала", "Нет данных", "Соцсети"])
    networks = {row[0]: row[5] for row in rows[header + 1 : header + 4]}
    assert networks == {
        "Публикаций в неделю, ВКонтакте": VK,
        "Публикаций в неделю, все соцсети": ALL,
        "Доля сообщений с ответом": NOT_PAGES,
    }
    # n-ok has an OK page only: rated under a methodology reading every network
    rows = {r["org_id"]: r for r in json.loads(files["rating.json"])["rows"]}
    assert (rows["n-ok"]["is_rated"], rows["n-ok"]["not_rated_reason"]) == (True, None)

    # a rating of messages only reads no page: no networks column
    messages = load_methodology(_write(tmp_path, MESSAGES_ONLY, "messages-test.yaml"))
    files = render_files(warehouse, compute_snapshot(warehouse, messages, MONTH), messages, AT)
    header, *rows = _methodology_table(files["methodology.html"])
    assert header == ["Показатель", "Направление", "Вес", "Шкала", "Нет данных"]
    assert [row[0] for row in rows] == ["Доля сообщений с ответом"]
    assert "ВКонтакте" not in _text(files["methodology.html"])


MESSAGES_ONLY = (
    METHODOLOGY[: METHODOLOGY.index("  - id: activity_vk")].replace("networks-test", "messages-test")
    + METHODOLOGY[METHODOLOGY.index("  - id: answered") :]
).replace("rated_when: {pages: 1}\n", "")


def test_an_indicator_of_messages_reads_no_network(tmp_path: Path) -> None:
    methodology = load_methodology(_write(tmp_path, MESSAGES_ONLY, "messages-test.yaml"))
    assert {r["networks"] for r in methodology_rows(methodology)} == {NOT_PAGES}
    assert rated_when_text(methodology) == ""
