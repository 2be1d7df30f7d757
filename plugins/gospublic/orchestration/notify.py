"""Alerts that reach people: one plain-text message per event, delivered through Airflow notifiers.

Channels are Airflow connections, each on when its connection exists:

* ``gospublic_smtp`` — e-mail through the SMTP provider's ``SmtpNotifier`` (host, port, login,
  password; extra ``from_email``, ``to`` (comma separated), ``disable_tls``/``disable_ssl``);
* ``gospublic_telegram`` — Telegram through :class:`TelegramNotifier` (host: Bot API base URL,
  default ``https://api.telegram.org``; password: the bot token; extra ``chat_id``).

The message holds ids, the error's first line (redacted by the secrets masker), a link to the
task's log and counts read from the audit tables (``load_runs``, ``extract_errors``,
``export_file``); never a connection's fields.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from gospublic.infra import settings
from gospublic.infra.connections import get_connection, redacted

log = logging.getLogger("gospublic.alerts")

TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_LIMIT = 4096  # characters in one Bot API message
ERROR_LINE_LIMIT = 300
COUNTS_LOCK_WAIT = 5  # seconds an alert waits for a DuckDB warehouse held by a writer

# (count name, SQL giving n and how many records it was counted from). extract_errors has no
# dag_id: a vk_pages run's rows are its network 'vk' rows (other networks' runs may carry the same
# Airflow run ids). export_file.rows_unresolved is NULL for files
# loaded before migration 0025 (not counted) and for rejected files (nothing loaded).
_COUNTS = (
    (
        "rows_rejected",
        "SELECT COALESCE(SUM(rows_rejected), 0) AS n, COUNT(*) AS records FROM audit.load_runs"
        " WHERE dag_id = :dag_id AND run_id = :run_id",
    ),
    (
        "pages_failed",
        "SELECT COUNT(DISTINCT vk_group_id) AS n, COUNT(*) AS records FROM audit.extract_errors"
        " WHERE run_id = :run_id AND network = 'vk' AND :dag_id = 'vk_pages'",
    ),
    (
        "rows_unresolved",
        "SELECT COALESCE(SUM(rows_unresolved), 0) AS n, COUNT(rows_unresolved) AS records"
        " FROM audit.export_file WHERE dag_id = :dag_id AND run_id = :run_id",
    ),
)


def record_alert(label: str, alert: Mapping[str, Any]) -> None:
    """One structured log line ``<label>: <alert as JSON>`` and, when ``GOSPUBLIC_ALERT_LOG`` names
    a file, the alert appended there as a JSON line (ids only: the callers put nothing else in)."""
    line = json.dumps(alert, ensure_ascii=False)
    log.error("%s: %s", label, line)
    path = os.environ.get(settings.ENV_ALERT_LOG)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


# -- messages --------------------------------------------------------------------------------------


def error_line(exception: BaseException | str | None) -> str | None:
    """The error's first line (``Type: text``), masked and cut to ``ERROR_LINE_LIMIT``."""
    if exception is None:
        return None
    if isinstance(exception, BaseException):
        lines = str(exception).strip().splitlines()
        text = f"{type(exception).__name__}: {lines[0]}" if lines else type(exception).__name__
    else:
        text = (str(exception).strip().splitlines() or [""])[0]
    text = redacted(text)
    return text if len(text) <= ERROR_LINE_LIMIT else text[: ERROR_LINE_LIMIT - 1] + "…"


def partition(context: Mapping[str, Any]) -> str | None:
    """What the run handles: the ``month``/``day``/``file`` param or conf, else the day of a
    scheduled daily run (its logical date in Moscow)."""
    params = context.get("params") or {}
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    for key in ("month", "day", "dt", "file", "path"):
        value = params.get(key) if isinstance(params, Mapping) else None
        value = value or (conf.get(key) if isinstance(conf, Mapping) else None)
        if value:
            return str(value)
    logical = context.get("logical_date")
    if isinstance(logical, datetime):
        from transforms.ru_format import day

        return day(logical)
    return None


