"""Screenshot of a page of Airflow's UI in headless Chromium, through the DevTools protocol.

How ``docs/img/assets-graph*.png`` were made (docs/operations.md, "Health", lineage): the demo's
embedded setup (its ``var/``) served by ``airflow api-server --host 127.0.0.1 --port <free port>``
with ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True`` (no login page), then, with the Asset
ids ``/api/v2/assets`` gives for ``publish/rating`` and ``mart.response_metrics_monthly``::

    python docs/img/screenshot.py http://127.0.0.1:<port>/assets/<id> docs/img/assets-graph.png \
        --size 1800,1000 --click "Task Dependencies" --click css:.react-flow__controls-fitview

``--click`` presses a button after the page has drawn (an Asset page opens on its Scheduling
graph); ``--storage`` sets the UI's own settings (its localStorage, JSON values) before the page
loads, e.g. ``--storage default_dag_view=graph --storage dependencies-monthly_rating=immediate``
for a DAG's graph with its Assets. Plain ``chromium --screenshot`` can do neither. Only the
``websockets`` package (an Airflow dependency) and Debian's ``chromium`` are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websockets


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _page_socket(port: int, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("Chromium's DevTools endpoint did not answer")
        time.sleep(0.3)


def _click_script(target: str) -> str:
    """JavaScript clicking ``css:<selector>``'s element, or else the button reading ``target``."""
    if target.startswith("css:"):
        find = f"document.querySelector({json.dumps(target[4:])})"
    else:
        find = (
            "[...document.querySelectorAll('button')]"
            f".find(e => e.textContent.trim() === {json.dumps(target)})"
        )
    return f"(() => {{ const e = {find}; if (e) {{ e.click(); return true; }} return false; }})()"


@dataclass(frozen=True)
class Shot:
    url: str
    storage: dict[str, str]
    clicks: list[str]
    settle: float
    out: Path


async def _capture(ws_url: str, shot: Shot) -> None:
    url, settle = shot.url, shot.settle
    ids = itertools.count(1)
    async with websockets.connect(ws_url, max_size=64 * 1024 * 1024) as ws:

        async def call(method: str, **params: Any) -> dict[str, Any]:
            ident = next(ids)
            await ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return dict(message.get("result", {}))

        await call("Page.enable")
        origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
        await call("Page.navigate", url=origin)
        await asyncio.sleep(settle / 2)
        for key, value in shot.storage.items():
            script = f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(value))})"
            await call("Runtime.evaluate", expression=script)
        await call("Page.navigate", url=url)
        await asyncio.sleep(settle)
        for target in shot.clicks:
            found = await call("Runtime.evaluate", expression=_click_script(target), returnByValue=True)
            if not found.get("result", {}).get("value"):
                raise RuntimeError(f"nothing to click for {target!r} on {url}")
            await asyncio.sleep(settle / 2)
        image = await call("Page.captureScreenshot", format="png")
        shot.out.write_bytes(base64.b64decode(image["data"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--storage", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="TEXT",
        help="after loading, press the button reading TEXT (or css:SELECTOR's element); repeatable",
    )
    parser.add_argument("--size", default="1600,1000", help="window width,height")
    parser.add_argument("--settle", type=float, default=12.0, help="seconds for the page to draw")
    args = parser.parse_args(argv)
    storage = dict(item.split("=", 1) for item in args.storage)
    chromium = shutil.which("chromium") or "chromium"
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="screenshot-") as profile:
        browser = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}",
                f"--window-size={args.size}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            shot = Shot(args.url, storage, args.click, args.settle, args.out)
            asyncio.run(_capture(_page_socket(port), shot))
        finally:
            browser.terminate()
            browser.wait(timeout=30)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
