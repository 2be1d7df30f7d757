"""A small generated region served by the VK sandbox, and helpers to run ``vk_pages`` on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry

MOSCOW = ZoneInfo("Europe/Moscow")
SMALL = {"pages": 40, "incidents": 600, "bodies": 12, "start_days_before": 5}
TOKENS = ["usr_alpha", "usr_beta", "svc_gamma:20"]
CONNECTION_TOKENS = [
    {"kind": "user", "token": "usr_alpha"},
    {"kind": "user", "token": "usr_beta"},
    {"kind": "service", "token": "svc_gamma", "rps": 20},
]


DEFAULT_CONF = {"replay": False, "window_days": None, "allow_fewer_pages": False}  # vk_pages params


def run_time(day: date) -> datetime:
    """The scheduled moment of ``day``'s run: 23:30 Moscow time."""
    return datetime.combine(day, time(23, 30), MOSCOW)


@pytest.fixture(scope="session")
def vk_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sandbox.generator import params
    from sandbox.generator.pipeline import generate

    out = tmp_path_factory.mktemp("vk-region")
    generate(params.build("region", "2025-11", 42, **SMALL), str(out))
    return out


@pytest.fixture(scope="session")
def vk_server(vk_data: Path) -> Iterator:
    from sandbox.vk_server import serve

    with serve(vk_data, port=0, tokens=TOKENS) as server:
        yield server


@dataclass
class VkWorld:
    """Everything a ``vk_pages`` test needs: data folder, sandbox, warehouse, lake root."""

    data: Path
    server: object
    warehouse: Warehouse

    def run(self, dag, day: date, **conf: object):
        """Set the sandbox clock to the day's run time and run the DAG for that day.

        Every param is passed (defaults unless given): in one process ``dag.test`` leaves the
        previous run's conf in the DAG's params, so a run after a replay would replay again."""
        when = run_time(day)
        self.server.set_clock(when)
        return dag.test(logical_date=when.astimezone(UTC), run_conf={**DEFAULT_CONF, **conf})


@pytest.fixture
def vk_world(
    vk_data: Path, vk_server, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[VkWorld]:
    """Sandbox connection, a local lake, a migrated warehouse with the data's registry loaded."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_VK",
        json.dumps(
            {
                "conn_type": "http",
                "host": vk_server.base_url,
                "extra": {"tokens": CONNECTION_TOKENS, "retry": {"backoff": 0.05, "max_backoff": 1.0}},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE",
        json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}),
    )
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_FAILED_SHARE", "0.1")  # 2 of 36 pages are closed/private
    migrate(warehouse)
    load_registry(warehouse, vk_data / "registry")
    vk_server.clear_faults()
    vk_server.reset_stats()
    yield VkWorld(vk_data, vk_server, warehouse)
    vk_server.clear_faults()


BUSINESS_COLUMNS = {
    "core.fct_page_daily": "vk_group_id, dt, members_count, is_closed, deactivated, verified, has_photo, "
    "has_cover, has_description, has_contacts, has_links, has_site, can_message, wall, activity",
    "core.fct_post": "vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count, "
    "other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts",
    "core.fct_comment": "vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, "
    "is_page_reply, page_replied, first_reply_at, reply_delay_minutes",
    "audit.extract_errors": "dt, vk_group_id, method, error_code",
}


def checksum(warehouse: Warehouse, table: str, columns: str = "*") -> str:
    """Order-independent digest of a table's rows (the given columns)."""
    rows = sorted(
        repr(tuple(_plain(v) for v in r.values())) for r in warehouse.query(f"SELECT {columns} FROM {table}")
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def business_checksums(warehouse: Warehouse) -> dict[str, str]:
    """Digests of the VK tables without the observation times (those record when a run happened)."""
    return {table: checksum(warehouse, table, cols) for table, cols in BUSINESS_COLUMNS.items()}


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


@pytest.fixture
def memory() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB in memory on UTC, for the flatten and sidecar tests."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()