def failure_message(context: Mapping[str, Any], counts: Mapping[str, int] | None = None) -> str:
    """The alert of a task failed for good: Russian first line, then one fact a line."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or "?"
    task_id = getattr(ti, "task_id", None) or "?"
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "?"
    map_index = getattr(ti, "map_index", None)
    lines = [f"Сбой задачи {task_id} в DAG {dag_id}", f"DAG: {dag_id}", f"Задача: {task_id}"]
    if isinstance(map_index, int) and map_index >= 0:
        lines.append(f"Часть: {map_index}")
    lines.append(f"Запуск: {run_id}")
    try_number = getattr(ti, "try_number", None)
    if try_number:
        lines.append(f"Попытка: {try_number}")
    part = partition(context)
    if part:
        lines.append(f"Период: {part}")
    error = error_line(context.get("exception"))
    if error:
        lines.append(f"Ошибка: {error}")
    lines += [f"{label}: {value}" for label, value in _count_lines(counts)]
    url = log_url(ti)
    if url:
        lines.append(f"Лог: {url}")
    return "\n".join(lines)


def _count_lines(counts: Mapping[str, int] | None) -> list[tuple[str, str]]:
    labels = {
        "rows_rejected": "Строк в карантине",
        "pages_failed": "Страниц с ошибкой",
        "rows_unresolved": "Обращений с исполнителем не из реестра",
    }
    from transforms.ru_format import count

    return [(labels[k], count(v)) for k, v in (counts or {}).items() if k in labels and v]


def log_url(ti: Any) -> str | None:
    """The task's log in the UI (``[api] base_url``); Airflow's own ``ti.log_url`` when it has one."""
    url = getattr(ti, "log_url", None)
    if isinstance(url, str) and url:
        return url
    if ti is None or not getattr(ti, "dag_id", None):
        return None
    from urllib.parse import quote

    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    return f"{base}/dags/{ti.dag_id}/runs/{quote(ti.run_id)}/tasks/{ti.task_id}"


def run_counts(dag_id: str | None, run_id: str | None) -> dict[str, int]:
    """What the run's audit records count: rows its loads put in quarantine (``audit.load_runs``),
    VK pages with extraction errors (``audit.extract_errors``) and incidents loaded whose executor
    matched no body of the registry (``audit.export_file``). A count is left out when unknown —
    nothing recorded, no warehouse, or it cannot be read now: no guess."""
    if not dag_id or not run_id:
        return {}
    try:
        from gospublic.infra.warehouse import Warehouse, WarehouseLockTimeout

        if get_connection(settings.CONN_WAREHOUSE) is None and not settings.default_warehouse_path().exists():
            return {}  # the embedded warehouse was never made: nothing to count, nothing to create
        warehouse = Warehouse.from_connection()
    except Exception as exc:  # an alert must go out whatever the warehouse's state
        log.info("alert counts unknown: %s", type(exc).__name__)
        return {}
    counts: dict[str, int] = {}
    waited = os.environ.get(settings.ENV_WAREHOUSE_LOCK_TIMEOUT)
    # An embedded DuckDB file held by a writer would hold the alert back for the writers' wait
    # (default 900 s): the counts wait COUNTS_LOCK_WAIT seconds at most, then are left out.
    os.environ[settings.ENV_WAREHOUSE_LOCK_TIMEOUT] = str(COUNTS_LOCK_WAIT)
    try:
        for name, sql in _COUNTS:
            try:
                rows = warehouse.query(sql, {"dag_id": dag_id, "run_id": run_id})
            except WarehouseLockTimeout:
                log.info("alert counts unknown: the warehouse is busy")
                break
            except Exception as exc:
                log.info("alert count %s unknown: %s", name, type(exc).__name__)
                continue
            if rows and rows[0]["records"]:
                counts[name] = int(rows[0]["n"])
    finally:
        warehouse.close()
        if waited is None:
            os.environ.pop(settings.ENV_WAREHOUSE_LOCK_TIMEOUT, None)
        else:
            os.environ[settings.ENV_WAREHOUSE_LOCK_TIMEOUT] = waited
    return counts


def published_message(context: Mapping[str, Any], rated: Iterable[Mapping[str, Any]]) -> str | None:
    """The notice of a rating published by this run, with links to its files; None when the
    run published nothing new (a draft, an unchanged month, a dry run)."""
    from transforms.ru_format import month as month_name

    blocks: list[str] = []
    for item in rated:
        if item.get("status") != "published" or not item.get("path") or not item.get("created", True):
            continue
        head = (
            f"Рейтинг за {month_name(str(item['month']))} опубликован: "
            f"{item['methodology_id']}, редакция {item['revision']}"
        )
        blocks.append("\n".join([head, *publication_links(str(item["path"]))]))
    if not blocks:
        return None
    ti = context.get("ti") or context.get("task_instance")
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "?"
    return "\n\n".join([*blocks, f"DAG: {getattr(ti, 'dag_id', '?')}, запуск: {run_id}"])


PUBLISHED_FILES = ("index.html", "rating.xlsx", "rating.csv")  # and pdf/*.pdf (docs/publication.md)


def _is_pdf(name: str) -> bool:
    return name.endswith(".pdf") and name.count("/") <= 1


def publication_links(folder: str) -> list[str]:
    """Links to the publication's main files (HTML, workbook, PDFs) in the lake; the folder alone
    when the lake cannot be listed."""
    try:
        from gospublic.infra.lake import Lake

        lake = Lake.from_connection()
        prefix = folder.rstrip("/") + "/"
        keys = sorted(obj.key for obj in lake.list(prefix))
        wanted = [k for k in keys if k[len(prefix) :] in PUBLISHED_FILES or _is_pdf(k[len(prefix) :])]
        return [lake.uri(k) for k in wanted] or [lake.uri(prefix)]
    except Exception as exc:
        log.info("publication links unknown: %s", type(exc).__name__)
        return [folder]


# -- channels --------------------------------------------------------------------------------------


def _telegram_notifier_class() -> type:
    from airflow.sdk import BaseNotifier

    class TelegramNotifier(BaseNotifier):
        """Post ``text`` to a chat through the Telegram Bot API (``sendMessage``), using the
        connection ``gospublic_telegram``. Plain text; nothing is rendered as a template."""

        template_fields = ()

        def __init__(self, text: str, conn_id: str = settings.CONN_TELEGRAM) -> None:
            super().__init__()
            self.text = text
            self.conn_id = conn_id

        def notify(self, context: Any) -> None:
            send_telegram(self.text, self.conn_id)

    return TelegramNotifier


def send_telegram(text: str, conn_id: str = settings.CONN_TELEGRAM) -> None:
    """``sendMessage`` to the connection's chat; raises with a message holding no URL (the URL
    holds the bot token)."""
    import httpx

    info = get_connection(conn_id)
    if info is None or not info.password or not info.extra.get("chat_id"):
        raise RuntimeError(f"{conn_id}: needs a password (bot token) and extra chat_id")
    base = (info.host or TELEGRAM_API).rstrip("/")
    if "://" not in base:
        base = f"https://{base}" + (f":{info.port}" if info.port else "")
    payload = {
        "chat_id": info.extra["chat_id"],
        "text": text[:TELEGRAM_LIMIT],
        "disable_web_page_preview": True,
    }
    try:
        response = httpx.post(f"{base}/bot{info.password}/sendMessage", json=payload, timeout=15)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"{conn_id}: Telegram unreachable ({type(exc).__name__})") from None
    if response.status_code != 200 or not response.json().get("ok"):
        raise RuntimeError(f"{conn_id}: Telegram answered {response.status_code}")


def _smtp_notifier(subject: str, text: str, conn_id: str = settings.CONN_SMTP) -> Any:
    """The SMTP provider's ``SmtpNotifier`` with the text as is (no Jinja: an error line may hold
    braces), escaped into a ``<pre>`` block; recipients from the connection's extra ``to``."""
    import html

    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    class PlainSmtpNotifier(SmtpNotifier):
        template_fields = ("to", "from_email", "smtp_conn_id")  # type: ignore[assignment]

    info = get_connection(conn_id)
    to = [a.strip() for a in str((info.extra if info else {}).get("to") or "").split(",") if a.strip()]
    if not to:
        raise RuntimeError(f"{conn_id}: extra 'to' names no recipient")
    body = f'<pre style="font-family: sans-serif">{html.escape(text)}</pre>'
    return PlainSmtpNotifier(to=to, subject=subject, html_content=body, smtp_conn_id=conn_id)


