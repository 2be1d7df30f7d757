"""A group larger than a PDF can hold at national size (issue 29): one Chromium laying out a group
page of 5,800 bodies took 6 GB, so a group of more than ``PRINT_ROWS`` rated bodies is printed in
parts of at most that many rows, linked from its page and listed in the summary, which together
hold every row once, in place order. And the memoised number formats give ``ru_format``'s text."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.publication import files as publication_files
from tests import test_publication
from tests.publication_region import publish_region, seed_publication_region
from tests.test_publication import assert_links_resolve, revision

local_lake = test_publication.local_lake  # the publication tests' fixture: a local lake, a frozen clock
CARD = re.compile(r'<td class="name"><a href="\.\./(cards/[^"]+)"')


def test_a_group_larger_than_a_pdf_is_printed_in_parts(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.dialect != "duckdb":
        pytest.skip("the pages are the same on both engines")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    monkeypatch.setattr(publication_files, "PRINT_ROWS", 3)  # the region's groups hold 3 to 9 bodies
    monkeypatch.setattr(publication_files, "pdf_planned", lambda: True)  # PDFs planned, no browser needed
    printed: dict[str, bytes] = {}

    def print_pages(pages: dict[str, bytes], at: object) -> dict[str, bytes]:  # what Chromium is given
        printed.clear()  # October's, then November's
        printed.update(pages)
        return {name: b"%PDF-1.4 " + name.encode() for name in pages}

    monkeypatch.setattr(publication_files, "print_pages", print_pages)
    seed_publication_region(warehouse)
    result = publish_region()
    files = revision(local_lake, result["path"])
    pages = {name: data.decode("utf-8") for name, data in files.items() if name.endswith(".html")}
    assert_links_resolve(pages, files)
    assert set(printed) == {name for name in files if name.startswith("pdf/")}
    index = pages["index.html"]
    assert printed["pdf/summary.pdf"].decode() == index

    split = 0
    for name in sorted(n for n in pages if n.startswith("groups/")):
        slug = Path(name).stem
        cards = CARD.findall(pages[name])  # the group's table, in place order
        assert cards, name
        parts = sorted((n for n in printed if n.startswith(f"pdf/{slug}-part-")),
                       key=lambda n: int(n.rsplit("-", 1)[1].removesuffix(".pdf")))  # fmt: skip
        if len(cards) <= 3:
            assert not parts and f"pdf/{slug}.pdf" in printed, name
            continue
        split += 1
        assert f"pdf/{slug}.pdf" not in printed, name
        assert [p.rsplit("-", 1)[1] for p in parts] == [
            f"{k}.pdf" for k in range(1, math.ceil(len(cards) / 3) + 1)
        ]
        held = [CARD.findall(printed[p].decode()) for p in parts]
        assert all(1 <= len(rows) <= 3 for rows in held), held
        assert [card for rows in held for card in rows] == cards  # every row once, in place order
        for k, part in enumerate(parts, start=1):
            text = printed[part].decode()
            assert f"часть {k} из {len(parts)}" in text, part
            assert f'href="../{part}"' in pages[name] and f'href="{part}"' in index, part
        for part in parts[:-1]:  # the unrated bodies once, in the last part
            assert "Не оценены в группе" not in printed[part].decode()
        assert ("Не оценены в группе" in pages[name]) == (
            "Не оценены в группе" in printed[parts[-1]].decode()
        )
    assert split, "no group larger than a part: the test shows nothing"
    assert json.loads(files["rating.json"])["rows"]


def test_a_page_single_process_chromium_fails_on_is_printed_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Single-process Chromium is unsupported and did crash (reused for a second tab): a page it
    fails on is printed by an ordinary Chromium instead of the publication losing its PDFs."""
    from datetime import UTC, datetime

    from gospublic.rating.publication import pdf

    if pdf.chromium() is None:
        pytest.fail("no chromium: `make browser` installs it (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    ordinary = pdf._print_one
    tried: list[bool] = []

    def crashing(browser: str, source: Path, profile: Path, single_process: bool) -> bytes:
        tried.append(single_process)
        if single_process:
            raise pdf.PdfError("Chromium closed its pipe")
        return ordinary(browser, source, profile, single_process)

    monkeypatch.setattr(pdf, "_print_one", crashing)
    monkeypatch.setattr(pdf, "SHARED_BYTES", 0)  # a big page: printed by a Chromium of its own
    page = "<!DOCTYPE html><html><body><p>Рейтинг за ноябрь 2025</p></body></html>".encode()
    printed = pdf.print_pages({"pdf/summary.pdf": page}, datetime(2025, 12, 5, tzinfo=UTC))
    assert printed["pdf/summary.pdf"].startswith(b"%PDF-"), printed
    assert tried == [True, False]
    assert "printing it again" in caplog.text


def test_a_small_page_the_shared_chromium_fails_on_is_printed_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The small pages share one single-process Chromium: a page it fails on is printed by an
    ordinary Chromium of its own, and the next page by a fresh shared one; every PDF is made."""
    from datetime import UTC, datetime

    from gospublic.rating.publication import pdf

    if pdf.chromium() is None:
        pytest.fail("no chromium: `make browser` installs it (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    started: list[bool] = []  # single_process of each Chromium started
    failed: list[bool] = []

    class Crashing(pdf.Browser):
        def __init__(self, browser: str, profile: str, single_process: bool = False) -> None:
            super().__init__(browser, profile, single_process)
            started.append(single_process)
            self.single_process = single_process

        def pdf(self, session: str) -> bytes:
            if self.single_process and not failed:  # the shared Chromium's first page
                failed.append(True)
                raise pdf.PdfError("Chromium closed its pipe")
            return super().pdf(session)

    monkeypatch.setattr(pdf, "Browser", Crashing)
    pages = {f"pdf/group-{k}.pdf": f"<!DOCTYPE html><p>Группа {k}</p>".encode() for k in range(3)}
    printed = pdf.print_pages(pages, datetime(2025, 12, 5, tzinfo=UTC))
    assert sorted(printed) == sorted(pages) and all(p.startswith(b"%PDF-") for p in printed.values())
    assert started == [True, False, True]  # shared, the failed page alone (ordinary), shared again
    assert "printing it alone" in caplog.text


def test_the_shared_chromium_is_replaced_after_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """What one shared Chromium loads is bounded (it keeps much of what it laid out): past
    ``SHARED_BUDGET`` bytes of HTML the next page starts a fresh one."""
    from datetime import UTC, datetime

    from gospublic.rating.publication import pdf

    if pdf.chromium() is None:
        pytest.fail("no chromium: `make browser` installs it (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    pages = {f"pdf/group-{k}.pdf": f"<!DOCTYPE html><p>Группа {k}</p>".encode() for k in range(3)}
    monkeypatch.setattr(pdf, "SHARED_BUDGET", 2 * max(map(len, pages.values())))  # two pages a Chromium
    started: list[bool] = []
    real = pdf.Browser

    def counted(browser: str, profile: str, single_process: bool = False) -> pdf.Browser:
        started.append(single_process)
        return real(browser, profile, single_process)

    monkeypatch.setattr(pdf, "Browser", counted)
    printed = pdf.print_pages(pages, datetime(2025, 12, 5, tzinfo=UTC))
    assert sorted(printed) == sorted(pages) and all(p.startswith(b"%PDF-") for p in printed.values())
    assert started == [True, True]
