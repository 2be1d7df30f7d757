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
import logging
import threading
import time
from collections import defaultdict, deque
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox._admin import (
    RunningSandbox,
    SandboxHandler,
    SimulatedClock,
    Stats,
    admin,
    parse_clock,
    send_json,
    transport_fault,
)
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


class MaxSandbox(SimulatedClock):
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


class _Handler(SandboxHandler):
    server_version = "gospublic-max-sandbox"

    def dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self.body()
        if url.path.startswith("/_sandbox/"):
            admin(self, self.server.sandbox, url.path[len("/_sandbox/") :], body)
        else:
            self._api(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))

    def _api(self, path: str, query: dict[str, str]) -> None:
        sandbox: MaxSandbox = self.server.sandbox
        operation = OPERATIONS.get(path.strip("/").partition("/")[0], path)
        sandbox.stats.request(operation)
        failed = transport_fault(self, sandbox, operation)
        if failed == -1:
            return
        if failed is not None:
            send_json(self, failed, {"code": "service.unavailable", "message": "Service unavailable"})
            return
        status, payload = sandbox.call(self.command, path, query, self.headers.get("Authorization"))
        send_json(self, status, payload)


class MaxSandboxServer(RunningSandbox):
    """A running sandbox (background thread); a context manager, or call :meth:`stop`."""

    thread_name = "max-sandbox"
    sandbox: MaxSandbox

    def __init__(self, sandbox: MaxSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox, _Handler, host, port)

    def inject(self, kind: str, **options: Any) -> None:
        """Add a fault: ``inject("http_5xx", count=2)``, ``inject("http_429", count=5)``,
        ``inject("chat_error", chat_id=-7000…, status=404)``."""
        self.sandbox.faults.add(Fault(kind, **options))


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
