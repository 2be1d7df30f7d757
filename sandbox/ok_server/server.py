"""The HTTP server: OK's REST wire format on ``/fb.do`` (and ``/api/<group>/<name>``), admin
endpoints on ``/_sandbox/``.

Every call needs a registered ``application_key`` and a valid ``sig`` (``signing``); a call with an
``access_token`` needs a registered token. Rates: a sliding one-second window per application
(error 8 over it) and an optional daily quota per application and method (error 11). The server
never logs a query string or body (the access token travels there).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
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


class OkSandbox(SimulatedClock):
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


class _Handler(SandboxHandler):
    server_version = "gospublic-ok-sandbox"

    def dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self.body()
        if url.path == "/fb.do" or url.path.startswith("/api/"):
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            if body and "json" not in (self.headers.get("Content-Type") or ""):
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if url.path.startswith("/api/"):  # /api/group/getInfo → group.getInfo
                params["method"] = url.path[len("/api/") :].replace("/", ".")
            self._api(params)
        elif url.path.startswith("/_sandbox/"):
            admin(self, self.server.sandbox, url.path[len("/_sandbox/") :], body)
        else:
            send_json(self, 404, {"error": "not found"})

    def _api(self, params: dict[str, str]) -> None:
        sandbox: OkSandbox = self.server.sandbox
        method = params.get("method", "")
        sandbox.stats.request(method)
        status = transport_fault(self, sandbox, method)
        if status == -1:
            return
        if status is not None:
            send_json(self, status, b"<html><body>Service Unavailable</body></html>", "text/html")
            return
        send_json(self, 200, sandbox.call(params))


class OkSandboxServer(RunningSandbox):
    """A running sandbox (background thread); a context manager, or call :meth:`stop`."""

    thread_name = "ok-sandbox"
    sandbox: OkSandbox

    def __init__(self, sandbox: OkSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox, _Handler, host, port)

    def inject(self, kind: str, **options: Any) -> None:
        """Add a fault: ``inject("http_5xx", count=2)``, ``inject("error_8", count=5)``,
        ``inject("group_error", gid="5000…", code=300)``."""
        self.sandbox.faults.add(Fault(kind, **options))


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
