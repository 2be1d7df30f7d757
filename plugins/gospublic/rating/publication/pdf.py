"""PDF of pages printed by headless Chromium (driven over its DevTools pipe; the small pages share
one browser, a big page gets one of its own), with the publication time as the files' dates so
the bytes are reproducible.

``GOSPUBLIC_PUBLICATION_PDF``: ``auto`` (default) prints when a Chromium is installed and skips
with a warning when none is or it fails; ``on`` requires the PDFs; ``off`` makes none.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import pdf_mode

log = logging.getLogger(__name__)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 120.0  # seconds Chromium may take over one step (start, load, a chunk of the PDF)
# Laying out and printing one page: a group table of 6,000 bodies (a national group) takes about
# 100 s on two idle cores and gives a PDF of about 100 MB.
PRINT_TIMEOUT = 600.0
CHUNK = 1 << 20  # bytes of the PDF per IO.read: each DevTools message stays small
A4_INCHES = (210 / 25.4, 297 / 25.4)  # unless a page names its own size (Chromium: Letter)
# One process instead of a browser, a GPU process, zygotes, utilities and a renderer per tab:
# printing a group page of 1,000 bodies, the process tree's summed RSS went from 1,615 MB to
# 838 MB (docs/publication.md, «Big groups»). Chromium calls single-process mode unsupported:
# reusing one such process for a second tab, it crashed once in three runs ('Chromium closed its
# pipe'): the small pages share one in a single tab, a big page gets one of its own (``_print``), and
# a page one fails to print is printed again by an ordinary (multi-process) Chromium.
SINGLE_PROCESS = "--single-process"
MEMORY_FLAGS = ("--no-zygote", "--in-process-gpu", "--renderer-process-limit=1", "--disable-extensions",
                "--disable-component-extensions-with-background-pages",
                "--disable-background-networking")  # fmt: skip
# Pages of at most SHARED_BYTES of HTML (the summary, the groups of a region; a part of 1,000 rows
# is about 1 MB) share one Chromium (``_print``), replaced after it loaded SHARED_BUDGET bytes of them.
SHARED_BYTES = 512 << 10
SHARED_BUDGET = 4 << 20
_DATES = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]*\)")
# The tagged PDF's structure elements are named after the renderer's DOM node numbers
# («(node00000354)»: in /ID, /Headers and the /IDTree), which differ from run to run.
_NODES = re.compile(rb"\(node(\d{8})\)")
# Links between the publication's files print as their text, not as links. The pages' links are
# relative (``groups/….html``); printed from a temporary folder, Chromium made each an absolute
# ``file:///tmp/gospublic-pdf-XXXX/…`` URL, dead for every reader (a PDF is mailed and saved apart
# from the published folder, and no public address of it is configured) and different on each run.
# A link within the page (``#…``) and one to the web (``http(s):``, ``mailto:``) stay links.
UNLINK = """(() => {
  const kept = /^(#|https?:|mailto:)/i;
  let n = 0;
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    if (kept.test(a.getAttribute('href').trim())) continue;
    a.replaceWith(...a.childNodes);
    n += 1;
  }
  return n;
})()"""


class PdfError(RuntimeError):
    """Chromium could not print a page."""


def chromium() -> str | None:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def pdf_planned() -> bool:
    """Whether the publication will carry PDFs, as the setting says (module doc): ``on`` without a
    Chromium fails here, before anything is written; ``auto`` without one says so and plans none."""
    mode = pdf_mode()
    if mode == "off":
        return False
    if chromium() is not None:
        return True
    if mode == "on":
        raise PdfError("GOSPUBLIC_PUBLICATION_PDF=on but no Chromium is installed (make browser)")
    log.warning("no Chromium installed: the publication has no PDF (make browser installs it)")
    return False


def print_pages(pages: dict[str, bytes], at: datetime) -> dict[str, bytes]:
    """``{pdf name: bytes}`` for ``{pdf name: html bytes}`` as the setting says (module doc)."""
    if not pages or not pdf_planned():  # the setting and the browser: one check, pdf_planned's
        return {}
    browser = chromium()
    assert browser is not None  # pdf_planned found it
    mode = pdf_mode()
    try:
        return {name: stamped(data, at) for name, data in _print(browser, pages).items()}
    except (OSError, PdfError) as exc:
        if mode == "on":
            raise PdfError(f"Chromium could not print the publication's PDF: {exc}") from exc
        log.warning("the publication has no PDF: Chromium could not print it: %s", exc)
        return {}


def stamped(data: bytes, at: datetime) -> bytes:
    """The PDF with its creation and modification dates set to ``at`` and its structure elements'
    node names renumbered from 1 (same length: the cross-reference offsets stay right)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%d%H%M%S").encode()

    def replace(match: re.Match[bytes]) -> bytes:
        new = b"/" + match.group(1) + b" (D:" + stamp + b"+00'00')"
        old = match.group(0)
        return (
            new[: len(old)].ljust(len(old), b" ")
            if len(new) >= len(old)
            else new + b" " * (len(old) - len(new))
        )

    return _NODES.sub(_renumbered(data), _DATES.sub(replace, data))


