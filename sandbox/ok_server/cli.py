"""``python -m sandbox serve-ok``: run the OK API sandbox in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve-ok`` sub-command."""
    parser = subparsers.add_parser(
        "serve-ok",
        help="serve the generated OK world over OK's REST wire format",
        description="Serve DIR/ok/ as OK's REST API on /fb.do (admin: /_sandbox/).",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="data directory (holds ok/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8082, help="port (default 8082; 0 picks a free one)")
    parser.add_argument(
        "--app", action="append", default=[], required=True, metavar="KEY:SECRET[:RPS]",
        help="register an application (public key, secret key, requests a second; default 10); repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--token", action="append", default=[], metavar="TOKEN[:SESSION_SECRET]",
        help="register an access token (and its session secret key); repeatable",
    )  # fmt: skip
    parser.add_argument("--daily-quota", type=int, default=None, help="calls per app and method a day")
    parser.add_argument("--now", default=None, help="simulated clock, ISO 8601 with offset")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, ready: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM; ``ready`` is set once listening (for tests)."""
    from sandbox.ok_server.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = serve(
        args.data, host=args.host, port=args.port, apps=args.app, tokens=args.token, now=args.now,
        daily_quota=args.daily_quota,
    )  # fmt: skip
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    print(f"OK sandbox listening on {server.base_url}", flush=True)
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``serve-ok`` without the rest of the sandbox's CLI."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.ok_server")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["serve-ok", *(argv or [])])
    return int(args.handler(args) or 0)
