"""The group pages' bar charts on a phone: at 390 px every bar and its score is on the screen, in
text a person can read, not cut at the screen's right edge (the chart was an SVG 760 px wide in a
scrolling box); at 1280 px and in print the charts are as they were (natural size, a chart a
printed page). Likewise the movement chart of places, and the tables of bodies (a group's rating
table, the summary's movers), which at 390 px are a block per body instead of a box scrolling
sideways. The region of tests/publication_region.py with more ОИВ than a printed page holds,
opened in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from tests import publication_region, test_publication
from tests.publication_region import publish_region, seed_publication_region

local_lake = test_publication.local_lake  # the publication tests' fixture: a local lake, a frozen clock
EXTRA = 30  # ОИВ with long names: the group's bars take two printed charts
LEGIBLE_PX = 10  # the smallest font a chart's text may be drawn at

# A page script's start: shown or not, the screen's width, a text outside the screen, a text's drawn
# font size in px.
SCRIPT_START = """(() => {
  const shown = el => el.getClientRects().length > 0;
  const width = window.innerWidth;
  const outside = el => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > width; };
  const font = el => {
    const svg = el.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / (svg.viewBox.baseVal.width || svg.width.baseVal.value);
    return parseFloat(getComputedStyle(el).fontSize) * scale;
  };
"""

# The bar charts shown (not display:none), their bars and each bar's score (the text after its rect).
CHARTS = (
    SCRIPT_START
    + """
  const charts = Array.from(document.querySelectorAll('svg.chart:not(.movement)')).filter(shown);
  const rects = charts.flatMap(c => Array.from(c.querySelectorAll('rect')));
  const scores = rects.map(r => r.nextElementSibling);
  const labels = charts.flatMap(c => Array.from(c.querySelectorAll('text.label')));
  const texts = [...scores, ...labels];
  return {
    overflow: document.documentElement.scrollWidth - width,
    rows: document.querySelectorAll('table.rating tbody tr').length,
    bars: rects.length,
    scores: scores.filter(s => s && s.tagName === 'text' && /^\\d+(,\\d)?$/.test(s.textContent)).length,
    cut: texts.filter(outside).map(t => t.textContent.trim()).slice(0, 5),
    smallest: texts.length ? Math.min(...texts.map(font)) : null,
    natural: charts.every(c => Math.abs(c.getBoundingClientRect().width - c.width.baseVal.value) < 0.5),
    charts: charts.length,
  };
})()"""
)


def seen_on_group_pages(
    script: str,
    warehouse: Warehouse,
    local_lake: LocalLake,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    also: tuple[str, ...] = (),
    groups: bool = True,
) -> Iterator[tuple[Path, int, str, dict[str, Any]]]:
    """The region with more ОИВ than a printed page holds, published without PDFs; ``script``'s
    result on each group page (unless not ``groups``), then on the pages ``also`` names, at 390 px,
    1280 px and in print (DuckDB only: the pages are the same on both engines)."""
    if warehouse.dialect != "duckdb":
        pytest.skip("the pages are the same on both engines")
    from gospublic.rating.publication.pdf import Browser, chromium

    browser = chromium()
    if browser is None:
        pytest.fail("no chromium: `make browser` installs it (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")  # the pages as a browser shows them
    extra = [(f"Министерство регионального развития и отраслевой политики № {k} Пензенской области", "ОИВ")
             for k in range(EXTRA)]  # fmt: skip
    monkeypatch.setattr(publication_region, "BODIES", [*publication_region.BODIES, *extra])
    monkeypatch.setattr(
        publication_region, "VOLUMES", [*publication_region.VOLUMES, *[40 + k for k in range(EXTRA)]]
    )
    seed_publication_region(warehouse)
    folder = local_lake.root / publish_region()["path"]
    pages = sorted((folder / "groups").glob("*.html"))
    assert len(pages) > 1
    pages = [*(pages if groups else []), *(folder / name for name in also)]
    tabs = Browser(browser, str(tmp_path / "profile"))
    try:
        for page in pages:
            for width, media in ((390, "screen"), (1280, "screen"), (1100, "print")):
                session = tabs.open(page.as_uri(), width=width, height=900)
                if media == "print":
                    tabs.call("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
                seen = tabs.evaluate(session, script)
                tabs.close_tab(session)
                yield page, width, media, seen
    finally:
        tabs.close()


@pytest.mark.slow
def test_group_charts_fit_a_phone_and_stay_as_they_were_on_a_desktop_and_in_print(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for page, width, media, seen in seen_on_group_pages(CHARTS, warehouse, local_lake, monkeypatch, tmp_path):
        where = f"{page.name} at {width} px ({media})"
        assert seen["bars"] == seen["rows"] == seen["scores"] > 0, (where, seen)  # each body once
        assert seen["overflow"] <= 0, (where, seen)
        assert not seen["cut"], f"{where}: cut at the screen's edge: {seen['cut']}"
        assert seen["smallest"] >= LEGIBLE_PX, (where, seen)
        if width > 390:  # natural size: 11 px text, a chart a printed page
            assert seen["natural"], (where, seen)
        if page.name == "group-oiv.html" and width > 390:
            assert seen["charts"] > 1, (where, seen)  # the printed pages' charts


# The movement charts shown, their names and each text's box (the chart's scrolling box too).
MOVEMENT = (
    SCRIPT_START
    + """
  const charts = Array.from(document.querySelectorAll('svg.chart.movement')).filter(shown);
  const texts = charts.flatMap(c => Array.from(c.querySelectorAll('text')));
  const boxes = charts.map(c => c.parentElement);
  return {
    overflow: document.documentElement.scrollWidth - width,
    scrolls: boxes.filter(b => b.scrollWidth > b.clientWidth + 1).length,
    names: Array.from(document.querySelectorAll('table.rating tbody td.name'))
      .map(td => td.textContent.trim()),
    text: charts.map(c => c.textContent).join(' ').replace(/\\s+/g, ' '),
    cut: texts.filter(outside).map(t => t.textContent.trim()).slice(0, 5),
    smallest: texts.length ? Math.min(...texts.map(font)) : null,
    natural: charts.every(c => Math.abs(c.getBoundingClientRect().width - c.width.baseVal.value) < 0.5),
    wide: charts.filter(c => !c.classList.contains('phone')).length,
    charts: charts.length,
  };
})()"""
)


@pytest.mark.slow
def test_movement_chart_fits_a_phone_and_stays_as_it_was_on_a_desktop_and_in_print(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At 390 px the movement chart of places neither scrolls sideways nor cuts a name at the
    screen's edge, and names every body of the group's table in text of 10 px or more; at 1280 px
    and in print it is the wide slope chart at its natural size."""
    for page, width, media, seen in seen_on_group_pages(
        MOVEMENT, warehouse, local_lake, monkeypatch, tmp_path
    ):
        where = f"{page.name} at {width} px ({media})"
        assert seen["charts"] == 1, (where, seen)  # one movement chart shown
        missing = [n for n in seen["names"] if n[:30] not in seen["text"]]
        assert seen["names"] and not missing, (where, missing[:5])  # every body named
        assert seen["overflow"] <= 0, (where, seen)
        if width == 390:
            assert not seen["scrolls"], (where, seen)  # no sideways scrolling box
            assert not seen["cut"], f"{where}: cut at the screen's edge: {seen['cut']}"
            assert seen["smallest"] >= LEGIBLE_PX, (where, seen)
        else:  # the slope chart as it was
            assert seen["wide"] == 1 and seen["natural"], (where, seen)


