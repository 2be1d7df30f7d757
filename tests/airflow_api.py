"""A real Airflow api-server on the test session's metadata (SQLite under ``AIRFLOW_HOME``), for
tests that read what the UI reads through the REST API. It listens on 127.0.0.1 on a free port;
every user is an admin (SimpleAuthManager's development switch), so requests need no token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

STARTUP_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiServer:
    def __init__(self, base_url: str, log: Path) -> None:
        self.base_url = base_url
        self.log = log

    def get(self, path: str, **params: str | int) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", params=params, timeout=60)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[dict]:
        """A try's log as the UI asks for it: its lines, each a dict with at least ``event``."""
        path = (
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
            f"/taskInstances/{quote(task_id, safe='')}/logs/{try_number}"
        )
        response = httpx.get(
            f"{self.base_url}{path}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
            timeout=60,
        )
        assert response.status_code == 200, response.text[:2000]
        return list(response.json()["content"])


@contextmanager
def api_server(airflow_home: Path, log: Path) -> Iterator[ApiServer]:
    """``airflow api-server`` on this session's metadata; stopped (its process group) on exit."""
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__WORKERS": "1",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"{server.base_url}/api/v2/version", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the api-server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if process.poll() is not None:
                break
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
