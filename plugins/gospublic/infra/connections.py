"""Look up Airflow connections, with a typed and secret-safe view of the fields we use.

Every secret the project reads (connection passwords and secret extras, VK tokens, the pseudonym
key) goes through :func:`mask_secret` where it is read: it joins Airflow's secrets masker (task
logs shipped through the supervisor) and this process's own log records are redacted before any
handler sees them (``dag.test``, the CLI, tests and benchmarks, where Airflow's logging config
has no masking step).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Keys of a connection's extra whose values are secrets (besides Airflow's sensitive names).
SECRET_EXTRA_KEYS = frozenset({"token", "tokens", "secret", "secret_key", "password", "key"})
_masking_lock = threading.Lock()


def mask_secret(value: Any) -> None:
    """Never let ``value`` (a string, or the strings of a list or dict) reach a log."""
    if not value:
        return
    from airflow.sdk.log import mask_secret as airflow_mask_secret

    airflow_mask_secret(value)
    _install_record_masking()


def secret_values(extra: Any) -> list[str]:
    """The strings under secret keys (``SECRET_EXTRA_KEYS``) of a connection's extra, at any depth
    (``{"tokens": [{"kind": "user", "token": "…"}]}`` gives the token, not the kind)."""
    found: list[str] = []
    if isinstance(extra, dict):
        for key, value in extra.items():
            if str(key).lower() in SECRET_EXTRA_KEYS:
                found += [value] if isinstance(value, str) else _strings_of_secret(value)
            else:
                found += secret_values(value)
    elif isinstance(extra, list | tuple):
        found += [s for item in extra for s in secret_values(item)]
    return found


def _strings_of_secret(value: Any) -> list[str]:
    if isinstance(value, list | tuple):  # a list of secrets, or of dicts holding them
        return [s for item in value for s in ([item] if isinstance(item, str) else secret_values(item))]
    return secret_values(value)


def redacted(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (for text bound for a table)."""
    from airflow.sdk._shared.secrets_masker import redact

    return str(redact(text))


def _install_record_masking() -> None:
    """Redact every log record of this process as it is made (once per process): messages,
    arguments and formatted tracebacks, whatever the logger and whatever handlers come later."""
    with _masking_lock:
        if getattr(logging.getLogRecordFactory(), "gospublic_masking", False):
            return
        from airflow.sdk._shared.secrets_masker import redact

        make_record = logging.getLogRecordFactory()

        def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            try:
                message = record.getMessage()
                masked = redact(message)
                if masked != message:
                    record.msg, record.args = masked, ()
                if record.exc_info:  # renderers format it from exc_info: put the masked text instead
                    trace = logging.Formatter().formatException(record.exc_info)
                    masked_trace = redact(trace)
                    if masked_trace != trace:
                        record.msg, record.args = f"{record.getMessage()}\n{masked_trace}", ()
                        record.exc_info, record.exc_text = None, None
            except Exception:  # a record that cannot be formatted fails later, as it would anyway
                pass
            return record

        masked_record.gospublic_masking = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(masked_record)


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
    extra = dict(conn.extra_dejson or {})
    mask_secret(conn.password)
    mask_secret(secret_values(extra))
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=(conn.conn_type or "").lower(),
        host=conn.host or None,
        port=conn.port or None,
        login=conn.login or None,
        password=conn.password or None,
        schema=conn.schema or None,
        extra=extra,
    )