# The tables of bodies (a group's rating table; the summary's movers): the sideways scroll of their
# boxes, cells outside the screen, their layout (display, the header's and the table's widths), and
# the figure cells (not the place, name or zone) with their column's caption drawn before them.
TABLES = """(() => {
  const width = window.innerWidth;
  const tables = Array.from(document.querySelectorAll('table.rating, table.movers'));
  const rows = tables.flatMap(t => Array.from(t.tBodies[0].rows));
  const cells = rows.flatMap(r => Array.from(r.cells));
  const first = td => td.closest('table').classList.contains('rating') ? 2 : 1;  // after place, name
  const figures = cells.filter(td => td.cellIndex >= first(td) && !td.classList.contains('zone'));
  const header = td => td.closest('table').tHead.rows[0].cells[td.cellIndex].textContent.trim();
  const caption = td => getComputedStyle(td, '::before').content;
  const top = el => el.getBoundingClientRect().top;
  const outside = el => {
    const r = el.getBoundingClientRect();
    return r.left < -0.5 || r.right > width + 0.5;
  };
  const box = t => t.closest('.scroll') || t;
  return {
    overflow: document.documentElement.scrollWidth - width,
    tables: tables.length,
    rows: rows.length,
    sideways: tables.map(t => box(t).scrollWidth - box(t).clientWidth),
    outside: cells.filter(outside).map(td => td.textContent.trim()).slice(0, 5),
    display: Array.from(new Set(tables.map(t => getComputedStyle(t).display))),
    headers: tables.map(t => t.tHead.getBoundingClientRect().width),
    widths: tables.map(t => t.getBoundingClientRect().width),
    figures: figures.length,
    captioned: cells.filter(td => !['none', 'normal'].includes(caption(td))).length,
    mislabelled: figures.filter(td => td.dataset.label !== header(td)).map(header).slice(0, 5),
    apart: rows.filter(r => Math.abs(top(r.cells[0]) - top(r.querySelector('td.name'))) > 3).length,
  };
})()"""


