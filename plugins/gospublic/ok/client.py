"""OK REST API client over ``requests``: signed calls, paced at the application's rate, retried.

Credentials come from the Airflow connection ``gospublic_ok`` (``conn_type=http``):

* ``host`` — API base URL: empty for OK itself (``https://api.ok.ru``), the sandbox's URL in
  development;
* ``login`` — the application's public key (``application_key``);
* ``password`` — the access token (optional: without one, calls are made without a session);
* ``extra.application_secret_key`` and/or ``extra.session_secret_key`` — what signs the calls;
* ``extra.rps`` — requests a second the application may make (default 5);
* ``extra.retry`` — ``{"max_attempts": 6, "backoff": 0.5, "max_backoff": 30, "rate_patience": 600}``.

Faults: transport errors (5xx, dropped connections, timeouts, an answer that is not JSON) and OK's
temporary errors (1 UNKNOWN, 2 SERVICE) are retried up to ``max_attempts`` with a growing backoff,
then the call is given up (``GAVE_UP_CODE``) so one broken page cannot stall the rest; error 8
(FLOOD_BLOCKED) slows the pace and is retried for up to ``rate_patience`` seconds, then the run
fails rather than lose calls; errors of the credentials (101, 102, 103, 104) and 11
(LIMIT_REACHED, the day's quota) fail the run at once; any other error is the page's own answer
(closed, not found, invalid) and returned as that call's result. Secrets never reach a log: the
connection's secrets are masked where they are read, and no request URL or body is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from gospublic.infra.connections import get_connection, mask_secret
from gospublic.infra.pacer import PacedClient, Retry, TransportError, client_settings, retry_settings
from gospublic.infra.settings import CONN_OK
from gospublic.ok.signing import sign, signing_secret

log = logging.getLogger(__name__)

OK_API = "https://api.ok.ru"
DEFAULT_RPS = 5.0
TIMEOUT = (5.0, 30.0)  # seconds to connect, to read an answer
TRANSIENT_CODES = frozenset({1, 2})  # UNKNOWN, SERVICE: try again
RATE_CODES = frozenset({8})  # FLOOD_BLOCKED: slow down and try again
FATAL_CODES = frozenset({11, 101, 102, 103, 104})  # quota, api key, session, signature: stop
GAVE_UP_CODE = -1  # a call given up after its transport retries


class OkExtractionError(RuntimeError):
    """Extraction cannot go on (credentials refused, quota reached, rate limit never lifted)."""


@dataclass(frozen=True)
class OkConfig:
    """Where the API is, the application and session, and the pace; ``repr`` shows no secret."""

    application_key: str
    application_secret_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    session_secret_key: str | None = field(default=None, repr=False)
    base_url: str = OK_API
    rps: float = DEFAULT_RPS
    retry: Mapping[str, float] = field(default_factory=dict)

    @property
    def secret(self) -> str:
        """The key that signs every call of this configuration."""
        return signing_secret(
            application_secret_key=self.application_secret_key,
            access_token=self.access_token,
            session_secret_key=self.session_secret_key,
        )


def config_from_connection(conn_id: str = CONN_OK) -> OkConfig:
    """The configuration of the Airflow connection ``conn_id`` (see the module docstring)."""
    info = get_connection(conn_id)
    if info is None:
        raise OkExtractionError(f"Airflow connection {conn_id!r} is not defined (OK application and token)")
    extra = info.extra
    app_secret = extra.get("application_secret_key") or None
    session_secret = extra.get("session_secret_key") or None
    for secret in (app_secret, session_secret, info.password):
        mask_secret(secret)
    if not info.login:
        raise OkExtractionError(f"connection {conn_id!r} has no application key (login)")
    if not (app_secret or session_secret):
        raise OkExtractionError(
            f"connection {conn_id!r} has neither extra.application_secret_key nor extra.session_secret_key"
        )
    base_url = (info.host or extra.get("base_url") or OK_API).rstrip("/")
    if "://" not in base_url:
        base_url = f"{extra.get('scheme', 'http')}://{base_url}" + (f":{info.port}" if info.port else "")
    retry = retry_settings(extra.get("retry"))
    config = OkConfig(
        application_key=info.login,
        application_secret_key=app_secret,
        access_token=info.password,
        session_secret_key=session_secret,
        base_url=base_url,
        rps=float(extra.get("rps", DEFAULT_RPS)),
        retry=retry,
    )
    try:
        mask_secret(config.secret)  # md5(token + secret) signs like a secret: never log it either
    except ValueError as exc:
        raise OkExtractionError(f"connection {conn_id!r}: {exc}") from exc
    return config


@dataclass(frozen=True)
class OkCall:
    """One API call; ``key`` identifies it for the caller (page id, anchor…)."""

    method: str
    params: Mapping[str, str]
    key: Any = None


@dataclass
class OkResult:
    """The answer to one call: ``response`` or ``error_code``/``error_msg``."""

    call: OkCall
    response: Any = None
    error_code: int | None = None
    error_msg: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class OkClient(PacedClient[OkCall, OkResult]):
    """Runs many calls at the application's rate; see the module docstring."""

    name = "ok"

    def __init__(self, config: OkConfig, **settings: Any) -> None:
        super().__init__(config.rps, **settings)
        self.config = config
        self._secret = config.secret

    @classmethod
    def from_connection(cls, conn_id: str = CONN_OK, **kwargs: Any) -> OkClient:
        """A client for the connection; ``extra.retry`` may tune the retry settings."""
        config = config_from_connection(conn_id)
        return cls(config, **{**client_settings(config.retry), **kwargs})

    def signed(self, call: OkCall) -> dict[str, str]:
        """The request parameters of ``call``: the call's own, the application key, the format,
        the signature and the session's token (which is not signed)."""
        params = {**call.params, "method": call.method, "application_key": self.config.application_key}
        params["format"] = "json"
        params["sig"] = sign(params, self._secret)
        if self.config.access_token:
            params["access_token"] = self.config.access_token
        return params

    # -- one attempt --------------------------------------------------------------------------

    def send(self, session: requests.Session, call: OkCall) -> OkResult | Retry:
        try:
            answer = session.post(f"{self.config.base_url}/fb.do", data=self.signed(call), timeout=TIMEOUT)
            if answer.status_code >= 500:
                raise TransportError(f"HTTP {answer.status_code}")
            body = answer.json()
        except (requests.RequestException, ValueError, TransportError) as exc:
            return Retry(str(exc) if isinstance(exc, TransportError) else type(exc).__name__)
        code = body.get("error_code") if isinstance(body, dict) else None
        if code is None:
            return OkResult(call, response=body)
        if code in FATAL_CODES:
            raise OkExtractionError(f"{call.method}: OK refused the call: error {code} {_msg(body)}")
        if code in RATE_CODES:
            return Retry(f"error {code}", rate_limited=True)
        if code in TRANSIENT_CODES:
            return Retry(f"error {code}")
        return OkResult(call, error_code=int(code), error_msg=_msg(body))

    def gave_up(self, call: OkCall, message: str) -> OkResult:
        return OkResult(call, error_code=GAVE_UP_CODE, error_msg=message)

    def describe(self, call: OkCall) -> str:
        return call.method

    def failure(self, error: BaseException) -> Exception:
        return OkExtractionError(f"OK extraction failed: {error}")

    def rate_limit_error(self, message: str) -> Exception:
        return OkExtractionError(message)


def _msg(body: Mapping[str, Any]) -> str:
    """OK's error message (it never holds the token: the parameters are not echoed)."""
    return str(body.get("error_msg", ""))[:500]
