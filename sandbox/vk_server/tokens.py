"""Token kinds, per-token rate windows and daily quotas of the sandbox.

Convention: user tokens start with ``usr_`` (3 requests a second, may call ``execute``);
service tokens start with ``svc_`` (5–60 requests a second as configured, no ``execute``).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.vk_server.errors import VkError

USER_PREFIX = "usr_"
SERVICE_PREFIX = "svc_"
USER_RPS = 3
DEFAULT_SERVICE_RPS = 20
SERVICE_RPS_RANGE = (5, 60)


@dataclass(frozen=True)
class TokenInfo:
    token: str
    kind: str  # "user" or "service"
    rps: int


def parse_token_spec(spec: str, service_rps: int = DEFAULT_SERVICE_RPS) -> TokenInfo:
    """``usr_x`` → user token at 3 rps; ``svc_x`` or ``svc_x:20`` → service token at that rate."""
    token, _, rate = spec.strip().partition(":")
    if token.startswith(USER_PREFIX):
        if rate and int(rate) != USER_RPS:
            raise ValueError(f"user tokens make {USER_RPS} requests a second; drop ':{rate}'")
        return TokenInfo(token, "user", USER_RPS)
    if token.startswith(SERVICE_PREFIX):
        rps = int(rate) if rate else service_rps
        low, high = SERVICE_RPS_RANGE
        if not low <= rps <= high:
            raise ValueError(f"service token rate must be {low}–{high} requests a second, got {rps}")
        return TokenInfo(token, "service", rps)
    raise ValueError(f"a sandbox token starts with {USER_PREFIX!r} or {SERVICE_PREFIX!r}")


class TokenPolicy:
    """Who may call, how often (sliding one-second window per token) and how much a day."""

    def __init__(
        self,
        tokens: list[TokenInfo],
        accept_any_token: bool = False,
        service_rps: int = DEFAULT_SERVICE_RPS,
        daily_quota: int | None = None,
    ) -> None:
        self.tokens = {t.token: t for t in tokens}
        self.accept_any_token = accept_any_token
        self.service_rps = service_rps
        self.daily_quota = daily_quota
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._quota: dict[tuple[str, str, str], int] = defaultdict(int)
        self._lock = threading.Lock()

    def authenticate(self, token: str | None) -> TokenInfo:
        if not token:
            raise VkError(5, "no access_token passed.")
        info = self.tokens.get(token)
        if info is None and self.accept_any_token:
            try:
                info = parse_token_spec(token.partition(":")[0], self.service_rps)
            except ValueError:
                info = None
        if info is None:
            raise VkError(5, "invalid access_token (4).")
        return info

    def admit(self, info: TokenInfo) -> None:
        """Count one request in the token's window, or raise error 6 when the window is full."""
        now = time.monotonic()
        with self._lock:
            window = self._windows[info.token]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= info.rps:
                raise VkError(6)
            window.append(now)

    def charge(self, info: TokenInfo, method: str) -> None:
        """Count one call of ``method`` against the daily quota (UTC day), or raise error 29."""
        if self.daily_quota is None:
            return
        key = (info.token, method, datetime.now(UTC).date().isoformat())
        with self._lock:
            if self._quota[key] >= self.daily_quota:
                raise VkError(29)
            self._quota[key] += 1
