"""The published PDFs hold no link into the folder Chromium printed them from. Their sources are
the publication's pages, whose links are relative (``groups/….html``, ``cards/….html``); Chromium
turned each into an absolute ``file:///tmp/gospublic-pdf-XXXX/…`` URL, dead for every reader and
different on every run, so the same snapshot and time gave different PDF bytes. Printed through
real Chromium: the region's publication, and its pages printed twice (shared and alone)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.publication import pdf
from tests import test_publication
from tests.publication_region import publish_region, seed_publication_region
from tests.test_publication import revision

local_lake = test_publication.local_lake  # the publication tests' fixture: a local lake, a frozen clock
# A link annotation's target: a literal string (with escaped parentheses) or a hex string.
_URI = re.compile(rb"/URI\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)")
AT = datetime(2025, 12, 3, 7, 1, tzinfo=UTC)


def _uris(data: bytes) -> list[str]:
    out = []
    for raw in _URI.findall(data):
        if raw.startswith(b"<"):
            out.append(bytes.fromhex(raw[1:-1].decode()).decode("latin-1"))
        else:
            out.append(re.sub(rb"\\(.)", rb"\1", raw[1:-1]).decode("latin-1"))
    return out


def _dead(data: bytes) -> list[str]:
    """The PDF's links a reader cannot follow: file: URLs and anything naming the print folder."""
    found = [u for u in _uris(data) if u.lower().startswith("file:") or "gospublic-pdf-" in u]
    if b"gospublic-pdf-" in data or b"file:" in data.lower():  # e.g. in a stream _URI does not parse
        found.append("(the bytes name a file: URL or the print folder)")
    return found


@pytest.mark.slow
def test_published_pdfs_link_nowhere_dead_and_print_the_same_bytes_twice(
    warehouse: Warehouse, local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.dialect != "duckdb":
        pytest.skip("the pages are the same on both engines")
    if pdf.chromium() is None or shutil.which("pdftotext") is None:
        pytest.fail("no chromium or pdftotext: `make browser` installs both (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    seed_publication_region(warehouse)
    files = revision(local_lake, publish_region()["path"])
    printed = sorted(n for n in files if n.startswith("pdf/"))
    assert "pdf/summary.pdf" in printed and len(printed) > 1, printed
    for name in printed:
        assert not _dead(files[name]), (name, _dead(files[name]))
    # the summary's source held links to every group, card and file: printed as their text
    assert b"/URI" not in files["pdf/summary.pdf"], _uris(files["pdf/summary.pdf"])

    # The same pages and time print the same bytes, in the shared Chromium and in one of its own.
    group = next(n for n in sorted(files) if n.startswith("groups/"))
    pages = {"pdf/summary.pdf": files["index.html"], "pdf/group.pdf": files[group]}
    shared = pdf.print_pages(pages, AT)
    assert shared == pdf.print_pages(pages, AT)
    monkeypatch.setattr(pdf, "SHARED_BYTES", 0)  # every page alone
    alone = pdf.print_pages(pages, AT)
    assert alone == pdf.print_pages(pages, AT)
    for name, data in {**shared, **alone}.items():
        assert not _dead(data), (name, _dead(data))
