"""VK API client at the rate limit's ceiling, through the real ``vk_api`` client.

Tokens come from the Airflow connection ``gospublic_vk`` (``conn_type=http``):

* ``host`` — API base URL; empty for VK itself, the sandbox's URL in development;
* ``extra.tokens`` — ``[{"kind": "user", "token": "..."}, {"kind": "service", "token": "...",
  "rps": 20}]``; a lone ``password`` is one user token.

Each token kind follows VK's rules: a **user** token makes 3 requests a second and batches up to
25 calls into one ``execute`` (``vk_api.VkRequestsPool``); a **service** token may not call
``execute`` and makes plain calls at its app's rate (5–60 a second). Every token has its own
workers and rate limiter; all tokens pull from one queue, so the ceiling is the sum over tokens.

Faults: errors 6 and 29 back off and retry the same calls (for up to ``rate_patience``, then the
run fails rather than lose them); 5xx and dropped connections retry up to ``max_attempts``; error 14
(captcha) or 5 (bad token) retires the token and its calls go to the others; a page's own error
(15, 18, 30, 100, …) is returned as that call's result. Tokens never reach a log or a message.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from gospublic.infra.connections import get_connection
from gospublic.infra.settings import CONN_VK

log = logging.getLogger(__name__)

API_VERSION = "5.199"
EXECUTE_BATCH = 25
USER_RPS = 3.0
RETRYABLE_CODES = frozenset({6, 9, 10, 29})  # too many rps, flood control, internal, rate limit
TOKEN_FATAL_CODES = frozenset({5, 14, 17})  # bad token, captcha, validation required
GAVE_UP_CODE = -1  # a call given up after its transport retries (5xx, dropped connection, bad answer)

RETRY_SETTINGS = ("max_attempts", "backoff", "max_backoff", "rate_patience")

TokenKind = Literal["user", "service"]


class VkExtractionError(RuntimeError):
    """Extraction cannot go on (no usable token left, or retries exhausted)."""


@dataclass(frozen=True)
class VkToken:
    """One access token; ``repr`` never shows the secret."""

    kind: TokenKind
    secret: str = field(repr=False)
    rps: float = USER_RPS
    label: str = ""

    @property
    def calls_per_second(self) -> float:
        """This token's ceiling in API calls a second."""
        return self.rps * EXECUTE_BATCH if self.kind == "user" else self.rps


@dataclass(frozen=True)
class VkCall:
    """One API call; ``key`` identifies it for the caller (page id, post id, offset…)."""

    method: str
    params: dict[str, Any]
    key: Any = None


@dataclass
class VkResult:
    """The answer to one call: ``response`` or ``error_code``/``error_msg``."""

    call: VkCall
    response: Any = None
    error_code: int | None = None
    error_msg: str | None = None
    token_label: str = ""

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True)
class VkConfig:
    """Where the API is, which tokens to use, and how patiently to retry."""

    tokens: tuple[VkToken, ...]
    base_url: str | None = None
    retry: dict[str, float] = field(default_factory=dict)

    @property
    def ceiling(self) -> float:
        """Calls a second all tokens together may make."""
        return sum(t.calls_per_second for t in self.tokens)


def config_from_connection(conn_id: str = CONN_VK, _seen: frozenset[str] = frozenset()) -> VkConfig:
    """Read tokens, the base URL and retry settings from the Airflow connection.

    ``extra.more_connections`` lists further connections (one token set each) whose tokens join
    this one's; a token listed twice is used once (twice would double its rate and earn error 6).
    """
    info = get_connection(conn_id)
    if info is None:
        raise VkExtractionError(f"Airflow connection {conn_id!r} is not defined (tokens for VK)")
    raw_tokens = info.extra.get("tokens") or (
        [{"kind": "user", "token": info.password}] if info.password else []
    )
    if not raw_tokens:
        raise VkExtractionError(f"connection {conn_id!r} has no tokens (extra.tokens or password)")
    tokens = []
    for i, raw in enumerate(raw_tokens):
        kind = raw.get("kind", "user")
        if kind not in ("user", "service"):
            raise VkExtractionError(f"connection {conn_id!r}: token #{i + 1} has unknown kind {kind!r}")
        if not raw.get("token"):
            raise VkExtractionError(f"connection {conn_id!r}: token #{i + 1} is empty")
        rps = float(raw.get("rps", USER_RPS if kind == "user" else 20))
        tokens.append(VkToken(kind=kind, secret=raw["token"], rps=rps, label=f"{conn_id}#{i + 1}:{kind}"))
    base_url = info.host or info.extra.get("base_url") or None
    if base_url and "://" not in base_url:
        base_url = f"{info.extra.get('scheme', 'http')}://{base_url}" + (f":{info.port}" if info.port else "")
    for other in info.extra.get("more_connections") or []:
        if other in _seen | {conn_id}:
            continue
        extra = config_from_connection(other, _seen | {conn_id})
        if (extra.base_url or None) != base_url:
            raise VkExtractionError(f"connection {other!r} points at another API than {conn_id!r}")
        tokens.extend(extra.tokens)
    secrets_seen: set[str] = set()
    unique = []
    for token in tokens:
        if token.secret not in secrets_seen:
            secrets_seen.add(token.secret)
            unique.append(token)
    retry = {k: float(v) for k, v in (info.extra.get("retry") or {}).items() if k in RETRY_SETTINGS}
    return VkConfig(tuple(unique), base_url, retry)