def notifiers(subject: str, text: str) -> list[Any]:
    """One notifier per configured channel (connection defined), carrying this message."""
    found: list[Any] = []
    for conn_id, make in _CHANNELS:
        if get_connection(conn_id) is None:
            continue
        try:
            found.append(make(subject, text))
        except Exception as exc:
            log.warning("channel %s misconfigured: %s", conn_id, redacted(str(exc)))
    return found


_CHANNELS: tuple[tuple[str, Callable[[str, str], Any]], ...] = (
    (settings.CONN_SMTP, _smtp_notifier),
    (settings.CONN_TELEGRAM, lambda subject, text: _telegram_notifier_class()(text)),
)


def deliver(subject: str, text: str, context: Mapping[str, Any] | None = None) -> int:
    """Send through every configured channel; a channel's failure is logged, never raised (an
    alert must not fail the task or hide another channel). Returns how many channels took it."""
    sent = 0
    for notifier in notifiers(subject, text):
        try:
            notifier.notify(dict(context or {}))
            sent += 1
        except Exception as exc:
            log.warning("alert not delivered by %s: %s", type(notifier).__name__, redacted(str(exc))[:300])
    return sent


def deadline_notifiers(what: str) -> list[Any]:
    """The configured notifiers carrying a missed-deadline alert (``what``: the deadline, in
    Russian), for Deadline Alerts to use the same channels as failures."""
    return notifiers("Пропущен срок", f"Пропущен срок: {what}")


