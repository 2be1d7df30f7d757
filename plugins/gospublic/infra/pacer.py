"""Pacing and retrying a network API's calls: what the OK, MAX and Telegram clients share.

* :class:`RateLimiter` spaces requests evenly at a rate a second (slowed by a margin that a
  rate-limit answer widens), for threads (``acquire``) or coroutines (``wait``, with the caller's
  ``sleep``, so a sandbox's simulated clock can stand in for time);
* :class:`RetryPolicy` says how long to back off before the next attempt, when a call is given up
  and how long a rate limit is waited out before the run stops;
* :class:`PacedClient` runs many HTTP calls on a few worker threads at the limiter's pace, each
  answer leading to more calls as it arrives (the next page). A network's client subclasses it and
  says only how one call is sent and what its answer means (:meth:`PacedClient.send`): an answer,
  a :class:`Retry` (transport fault, temporary error, or rate limit) or an exception that stops the
  run (credentials refused, quota reached).

A transport retry grows its backoff (``backoff * 2 ** (attempt - 1)``, at most ``max_backoff``)
until ``max_attempts``, then the call is given up (its result says so, one broken page does not
stall the rest); a rate-limited call slows the pace and is tried again after ``backoff`` until it
has been rate-limited for ``rate_patience`` seconds, then the run fails rather than lose calls.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import requests

log = logging.getLogger(__name__)

C = TypeVar("C")  # a network's call
R = TypeVar("R")  # a network's result
RETRY_SETTINGS = ("max_attempts", "backoff", "max_backoff", "rate_patience")


class RateLimiter:
    """Spaces requests evenly at ``rate`` a second, slowed by ``margin``; a rate-limit answer
    widens it (``penalize``)."""

    def __init__(
        self,
        rate: float,
        margin: float = 0.05,
        max_margin: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.margin, self.max_margin = rate, margin, max_margin
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return (1.0 + self.margin) / self.rate

    def reserve(self) -> float:
        """Take the next free moment; the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        return start - now

    def acquire(self) -> None:
        """Wait (this thread) for the next free moment."""
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)

    async def wait(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait with ``sleep`` for the next free moment."""
        await sleep(max(self.reserve(), 0.0))

    def penalize(self) -> None:
        with self._lock:
            self.margin = min(self.max_margin, self.margin + 0.05)
            self._next = max(self._next, self._clock()) + self.interval


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff and patience of a client (see the module docstring)."""

    max_attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    rate_patience: float = 600.0

    def transport_delay(self, attempt: int) -> float:
        """The backoff after the ``attempt``-th failed attempt (1, 2, …)."""
        return min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))

    def rate_delay(self) -> float:
        return min(self.max_backoff, self.backoff)

    def gives_up(self, attempt: int) -> bool:
        return attempt >= self.max_attempts

    def out_of_patience(self, rate_limited_for: float) -> bool:
        return rate_limited_for > self.rate_patience


def retry_settings(extra_retry: Any) -> dict[str, float]:
    """The retry settings of a connection's ``extra.retry`` (unknown keys left out)."""
    return {k: float(v) for k, v in (extra_retry or {}).items() if k in RETRY_SETTINGS}


def client_settings(retry: Any) -> dict[str, Any]:
    """``RetryPolicy`` keyword arguments from a configuration's ``retry`` mapping."""
    settings: dict[str, Any] = dict(retry)
    if "max_attempts" in settings:
        settings["max_attempts"] = int(settings["max_attempts"])
    return settings


@dataclass(frozen=True)
class Retry:
    """What :meth:`PacedClient.send` returns when its call must be tried again."""

    reason: str
    rate_limited: bool = False


class TransportError(Exception):
    """A 5xx answer: retried like a dropped connection."""