def _renumbered(data: bytes) -> Callable[[re.Match[bytes]], bytes]:
    """A replacement numbering the structure elements' node names 1, 2, … in their old order
    (same width: the offsets stay right; same order: the /IDTree's names stay sorted)."""
    numbers = {old: n for n, old in enumerate(sorted(set(_NODES.findall(data))), start=1)}

    def replace(match: re.Match[bytes]) -> bytes:
        return b"(node%08d)" % numbers[match.group(1)]

    return replace


class Browser:
    """A headless Chromium driven over ``--remote-debugging-pipe`` (JSON messages ended by NUL on
    its fds 3 and 4): open pages, evaluate script, print PDF, take screenshots. One process for
    many pages; ``close`` ends it.

    A PDF comes as a stream read in chunks (``transferMode: ReturnAsStream``, ``IO.read``), not as
    one base64 message: a group of 6,000 bodies (national scale) prints to about 100 MB, a message
    of 140 MB that arrived 64 KiB a read and took minutes."""

    def __init__(self, browser: str, profile: str, single_process: bool = False) -> None:
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire() -> None:  # in the child, before exec: its ends on fds 3 and 4, via numbers above them
            # (os.dup could return 3 or 4 itself, e.g. when an at-fork handler closed the warehouse
            # lock's fd 3: dup2 onto the same number is a no-op that leaves it close-on-exec)
            high_in = fcntl.fcntl(to_child, fcntl.F_DUPFD_CLOEXEC, 5)
            high_out = fcntl.fcntl(from_child, fcntl.F_DUPFD_CLOEXEC, 5)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
             *MEMORY_FLAGS, *([SINGLE_PROCESS] if single_process else []), f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=wire,  # noqa: PLW1509  # only 3 and 4 are inheritable (PEP 446)
        )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no NUL
        self._next = 0
        self._limit = TIMEOUT
        self._deadline = time.monotonic() + TIMEOUT
        self._targets: dict[str, str] = {}

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The result of ``method``, which Chromium must answer within ``timeout`` seconds
        (``TIMEOUT`` by default)."""
        self._next += 1
        self._limit = TIMEOUT if timeout is None else timeout
        self._deadline = time.monotonic() + self._limit
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise PdfError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_event(self, method: str, session: str) -> None:
        self._limit = TIMEOUT
        self._deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self.receive()
            if reply.get("method") == method and reply.get("sessionId") == session:
                return

    def receive(self) -> dict[str, Any]:
        # Each byte is scanned for the NUL once and the buffer grows in place: a long message
        # arrives in thousands of reads, and rescanning or copying it on each was quadratic.
        while (end := self._buffer.find(b"\0", self._scanned)) < 0:
            self._scanned = len(self._buffer)
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise PdfError(f"Chromium did not answer within {self._limit:.0f} s")
            ready, _, _ = select.select([self._read], [], [], left)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise PdfError("Chromium closed its pipe")
                self._buffer += chunk
        parsed: dict[str, Any] = json.loads(self._buffer[:end])
        del self._buffer[: end + 1]
        self._scanned = 0
        return parsed

    def open(self, url: str, width: int = 1400, height: int = 1000) -> str:
        """A new tab of ``width`` × ``height`` CSS pixels (a phone's when narrower than 600) showing
        ``url`` once loaded; returns its session."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session: str = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._targets[session] = target
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            session=session,
        )
        self.call("Page.enable", session=session)
        self.navigate(session, url)
        return session

    def navigate(self, session: str, url: str) -> None:
        """The tab of ``session`` shows ``url`` once loaded."""
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)

    def evaluate(self, session: str, expression: str) -> Any:
        """The value of a JavaScript expression in the tab."""
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in result:
            raise PdfError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str) -> bytes:
        """A PNG of the whole page at the tab's width."""
        result = self.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session
        )
        return base64.b64decode(result["data"])

    def pdf(self, session: str) -> bytes:
        """The tab printed, read from Chromium's stream ``CHUNK`` bytes at a time."""
        stream = self.call(
            "Page.printToPDF",
            {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False,
             "paperWidth": A4_INCHES[0], "paperHeight": A4_INCHES[1], "transferMode": "ReturnAsStream"},
            session=session,
            timeout=PRINT_TIMEOUT,
        )["stream"]  # fmt: skip
        chunks = []
        while True:
            read = self.call("IO.read", {"handle": stream, "size": CHUNK}, session=session)
            data = read.get("data", "")
            chunks.append(base64.b64decode(data) if read.get("base64Encoded") else data.encode())
            if read.get("eof"):
                break
        self.call("IO.close", {"handle": stream}, session=session)
        return b"".join(chunks)

    def close_tab(self, session: str) -> None:
        self.call("Target.closeTarget", {"targetId": self._targets.pop(session)})

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