class RateLimiter:
    """Paces acquisitions evenly at ``rate`` a second, slowed by ``margin`` (thread-safe).

    Even spacing, not bursts: a sliding-window limit on the server side (VK's "3 a second") is
    then only hit when arrivals jitter by more than the margin. The margin adapts: each "too many
    requests" answer widens it a little (up to ``max_margin``), a long run without one narrows it.
    """

    def __init__(self, rate: float, margin: float = 0.03, max_margin: float = 0.3) -> None:
        self.rate = rate
        self.margin = margin
        self.min_margin = margin
        self.max_margin = max_margin
        self._next = 0.0
        self._streak = 0
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return (1.0 + self.margin) / self.rate

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
            self._streak += 1
            if self._streak >= 100 and self.margin > self.min_margin:
                self.margin = max(self.min_margin, self.margin - 0.01)
                self._streak = 0
        if start > now:
            time.sleep(start - now)

    def penalize(self, seconds: float | None = None) -> None:
        """VK said too many requests: skip one turn (or ``seconds``) and widen the margin."""
        with self._lock:
            self.margin = min(self.max_margin, self.margin + 0.02)
            self._streak = 0
            self._next = max(self._next, time.monotonic()) + (self.interval if seconds is None else seconds)


@dataclass
class _Job:
    calls: list[VkCall]
    depth: int = 0  # follow-ups of follow-ups go first, so chains finish before the run's tail
    attempt: int = 0  # failed attempts for transport reasons (5xx, dropped connection, bad answer)
    rate_attempt: int = 0  # answers "too many requests" / "rate limit reached" (6, 9, 29)
    rate_limited_since: float | None = None