class PacedClient(Generic[C, R]):
    """Runs many calls at ``rps`` a second on ``workers`` threads; see the module docstring.

    Subclasses give ``send`` (one attempt of a call), ``gave_up`` (the result of a call given up)
    and ``describe`` (the call's method, for messages); ``open_session`` may set headers;
    ``failure`` wraps the error that stopped a run."""

    name = "paced"

    def __init__(
        self,
        rps: float,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        rate_patience: float = 600.0,
        workers: int = 4,
    ) -> None:
        self.rps = rps
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.rate_patience = rate_patience
        self.workers = workers
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    @property
    def policy(self) -> RetryPolicy:
        """The retry settings as they stand now (tests and callers may change the attributes)."""
        return RetryPolicy(self.max_attempts, self.backoff, self.max_backoff, self.rate_patience)

    # -- what a network says ------------------------------------------------------------------

    def open_session(self) -> requests.Session:
        return requests.Session()

    def send(self, session: requests.Session, call: C) -> R | Retry:
        raise NotImplementedError

    def gave_up(self, call: C, message: str) -> R:
        raise NotImplementedError

    def describe(self, call: C) -> str:
        return str(call)

    def failure(self, error: BaseException) -> Exception:
        return RuntimeError(f"{self.name} extraction failed: {error}")

    def rate_limit_error(self, message: str) -> Exception:
        return RuntimeError(message)

    # -- the run ------------------------------------------------------------------------------

    def run(
        self,
        calls: Iterable[C],
        on_result: Callable[[R], None],
        follow: Callable[[R], Iterable[C]] | None = None,
    ) -> None:
        """Make every call, passing each result to ``on_result`` (one at a time, order not kept);
        ``follow(result)`` may return more calls (the next page), which join the same run."""
        jobs = [_Job(call) for call in calls]
        if not jobs:
            return
        state: _RunState[C, R] = _RunState(on_result, follow, _Pending(len(jobs)))
        for job in jobs:
            state.put(job)
        limiter = RateLimiter(self.rps)
        threads = [
            threading.Thread(target=self._worker, args=(state, limiter), name=f"{self.name}-{n}", daemon=True)
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
            raise self.failure(state.errors[0]) from state.errors[0]

    def _worker(self, state: _RunState[C, R], limiter: RateLimiter) -> None:
        with self.open_session() as session:
            while True:
                job = state.work.get()[2]
                if job is None or state.stopped:
                    return
                limiter.acquire()
                try:
                    with self._count_lock:
                        self.requests_sent += 1
                    outcome = self.send(session, job.call)
                    if isinstance(outcome, Retry):
                        if outcome.rate_limited:
                            limiter.penalize()
                        self._retry(job, state, outcome)
                    else:
                        state.finish(outcome)
                except BaseException as exc:
                    state.fail(exc)
                    return

    def _retry(self, job: _Job[C], state: _RunState[C, R], retry: Retry) -> None:
        """Put the job back after a backoff, or give it up (transport) or fail the run (rate)."""
        policy, now = self.policy, time.monotonic()
        if retry.rate_limited:
            job.rate_limited_since = job.rate_limited_since or now
            if policy.out_of_patience(now - job.rate_limited_since):
                message = f"{self.describe(job.call)} still rate-limited after {policy.rate_patience:.0f} s"
                state.fail(self.rate_limit_error(message))
                return
            delay = policy.rate_delay()
        else:
            job.attempt += 1
            if policy.gives_up(job.attempt):
                log.warning(
                    "giving up %s after %d attempts (%s)", self.describe(job.call), job.attempt, retry.reason
                )
                message = f"gave up after {job.attempt} attempts: {retry.reason}"
                state.finish(self.gave_up(job.call, message))
                return
            delay = policy.transport_delay(job.attempt)
        timer = threading.Timer(delay, state.put, args=(job,))
        timer.daemon = True
        timer.start()


@dataclass
class _Job(Generic[C]):
    call: C
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


@dataclass
class _RunState(Generic[C, R]):
    """One ``run``: the work queue, the callbacks, what is pending, what failed."""

    sink: Callable[[R], None]
    follow: Callable[[R], Iterable[C]] | None
    pending: _Pending
    work: queue.PriorityQueue[tuple[float, int, _Job[C] | None]] = field(default_factory=queue.PriorityQueue)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    errors: list[BaseException] = field(default_factory=list)
    stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, job: _Job[C]) -> None:
        self.work.put((0.0, next(self.seq), job))

    def fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.pending.wake()

    def finish(self, result: R) -> None:
        """Hand the result on and queue its follow-ups before it counts as done."""
        with self._lock:
            self.sink(result)
            more = [_Job(call) for call in (self.follow(result) if self.follow else [])]
        if more:
            self.pending.add(len(more))
            for job in more:
                self.put(job)
        self.pending.add(-1)
