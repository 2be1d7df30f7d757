"""The task's pool of worker processes for CPU-bound steps (decoding VK answers, assessing answers).

One pool per task process, started on first use and reused: ``GOSPUBLIC_WORKER_PROCESSES`` of them
(default: the CPUs, at most 4; ``1`` = no pool, the work stays in the task's process). Workers are
spawned, not forked: the task process holds database connections and threads that a fork would copy.

Under Celery the task process is daemonic (a prefork pool process, or forked from one), and
multiprocessing refuses to start children from a daemonic process: the refusal guards against
orphans, since a daemonic process is terminated without running its clean-up. So the workers are
started with that flag lifted (and billiard's key made multiprocessing's) for the moment of the
start (:class:`TaskWorkerProcess`), and each
worker ends itself as soon as the process that started it is gone (:func:`_end_with_parent`),
killed or not. The pool is joined at exit (:func:`shutdown`).
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.process import AuthenticationString  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

from gospublic.infra import settings

PARENT_CHECK_SECONDS = 0.5  # how soon a worker notices that its task process is gone

_pools: dict[int, ProcessPoolExecutor] = {}
_starting = threading.Lock()


class TaskWorkerProcess(SpawnProcess):
    """A spawned, non-daemonic worker that a daemonic process (a Celery task) may start."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.daemon = False  # a worker is joined by the pool's shutdown, not terminated at exit
        self.authkey = bytes(self.authkey)  # multiprocessing's own type (billiard's cannot travel)

    def start(self) -> None:
        # multiprocessing checks the *starting* process's own flag (billiard sets it in Celery's
        # pool processes), so a non-daemonic child alone is not enough; and the spawn sends the
        # starting process's key, which in billiard's process is billiard's type, refusing to be
        # pickled by multiprocessing. Both are made plain for this start only, under a lock, and
        # restored whatever happens.
        # And a spawned child re-runs the starting process's __main__ by its path: under Celery that
        # is the `airflow` console script, whose import initializes Airflow's ORM against the URL the
        # task supervisor puts in the task's environment ("airflow-db-not-allowed:///"), and the
        # worker dies (BrokenProcessPool). The workers run functions of transforms/ and need none
        # of __main__, so it is hidden for this start too.
        config = multiprocessing.current_process()._config  # type: ignore[attr-defined]  # private, not in typeshed
        main = sys.modules["__main__"]
        with _starting:
            saved = {name: config[name] for name in ("daemon", "authkey") if name in config}
            hidden = ("__file__", "__spec__")
            main_saved = {name: main.__dict__[name] for name in hidden if name in main.__dict__}
            try:
                config.pop("daemon", None)
                if "authkey" in saved:
                    config["authkey"] = AuthenticationString(bytes(saved["authkey"]))
                main.__dict__.pop("__file__", None)
                main.__spec__ = None
                super().start()
            finally:
                config.update(saved)
                main.__dict__.update(main_saved)


class TaskWorkerContext(SpawnContext):
    """The spawn context, starting :class:`TaskWorkerProcess` workers."""

    Process = TaskWorkerProcess


def process_pool() -> Executor | None:
    """The shared pool, or ``None`` when the task may use one process only."""
    processes = settings.worker_processes()
    if processes <= 1:
        return None
    pool = _pools.get(processes)
    if pool is None:
        pool = ProcessPoolExecutor(
            processes,
            mp_context=TaskWorkerContext(),
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        )
        _pools[processes] = pool
    return pool


def worker_count(pool: Executor | None) -> int:
    """Processes of ``pool`` (1 for none)."""
    return next((processes for processes, known in _pools.items() if known is pool), 1)


def _end_with_parent(parent: int) -> None:
    """A worker's initializer: the worker exits once ``parent`` (its task process) is gone.

    A task process killed outright (SIGKILL past a timeout, the OOM killer) cannot stop its pool;
    its workers would otherwise live on, orphaned, waiting for work that never comes."""
    if os.getppid() != parent:  # gone before this worker started
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="gospublic-parent-watch", daemon=True).start()


@atexit.register
def shutdown() -> None:
    """Stop every pool (at exit, or when a test wants a clean slate)."""
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


# A multiprocessing child runs no atexit handlers: it joins its non-daemonic children instead, which
# would wait forever for idle workers. Its exit runs multiprocessing's finalizers first.
multiprocessing.util.Finalize(None, shutdown, exitpriority=100)


# A forked child (Airflow forks task runners) must not use its parent's pools: their workers and
# threads belong to the parent. It starts its own on first use.
os.register_at_fork(after_in_child=_pools.clear)
