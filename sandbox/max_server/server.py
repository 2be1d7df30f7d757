"""The HTTP server: the MAX Bot API's wire format (``GET /chats/{chatId}``, ``GET /messages``,
``GET /me``), admin endpoints on ``/_sandbox/``.

Every call needs a registered bot token in the ``Authorization`` header (dev.max.ru: «Передача
токена через query-параметры больше не поддерживается»): none, an unknown one, or a token in the
``access_token`` query parameter is answered 401 ``verify.token``. Rates: a sliding one-second
window per token (default 30 requests a second), 429 over it. Errors are the HTTP status with
``{"code": ..., "message": ...}``. The server never logs a header, query string or body.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.max_server.data import MaxDataset, load_dataset
from sandbox.max_server.faults import Fault, FaultBook
from sandbox.max_server.methods import METHODS, MaxError

log = logging.getLogger(__name__)

DEFAULT_RPS = 30
NO_QUERY_TOKEN = "Token in query parameters is not supported, use the Authorization header"
OPERATIONS = {"chats": "getChat", "messages": "getMessages", "me": "getMyInfo"}  # OpenAPI operationIds


def parse_token(spec: str) -> tuple[str, int]:
    """``TOKEN`` or ``TOKEN:RPS``."""
    token, _, rps = spec.rpartition(":") if spec.rsplit(":", 1)[-1].isdigit() else (spec, "", "")
    if not token:
        raise ValueError("a bot token is TOKEN or TOKEN:RPS")
    return token, int(rps) if rps else DEFAULT_RPS


def parse_clock(value: str | int | float | datetime) -> int:
    """Unix seconds from an ISO 8601 string (offset required), a datetime or a number."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("the clock needs a time zone offset, e.g. 2025-11-30T21:00:00+00:00")
    return int(value.timestamp())


