"""A publication's PDF at national scale (issue 29): a group page of some 6,000 bodies prints to
about 100 MB of PDF. Chromium hands it over as a stream read in chunks; as one base64 message of
140 MB it took minutes to arrive over the DevTools pipe and the publication went on without its
PDF. The page here is images of noise (they do not compress) so that Chromium lays it out in
seconds and the test measures the transfer, not the layout of a long table."""

from __future__ import annotations

import base64
import random
import re
import shutil
import struct
import subprocess
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gospublic.rating.publication import pdf

AT = datetime(2025, 12, 5, 9, 30, tzinfo=UTC)
SIDE = 1500  # pixels of a square image: 6.75 MB of noise, about 6.8 MB of PDF each
IMAGES = 15  # about 100 MB of PDF, like a national group of 6,000 bodies


def noise_png(seed: int) -> bytes:
    rng = random.Random(seed)
    raw = b"".join(b"\0" + rng.randbytes(SIDE * 3) for _ in range(SIDE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_a_national_size_pdf_is_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if pdf.chromium() is None or shutil.which("pdfinfo") is None:
        pytest.fail("no chromium or pdfinfo: `make browser` installs both (make test does it)")
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    # Every step but the layout itself within a minute (the default is two): the whole PDF in one
    # message overran it.
    monkeypatch.setattr(pdf, "TIMEOUT", 60.0)
    images = "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(noise_png(n)).decode()}" '
        'style="display:block;width:18cm;break-after:page">'
        for n in range(IMAGES)
    )
    page = f"<!DOCTYPE html><html><body>{images}</body></html>".encode()

    started = time.monotonic()
    printed = pdf.print_pages({"pdf/big.pdf": page}, AT)
    took = time.monotonic() - started

    data = printed["pdf/big.pdf"]
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 90_000_000, len(data)
    dates = re.findall(rb"/(?:CreationDate|ModDate) \(D:(\d{14})", data)
    assert dates and set(dates) == {b"20251205093000"}, dates  # stamped: the bytes are reproducible
    assert pdf.stamped(data, AT) == data
    target = tmp_path / "big.pdf"
    target.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(target)], check=True, capture_output=True, text=True).stdout
    pages = re.search(r"Pages:\s+(\d+)", info)
    assert pages and int(pages.group(1)) == IMAGES, info
    print(f"\n{len(data) / 1e6:.0f} MB of PDF in {took:.1f} s")
