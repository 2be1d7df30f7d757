"""What the HTTP sandboxes (VK, OK, MAX) share: the simulated clock's parsing, request stats,
the admin endpoints on ``/_sandbox/`` (clock, faults, stats), JSON answers, transport faults,
and the server running in a background thread.

A sandbox state behind the admin endpoints has ``now``, ``set_clock(now)``, ``clock()``,
``faults`` (``list()``, ``configure(payload)``, ``take(kind, key)``, ``add``, ``clear``) and
``stats`` (``snapshot()``, ``reset()``, ``fault(kind)``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def parse_clock(value: str | int | float | datetime) -> int:
    """Unix seconds from an ISO 8601 string (offset required), a datetime or a number."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("the clock needs a time zone offset, e.g. 2025-11-30T21:00:00+00:00")
    return int(value.timestamp())


class SimulatedClock:
    """A sandbox's clock (unix seconds in ``now``), moved only by its admin."""

    now: int

    def set_clock(self, now: str | int | float | datetime) -> int:
        self.now = parse_clock(now)
        return self.now

    def clock(self) -> dict[str, Any]:
        return {"now": datetime.fromtimestamp(self.now, UTC).isoformat(), "ts": self.now}


class SandboxHandler(BaseHTTPRequestHandler):
    """A sandbox's request handler: GET and POST go to ``dispatch``; only the path is logged
    (a query or body may carry a token)."""

    server: SandboxHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def dispatch(self) -> None:
        raise NotImplementedError


class Stats:
    """Requests per method (or operation), errors by code, faults by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.errors: Counter[int] = Counter()
            self.faults: Counter[str] = Counter()
            self.total = 0

    def request(self, method: str) -> None:
        with self._lock:
            self.total += 1
            self.requests[method] += 1

    def error(self, code: int) -> None:
        with self._lock:
            self.errors[code] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_requests": self.total,
                "requests": dict(self.requests),
                "errors": {str(k): v for k, v in sorted(self.errors.items())},
                "faults": dict(self.faults),
            }


def send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, content_type: str = "application/json"
) -> None:
    """Answer ``payload`` (JSON, or bytes as they are) with its length."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def admin(handler: BaseHTTPRequestHandler, sandbox: Any, action: str, body: bytes) -> None:
    """Serve ``/_sandbox/<action>``: GET/POST ``clock`` (``now`` or ``advance_seconds``), GET/POST
    ``faults``, GET ``stats`` and POST ``stats`` with ``reset``."""
    command = handler.command
    try:
        payload = json.loads(body) if body else {}
        if action == "stats" and command == "GET":
            send_json(handler, 200, sandbox.stats.snapshot())
        elif action == "stats" and command == "POST" and payload.get("reset"):
            sandbox.stats.reset()
            send_json(handler, 200, sandbox.stats.snapshot())
        elif action == "clock" and command == "GET":
            send_json(handler, 200, sandbox.clock())
        elif action == "clock" and command == "POST":
            if "advance_seconds" in payload:
                sandbox.set_clock(sandbox.now + int(payload["advance_seconds"]))
            else:
                sandbox.set_clock(payload["now"])
            send_json(handler, 200, sandbox.clock())
        elif action == "faults" and command == "GET":
            send_json(handler, 200, {"faults": sandbox.faults.list()})
        elif action == "faults" and command == "POST":
            sandbox.faults.configure(payload)
            send_json(handler, 200, {"faults": sandbox.faults.list()})
        else:
            send_json(handler, 404, {"error": f"unknown admin endpoint {command} /_sandbox/{action}"})
    except (ValueError, TypeError, KeyError) as exc:
        send_json(handler, 400, {"error": f"bad request: {exc}"})


def transport_fault(handler: BaseHTTPRequestHandler, sandbox: Any, key: str) -> int | None:
    """The transport faults planned for ``key`` (a method, operation or token), in order: ``drop``
    closes the connection unanswered (-1), ``slow`` waits its seconds, ``http_5xx`` gives its status
    for the caller to answer; None when the request goes on."""
    if sandbox.faults.take("drop", key):
        sandbox.stats.fault("drop")
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
        return -1
    slow = sandbox.faults.take("slow", key)
    if slow is not None:
        sandbox.stats.fault("slow")
        time.sleep(slow.seconds)
    failure = sandbox.faults.take("http_5xx", key)
    if failure is not None:
        sandbox.stats.fault("http_5xx")
        return int(failure.status or 503)
    return None


class SandboxHttpServer(ThreadingHTTPServer):
    """A threading server whose handlers find the sandbox state as ``server.sandbox``."""

    daemon_threads = True
    request_queue_size = 128  # many extraction workers connect at once
    sandbox: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class RunningSandbox:
    """A sandbox served from a background thread; a context manager, or call :meth:`stop`."""

    thread_name = "sandbox"

    def __init__(self, sandbox: Any, handler: type[BaseHTTPRequestHandler], host: str, port: int) -> None:
        self.sandbox = sandbox
        self._http = SandboxHttpServer((host, port), handler)
        self._http.sandbox = sandbox
        self.host, self.port = self._http.server_address[:2]
        self._thread = threading.Thread(target=self._http.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_clock(self, now: str | int | float | datetime) -> int:
        """Move the simulated clock (ISO string with offset, datetime or unix seconds)."""
        result: int = self.sandbox.set_clock(now)
        return result

    def clear_faults(self) -> None:
        self.sandbox.faults.clear()

    def stats(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.sandbox.stats.snapshot()
        return snapshot

    def reset_stats(self) -> None:
        self.sandbox.stats.reset()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
