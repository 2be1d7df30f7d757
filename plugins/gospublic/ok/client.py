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

import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from gospublic.infra.connections import get_connection, mask_secret
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
RETRY_SETTINGS = ("max_attempts", "backoff", "max_backoff", "rate_patience")


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
    retry = {k: float(v) for k, v in (extra.get("retry") or {}).items() if k in RETRY_SETTINGS}
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


class RateLimiter:
    """Spaces requests evenly at ``rate`` a second, slowed by ``margin``; an error 8 widens it."""

    def __init__(self, rate: float, margin: float = 0.05, max_margin: float = 0.5) -> None:
        self.rate, self.margin, self.max_margin = rate, margin, max_margin
        self._next = 0.0
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return (1.0 + self.margin) / self.rate

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def penalize(self) -> None:
        with self._lock:
            self.margin = min(self.max_margin, self.margin + 0.05)
            self._next = max(self._next, time.monotonic()) + self.interval


@dataclass
class _Job:
    call: OkCall
    attempt: int = 0
    rate_limited_since: float | None = None


class _Pending:
    """Calls still to finish; the caller waits for zero or for a failure."""

    def __init__(self, value: int) -> None:
        self.value = value
        self._cond = threading.Condition()

    def add(self, n: int) -> None:
        with self._cond:
            self.value += n
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait(self, failed: Callable[[], bool]) -> None:
        with self._cond:
            while self.value > 0 and not failed():
                self._cond.wait(timeout=0.5)


class OkClient:
    """Runs many calls at the application's rate; see the module docstring."""

    def __init__(
        self,
        config: OkConfig,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        rate_patience: float = 600.0,
        workers: int = 4,
    ) -> None:
        self.config = config
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.rate_patience = rate_patience
        self.workers = workers
        self.requests_sent = 0
        self._secret = config.secret
        self._lock = threading.Lock()

    @classmethod
    def from_connection(cls, conn_id: str = CONN_OK, **kwargs: Any) -> OkClient:
        """A client for the connection; ``extra.retry`` may tune the retry settings."""
        config = config_from_connection(conn_id)
        settings: dict[str, Any] = dict(config.retry)
        if "max_attempts" in settings:
            settings["max_attempts"] = int(settings["max_attempts"])
        return cls(config, **{**settings, **kwargs})

    def signed(self, call: OkCall) -> dict[str, str]:
        """The request parameters of ``call``: the call's own, the application key, the format,
        the signature and the session's token (which is not signed)."""
        params = {**call.params, "method": call.method, "application_key": self.config.application_key}
        params["format"] = "json"
        params["sig"] = sign(params, self._secret)
        if self.config.access_token:
            params["access_token"] = self.config.access_token
        return params

    def run(
        self,
        calls: Iterable[OkCall],
        on_result: Callable[[OkResult], None],
        follow: Callable[[OkResult], Iterable[OkCall]] | None = None,
    ) -> None:
        """Make every call, passing each result to ``on_result`` (one at a time, order not kept);
        ``follow(result)`` may return more calls (the next page), which join the same run."""
        jobs = [_Job(call) for call in calls]
        if not jobs:
            return
        state = _RunState(on_result, follow, _Pending(len(jobs)))
        for job in jobs:
            state.put(job)
        limiter = RateLimiter(self.config.rps)
        threads = [
            threading.Thread(target=self._worker, args=(state, limiter), name=f"ok-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        state.pending.wait(lambda: bool(state.errors))
        state.stopped = True
        for _ in threads:
            state.work.put((math.inf, next(state.seq), None))
        for thread in threads:
            thread.join(timeout=60)
        if state.errors:
            raise OkExtractionError(f"OK extraction failed: {state.errors[0]}") from state.errors[0]

    # -- internals ----------------------------------------------------------------------------

    def _worker(self, state: _RunState, limiter: RateLimiter) -> None:
        with requests.Session() as session:
            while True:
                job = state.work.get()[2]
                if job is None or state.stopped:
                    return
                limiter.acquire()
                try:
                    self._attempt(session, job, state, limiter)
                except BaseException as exc:
                    state.errors.append(exc)
                    state.pending.wake()
                    return

    def _attempt(self, session: requests.Session, job: _Job, state: _RunState, limiter: RateLimiter) -> None:
        with self._lock:
            self.requests_sent += 1
        try:
            answer = session.post(
                f"{self.config.base_url}/fb.do", data=self.signed(job.call), timeout=TIMEOUT
            )
            if answer.status_code >= 500:
                raise _TransportError(f"HTTP {answer.status_code}")
            body = answer.json()
        except (requests.RequestException, ValueError, _TransportError) as exc:
            self._retry(job, state, type(exc).__name__ if not isinstance(exc, _TransportError) else str(exc))
            return
        code = body.get("error_code") if isinstance(body, dict) else None
        if code is None:
            state.finish(OkResult(job.call, response=body))
        elif code in FATAL_CODES:
            raise OkExtractionError(f"{job.call.method}: OK refused the call: error {code} {_msg(body)}")
        elif code in RATE_CODES:
            limiter.penalize()
            self._retry(job, state, f"error {code}", rate_limited=True)
        elif code in TRANSIENT_CODES:
            self._retry(job, state, f"error {code}")
        else:
            state.finish(OkResult(job.call, error_code=int(code), error_msg=_msg(body)))

    def _retry(self, job: _Job, state: _RunState, reason: str, *, rate_limited: bool = False) -> None:
        """Put the job back after a backoff, or give it up (transport) or fail the run (rate)."""
        now = time.monotonic()
        if rate_limited:
            job.rate_limited_since = job.rate_limited_since or now
            if now - job.rate_limited_since > self.rate_patience:
                state.errors.append(
                    OkExtractionError(
                        f"{job.call.method} still rate-limited after {self.rate_patience:.0f} s"
                    )
                )
                state.pending.wake()
                return
            delay = min(self.max_backoff, self.backoff)
        else:
            job.attempt += 1
            if job.attempt >= self.max_attempts:
                log.warning("giving up %s after %d attempts (%s)", job.call.method, job.attempt, reason)
                message = f"gave up after {job.attempt} attempts: {reason}"
                state.finish(OkResult(job.call, error_code=GAVE_UP_CODE, error_msg=message))
                return
            delay = min(self.max_backoff, self.backoff * 2 ** (job.attempt - 1))
        timer = threading.Timer(delay, state.put, args=(job,))
        timer.daemon = True
        timer.start()


class _TransportError(Exception):
    """A 5xx answer: retried like a dropped connection."""


@dataclass
class _RunState:
    """One ``run``: the work queue, the callbacks, what is pending, what failed."""

    sink: Callable[[OkResult], None]
    follow: Callable[[OkResult], Iterable[OkCall]] | None
    pending: _Pending
    work: queue.PriorityQueue[tuple[float, int, _Job | None]] = field(default_factory=queue.PriorityQueue)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    errors: list[BaseException] = field(default_factory=list)
    stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, job: _Job) -> None:
        self.work.put((0.0, next(self.seq), job))

    def finish(self, result: OkResult) -> None:
        """Hand the result on and queue its follow-ups before it counts as done."""
        with self._lock:
            self.sink(result)
            more = [_Job(call) for call in (self.follow(result) if self.follow else [])]
        if more:
            self.pending.add(len(more))
            for job in more:
                self.put(job)
        self.pending.add(-1)


def _msg(body: Mapping[str, Any]) -> str:
    """OK's error message (it never holds the token: the parameters are not echoed)."""
    return str(body.get("error_msg", ""))[:500]
