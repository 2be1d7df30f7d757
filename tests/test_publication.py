"""The publication as people read it (issue 25): the month's summary, group pages, cards a body
can act on, Russian formats, files for Excel and machines, links that resolve, nothing loaded from
elsewhere; and in headless Chromium at desktop and phone width, with every PDF page rendered.

The region is tests/publication_region.py (penza-2025, three volume groups, two months)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import pytest
import yaml
from openpyxl import load_workbook

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from tests.publication_region import LONG_NAME, METHODOLOGY, MOVED, publish_region, seed_publication_region
from transforms import ru_format as ru
from transforms.rating import OUTSIDE_GROUPS

FROZEN = datetime(2025, 12, 3, 7, 1, 47, tzinfo=UTC)
SHOTS = os.environ.get("GOSPUBLIC_PUBLICATION_SHOTS")  # a folder to keep the screenshots in
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLake:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE",
        json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}),
    )
    monkeypatch.setattr("gospublic.rating.publish.utc_now", lambda: FROZEN)
    return LocalLake(tmp_path / "lake")


def revision(lake: LocalLake, root: str) -> dict[str, bytes]:
    return {obj.key[len(root) + 1 :]: lake.get_bytes(obj.key) for obj in lake.list(f"{root}/")}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "content" and value and "url=" in value:
                self.links.append(value.split("url=", 1)[1])


def visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


# -- pure parts ---------------------------------------------------------------------------------


def test_every_preset_indicator_has_an_advice_line() -> None:
    from gospublic.rating.publication.cards import advice_for
    from gospublic.rating.publication.config import load_config
    from transforms.methodology import load_all

    config = load_config(ROOT / "config" / "publication")
    missing = [
        f"{m.id}: {i.id}" for m in load_all(ROOT).values() for i in m.indicators if not advice_for(i, config)
    ]
    assert not missing, missing


def test_places_follow_the_stated_rule() -> None:
    import pandas as pd

    from gospublic.rating.publication.model import places

    scores = pd.Series([90.0, 80.04, 79.96, 70.0, 50.0])  # 80.04 and 79.96 are both 80.0 to one decimal
    groups = pd.Series(["a", "a", "a", "a", "b"])
    assert places(scores, groups, "dense").tolist() == [1, 2, 2, 3, 1]
    assert places(scores, groups, "competition").tolist() == [1, 2, 2, 4, 1]


def test_bodies_outside_every_group_are_no_group_of_their_own() -> None:
    """A methodology that leaves some kinds unrated lists those bodies as not rated, not as a group
    with its own page, PDF and sheet (found on the sample month: «Вне групп методики» was one)."""
    import pandas as pd

    from gospublic.rating.publication.model import group_order
    from transforms.methodology import load_all

    penza = load_all(ROOT)["penza-2025"]
    table = pd.DataFrame(
        {
            "rating_group": ["ОИВ", OUTSIDE_GROUPS, "ОМСУ районов", OUTSIDE_GROUPS],
            "incidents": [10, 3, 5, 0],
        }
    )
    assert group_order(penza, table) == ["ОМСУ районов", "ОИВ"]


def test_the_excel_csv_leaves_what_is_unknown_empty() -> None:
    """pandas gives NaN, not None, for a missing zone, reason or previous group: each must be an
    empty cell, never «nan» (found under kirov-2024: the zone of unrated bodies read «nan»)."""
    import math

    from gospublic.rating.publication.csv_files import excel_csv

    rated = {"rating_group": "ОИВ", "place": 1, "name": "Минздрав", "score": 80.64, "zone_ru": "зелёная",
             "score_change": math.nan, "previous_group": math.nan, "place_change": 2.0, "incidents": 12,
             "is_rated": True, "not_rated_reason": math.nan, "org_id": "org-1"}  # fmt: skip
    unrated = {**rated, "place": math.nan, "score": math.nan, "zone_ru": math.nan, "place_change": math.nan,
               "is_rated": False, "not_rated_reason": "меньше 2 сообщений ИМ", "org_id": "org-2"}  # fmt: skip
    lines = excel_csv([rated, unrated], "Организация").decode("utf-8-sig").splitlines()
    assert lines[1] == "ОИВ;1;Минздрав;80,6;зелёная;;2;12;да;;org-1"
    assert lines[2] == "ОИВ;;Минздрав;;;;;12;нет;меньше 2 сообщений ИМ;org-2"
    assert "nan" not in "\n".join(lines).lower()


def test_card_names_are_readable_and_unique() -> None:
    from gospublic.rating.publication.slugs import card_name, unique_slugs

    assert (
        card_name("Администрация города Пензы", "org-0141")
        == "cards/administratsiia-goroda-penzy--org-0141.html"
    )
    assert card_name("«»", "org-7") == "cards/org-7.html"
    assert list(unique_slugs(["Более 100 сообщений", "Более  100 сообщений"], "group").values()) == [
        "group-bolee-100-soobshchenii", "group-bolee-100-soobshchenii-2"]  # fmt: skip


def assert_links_resolve(pages: dict[str, str], files: dict[str, bytes]) -> None:
    """Every link resolves inside the revision; nothing is loaded from elsewhere."""
    for name, page in pages.items():
        assert '<meta name="viewport"' in page or "http-equiv" in page, name
        assert not re.search(r"(https?:)?//|url\(|@import", re.sub(r"<!DOCTYPE html>", "", page)), name
        parser = Links()
        parser.feed(page)
        for link in parser.links:
            target = link.split("#", 1)[0]
            if target:
                resolved = os.path.normpath(PurePosixPath(name).parent / target)
                assert resolved in files, f"{name} links {link}: no such file"


def assert_spreadsheets(
    files: dict[str, bytes], rows: list[dict], unrated: list[dict], captions: list[str]
) -> None:
    """Files for Excel and for machines."""
    excel = files["rating-excel.csv"]
    assert excel.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(excel.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:4] == ["Группа", "Место", "Организация", "Балл"] and "Оценивается" in table[0]
    assert {row[table[0].index("Оценивается")] for row in table[1:]} == {"да", "нет"}
    assert all(re.fullmatch(r"\d+,\d", row[3]) for row in table[1:] if row[3])
    assert len(table) - 1 == len(rows)
    machine = list(csv.DictReader(io.StringIO(files["rating.csv"].decode("utf-8"))))
    assert len(machine) == len(rows) and "score" in machine[0] and machine[0]["is_rated"] in ("True", "False")

    workbook = load_workbook(io.BytesIO(files["rating.xlsx"]))
    first = workbook.worksheets[0]
    assert first.title == captions[0][:28] and first.freeze_panes == "C3"
    assert first.auto_filter.ref.startswith("A2:") and first["C3"].number_format == "0.0"
    assert first._charts, "a chart of the group"
    assert workbook["Не оценены"].max_row == len(unrated) + 1
    reasons = {r[3] for r in workbook["Не оценены"].iter_rows(min_row=2, values_only=True)}
    assert reasons == {r["not_rated_reason"] for r in unrated}
    shares = [r for r in workbook["Показатели"].iter_rows(min_row=2) if r[3].number_format == "0%"]
    assert shares, "shares formatted as per cent"
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row), sheet.title
    with zipfile.ZipFile(io.BytesIO(files["rating.xlsx"])) as archive:  # the used range each sheet states
        for number, sheet in enumerate(workbook.worksheets, start=1):  # (written ahead of its rows)
            xml = archive.read(f"xl/worksheets/sheet{number}.xml").decode()
            assert f'<dimension ref="{sheet.calculate_dimension()}"/>' in xml, sheet.title


# -- the published revision ---------------------------------------------------------------------


def test_the_month_reads_as_russians_read_it(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")
    seed_publication_region(warehouse)
    result = publish_region()
    files = revision(local_lake, result["path"])
    rows = json.loads(files["rating.json"])["rows"]
    rated = [r for r in rows if r["is_rated"]]
    unrated = [r for r in rows if not r["is_rated"]]
    assert rated and unrated
    pages = {name: data.decode("utf-8") for name, data in files.items() if name.endswith(".html")}

    # Files readable by a web server under another user.
    for name in files:
        mode = stat.S_IMODE((local_lake.root / result["path"] / name).stat().st_mode)
        assert mode == 0o644, (name, oct(mode))

    assert_links_resolve(pages, files)
    index = pages["index.html"]
    for row in rated:
        assert any(row["name"] in pages[n] for n in pages if n.startswith("cards/")), row["name"]
    assert index.count('href="cards/') >= len(rated)  # every card from the summary

    # Russian formats: month, Moscow time, decimal comma; no ISO stamps, no decimal points.
    text = visible_text(index)
    assert "ноябрь 2025" in text and "3 декабря 2025, 10:01 МСК" in text
    assert "2025-11" not in text and "T07:01" not in text
    for name, page in pages.items():
        assert not re.search(r">\s*[−-]?\d+\.\d+\s*<", page), name
    first_group = next(p for n, p in pages.items() if n.startswith("groups/"))
    assert re.search(r"\d,\d", visible_text(first_group))

    # Groups in the methodology's order, zones per group, the rule and the benchmarks with sources.
    from gospublic.rating.snapshot import methodologies

    # bodies outside every group of the methodology are listed as not rated, not as a group
    present = {r["rating_group"] for r in rows} - {OUTSIDE_GROUPS}
    order_of = getattr(methodologies()[METHODOLOGY], "group_order", lambda: [])
    captions = [c for c in order_of() if c in present] or sorted(present)
    zones_table = text[text.index("Зоны по группам") :]
    positions = [zones_table.index(c) for c in captions]
    assert positions == sorted(positions), captions
    groups_rated = len({r["rating_group"] for r in rated})
    assert f"Оценено {len(rated)} органов из {len(rows)} в {groups_rated} группах" in text
    assert "1, 2, 2, 3" in text
    assert "4 ч 31 мин" in text and "8 дней" in text and "Минцифры" in text and re.search(r"60\s%", text)
    assert "Выросли" in text and "Снизились" in text

    # A page per group: every rated body in its chart (no cut at 40 bars or 40 characters).
    group_pages = {n: p for n, p in pages.items() if n.startswith("groups/")}
    assert len(group_pages) == len(present)
    charted = 0
    for page in group_pages.values():
        if "<svg" not in page:
            continue  # a group with nobody rated
        svg = page[page.index("<svg") : page.index("</svg>")]
        charted += svg.count("<rect")
        assert "Балл, из 100" in svg and ">100<" in svg  # the axis and its caption
        assert "<figcaption>" in page and "Организация" in page  # utilities are listed with bodies of power
    assert charted == len(rated)
    long_page = next(p for p in group_pages.values() if '<table class="rating">' in p and LONG_NAME in p)
    chart = long_page[long_page.index("<svg") : long_page.index("</svg>")]
    assert LONG_NAME not in chart  # wrapped onto lines, every word kept
    assert LONG_NAME.replace(" ", "") in re.sub(r"<[^>]+>|\s", "", chart)  # every character kept
    moved = next(r for r in rows if r["org_id"] == MOVED)
    moved_page = next(p for p in group_pages.values() if moved["name"] in p)
    in_table = moved_page[moved_page.index('<table class="rating">') :]
    row_html = in_table[in_table.index(moved["name"]) :].split("</tr>", 1)[0]
    assert "группа изменилась" in row_html  # places are not compared across groups
    movement = moved_page[moved_page.index("<svg class='chart movement'") :]
    assert "в прошлом месяце в группе" in movement.split("</svg>", 1)[0]  # the movement chart says why

    # Municipalities and topics (tests/test_rating_history.py tests the queries behind them).
    city = pages.get("municipalities/56701000.html")
    if city is not None:
        assert "город Пенза" in city and "АО «Горэлектросеть г. Пензы»" in city
        assert 'href="municipalities/56701000.html"' in index
        assert "не оценивается" in city  # org-18 has no page
    if "О чём писали" in index:
        assert "ЖКХ" in index and "госуслуги" in index

    # Bodies not rated, with the reason.
    for row in unrated:
        assert row["name"] in index and row["not_rated_reason"] in index

    # A card a body can act on.
    indicators = warehouse.query(
        "SELECT org_id, indicator_id, points, weight FROM mart.rating_indicator WHERE snapshot_id = :s",
        {"s": json.loads(files["rating.json"])["snapshot_id"]},
    )
    body = next(r for r in rated if r["org_id"] == "org-00")
    own = [i for i in indicators if i["org_id"] == body["org_id"]]
    worst = max(own, key=lambda i: i["weight"] * (100 - i["points"]) / 100)
    card_name = next(n for n in pages if n.startswith("cards/") and n.endswith(f"--{body['org_id']}.html"))
    card = visible_text(pages[card_name])
    lost = worst["weight"] * (100 - worst["points"]) / 100
    assert f"его оценка — {ru.number(worst['points'])} из 100, это стоило {ru.number(lost)}" in card
    assert re.search(r"(формальных|просрочено|в срок|в пределах [^:]+:) \d+ из \d+", card)  # counts behind
    assert "IM-2025-00000" in card and "Срок ответа" in card  # identifiers and dates, no texts
    advice = yaml.safe_load((ROOT / "config/publication/advice.yaml").read_text(encoding="utf-8"))
    lines = [
        " ".join(str(v).split())
        for section in advice.values()
        if isinstance(section, dict)
        for v in section.values()
    ]
    assert any(line in " ".join(card.split()) for line in lines)
    assert "нет обложки" in card and "закрыты сообщения сообществу" in card  # org-00's failed checks
    assert "«обращение рассмотрено» (" in card  # the stock phrase behind the formal answers, counted
    if "Последние 12 месяцев" in card:  # gospublic.rating.trends: October's published place, then November
        trend = card[card.index("Последние 12 месяцев") :]
        assert trend.index("октябрь 2025") < trend.index("ноябрь 2025")
    redirect = pages[f"cards/{body['org_id']}.html"]
    assert card_name.split("/", 1)[1] in redirect  # the old name leads to the card

    assert_spreadsheets(files, rows, unrated, captions)


# -- in a browser -------------------------------------------------------------------------------

LAYOUT = """(() => {
  const doc = document.documentElement;
  const labels = Array.from(document.querySelectorAll('.zone-label'));
  return {
    overflow: doc.scrollWidth - window.innerWidth,
    wrapped: labels.filter(l => l.getClientRects().length > 1).map(l => l.textContent),
    labels: labels.length,
    text: document.body.innerText,
    viewport: !!document.querySelector('meta[name=viewport]'),
  };
})()"""


def test_the_publication_in_a_browser(
    warehouse: Warehouse, local_lake: LocalLake, tmp_path: Path, monkeypatch
) -> None:
    """One publication, screenshots of the summary, a group and a card at 1400 and 390 px with the
    layout checked in the DOM, and every page of every PDF rendered by pdftoppm."""
    if warehouse.dialect != "duckdb":
        pytest.skip("the pages are the same on both engines; rendered once")
    from gospublic.rating.publication.pdf import Browser, chromium

    browser = chromium()
    if browser is None or shutil.which("pdftoppm") is None:
        pytest.fail("no chromium or pdftoppm: `make browser` installs both (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    seed_publication_region(warehouse)
    result = publish_region()
    folder = local_lake.root / result["path"]
    group = sorted(p for p in (folder / "groups").glob("*.html"))[0]
    card = next(p for p in (folder / "cards").glob("*--org-00.html"))
    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    tabs = Browser(browser, str(tmp_path / "profile"))
    pages = [(folder / "index.html", "summary"), (group, "group"), (card, "card")]
    pages += [(p, "municipality") for p in sorted((folder / "municipalities").glob("56701000.html"))]
    try:
        for page, label in pages:
            for width in (1400, 390):
                session = tabs.open(page.as_uri(), width=width, height=900)
                layout = tabs.evaluate(session, LAYOUT)
                where = f"{label} at {width} px"
                assert layout["viewport"], where
                assert layout["overflow"] <= 0, (
                    f"{where}: the page is {layout['overflow']} px wider than the screen"
                )
                assert not layout["wrapped"], f"{where}: zone labels wrap: {layout['wrapped'][:3]}"
                assert label != "group" or layout["labels"] > 0, f"{where}: no zone labels to check"
                assert "ноябрь 2025" in layout["text"] and re.search(r"\d,\d", layout["text"]), where
                png = tabs.screenshot(session)
                assert png.startswith(b"\x89PNG") and len(png) > 10_000, where
                (shots / f"{label}-{width}.png").write_bytes(png)
                tabs.close_tab(session)
    finally:
        tabs.close()
    pdfs = sorted((folder / "pdf").glob("*.pdf"))
    groups = list((folder / "groups").glob("*.html"))
    assert "summary.pdf" in [p.name for p in pdfs] and len(pdfs) == len(groups) + 1  # the summary, each group
    total = 0
    for pdf in pdfs:
        out = tmp_path / "pdf" / pdf.stem
        out.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["pdftoppm", "-r", "30", "-png", str(pdf), str(out)], check=True, capture_output=True, timeout=120
        )
        rendered = list(out.parent.glob(f"{pdf.stem}-*.png"))
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert pages >= 1 and len(rendered) == pages, pdf.name
        total += pages
    print(f"\nPDF pages: {total} in {len(pdfs)} files; screenshots in {shots}")
