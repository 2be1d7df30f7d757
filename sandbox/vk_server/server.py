"""The HTTP server: VK's wire format on ``/method/<name>``, admin endpoints on ``/_sandbox/``.

Only sandbox tokens are accepted; the server never logs request bodies or query strings (the
``access_token`` travels there).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox._admin import RunningSandbox, SandboxHandler, SimulatedClock, admin, parse_clock, send_json
from sandbox.vk_server.data import Dataset, load_dataset
from sandbox.vk_server.errors import VkError
from sandbox.vk_server.faults import Fault, FaultBook
from sandbox.vk_server.methods import METHODS
from sandbox.vk_server.tokens import (
    DEFAULT_SERVICE_RPS,
    SERVICE_PREFIX,
    USER_PREFIX,
    TokenInfo,
    TokenPolicy,
    parse_token_spec,
)
from sandbox.vk_server.vkscript import run_script

log = logging.getLogger(__name__)

MAX_EXECUTE_CALLS = 25
HIDDEN_PARAMS = frozenset({"access_token", "captcha_key"})


def _as_param(value: Any) -> str:
    """A VKScript value as VK receives it over HTTP."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_as_param(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


class Stats:
    """Requests per token and method, API calls (inner calls of ``execute`` included), errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, Counter[str]] = defaultdict(Counter)
            self.calls: dict[str, Counter[str]] = defaultdict(Counter)
            self.errors: Counter[int] = Counter()
            self.faults: Counter[str] = Counter()
            self.total = 0

    def request(self, token: str, method: str) -> None:
        with self._lock:
            self.total += 1
            self.requests[token][method] += 1

    def call(self, token: str, method: str) -> None:
        with self._lock:
            self.calls[token][method] += 1

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
                "requests": {t: dict(c) for t, c in self.requests.items()},
                "calls": {t: dict(c) for t, c in self.calls.items()},
                "errors": {str(k): v for k, v in sorted(self.errors.items())},
                "faults": dict(self.faults),
            }


class VkSandbox(SimulatedClock):
    """The state behind the HTTP handler: data, clock, tokens, faults and stats."""

    def __init__(self, data: Dataset, policy: TokenPolicy, now: int | None = None) -> None:
        self.data = data
        self.policy = policy
        self.now = data.default_now() if now is None else now
        self.faults = FaultBook()
        self.stats = Stats()
        self._captcha_sids: set[str] = set()
        self._lock = threading.Lock()

    # -- API ----------------------------------------------------------------------------------

    def call_method(self, method: str, params: dict[str, str], info: TokenInfo | None) -> dict[str, Any]:
        """One ``/method/<name>`` request after transport faults; returns the JSON body."""
        try:
            response = self._call_checked(method, params, info)
        except VkError as error:
            self.stats.error(error.code)
            return {"error": error.payload(self._request_params(method, params))}
        return response

    def _call_checked(self, method: str, params: dict[str, str], info: TokenInfo | None) -> dict[str, Any]:
        if info is None:
            info = self.policy.authenticate(params.get("access_token"))
        if not self._solved_captcha(params) and self.faults.take("captcha", info.token):
            self.stats.fault("captcha")
            sid = secrets.token_hex(6)
            with self._lock:
                self._captcha_sids.add(sid)
            raise VkError(14, captcha_sid=sid, captcha_img=f"https://api.vk.ru/captcha.php?sid={sid}")
        if self.faults.take("error_6", info.token):
            self.stats.fault("error_6")
            raise VkError(6)
        if self.faults.take("error_29", info.token):
            self.stats.fault("error_29")
            raise VkError(29)
        self.policy.admit(info)
        if method == "execute":
            return self._execute(params, info)
        if method not in METHODS:
            raise VkError(3)
        return {"response": self._api(method, params, info)}

    def _api(self, method: str, params: dict[str, str], info: TokenInfo) -> Any:
        self.policy.charge(info, method)
        self.stats.call(info.token, method)
        return METHODS[method](self.data, params, self.now)

    def _execute(self, params: dict[str, str], info: TokenInfo) -> dict[str, Any]:
        if info.kind == "service":
            raise VkError(28, "method is unavailable with service token.")
        self.stats.call(info.token, "execute")
        errors: list[dict[str, Any]] = []
        calls = 0

        def api(method: str, args: dict[str, Any]) -> Any:
            nonlocal calls
            calls += 1
            if calls > MAX_EXECUTE_CALLS:
                raise VkError(13, f"too many API calls (more than {MAX_EXECUTE_CALLS})")
            if method == "execute" or method not in METHODS:
                error = VkError(3)
            else:
                try:
                    return self._api(method, {k: _as_param(v) for k, v in args.items()}, info)
                except VkError as exc:
                    error = exc
            self.stats.error(error.code)
            errors.append({"method": method, "error_code": error.code, "error_msg": error.msg})
            return False

        body: dict[str, Any] = {"response": run_script(params.get("code", ""), api)}
        if errors:
            body["execute_errors"] = errors
        return body

    def _solved_captcha(self, params: dict[str, str]) -> bool:
        sid = params.get("captcha_sid")
        with self._lock:
            if sid and params.get("captcha_key") and sid in self._captcha_sids:
                self._captcha_sids.discard(sid)
                return True
        return False

    @staticmethod
    def _request_params(method: str, params: dict[str, str]) -> list[dict[str, str]]:
        shown = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        return shown + [{"key": k, "value": v} for k, v in params.items() if k not in HIDDEN_PARAMS]

    # -- admin --------------------------------------------------------------------------------


class _Handler(SandboxHandler):
    server_version = "gospublic-vk-sandbox"

    def dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self.body()
        if url.path.startswith("/method/"):
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            if body and "json" not in (self.headers.get("Content-Type") or ""):
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            self._method(url.path[len("/method/") :], params)
        elif url.path.startswith("/_sandbox/"):
            admin(self, self.server.sandbox, url.path[len("/_sandbox/") :], body)
        else:
            self._send(404, {"error": "not found"})

    def _method(self, method: str, params: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        token = params.get("access_token") or "-"
        known = token in sandbox.policy.tokens or token.startswith((USER_PREFIX, SERVICE_PREFIX))
        sandbox.stats.request(token if known else "?", method)
        if sandbox.faults.take("drop", token):
            sandbox.stats.fault("drop")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        slow = sandbox.faults.take("slow", token)
        if slow is not None:
            sandbox.stats.fault("slow")
            time.sleep(slow.seconds)
        failure = sandbox.faults.take("http_5xx", token)
        if failure is not None:
            sandbox.stats.fault("http_5xx")
            self._send(failure.status, b"<html><body>Internal Server Error</body></html>", "text/html")
            return
        self._send(200, sandbox.call_method(method, params, None))

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        send_json(self, status, payload, content_type)


class VkSandboxServer(RunningSandbox):
    """A running sandbox (background thread). Use as a context manager or call :meth:`stop`."""

    thread_name = "vk-sandbox"
    sandbox: VkSandbox

    def __init__(self, sandbox: VkSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox, _Handler, host, port)

    @property
    def now(self) -> int:
        return self.sandbox.now

    def inject(self, kind: str, **options: Any) -> None:
        """Add a fault: ``inject("http_5xx", count=2)``, ``inject("slow", seconds=0.5)``,
        ``inject("drop", probability=0.1)``, ``inject("error_6", count=5)``,
        ``inject("captcha", count=1, token="usr_a")``."""
        self.sandbox.faults.add(Fault(kind, **options))

    def seed_faults(self, seed: int | None) -> None:
        """Restart the draws of probabilistic faults from ``seed``."""
        self.sandbox.faults.seed(seed)


def serve(
    data_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tokens: list[str] | None = None,
    now: str | int | float | datetime | None = None,
    accept_any_token: bool | None = None,
    service_rps: int = DEFAULT_SERVICE_RPS,
    daily_quota: int | None = None,
) -> VkSandboxServer:
    """Load ``data_dir`` and start serving it in a background thread.

    ``tokens`` are specs such as ``"usr_demo"`` or ``"svc_demo:20"``; with no tokens any token
    with a sandbox prefix is accepted (``accept_any_token`` defaults to that).
    """
    infos = [parse_token_spec(spec, service_rps) for spec in tokens or []]
    if accept_any_token is None:
        accept_any_token = not infos
    policy = TokenPolicy(infos, accept_any_token, service_rps, daily_quota)
    sandbox = VkSandbox(load_dataset(data_dir), policy, None if now is None else parse_clock(now))
    return VkSandboxServer(sandbox, host, port)
