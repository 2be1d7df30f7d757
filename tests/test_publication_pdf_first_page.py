"""The first page of a group's PDF carries the group's scores, not only its heading. The chart of a
group taller than the rest of a page was one unbreakable figure: Chromium pushed it whole onto the
next page and left page 1 with the heading and a line of counts. The region here has a group of
more than a page of bodies, printed whole and in parts, through real Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.publication import files as publication_files
from gospublic.rating.publication import pdf
from gospublic.rating.publication.charts import FIRST_PAGE_HEIGHT, PAGE_HEIGHT, Bar, bar_chart, bar_charts
from tests import publication_region, test_publication
from tests.publication_region import publish_region, seed_publication_region
from tests.test_publication import revision

local_lake = test_publication.local_lake  # the publication tests' fixture: a local lake, a frozen clock
EXTRA = 60  # more ОИВ than a page of the chart holds (a bar is 18 px or more)


def _page_text(data: bytes, folder: Path, name: str, page: int) -> str:
    path = folder / name.replace("/", "_")
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _axis_depth(data: bytes, folder: Path, name: str) -> float | None:
    """How far down page 1 its first chart's axis caption («Балл, из 100») ends, as a share of the
    page's height (None: no chart's axis on page 1)."""
    path = folder / name.replace("/", "_")
    path.write_bytes(data)
    pdftotext = ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"]
    boxes = subprocess.run(pdftotext, check=True, capture_output=True, text=True).stdout
    height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', boxes).group(1))  # type: ignore[union-attr]
    axis = re.search(r'yMax="([\d.]+)">Балл,</word>', boxes)
    return float(axis.group(1)) / height if axis else None


@pytest.mark.slow
def test_page_one_of_every_group_pdf_and_part_holds_scores(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if warehouse.dialect != "duckdb":
        pytest.skip("the pages are the same on both engines")
    if pdf.chromium() is None or shutil.which("pdftotext") is None:
        pytest.fail("no chromium or pdftotext: `make browser` installs both (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    monkeypatch.setattr(publication_files, "PRINT_ROWS", 40)  # the big group in two parts, the rest whole
    extra = [(f"Министерство регионального развития и отраслевой политики № {k} Пензенской области", "ОИВ")
             for k in range(EXTRA)]  # fmt: skip
    monkeypatch.setattr(publication_region, "BODIES", [*publication_region.BODIES, *extra])
    monkeypatch.setattr(
        publication_region, "VOLUMES", [*publication_region.VOLUMES, *[40 + k for k in range(EXTRA)]]
    )
    seed_publication_region(warehouse)
    result = publish_region()
    files = revision(local_lake, result["path"])
    printed = sorted(n for n in files if n.startswith("pdf/") and n != "pdf/summary.pdf")
    assert any("-part-" in n for n in printed), printed
    names = [name for name, _ in publication_region.BODIES]
    for name in printed:
        first = " ".join(_page_text(files[name], tmp_path, name, 1).split())
        assert "Оценено" in first, (name, first[:300])  # the heading's page
        shown = [n for n in names if n[:20] in first]
        assert shown and ("Балл, из 100" in first or "Место" in first), (name, first[:1000])
        if "-part-" in name:  # 40 bars of two lines: more than page 1 holds, so its chart fills it
            depth = _axis_depth(files[name], tmp_path, name)
            # the page's text ends at 96.6 % (margins of 0.4 in); page 1's chart ended at 72-73 % with
            # room for some ten bars more (a chart of 640 px), at 83 % now
            assert depth is not None and depth >= 0.78, (name, depth)


def test_bar_charts_hold_every_bar_once_in_order_within_a_page_each() -> None:
    bars = [Bar(f"Орган {k} " + "с длинным названием " * (k % 4), 100 - k * 0.5, "green") for k in range(150)]
    charts = bar_charts(bars, title="Баллы группы «ОИВ»", bounds=(80, 60))
    assert len(charts) > 2
    heights = [int(re.search(r"height='(\d+)'", chart).group(1)) for chart in charts]  # type: ignore[union-attr]
    assert heights[0] <= FIRST_PAGE_HEIGHT and all(h <= PAGE_HEIGHT for h in heights[1:]), heights
    labels = [
        re.sub(r"<[^>]+>", " ", m) for c in charts for m in re.findall(r"<text class='label'.*?</text>", c)
    ]
    assert [" ".join(label.split()) for label in labels] == [" ".join(b.label.split()) for b in bars]
    assert all("Балл, из 100" in chart for chart in charts)  # each with its axis
    assert f"(1 из {len(charts)})" in charts[0]
    assert bar_charts(bars[:5], title="t", bounds=(80, 60)) == [
        bar_chart(bars[:5], title="t", bounds=(80, 60))
    ]