def deadline_run(context: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The DAG and run ids of a Deadline Alert callback's ``context``. The scheduler sends the run
    as the REST API shows it (a dict with ``dag_run_id``: ``models/deadline.py``,
    ``Deadline.handle_miss``); a ``DagRun`` or a dict with ``run_id`` is read too."""
    dag_run = (context or {}).get("dag_run")

    def field(*names: str) -> str | None:
        for name in names:
            value = dag_run.get(name) if isinstance(dag_run, Mapping) else getattr(dag_run, name, None)
            if value:
                return str(value)
        return None

    return field("dag_id") or (context or {}).get("dag_id"), field("run_id", "dag_run_id")


def send_deadline_missed(what: str, context: Mapping[str, Any] | None = None) -> int:
    """A missed deadline through every configured channel (for a ``SyncCallback``, e.g.
    ``gospublic.orchestration.deadlines.deadline_missed``); returns how many channels took it."""
    dag_id, run_id = deadline_run(context)
    text = f"Пропущен срок: {what}"
    if dag_id:
        text += f"\nDAG: {dag_id}\nЗапуск: {run_id or '?'}"
    return deliver("Пропущен срок", text, None)


async def notify_deadline_missed(what: str, context: Mapping[str, Any] | None = None, **_: Any) -> None:
    """A Deadline Alert's async callback (``AsyncCallback(notify_deadline_missed, kwargs={"what":
    …})``, run by the triggerer): :func:`send_deadline_missed` off the event loop."""
    await asyncio.to_thread(send_deadline_missed, what, context)


# -- callbacks -------------------------------------------------------------------------------------


def alert_failure(context: Mapping[str, Any]) -> int:
    """Send the alert of a failed task (counts from the warehouse when known)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None)
    counts = run_counts(dag_id, getattr(ti, "run_id", None) or context.get("run_id"))
    text = failure_message(context, counts)
    return deliver(text.splitlines()[0], text, context)


def alert_published(context: Mapping[str, Any]) -> int:
    """Send the notice of the ratings the task published (its return value: ``RatedMonth`` list)."""
    ti = context.get("ti") or context.get("task_instance")
    try:
        rated = ti.xcom_pull(task_ids=ti.task_id) if ti is not None else None
    except Exception as exc:
        log.warning("published ratings unknown: %s", type(exc).__name__)
        return 0
    text = published_message(context, rated if isinstance(rated, list) else [])
    if text is None:
        return 0
    log.info("%s", text)
    return deliver(text.splitlines()[0], text, context)