class Stats:
    """Requests per operation, errors by HTTP status, faults by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.errors: Counter[int] = Counter()
            self.faults: Counter[str] = Counter()
            self.total = 0

    def request(self, operation: str) -> None:
        with self._lock:
            self.total += 1
            self.requests[operation] += 1

    def error(self, status: int) -> None:
        with self._lock:
            self.errors[status] += 1

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


class MaxSandbox:
    """The state behind the HTTP handler: data, clock, bot tokens, faults, stats."""

    def __init__(self, data: MaxDataset, tokens: dict[str, int], now: int | None = None) -> None:
        self.data = data
        self.tokens = tokens
        self.now = data.default_now() if now is None else now
        self.faults = FaultBook()
        self.stats = Stats()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def call(self, verb: str, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, Any]:
        """One API request after the transport faults: the HTTP status and the JSON body."""
        try:
            return 200, self._checked(verb, path, query, authorization)
        except MaxError as error:
            self.stats.error(error.status)
            return error.status, error.payload()

    def _checked(self, verb: str, path: str, query: dict[str, str], authorization: str | None) -> Any:
        if "access_token" in query:
            raise MaxError(
                401, "verify.token", "Token in query parameters is not supported, use Authorization"
            )
        token = (authorization or "").strip()
        if token not in self.tokens:
            raise MaxError(401, "verify.token", "Invalid access_token")
        self._admit(token)
        head, _, rest = path.strip("/").partition("/")
        operation = OPERATIONS.get(head, head)
        if head == "me" and verb == "GET" and not rest:
            return {"user_id": 1, "first_name": "gospublic", "username": "gospublic_bot", "is_bot": True}
        handler = METHODS.get((verb, head))
        if handler is None or "/" in rest or (head == "messages" and rest):
            raise MaxError(
                405 if head in OPERATIONS else 404, "method.notallowed", f"{verb} /{path.strip('/')}"
            )
        if self.faults.take("http_429", operation):
            self.stats.fault("http_429")
            raise MaxError(429, "too.many.requests", "The number of requests is exceeded")
        chat = rest or query.get("chat_id", "")
        with contextlib.suppress(ValueError):
            broken = self.faults.take("chat_error", operation, int(chat))
            if broken is not None:
                self.stats.fault("chat_error")
                raise MaxError(int(broken.status or 404), broken.code, f"chat {chat}")
        return handler(self.data, rest, query, self.now)

    def _admit(self, token: str) -> None:
        """Count one request in the token's one-second window, or answer 429."""
        now = time.monotonic()
        rps = self.tokens[token]
        with self._lock:
            window = self._windows[token]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= rps:
                raise MaxError(429, "too.many.requests", f"more than {rps} requests a second")
            window.append(now)

    def set_clock(self, now: str | int | float | datetime) -> int:
        self.now = parse_clock(now)
        return self.now

    def clock(self) -> dict[str, Any]:
        return {"now": datetime.fromtimestamp(self.now, UTC).isoformat(), "ts": self.now}


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "gospublic-max-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.command, urlsplit(self.path).path)  # never the query or headers

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_sandbox/"):
            self._admin(url.path[len("/_sandbox/") :], body)
        else:
            self._api(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))

    def _api(self, path: str, query: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        operation = OPERATIONS.get(path.strip("/").partition("/")[0], path)
        sandbox.stats.request(operation)
        if sandbox.faults.take("drop", operation):
            sandbox.stats.fault("drop")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        slow = sandbox.faults.take("slow", operation)
        if slow is not None:
            sandbox.stats.fault("slow")
            time.sleep(slow.seconds)
        failure = sandbox.faults.take("http_5xx", operation)
        if failure is not None:
            sandbox.stats.fault("http_5xx")
            self._send(
                int(failure.status or 503), {"code": "service.unavailable", "message": "Service unavailable"}
            )
            return
        status, payload = sandbox.call(self.command, path, query, self.headers.get("Authorization"))
        self._send(status, payload)

    def _admin(self, action: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        try:
            payload = json.loads(body) if body else {}
            if action == "stats" and self.command == "GET":
                self._send(200, sandbox.stats.snapshot())
            elif action == "stats" and self.command == "POST" and payload.get("reset"):
                sandbox.stats.reset()
                self._send(200, sandbox.stats.snapshot())
            elif action == "clock" and self.command == "GET":
                self._send(200, sandbox.clock())
            elif action == "clock" and self.command == "POST":
                if "advance_seconds" in payload:
                    sandbox.set_clock(sandbox.now + int(payload["advance_seconds"]))
                else:
                    sandbox.set_clock(payload["now"])
                self._send(200, sandbox.clock())
            elif action == "faults" and self.command == "GET":
                self._send(200, {"faults": sandbox.faults.list()})
            elif action == "faults" and self.command == "POST":
                sandbox.faults.configure(payload)
                self._send(200, {"faults": sandbox.faults.list()})
            else:
                self._send(404, {"error": f"unknown admin endpoint {self.command} /_sandbox/{action}"})
        except (ValueError, TypeError, KeyError) as exc:
            self._send(400, {"error": f"bad request: {exc}"})

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    sandbox: MaxSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class MaxSandboxServer:
    """A running sandbox (background thread); a context manager, or call :meth:`stop`."""

    def __init__(self, sandbox: MaxSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._http = _HttpServer((host, port), _Handler)
        self._http.sandbox = sandbox
        self.host, self.port = self._http.server_address[:2]
        self._thread = threading.Thread(target=self._http.serve_forever, name="max-sandbox", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_clock(self, now: str | int | float | datetime) -> int:
        return self.sandbox.set_clock(now)

    def inject(self, kind: str, **options: Any) -> None:
        """Add a fault: ``inject("http_5xx", count=2)``, ``inject("http_429", count=5)``,
        ``inject("chat_error", chat_id=-7000…, status=404)``."""
        self.sandbox.faults.add(Fault(kind, **options))

    def clear_faults(self) -> None:
        self.sandbox.faults.clear()

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats.snapshot()

    def reset_stats(self) -> None:
        self.sandbox.stats.reset()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MaxSandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    data_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tokens: list[str],
    now: str | int | float | datetime | None = None,
) -> MaxSandboxServer:
    """Load ``data_dir/max/`` and serve it from a background thread; ``tokens`` are
    ``TOKEN[:RPS]`` specs."""
    parsed = dict(parse_token(spec) for spec in tokens)
    if not parsed:
        raise ValueError("register at least one bot token (TOKEN[:RPS])")
    sandbox = MaxSandbox(load_dataset(data_dir), parsed, None if now is None else parse_clock(now))
    return MaxSandboxServer(sandbox, host, port)
