"""The publication's PDFs are printed on A4, the paper ЦУР staff and governors' offices print on
(ГОСТ Р 7.0.97); with no size from the page, Chromium's default was US Letter (612 × 792 pt)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gospublic.rating.publication import pdf


def test_pages_are_printed_on_a4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if pdf.chromium() is None or shutil.which("pdfinfo") is None:
        pytest.fail("no chromium or pdfinfo: `make browser` installs both (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    page = "<!DOCTYPE html><html><body><p>Рейтинг за ноябрь 2025</p></body></html>".encode()
    printed = pdf.print_pages({"pdf/summary.pdf": page}, datetime(2025, 12, 5, tzinfo=UTC))
    target = tmp_path / "summary.pdf"
    target.write_bytes(printed["pdf/summary.pdf"])
    info = subprocess.run(["pdfinfo", str(target)], check=True, capture_output=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size, info
    millimetres = [float(points) * 25.4 / 72 for points in size.groups()]
    assert [round(mm) for mm in millimetres] == [210, 297], info  # Chromium gives 595.92 × 841.92 pt
