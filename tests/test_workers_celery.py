"""The task's worker pool inside a real Celery worker (prefork pool, Redis broker at 127.0.0.1:6379).

What production runs: a Celery pool process, daemonic, runs the task; the task starts the pool at
full size; its answers equal the single-process path's; after the worker's shutdown no pool worker
is left. Needs Redis as the suite needs PostgreSQL: unreachable, the test fails.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from gospublic.infra import settings, workers
from tests.test_workers import PROCESSES, _all_workers_at_once, answer_texts, assert_no_orphans
from transforms import answer_quality

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("GOSPUBLIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
app = Celery("gospublic-test-workers", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


def rows(assessed: dict[str | None, answer_quality.Assessment]) -> list[list[Any]]:
    """Assessments as JSON-able rows, in first-seen order."""
    return [[text, *astuple(assessment)] for text, assessment in assessed.items()]


@app.task(name="gospublic.tests.assess_in_pool")
def assess_in_pool(texts: list[str | None]) -> dict[str, Any]:
    """The task: answers assessed by the pool, as `warehouse_build` assesses them."""
    os.environ[settings.ENV_WORKER_PROCESSES] = str(PROCESSES)
    answer_quality.PARALLEL_MIN_TEXTS, answer_quality.PARALLEL_CHUNK_TEXTS = 1, 16
    pooled = answer_quality.assess_distinct(texts, executor=workers.process_pool())
    return {
        "daemon": multiprocessing.current_process().daemon,
        "pid": os.getpid(),
        "pids": [[pid, started] for pid, started in _all_workers_at_once().items()],
        "rows": rows(pooled),
    }


def test_a_celery_worker_runs_the_pool_at_full_size() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} (the suite's broker) is unreachable: {error}")
    queue = f"gospublic-test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(PROJECT / "plugins")])}
    env.pop(settings.ENV_WORKER_PROCESSES, None)
    command = [
        sys.executable, "-m", "celery", "--app", "tests.test_workers_celery", "worker",
        "--pool", "prefork", "--concurrency", "1", "--queues", queue, "--hostname", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
    ]  # fmt: skip
    worker = subprocess.Popen(
        command,
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    texts = answer_texts()
    try:
        seen = assess_in_pool.apply_async((texts,), queue=queue).get(timeout=240)
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown, as `docker compose stop` does
        try:
            log, _ = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            log, _ = worker.communicate()
    assert worker.returncode == 0, log[-3000:]
    assert seen["daemon"] and len(seen["pids"]) == PROCESSES and seen["pid"] not in dict(seen["pids"])
    alone = rows(answer_quality.assess_distinct(texts, executor=None))
    assert seen["rows"] == [list(map(_jsonable, row)) for row in alone]
    assert_no_orphans(dict(seen["pids"]))


def _jsonable(value: Any) -> Any:
    """``value`` as it comes back through the JSON result (tuples become lists)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
