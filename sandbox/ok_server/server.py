"""The HTTP server: OK's REST wire format on ``/fb.do`` (and ``/api/<group>/<name>``), admin
endpoints on ``/_sandbox/``.

Every call needs a registered ``application_key`` and a valid ``sig`` (``signing``); a call with an
``access_token`` needs a registered token. Rates: a sliding one-second window per application
(error 8 over it) and an optional daily quota per application and method (error 11). The server
never logs a query string or body (the access token travels there).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.ok_server.data import OkDataset, load_dataset
from sandbox.ok_server.errors import OkError
from sandbox.ok_server.faults import Fault, FaultBook
from sandbox.ok_server.methods import METHODS
from sandbox.ok_server.signing import expected_signatures

log = logging.getLogger(__name__)

DEFAULT_RPS = 10


@dataclass(frozen=True)
class App:
    """A registered application: its public key, secret key and request rate."""

    key: str
    secret: str = field(repr=False)
    rps: int = DEFAULT_RPS


def parse_app(spec: str) -> App:
    """``KEY:SECRET`` or ``KEY:SECRET:RPS``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise ValueError("an application is KEY:SECRET or KEY:SECRET:RPS")
    return App(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else DEFAULT_RPS)


def parse_token(spec: str) -> tuple[str, str | None]:
    """``ACCESS_TOKEN`` or ``ACCESS_TOKEN:SESSION_SECRET_KEY``."""
    token, _, session_secret = spec.partition(":")
    if not token:
        raise ValueError("an access token is TOKEN or TOKEN:SESSION_SECRET_KEY")
    return token, session_secret or None


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
    """Requests per application and method, errors by code, faults by kind."""

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


class OkSandbox:
    """The state behind the HTTP handler: data, clock, applications, tokens, faults, stats."""

    def __init__(
        self,
        data: OkDataset,
        apps: list[App],
        tokens: dict[str, str | None],
        now: int | None = None,
        daily_quota: int | None = None,
    ) -> None:
        self.data = data
        self.apps = {app.key: app for app in apps}
        self.tokens = tokens
        self.now = data.default_now() if now is None else now
        self.daily_quota = daily_quota
        self.faults = FaultBook()
        self.stats = Stats()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._quota: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def call(self, params: dict[str, str]) -> Any:
        """One API request after the transport faults; the JSON body (an answer or an error)."""
        try:
            return self._checked(params)
        except OkError as error:
            self.stats.error(error.code)
            return error.payload()

    def _checked(self, params: dict[str, str]) -> Any:
        method = params.get("method", "")
        app = self.apps.get(params.get("application_key", ""))
        if app is None:
            raise OkError(101, "application_key is missing or unknown")
        token = params.get("access_token") or params.get("session_key")
        session_secret = None
        if token:
            if token not in self.tokens:
                raise OkError(102, "session expired or invalid")
            session_secret = self.tokens[token]
        if params.get("sig", "").lower() not in expected_signatures(params, app.secret, session_secret):
            raise OkError(104, "Invalid signature")
        self._admit(app)
        if method not in METHODS:
            raise OkError(3, f"method {method!r} is not supported")
        self._charge(app, method)
        if self.faults.take("error_2", method):
            self.stats.fault("error_2")
            raise OkError(2, "service temporarily unavailable")
        if self.faults.take("error_8", method):
            self.stats.fault("error_8")
            raise OkError(8, "too many requests")
        gid = params.get("gid")
        if gid and (broken := self.faults.take("group_error", method, gid)) is not None:
            self.stats.fault("group_error")
            raise OkError(broken.code, f"group {gid}")
        return METHODS[method](self.data, params, self.now)

    def _admit(self, app: App) -> None:
        """Count one request in the application's one-second window, or answer error 8."""
        now = time.monotonic()
        with self._lock:
            window = self._windows[app.key]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= app.rps:
                raise OkError(8, f"more than {app.rps} requests a second")
            window.append(now)

    def _charge(self, app: App, method: str) -> None:
        if self.daily_quota is None:
            return
        key = (app.key, method, datetime.now(UTC).date().isoformat())
        with self._lock:
            if self._quota[key] >= self.daily_quota:
                raise OkError(11, f"daily limit of {self.daily_quota} calls of {method}")
            self._quota[key] += 1

    def set_clock(self, now: str | int | float | datetime) -> int:
        self.now = parse_clock(now)
        return self.now

    def clock(self) -> dict[str, Any]:
        return {"now": datetime.fromtimestamp(self.now, UTC).isoformat(), "ts": self.now}


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "gospublic-ok-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.command, urlsplit(self.path).path)  # never the query: it holds the token

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/fb.do" or url.path.startswith("/api/"):
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            if body and "json" not in (self.headers.get("Content-Type") or ""):
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if url.path.startswith("/api/"):  # /api/group/getInfo → group.getInfo
                params["method"] = url.path[len("/api/") :].replace("/", ".")
            self._api(params)
        elif url.path.startswith("/_sandbox/"):
            self._admin(url.path[len("/_sandbox/") :], body)
        else:
            self._send(404, {"error": "not found"})

    def _api(self, params: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        method = params.get("method", "")
        sandbox.stats.request(method)
        if sandbox.faults.take("drop", method):
            sandbox.stats.fault("drop")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        slow = sandbox.faults.take("slow", method)
        if slow is not None:
            sandbox.stats.fault("slow")
            time.sleep(slow.seconds)
        failure = sandbox.faults.take("http_5xx", method)
        if failure is not None:
            sandbox.stats.fault("http_5xx")
            self._send(failure.status, b"<html><body>Service Unavailable</body></html>", "text/html")
            return
        self._send(200, sandbox.call(params))

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

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    sandbox: OkSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class OkSandboxServer:
    """A running sandbox (background thread); a context manager, or call :meth:`stop`."""

    def __init__(self, sandbox: OkSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._http = _HttpServer((host, port), _Handler)
        self._http.sandbox = sandbox
        self.host, self.port = self._http.server_address[:2]
        self._thread = threading.Thread(target=self._http.serve_forever, name="ok-sandbox", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_clock(self, now: str | int | float | datetime) -> int:
        return self.sandbox.set_clock(now)

    def inject(self, kind: str, **options: Any) -> None:
        """Add a fault: ``inject("http_5xx", count=2)``, ``inject("error_8", count=5)``,
        ``inject("group_error", gid="5000…", code=300)``."""
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

    def __enter__(self) -> OkSandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    data_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    apps: list[str],
    tokens: list[str] | None = None,
    now: str | int | float | datetime | None = None,
    daily_quota: int | None = None,
) -> OkSandboxServer:
    """Load ``data_dir/ok/`` and serve it from a background thread.

    ``apps`` are ``KEY:SECRET[:RPS]`` specs; ``tokens`` are ``TOKEN[:SESSION_SECRET_KEY]``.
    """
    parsed = [parse_app(spec) for spec in apps]
    if not parsed:
        raise ValueError("register at least one application (KEY:SECRET[:RPS])")
    token_map = dict(parse_token(spec) for spec in tokens or [])
    sandbox = OkSandbox(
        load_dataset(data_dir), parsed, token_map, None if now is None else parse_clock(now), daily_quota
    )
    return OkSandboxServer(sandbox, host, port)
