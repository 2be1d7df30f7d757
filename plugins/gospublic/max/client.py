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
from gospublic.infra.settings import CONN_MAX

log = logging.getLogger(__name__)

MAX_API = "https://platform-api.max.ru"
DEFAULT_RPS = 25.0
TIMEOUT = (5.0, 30.0)  # seconds to connect, to read an answer
RATE_STATUS = 429  # too many requests: slow down and try again
FATAL_STATUSES = frozenset({401})  # the token refused: stop
GAVE_UP_CODE = -1  # a call given up after its transport retries
RETRY_SETTINGS = ("max_attempts", "backoff", "max_backoff", "rate_patience")


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
    retry = {k: float(v) for k, v in (extra.get("retry") or {}).items() if k in RETRY_SETTINGS}
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


class RateLimiter:
    """Spaces requests evenly at ``rate`` a second, slowed by ``margin``; a 429 widens it."""

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
    call: MaxCall
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


class _TransportError(Exception):
    """A 5xx answer: retried like a dropped connection."""


@dataclass
class _RunState:
    """One ``run``: the work queue, the callbacks, what is pending, what failed."""

    sink: Callable[[MaxResult], None]
    follow: Callable[[MaxResult], Iterable[MaxCall]] | None
    pending: _Pending
    work: queue.PriorityQueue[tuple[float, int, _Job | None]] = field(default_factory=queue.PriorityQueue)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    errors: list[BaseException] = field(default_factory=list)
    stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, job: _Job) -> None:
        self.work.put((0.0, next(self.seq), job))

    def fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.pending.wake()

    def finish(self, result: MaxResult) -> None:
        """Hand the result on and queue its follow-ups before it counts as done."""
        with self._lock:
            self.sink(result)
            more = [_Job(call) for call in (self.follow(result) if self.follow else [])]
        if more:
            self.pending.add(len(more))
            for job in more:
                self.put(job)
        self.pending.add(-1)


class MaxClient:
    """Runs many calls at the bot's rate; see the module docstring."""

    def __init__(
        self,
        config: MaxConfig,
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
        self._lock = threading.Lock()

    @classmethod
    def from_connection(cls, conn_id: str = CONN_MAX, **kwargs: Any) -> MaxClient:
        """A client for the connection; ``extra.retry`` may tune the retry settings."""
        config = config_from_connection(conn_id)
        settings: dict[str, Any] = dict(config.retry)
        if "max_attempts" in settings:
            settings["max_attempts"] = int(settings["max_attempts"])
        return cls(config, **{**settings, **kwargs})

    def run(
        self,
        calls: Iterable[MaxCall],
        on_result: Callable[[MaxResult], None],
        follow: Callable[[MaxResult], Iterable[MaxCall]] | None = None,
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
            threading.Thread(target=self._worker, args=(state, limiter), name=f"max-{n}", daemon=True)
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
            raise MaxExtractionError(f"MAX extraction failed: {state.errors[0]}") from state.errors[0]

    # -- internals ----------------------------------------------------------------------------

    def _worker(self, state: _RunState, limiter: RateLimiter) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = self.config.token
            while True:
                job = state.work.get()[2]
                if job is None or state.stopped:
                    return
                limiter.acquire()
                try:
                    self._attempt(session, job, state, limiter)
                except BaseException as exc:
                    state.fail(exc)
                    return

    def _attempt(self, session: requests.Session, job: _Job, state: _RunState, limiter: RateLimiter) -> None:
        with self._lock:
            self.requests_sent += 1
        call = job.call
        try:
            answer = session.get(
                f"{self.config.base_url}{call.path}", params=dict(call.params), timeout=TIMEOUT
            )
            if answer.status_code >= 500:
                raise _TransportError(f"HTTP {answer.status_code}")
            body = answer.json()
        except (requests.RequestException, ValueError, _TransportError) as exc:
            reason = str(exc) if isinstance(exc, _TransportError) else type(exc).__name__
            self._retry(job, state, reason)
            return
        status = answer.status_code
        if status == 200:
            state.finish(MaxResult(call, response=body))
        elif status in FATAL_STATUSES:
            raise MaxExtractionError(
                f"{call.operation}: MAX refused the bot token: HTTP {status} {_msg(body)}"
            )
        elif status == RATE_STATUS:
            limiter.penalize()
            self._retry(job, state, f"HTTP {status}", rate_limited=True)
        else:
            state.finish(MaxResult(call, error_code=status, error_msg=_msg(body)))

    def _retry(self, job: _Job, state: _RunState, reason: str, *, rate_limited: bool = False) -> None:
        """Put the job back after a backoff, or give it up (transport) or fail the run (rate)."""
        now = time.monotonic()
        if rate_limited:
            job.rate_limited_since = job.rate_limited_since or now
            if now - job.rate_limited_since > self.rate_patience:
                message = f"{job.call.operation} still rate-limited after {self.rate_patience:.0f} s"
                state.fail(MaxExtractionError(message))
                return
            delay = min(self.max_backoff, self.backoff)
        else:
            job.attempt += 1
            if job.attempt >= self.max_attempts:
                log.warning("giving up %s after %d attempts (%s)", job.call.operation, job.attempt, reason)
                message = f"gave up after {job.attempt} attempts: {reason}"
                state.finish(MaxResult(job.call, error_code=GAVE_UP_CODE, error_msg=message))
                return
            delay = min(self.max_backoff, self.backoff * 2 ** (job.attempt - 1))
        timer = threading.Timer(delay, state.put, args=(job,))
        timer.daemon = True
        timer.start()


def _msg(body: Any) -> str:
    """MAX's error as ``code: message`` (it never holds the token: headers are not echoed)."""
    if not isinstance(body, Mapping):
        return str(body)[:500]
    return f"{body.get('code', '')}: {body.get('message', '')}"[:500]
