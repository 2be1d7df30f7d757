"""``python -m sandbox serve-vk``: run the VK API sandbox in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from sandbox.vk_server.tokens import DEFAULT_SERVICE_RPS

log = logging.getLogger(__name__)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve-vk`` sub-command."""
    parser = subparsers.add_parser(
        "serve-vk",
        help="serve generated VK data over VK API 5.199's wire format",
        description="Serve DIR/vk/ as VK API 5.199 on /method/<name> (admin: /_sandbox/).",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="data directory (holds vk/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081; 0 picks a free one)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="SPEC",
        help="register a token: usr_NAME (user, 3 rps) or svc_NAME[:RPS] (service, 5–60 rps); repeatable",
    )
    parser.add_argument(
        "--accept-any-token",
        action="store_true",
        help="also accept any usr_*/svc_* token (the default when no --token is given)",
    )
    parser.add_argument(
        "--service-rps",
        type=int,
        default=DEFAULT_SERVICE_RPS,
        help=f"rate of service tokens given without :RPS (default {DEFAULT_SERVICE_RPS})",
    )
    parser.add_argument(
        "--daily-quota", type=int, default=None, help="calls per token and method a day before error 29"
    )
    parser.add_argument(
        "--now", default=None, help="simulated clock, ISO 8601 with offset (default: end of the data's month)"
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, ready: threading.Event | None = None) -> int:
    """Serve until interrupted (SIGINT/SIGTERM); ``ready`` is set once listening (for tests)."""
    from sandbox.vk_server.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = serve(
        args.data,
        host=args.host,
        port=args.port,
        tokens=args.token,
        now=args.now,
        accept_any_token=True if args.accept_any_token else None,
        service_rps=args.service_rps,
        daily_quota=args.daily_quota,
    )
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    log.info(
        "VK sandbox on %s (clock %s, %d registered tokens)",
        server.base_url,
        server.sandbox.clock()["now"],
        len(server.sandbox.policy.tokens),
    )
    print(f"VK sandbox listening on {server.base_url}", flush=True)
    if ready is not None:
        ready.set()
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``serve-vk`` without the rest of the sandbox's CLI."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.vk_server")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["serve-vk", *(argv or [])])
    return int(args.handler(args) or 0)
