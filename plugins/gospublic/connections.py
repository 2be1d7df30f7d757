"""Look up Airflow connections, with a typed and secret-safe view of the fields we use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionInfo:
    """The fields of an Airflow connection that the adapters need."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """A log-safe one-line description: never includes the password or extra secrets."""
        where = self.host or self.schema or self.extra.get("path") or ""
        port = f":{self.port}" if self.port else ""
        return f"{self.conn_id} ({self.conn_type}: {where}{port})"


def get_connection(conn_id: str) -> ConnectionInfo | None:
    """Return the connection ``conn_id`` or ``None`` when it is not defined anywhere.

    Uses Airflow's lookup (environment ``AIRFLOW_CONN_*``, secrets backends, and the
    metadata database through the task runner), so tasks, the CLI and tests agree.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=(conn.conn_type or "").lower(),
        host=conn.host or None,
        port=conn.port or None,
        login=conn.login or None,
        password=conn.password or None,
        schema=conn.schema or None,
        extra=dict(conn.extra_dejson or {}),
    )