@pytest.mark.slow
def test_tables_of_bodies_fit_a_phone_and_stay_tables_on_a_desktop_and_in_print(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At 390 px a group's rating table (on its page and on the page of all groups) and the summary's
    movers do not scroll sideways in their box: a block per body, its place and name on one line,
    each figure below with its column's caption, every cell inside the screen. At 1280 px and in
    print they are the tables they were: the header across the table, no captions in the cells."""
    for page, width, media, seen in seen_on_group_pages(
        TABLES, warehouse, local_lake, monkeypatch, tmp_path, also=("rating.html", "index.html")
    ):
        where = f"{page.name} at {width} px ({media})"
        assert seen["tables"] > 0 and seen["rows"] > 0 and seen["figures"] > 0, (where, seen)
        assert seen["overflow"] <= 0, (where, seen)
        if width == 390:
            assert max(seen["sideways"]) <= 1, (where, seen)  # no table box scrolling sideways
            assert not seen["outside"], f"{where}: cells outside the screen: {seen['outside']}"
            assert seen["captioned"] == seen["figures"], (where, seen)  # each figure with its caption
            assert not seen["mislabelled"], (where, seen)  # the caption is its column's header
            assert max(seen["headers"]) <= 1, (where, seen)  # the header out of sight
            assert seen["apart"] == 0, (where, seen)  # place and name on one line
        else:  # the table as it was
            assert seen["display"] == ["table"], (where, seen)
            shown = zip(seen["headers"], seen["widths"], strict=True)
            assert all(head >= table - 1 for head, table in shown), (where, seen)  # the header across
            assert seen["captioned"] == 0, (where, seen)


# Every table of a page: the sideways scroll of its box, cells outside the screen, its layout, and
# the cells drawn with a caption before them, each caption against its column's header. A row's
# title (its first cell, a body's place and name, its zone) may go without one.
EVERY_TABLE = """(() => {
  const width = window.innerWidth;
  const tables = Array.from(document.querySelectorAll('main table'));
  const rows = tables.flatMap(t => Array.from(t.tBodies[0].rows));
  const cells = rows.flatMap(r => Array.from(r.cells));
  const header = td => td.closest('table').tHead.rows[0].cells[td.cellIndex].textContent.trim();
  const caption = td => getComputedStyle(td, '::before').content;
  const title = td => td.cellIndex === 0 || ['name', 'place', 'zone'].some(c => td.classList.contains(c));
  const blocks = tables.filter(t => getComputedStyle(t).display !== 'table');
  const outside = el => {
    const r = el.getBoundingClientRect();
    return r.left < -0.5 || r.right > width + 0.5;
  };
  const box = t => t.closest('.scroll') || t;
  const figures = blocks.flatMap(t => Array.from(t.tBodies[0].rows)).flatMap(r => Array.from(r.cells))
    .filter(td => !title(td));
  return {
    overflow: document.documentElement.scrollWidth - width,
    tables: Array.from(new Set(tables.map(t => t.className))).sort(),
    sideways: tables.filter(t => box(t).scrollWidth - box(t).clientWidth > 1).map(t => t.className),
    outside: cells.filter(outside).map(td => td.textContent.trim().slice(0, 40)).slice(0, 5),
    blocks: Array.from(new Set(blocks.map(t => t.className))).sort(),
    figures: figures.length,
    uncaptioned: figures.filter(td => ['none', 'normal'].includes(caption(td))).length,
    captioned: cells.filter(td => !['none', 'normal'].includes(caption(td))).length,
    mislabelled: cells.filter(td => !['none', 'normal'].includes(caption(td)))
      .filter(td => caption(td) !== JSON.stringify(header(td) + ': '))
      .map(td => [header(td), caption(td)]).slice(0, 5),
    headers: blocks.map(t => t.tHead.getBoundingClientRect().width),
    across: tables.filter(t => t.tHead.getBoundingClientRect().width < t.getBoundingClientRect().width - 1)
      .map(t => t.className),
  };
})()"""

EVERY_TABLE_OF = {
    "index.html": ["benchmarks", "movers", "topics", "totals", "zones"],
    "rating.html": ["methodology", "rating"],
}


@pytest.mark.slow
def test_every_table_of_the_summary_and_the_rating_fits_a_phone_and_stays_as_it_was_on_a_desktop(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At 390 px no table of index.html or rating.html scrolls sideways in its box and every cell is
    on the screen: a table wider than the screen (the zones, benchmarks, topics and methodology as
    well as the tables of bodies) is a block per row, its title first, each other cell with its
    column's caption. At 1280 px and in print every table is the table it was: the header across
    the table, no captions in the cells."""
    for page, width, media, seen in seen_on_group_pages(
        EVERY_TABLE, warehouse, local_lake, monkeypatch, tmp_path, also=tuple(EVERY_TABLE_OF), groups=False
    ):
        where = f"{page.name} at {width} px ({media})"
        assert seen["tables"] == EVERY_TABLE_OF[page.name], (where, seen)
        assert seen["overflow"] <= 0, (where, seen)
        assert not seen["sideways"], f"{where}: tables scrolling sideways in their box: {seen['sideways']}"
        assert not seen["outside"], f"{where}: cells outside the screen: {seen['outside']}"
        if width == 390:
            assert seen["figures"] > 0 and seen["uncaptioned"] == 0, (where, seen)  # each with its caption
            assert not seen["mislabelled"], (where, seen)  # the caption is its column's header
            assert max(seen["headers"]) <= 1, (where, seen)  # the header out of sight
        else:  # the tables as they were
            assert not seen["blocks"] and seen["captioned"] == 0, (where, seen)
            assert not seen["across"], (where, seen)  # the header across the table
