"""MAX Bot API client over ``requests``: GET calls with the bot token, paced, retried.

Credentials come from the Airflow connection ``gospublic_max`` (``conn_type=http``):

* ``host`` — API base URL: empty for MAX itself (``https://platform-api.max.ru``), the sandbox's
  URL in development;
* ``password`` — the bot token (sent as the ``Authorization`` header, never in the URL: MAX no
  longer accepts it as a query parameter);
* ``extra.rps`` — requests a second for the bot (default 25, under the 30 a second MAX's
  partners quote);
* ``extra.retry`` — ``{"max_attempts": 6, "backoff": 0.5, "max_backoff": 30, "rate_patience": 600}``.

Faults: transport errors (HTTP 5xx, dropped connections, timeouts, an answer that is not JSON) are
retried up to ``max_attempts`` with a growing backoff, then the call is given up
(``GAVE_UP_CODE``) so one broken page cannot stall the rest; 429 (too many requests) slows the
pace and is retried for up to ``rate_patience`` seconds, then the run fails rather than lose
calls; 401 (the token refused) fails the run at once; any other 4xx (403 the bot is not in the
channel, 404 not found, 400 invalid) is the page's own answer, returned as that call's result
with the HTTP status as its code. The token is masked where it is read; no request URL, header or
body is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from gospublic.infra.connections import get_connection, mask_secret
from gospublic.infra.pacer import PacedClient, Retry, TransportError, client_settings, retry_settings
from gospublic.infra.settings import CONN_MAX

log = logging.getLogger(__name__)

MAX_API = "https://platform-api.max.ru"
DEFAULT_RPS = 25.0
TIMEOUT = (5.0, 30.0)  # seconds to connect, to read an answer
RATE_STATUS = 429  # too many requests: slow down and try again
FATAL_STATUSES = frozenset({401})  # the token refused: stop
GAVE_UP_CODE = -1  # a call given up after its transport retries


class MaxExtractionError(RuntimeError):
    """Extraction cannot go on (token refused, rate limit never lifted)."""


@dataclass(frozen=True)
class MaxConfig:
    """Where the API is, the bot token and the pace; ``repr`` shows no secret."""

    token: str = field(repr=False)
    base_url: str = MAX_API
    rps: float = DEFAULT_RPS
    retry: Mapping[str, float] = field(default_factory=dict)


def config_from_connection(conn_id: str = CONN_MAX) -> MaxConfig:
    """The configuration of the Airflow connection ``conn_id`` (see the module docstring)."""
    info = get_connection(conn_id)
    if info is None:
        raise MaxExtractionError(f"Airflow connection {conn_id!r} is not defined (MAX bot token)")
    mask_secret(info.password)
    if not info.password:
        raise MaxExtractionError(f"connection {conn_id!r} has no bot token (password)")
    extra = info.extra
    base_url = (info.host or extra.get("base_url") or MAX_API).rstrip("/")
    if "://" not in base_url:
        base_url = f"{extra.get('scheme', 'https')}://{base_url}" + (f":{info.port}" if info.port else "")
    retry = retry_settings(extra.get("retry"))
    return MaxConfig(
        token=info.password, base_url=base_url, rps=float(extra.get("rps", DEFAULT_RPS)), retry=retry
    )


@dataclass(frozen=True)
class MaxCall:
    """One GET call: the ``operation`` (OpenAPI operationId), its path and query; ``key``
    identifies it for the caller (the chat id)."""

    operation: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    key: Any = None


@dataclass
class MaxResult:
    """The answer to one call: ``response`` or ``error_code`` (HTTP status, or ``GAVE_UP_CODE``)
    and ``error_msg`` (MAX's ``code: message``)."""

    call: MaxCall
    response: Any = None
    error_code: int | None = None
    error_msg: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class MaxClient(PacedClient[MaxCall, MaxResult]):
    """Runs many calls at the bot's rate; see the module docstring."""

    name = "max"

    def __init__(self, config: MaxConfig, **settings: Any) -> None:
        super().__init__(config.rps, **settings)
        self.config = config

    @classmethod
    def from_connection(cls, conn_id: str = CONN_MAX, **kwargs: Any) -> MaxClient:
        """A client for the connection; ``extra.retry`` may tune the retry settings."""
        config = config_from_connection(conn_id)
        return cls(config, **{**client_settings(config.retry), **kwargs})

    # -- one attempt --------------------------------------------------------------------------

    def open_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = self.config.token
        return session

    def send(self, session: requests.Session, call: MaxCall) -> MaxResult | Retry:
        try:
            answer = session.get(
                f"{self.config.base_url}{call.path}", params=dict(call.params), timeout=TIMEOUT
            )
            if answer.status_code >= 500:
                raise TransportError(f"HTTP {answer.status_code}")
            body = answer.json()
        except (requests.RequestException, ValueError, TransportError) as exc:
            return Retry(str(exc) if isinstance(exc, TransportError) else type(exc).__name__)
        status = answer.status_code
        if status == 200:
            return MaxResult(call, response=body)
        if status in FATAL_STATUSES:
            raise MaxExtractionError(
                f"{call.operation}: MAX refused the bot token: HTTP {status} {_msg(body)}"
            )
        if status == RATE_STATUS:
            return Retry(f"HTTP {status}", rate_limited=True)
        return MaxResult(call, error_code=status, error_msg=_msg(body))

    def gave_up(self, call: MaxCall, message: str) -> MaxResult:
        return MaxResult(call, error_code=GAVE_UP_CODE, error_msg=message)

    def describe(self, call: MaxCall) -> str:
        return call.operation

    def failure(self, error: BaseException) -> Exception:
        return MaxExtractionError(f"MAX extraction failed: {error}")

    def rate_limit_error(self, message: str) -> Exception:
        return MaxExtractionError(message)


def _msg(body: Any) -> str:
    """MAX's error as ``code: message`` (it never holds the token: headers are not echoed)."""
    if not isinstance(body, Mapping):
        return str(body)[:500]
    return f"{body.get('code', '')}: {body.get('message', '')}"[:500]
