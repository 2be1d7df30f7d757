"""The task's pool of worker processes for CPU-bound steps (decoding VK answers, assessing answers).

One pool per task process, started on first use and reused: ``GOSPUBLIC_WORKER_PROCESSES`` of them
(default: the CPUs, at most 4; ``1`` = no pool, the work stays in the task's process). Workers are
spawned, not forked: the task process holds database connections and threads that a fork would copy.
"""

from __future__ import annotations

import atexit
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

from gospublic import settings

_pools: dict[int, ProcessPoolExecutor] = {}


def process_pool() -> Executor | None:
    """The shared pool, or ``None`` when the task may use one process only."""
    processes = settings.worker_processes()
    if processes <= 1:
        return None
    pool = _pools.get(processes)
    if pool is None:
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
        _pools[processes] = pool
    return pool


def worker_count(pool: Executor | None) -> int:
    """Processes of ``pool`` (1 for none)."""
    return next((processes for processes, known in _pools.items() if known is pool), 1)


@atexit.register
def shutdown() -> None:
    """Stop every pool (at exit, or when a test wants a clean slate)."""
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)
