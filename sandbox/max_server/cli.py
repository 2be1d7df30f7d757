"""``python -m sandbox serve-max``: run the MAX Bot API sandbox in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve-max`` sub-command."""
    parser = subparsers.add_parser(
        "serve-max",
        help="serve the generated MAX world over the MAX Bot API's wire format",
        description="Serve DIR/max/ as the MAX Bot API (GET /chats/{id}, GET /messages; admin: /_sandbox/).",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="data directory (holds max/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8083, help="port (default 8083; 0 picks a free one)")
    parser.add_argument(
        "--token", action="append", default=[], required=True, metavar="TOKEN[:RPS]",
        help="register a bot token and its requests a second (default 30); repeatable",
    )  # fmt: skip
    parser.add_argument("--now", default=None, help="simulated clock, ISO 8601 with offset")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, ready: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM; ``ready`` is set once listening (for tests)."""
    from sandbox.max_server.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = serve(args.data, host=args.host, port=args.port, tokens=args.token, now=args.now)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    print(f"MAX sandbox listening on {server.base_url}", flush=True)
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``serve-max`` without the rest of the sandbox's CLI."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.max_server")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["serve-max", *(argv or [])])
    return int(args.handler(args) or 0)