class VkClient:
    """Runs many calls over all tokens at their ceiling; see the module docstring."""

    def __init__(
        self,
        config: VkConfig,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        rate_patience: float = 600.0,
        service_workers: int | None = None,
        user_workers: int = 2,
    ) -> None:
        if not config.tokens:
            raise VkExtractionError("no VK tokens configured")
        self.config = config
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.rate_patience = rate_patience
        self.service_workers = service_workers
        self.user_workers = user_workers
        self.retired: dict[str, str] = {}
        self.requests_sent = 0
        self._lock = threading.Lock()

    @classmethod
    def from_connection(cls, conn_id: str = CONN_VK, **kwargs: Any) -> VkClient:
        """A client for the connection's tokens; ``extra.retry`` may tune the retry settings."""
        config = config_from_connection(conn_id)
        settings: dict[str, Any] = dict(config.retry)
        if "max_attempts" in settings:
            settings["max_attempts"] = int(settings["max_attempts"])
        return cls(config, **{**settings, **kwargs})

    def run(
        self,
        calls: Iterable[VkCall],
        on_result: Callable[[VkResult], None] | None = None,
        follow: Callable[[VkResult], Iterable[VkCall]] | None = None,
    ) -> list[VkResult]:
        """Make every call; one result per call (order not kept), or each passed to ``on_result``.

        ``follow(result)`` may return more calls (the next page, a thread): they join the same run
        at once, so tokens never idle waiting for a whole round to finish. Both callbacks run one
        at a time.
        """
        results: list[VkResult] = []
        calls = list(calls)
        if not calls:
            return results
        run = _Run(sink=on_result or results.append, pending=_Counter(len(calls)), follow=follow)
        for call in calls:
            run.put(_Job([call]))
        threads = []
        for token in self.config.tokens:
            session = self._session(token)
            limiter = RateLimiter(token.rps)
            for n in range(self._workers_for(token)):
                thread = threading.Thread(
                    target=self._worker,
                    args=(token, session, limiter, run),
                    name=f"vk-{token.label}-{n}",
                    daemon=True,
                )
                threads.append(thread)
                thread.start()
        run.pending.wait_zero_or(lambda: run.errors or self._all_retired())
        for _ in threads:
            run.stop_one()
        for thread in threads:
            thread.join(timeout=60)
        if run.errors:
            raise VkExtractionError(f"VK extraction failed: {run.errors[0]}") from run.errors[0]
        if run.pending.value:
            raise VkExtractionError(
                f"no usable VK token left with {run.pending.value} calls to go; retired: {self.retired}"
            )
        return results

    # -- internals ----------------------------------------------------------------------------

    def _workers_for(self, token: VkToken) -> int:
        if token.kind == "user":
            return self.user_workers
        return self.service_workers or max(2, min(12, int(token.rps // 4) + 1))

    def _all_retired(self) -> bool:
        return len(self.retired) == len(self.config.tokens)

    def _session(self, token: VkToken) -> Any:
        import vk_api

        from gospublic.vk.session import make_session

        session = make_session(self.config.base_url)
        vk = vk_api.VkApi(token=token.secret, api_version=API_VERSION, session=session)
        vk.RPS_DELAY = 0  # our RateLimiter paces requests, shared by the token's workers
        vk.error_handlers[6] = _raise  # not vk_api's sleep-and-retry: back off through the limiter
        return vk

    def _take(self, token: VkToken, run: _Run, limiter: RateLimiter) -> list[_Job] | None:
        """Wait for work and for the token's turn, then take one job (service token) or up to 25
        (user token: the jobs that queued up while this worker waited fill one ``execute``)."""
        job = run.get()
        if job is None:
            return None
        limiter.acquire()
        jobs = [job]
        while token.kind == "user" and len(jobs) < EXECUTE_BATCH:
            try:
                extra = run.get(block=False)
            except queue.Empty:
                break
            if extra is None:
                run.stop_one()
                break
            jobs.append(extra)
        return jobs

    def _worker(self, token: VkToken, session: Any, limiter: RateLimiter, run: _Run) -> None:
        while token.label not in self.retired:
            jobs = self._take(token, run, limiter)
            if jobs is None:
                return
            if token.label in self.retired:  # retired while this worker waited: hand the jobs on
                for job in jobs:
                    run.put(job)
                return
            try:
                self._send(token, session, limiter, jobs, run)
            except BaseException as exc:
                run.errors.append(exc)
                run.pending.wake()
                return

    def _send(self, token: VkToken, session: Any, limiter: RateLimiter, jobs: list[_Job], run: _Run) -> None:
        from vk_api.exceptions import ApiError, ApiHttpError, Captcha

        calls = [job.calls[0] for job in jobs]
        with self._lock:
            self.requests_sent += 1
        try:
            outcomes = _request(token, session, calls)
        except Captcha:
            self._retire(token, "captcha (error 14)", jobs, run)
        except ApiError as exc:
            self._on_api_error(token, limiter, jobs, run, exc)
        except (ApiHttpError, OSError, ValueError) as exc:  # 5xx, dropped connection, bad JSON
            self._retry(jobs, run, type(exc).__name__)
        else:
            retry = []
            for job, call, (response, error) in zip(jobs, calls, outcomes, strict=True):
                if error and error.get("error_code") in RETRYABLE_CODES:
                    retry.append(job)
                elif error:
                    code, msg = error.get("error_code"), _safe_msg(error)
                    run.finish(
                        VkResult(call, error_code=code, error_msg=msg, token_label=token.label), job.depth
                    )
                else:
                    run.finish(VkResult(call, response=response, token_label=token.label), job.depth)
            if retry:
                limiter.penalize()
                self._retry(retry, run, "inner rate error", rate_limited=True)

    def _on_api_error(
        self, token: VkToken, limiter: RateLimiter, jobs: list[_Job], run: _Run, exc: Any
    ) -> None:
        """The whole request failed with a VK error."""
        if exc.code in TOKEN_FATAL_CODES:
            self._retire(token, f"error {exc.code}", jobs, run)
        elif exc.code in RETRYABLE_CODES:
            limiter.penalize()
            self._retry(jobs, run, f"error {exc.code}", rate_limited=True)
        elif token.kind == "service":  # a plain call's own error: that page's answer
            msg = _safe_msg(exc.error)
            result = VkResult(jobs[0].calls[0], error_code=exc.code, error_msg=msg, token_label=token.label)
            run.finish(result, jobs[0].depth)
        else:
            self._retry(jobs, run, f"execute error {exc.code}")

    def _retry(self, jobs: list[_Job], run: _Run, reason: str, *, rate_limited: bool = False) -> None:
        """Put the jobs back after a backoff.

        Rate errors (6, 9, 29) are VK asking to slow down, never the page's fault: they are retried
        for up to ``rate_patience`` seconds, then the whole run fails (Airflow retries the batch)
        rather than lose calls. Transport errors give up a call after ``max_attempts`` and return
        it as failed (``GAVE_UP_CODE``, -1), so one broken page cannot stall the rest; the caller
        counts such calls apart from pages VK itself refused (see ``vk_extract``).
        """
        now = time.monotonic()
        for job in jobs:
            call = job.calls[0]
            if rate_limited:
                job.rate_attempt += 1
                job.rate_limited_since = job.rate_limited_since or now
                if now - job.rate_limited_since > self.rate_patience:
                    run.errors.append(
                        VkExtractionError(
                            f"{call.method} still rate-limited after {self.rate_patience:.0f} s ({reason})"
                        )
                    )
                    run.pending.wake()
                    return
                exponent = min(job.rate_attempt - 2, 3)  # VK's windows are a second: keep knocking
            else:
                job.attempt += 1
                if job.attempt >= self.max_attempts:
                    log.warning("giving up %s after %d attempts (%s)", call.method, job.attempt, reason)
                    message = f"gave up after {job.attempt} attempts: {reason}"
                    run.finish(VkResult(call, error_code=GAVE_UP_CODE, error_msg=message), job.depth)
                    continue
                exponent = job.attempt - 1
            delay = 0.0 if exponent < 0 else min(self.max_backoff, self.backoff * 2 ** min(exponent, 16))
            timer = threading.Timer(delay, run.put, args=(job,))
            timer.daemon = True
            timer.start()

    def _retire(self, token: VkToken, reason: str, jobs: list[_Job], run: _Run) -> None:
        log.error("VK token %s retired: %s", token.label, reason)
        with self._lock:
            self.retired[token.label] = reason
        for job in jobs:
            run.put(job)
        run.pending.wake()


@dataclass
class _Run:
    """State of one ``VkClient.run``: the work queue, what is pending, where results go."""

    sink: Callable[[VkResult], None]
    pending: _Counter
    follow: Callable[[VkResult], Iterable[VkCall]] | None = None
    work: queue.PriorityQueue[tuple[float, int, _Job | None]] = field(default_factory=queue.PriorityQueue)
    errors: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def put(self, job: _Job) -> None:
        self.work.put((-job.depth, next(self._seq), job))

    def stop_one(self) -> None:
        """Tell one worker to stop (after every job: sentinels sort last)."""
        self.work.put((math.inf, next(self._seq), None))

    def get(self, block: bool = True) -> _Job | None:
        return self.work.get(block=block)[2]

    def finish(self, result: VkResult, depth: int = 0) -> None:
        """Hand the result on (one at a time) and queue its follow-up calls before it counts done."""
        with self._lock:
            self.sink(result)
            more = list(self.follow(result)) if self.follow is not None else []
        depth += 1
        if more:
            self.pending.add(len(more))
            for call in more:
                self.put(_Job([call], depth=depth))
        self.pending.done(1)


class _Counter:
    """Calls still to finish; the caller waits for zero or for a stop condition."""

    def __init__(self, value: int) -> None:
        self.value = value
        self._cond = threading.Condition()

    def done(self, n: int) -> None:
        with self._cond:
            self.value -= n
            self._cond.notify_all()

    def add(self, n: int) -> None:
        with self._cond:
            self.value += n

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait_zero_or(self, stop: Callable[[], Any]) -> None:
        with self._cond:
            while self.value > 0 and not stop():
                self._cond.wait(timeout=0.5)


def _request(token: VkToken, session: Any, calls: list[VkCall]) -> list[tuple[Any, dict[str, Any] | None]]:
    """Send the calls: one ``execute`` for a user token, one plain call for a service token."""
    from vk_api.requests_pool import VkRequestsPool

    if token.kind == "service":
        return [(session.method(calls[0].method, dict(calls[0].params)), None)]
    pool = VkRequestsPool(session)
    answers = [pool.method(call.method, dict(call.params)) for call in calls]
    pool.execute()
    return [(answer.result if answer.ok else None, answer.error or None) for answer in answers]


def _raise(error: Exception) -> None:
    raise error


def _safe_msg(error: dict[str, Any]) -> str:
    """VK's error message without request params (they hold the access token)."""
    return str(error.get("error_msg", ""))[:500]


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