def _print(browser: str, pages: dict[str, bytes]) -> dict[str, bytes]:
    """A big page (more than ``SHARED_BYTES`` of HTML: a group's part of 1,000 rows) printed by a
    Chromium of its own: one Chromium keeps much of what it laid out after the page is gone (six
    parts of 1,000 bodies in one process: 1,308 MB at the end; one part alone: 666 MB), so a fresh
    one bounds the peak by the largest page. The small pages (the summary, a region's groups) first,
    one after the other in one tab of a shared Chromium (``_Shared``), which is closed before the
    big pages. Single-process Chromiums (``MEMORY_FLAGS``); a page one fails to print is printed
    again by an ordinary Chromium of its own."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="gospublic-pdf-") as folder:
        small = sorted(name for name, page in pages.items() if len(page) <= SHARED_BYTES)
        big = sorted(name for name in pages if name not in small)
        shared = _Shared(browser, Path(folder))
        try:
            for n, name in enumerate(small):
                source = Path(folder) / f"small-{n}.html"
                source.write_bytes(pages[name])
                out[name] = shared.print(name, source)
                source.unlink()
        finally:
            shared.close()
        for n, name in enumerate(big):
            source = Path(folder) / f"page-{n}.html"
            source.write_bytes(pages[name])
            out[name] = _print_alone(browser, name, source, Path(folder) / f"profile-{n}")
            source.unlink()
    return {name: out[name] for name in sorted(out)}


class _Shared:
    """The single-process Chromium the small pages share: one tab, navigated from page to page
    (Chromium's single-process mode crashed when it opened a second tab; it did not in 180 pages
    navigated so). Started at the first page and replaced once it has loaded ``SHARED_BUDGET``
    bytes of HTML; when it fails a page, that page is printed by a Chromium of its own and the
    next page starts a fresh shared one. Its start-up costs about as much CPU as printing such a
    page: a region's five PDFs took Chromium 6.2 s of CPU one process a page, 2.2 s shared."""

    def __init__(self, browser: str, folder: Path) -> None:
        self.browser, self.folder = browser, folder
        self.tabs: Browser | None = None
        self.session: str | None = None
        self.loaded = self.started = 0

    def print(self, name: str, source: Path) -> bytes:
        size = source.stat().st_size
        if self.tabs is not None and self.loaded + size > SHARED_BUDGET:
            self.close()
        try:
            if self.tabs is None or self.session is None:
                self.started += 1
                profile = self.folder / f"profile-shared-{self.started}"
                self.tabs = Browser(self.browser, str(profile), single_process=True)
                self.loaded = 0
                self.session = self.tabs.open(source.as_uri(), width=1100)
            else:
                self.tabs.navigate(self.session, source.as_uri())
            self.loaded += size
            return _printed(self.tabs, self.session)
        except (OSError, PdfError) as exc:
            log.warning("the shared Chromium could not print %s (%s): printing it alone", name, exc)
            self.close()
            again = self.folder / f"profile-shared-{self.started}-again"
            return _print_one(self.browser, source, again, single_process=False)

    def close(self) -> None:
        if self.tabs is not None:
            self.tabs.close()
        self.tabs, self.session = None, None


def _print_alone(browser: str, name: str, source: Path, profile: Path) -> bytes:
    try:
        return _print_one(browser, source, profile, single_process=True)
    except (OSError, PdfError) as exc:
        log.warning("single-process Chromium could not print %s (%s): printing it again", name, exc)
        return _print_one(browser, source, profile.with_name(f"{profile.name}-again"), single_process=False)


def _print_one(browser: str, source: Path, profile: Path, single_process: bool) -> bytes:
    tabs = Browser(browser, str(profile), single_process=single_process)
    try:
        return _printed(tabs, tabs.open(source.as_uri(), width=1100))  # the tab ends with its Chromium
    finally:
        tabs.close()


def _printed(tabs: Browser, session: str) -> bytes:
    """The tab's page printed with its links to the publication's files as plain text (``UNLINK``)."""
    tabs.evaluate(session, UNLINK)
    return tabs.pdf(session)
