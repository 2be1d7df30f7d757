"""The task's worker pool inside a daemonic process, as under Celery.

Celery's prefork pool processes are daemonic, and so is the Airflow task process forked from one;
multiprocessing refuses to start children from a daemonic process. These tests run the pool from a
daemonic process: every worker runs at once (full parallelism), a real pooled path (answer
assessment) gives what the single-process path gives, and the workers end when that process is
killed.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import billiard  # Celery's fork of multiprocessing, locked with celery
import psutil
import pytest

from gospublic.infra import settings, workers
from transforms import answer_quality

PROJECT = Path(__file__).resolve().parents[1]
PROCESSES = 2
SPAWN = multiprocessing.get_context("spawn")


def rendezvous(directory: str, parties: int) -> int:
    """A pool job that returns (its worker's pid) only once ``parties`` workers are in it at once."""
    Path(directory, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(directory)) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(os.listdir(directory))} of {parties} workers ran at once")
        time.sleep(0.01)
    return os.getpid()


def _all_workers_at_once() -> dict[int, float]:
    """The pool's workers, all in one job each at once: their pids with their start times."""
    pool = workers.process_pool()
    assert pool is not None and workers.worker_count(pool) == PROCESSES
    with tempfile.TemporaryDirectory() as directory:
        pids = set(pool.map(rendezvous, [directory] * PROCESSES, [PROCESSES] * PROCESSES, timeout=120))
    return {pid: psutil.Process(pid).create_time() for pid in pids}


def _in_daemon(results: Any, job: str, texts: list[str | None]) -> None:
    """The daemonic process: runs ``job`` with the pool and puts what it saw on ``results``."""
    try:
        assert multiprocessing.current_process().daemon
        os.environ[settings.ENV_WORKER_PROCESSES] = str(PROCESSES)
        if job == "assess":
            answer_quality.PARALLEL_MIN_TEXTS = 1  # a few hundred texts, in chunks of 16: the pool's
            answer_quality.PARALLEL_CHUNK_TEXTS = 16  # workers assess them all
            pool = workers.process_pool()
            pooled = answer_quality.assess_distinct(texts, executor=pool)
            results.put({"pids": _all_workers_at_once(), "pooled": pooled})
        elif job == "killed":
            results.put({"pids": _all_workers_at_once()})
            time.sleep(600)  # until the test kills this process
    except BaseException:
        results.put({"error": traceback.format_exc()})


def _in_celery_pool(texts: list[str | None]) -> dict[str, Any]:
    """A job of billiard's pool, the pool Celery's prefork workers run their tasks in."""
    os.environ[settings.ENV_WORKER_PROCESSES] = str(PROCESSES)
    answer_quality.PARALLEL_MIN_TEXTS, answer_quality.PARALLEL_CHUNK_TEXTS = 1, 16
    pooled = answer_quality.assess_distinct(texts, executor=workers.process_pool())
    return {
        "daemon": multiprocessing.current_process().daemon,
        "pid": os.getpid(),
        "pids": _all_workers_at_once(),
        "pooled": pooled,
    }


def run_in_daemon(job: str, texts: list[str | None] | None = None) -> tuple[Any, dict[str, Any]]:
    results = SPAWN.Queue()
    process = SPAWN.Process(target=_in_daemon, args=(results, job, texts or []), daemon=True)
    process.start()
    try:
        seen = results.get(timeout=300)
    except BaseException:
        process.kill()
        raise
    assert "error" not in seen, seen["error"]
    return process, seen


def answer_texts() -> list[str | None]:
    texts: list[str | None] = [None, ""]
    for name in ("answer_quality_labeled.csv", "answer_quality_holdout2.csv"):
        with (PROJECT / "tests" / "data" / name).open(encoding="utf-8") as file:
            texts += [row["text"] for row in csv.DictReader(file)]
    return texts + texts[:20]  # answers repeat (templates): each distinct text is assessed once


def test_a_daemonic_process_assesses_answers_in_the_pool_as_in_one_process() -> None:
    texts = answer_texts()
    process, seen = run_in_daemon("assess", texts)
    process.join(60)
    assert process.exitcode == 0
    assert len(seen["pids"]) == PROCESSES and process.pid not in seen["pids"]
    alone = answer_quality.assess_distinct(texts, executor=None)
    assert len(alone) > 200
    assert seen["pooled"] == alone
    assert list(seen["pooled"]) == list(alone)  # in first-seen order


def assert_no_orphans(started: dict[int, float]) -> None:
    """The worker processes ``started`` (pid: start time) end within 20 s (any left are killed,
    then reported)."""

    def alive() -> set[int]:
        living = set()
        for pid, created in started.items():
            try:
                worker = psutil.Process(pid)
                if worker.create_time() == created and worker.status() != psutil.STATUS_ZOMBIE:
                    living.add(pid)
            except psutil.NoSuchProcess:
                pass
        return living

    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = alive()
    for pid in orphans:  # not left behind by a failing test
        os.kill(pid, signal.SIGKILL)
    assert not orphans, f"workers {orphans} outlived their task process"


def test_the_workers_end_with_a_killed_task_process() -> None:
    process, seen = run_in_daemon("killed")
    assert len(seen["pids"]) == PROCESSES
    os.kill(process.pid, signal.SIGKILL)  # as Airflow kills a task past its timeout
    process.join(30)
    assert_no_orphans(seen["pids"])


def test_a_celery_pool_process_runs_the_pool() -> None:
    """In billiard's pool process, daemonic as Celery's are (billiard marks multiprocessing's current
    process so): answers assessed by every worker at once; the workers end with the pool process."""
    texts = answer_texts()
    celery_pool = billiard.Pool(processes=1)
    try:
        seen = celery_pool.apply_async(_in_celery_pool, (texts,)).get(timeout=300)
    finally:
        celery_pool.terminate()  # SIGTERM: the pool process runs no clean-up
        celery_pool.join()
    assert seen["daemon"] and len(seen["pids"]) == PROCESSES and seen["pid"] not in seen["pids"]
    assert seen["pooled"] == answer_quality.assess_distinct(texts, executor=None)
    assert_no_orphans(seen["pids"])


def test_one_process_means_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_WORKER_PROCESSES, "1")
    assert workers.process_pool() is None
    assert workers.worker_count(None) == 1


MAIN_THAT_MUST_NOT_RERUN = """
import multiprocessing, sys
if __name__ != "__main__":
    # What Celery's worker command does when a spawned child runs it again: its imports set up
    # Airflow against the task's placeholder database and the child dies.
    raise SystemExit("a pool worker re-ran the parent's __main__")


def task():
    from gospublic.infra import workers
    pool = workers.process_pool()
    assert pool is not None
    print(sum(pool.map(abs, range(-100, 100), chunksize=10)))


if __name__ == "__main__":
    daemonic = multiprocessing.get_context("fork").Process(target=task, daemon=True)  # as in Celery
    daemonic.start()
    daemonic.join(120)
    sys.exit(daemonic.exitcode)
"""


def test_pool_workers_do_not_rerun_the_parents_main(tmp_path: Path) -> None:
    """Under `airflow celery worker`, __main__ is the `airflow` command: a spawned worker that ran
    it again died (BrokenProcessPool) before it could take any work."""
    script = tmp_path / "celery_like_main.py"
    script.write_text(MAIN_THAT_MUST_NOT_RERUN)
    env = {**os.environ, settings.ENV_WORKER_PROCESSES: str(PROCESSES)}
    command = [sys.executable, str(script)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == str(sum(abs(n) for n in range(-100, 100)))
