"""Chromium gets its DevTools pipe on fds 3 and 4 in any process that publishes (issue 29).

The rating task holds the embedded warehouse's writer lock; our at-fork handler closes the lock
file's descriptor in a forked child (``gospublic.infra.warehouse``). When that descriptor was 3,
the child's ``os.dup`` of the pipe returned 3 itself, ``dup2(3, 3)`` changed nothing, and the pipe
stayed close-on-exec: Chromium started without it ("Remote debugging pipe file descriptors are
not open"), the first write failed with "Broken pipe", and a national publication went out
without its PDF. The scenario runs in a fresh interpreter, where the lock file is fd 3."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from gospublic.infra.warehouse import Warehouse
    from gospublic.rating.publication import pdf

    warehouse = Warehouse.duckdb(os.path.join(sys.argv[1], "warehouse.duckdb"))
    warehouse.scalar("SELECT 1")  # connected: the writer lock is held
    lock = os.path.join(sys.argv[1], "warehouse.duckdb.lock")
    held = [fd for fd in map(int, os.listdir("/proc/self/fd"))
            if os.path.realpath(f"/proc/self/fd/{fd}") == os.path.realpath(lock)]
    print("lock fds", held)
    page = b"<html><body><p>PDF</p></body></html>"
    printed = pdf.print_pages({"a.pdf": page}, datetime(2025, 12, 5, tzinfo=UTC))
    print("printed", len(printed["a.pdf"]))
    """
)


def test_a_pdf_prints_while_the_warehouse_lock_is_fd_3(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "GOSPUBLIC_PUBLICATION_PDF": "on"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lock fds [3]" in done.stdout  # the scenario: the lock file is fd 3
    assert "printed" in done.stdout
