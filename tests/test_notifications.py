"""Alerts reach people on the real notifier path: a task that fails under ``dag.test`` sends an
e-mail (SMTP provider's SmtpNotifier) to an SMTP server in this process and a message to a stub of
the Telegram Bot API; a published rating sends its notice; a missed deadline too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests import alert_channels
from tests.alert_channels import BOT_TOKEN, CHAT_ID
from tests.alert_channels import mail_text as _mail_text
from tests.alert_channels import subject_of as _subject

pytestmark = pytest.mark.airflow

smtp_server, telegram_stub = alert_channels.smtp_server, alert_channels.telegram_stub  # the fixtures


def test_a_failed_task_is_mailed_and_sent_to_telegram(
    dagbag: Any, tmp_path: Path, smtp_server: list[Message], telegram_stub: list[dict[str, Any]], monkeypatch
) -> None:
    """monthly_rating against an empty warehouse: ``rate`` fails for good (no retries in tests)."""
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example.ru/")
    monkeypatch.setenv("GOSPUBLIC_TASK_RETRIES", "0")
    warehouse = {"conn_type": "duckdb", "extra": {"path": str(tmp_path / "empty.duckdb")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", json.dumps(warehouse))
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path)}})
    )
    run = dagbag.get_dag("monthly_rating").test(
        logical_date=datetime(2025, 12, 3, tzinfo=UTC),
        run_conf={"month": "2025-11", "methodologies": ["penza-2025"]},
    )
    assert run.state == "failed"

    assert len(smtp_server) == 1, "no e-mail reached the SMTP server"
    mail = smtp_server[0]
    assert mail["To"] == "duty@example.ru, analyst@example.ru"
    assert _subject(mail) == "Сбой задачи rate в DAG monthly_rating"
    text = _mail_text(mail)
    for line in (
        "DAG: monthly_rating",
        "Задача: rate",
        f"Запуск: {run.run_id}",
        "Период: 2025-11",
    ):
        assert line in text.splitlines(), (line, text)
    error = next(line for line in text.splitlines() if line.startswith("Ошибка: "))
    assert len(error) > len("Ошибка: ") + 10, error
    log_line = next(line for line in text.splitlines() if line.startswith("Лог: "))
    assert log_line.startswith("Лог: http://airflow.example.ru/dags/monthly_rating/runs/")
    assert "/tasks/rate" in log_line

    assert len(telegram_stub) == 1, "no message reached the Telegram stub"
    sent = telegram_stub[0]
    assert sent["path"] == f"/bot{BOT_TOKEN}/sendMessage"
    assert sent["chat_id"] == CHAT_ID
    assert sent["text"] == text.strip()
    assert error in sent["text"].splitlines()
    assert log_line in sent["text"]
    assert BOT_TOKEN not in sent["text"] and BOT_TOKEN not in text
    print("\n--- delivered alert ---\n" + sent["text"])


def test_no_connection_no_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    from gospublic.orchestration import notify

    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM", raising=False)
    assert notify.notifiers("s", "t") == []
    assert notify.deliver("s", "t") == 0


def test_a_channel_that_fails_does_not_stop_the_other(
    smtp_server: list[Message], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gospublic.orchestration import notify

    conn = {"conn_type": "http", "host": "http://127.0.0.1:9", "password": BOT_TOKEN, "extra": {"chat_id": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM", json.dumps(conn))
    assert notify.deliver("Проверка", "текст") == 1
    assert len(smtp_server) == 1


def test_a_secret_in_the_error_is_masked() -> None:
    from gospublic.infra.connections import mask_secret
    from gospublic.orchestration import notify

    mask_secret("s3cr3t-Value-Zz9")
    line = notify.error_line(ValueError("login failed with s3cr3t-Value-Zz9 for user"))
    assert line is not None and "s3cr3t-Value-Zz9" not in line and "***" in line


class _PublishedTi:
    dag_id, task_id, run_id, map_index, try_number = "monthly_rating", "rate", "scheduled__2025-12-03", -1, 1

    def __init__(self, value: Any) -> None:
        self.value = value

    def xcom_pull(self, task_ids: str) -> Any:
        assert task_ids == "rate"
        return self.value


def test_a_published_rating_is_announced_with_links(
    tmp_path: Path, smtp_server: list[Message], telegram_stub: list[dict[str, Any]], monkeypatch
) -> None:
    from gospublic.orchestration.defaults import notify_published

    folder = "publish/rating/2025-11/penza-2025/rev-1"
    for name in (
        "index.html",
        "rating.xlsx",
        "pdf/summary.pdf",
        "pdf/big.pdf",
        "cards/x.html",
        "manifest.json",
    ):
        (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_text("x")
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path)}})
    )
    rated = [
        {"month": "2025-11", "methodology_id": "penza-2025", "revision": 1, "status": "published",
         "created": True, "path": folder, "snapshot_id": "s", "input_fingerprint": "f"},
        {"month": "2025-11", "methodology_id": "kirov-2024", "revision": 1, "status": "draft",
         "created": True, "snapshot_id": "t", "input_fingerprint": "g"},
    ]  # fmt: skip
    notify_published({"ti": _PublishedTi(rated)})

    assert len(telegram_stub) == 1 and len(smtp_server) == 1
    text = telegram_stub[0]["text"]
    assert text.splitlines()[0] == "Рейтинг за ноябрь 2025 опубликован: penza-2025, редакция 1"
    for name in ("index.html", "rating.xlsx", "pdf/summary.pdf", "pdf/big.pdf"):
        assert f"{(tmp_path / folder / name).as_uri()}" in text.splitlines(), (name, text)
    assert "cards/" not in text and "manifest.json" not in text and "kirov-2024" not in text
    assert "ноябрь 2025" in _mail_text(smtp_server[0])


def test_nothing_published_nothing_sent(telegram_stub: list[dict[str, Any]]) -> None:
    from gospublic.orchestration.defaults import notify_published

    unchanged = [{"month": "2025-11", "methodology_id": "penza-2025", "revision": 1, "status": "published",
                  "created": False, "path": "publish/x"}]  # fmt: skip
    notify_published({"ti": _PublishedTi(unchanged)})
    assert telegram_stub == []


def test_a_missed_deadline_reaches_both_channels(
    smtp_server: list[Message], telegram_stub: list[dict[str, Any]]
) -> None:
    from gospublic.orchestration import notify

    what = "рейтинг за ноябрь 2025 не опубликован к 3 декабря, 12:00 МСК"
    assert len(notify.deadline_notifiers(what)) == 2
    context = {"dag_run": {"dag_id": "monthly_rating", "run_id": "scheduled__2025-12-03"}}
    asyncio.run(notify.notify_deadline_missed(what=what, context=context))
    assert notify.send_deadline_missed(what, context) == 2
    assert len(telegram_stub) == len(smtp_server) == 2
    assert telegram_stub[0]["text"].splitlines()[0] == f"Пропущен срок: {what}"
    assert "DAG: monthly_rating" in telegram_stub[0]["text"]
    assert _subject(smtp_server[0]) == "Пропущен срок" and what in _mail_text(smtp_server[0])


def test_the_alert_counts_what_the_run_recorded(warehouse: Any) -> None:
    """Quarantined rows, failed pages and incidents without a body of this run only, from the
    audit tables; nothing for a run with no records (unknown is not zero)."""
    from datetime import date

    from gospublic.infra.migrations import migrate
    from gospublic.orchestration import notify

    migrate(warehouse)
    now = datetime(2025, 12, 1, tzinfo=UTC)
    for load_id, run_id, rejected in (("a", "run-1", 100), ("b", "run-1", 23), ("c", "run-2", 7)):
        warehouse.execute(
            "INSERT INTO audit.load_runs (load_id, dag_id, run_id, task_id, source, partition_key,"
            " target_table, rows_rejected, status, started_at) VALUES (:id, 'vk_pages', :run, 'load',"
            " 'vk/wall.get', '2025-11-30', 'raw.vk_posts', :rejected, 'success', :now)",
            {"id": load_id, "run": run_id, "rejected": rejected, "now": now},
        )
    for group, run_id in ((1, "run-1"), (1, "run-1"), (2, "run-1"), (3, "run-2")):
        warehouse.execute(
            "INSERT INTO audit.extract_errors (dt, run_id, network, vk_group_id, method, error_code,"
            " occurred_at) VALUES (:dt, :run, 'vk', :group, 'wall.get', 15, :now)",
            {"dt": date(2025, 11, 30), "run": run_id, "group": group, "now": now},
        )
    assert notify.run_counts("vk_pages", "run-1") == {"rows_rejected": 123, "pages_failed": 2}
    assert notify.run_counts("vk_pages", "run-3") == {}
    # another network's errors under the same run id are not the VK run's failed pages
    warehouse.execute(
        "INSERT INTO audit.extract_errors (dt, run_id, network, page_key, method, error_code,"
        " occurred_at) VALUES (:dt, 'run-3', 'ok', '5001', 'group.getInfo', 300, :now)",
        {"dt": date(2025, 11, 30), "now": now},
    )
    assert notify.run_counts("vk_pages", "run-3") == {}
    assert notify.run_counts("registry", "run-1") == {}
    # incidents loaded without a body, per file: None for a rejected file or one loaded before
    # the count existed (migration 0025)
    for sha, run_id, unresolved in (("f1", "run-5", 17), ("f2", "run-5", 0), ("f3", "run-5", None),
                                    ("f4", "run-6", 4), ("f5", "run-7", None)):  # fmt: skip
        warehouse.execute(
            "INSERT INTO audit.export_file (file_sha, source, file, landed_key, state, bytes, processed_at,"
            " dag_id, run_id, rows_unresolved) VALUES (:sha, 'im', :sha, :sha, 'loaded', 1, :now,"
            " 'incidents_ingest', :run, :unresolved)",
            {"sha": sha, "run": run_id, "unresolved": unresolved, "now": now},
        )
    assert notify.run_counts("incidents_ingest", "run-5") == {"rows_unresolved": 17}
    assert notify.run_counts("incidents_ingest", "run-7") == {}
    assert notify.run_counts("vk_pages", "run-5") == {}

    class Ti:
        dag_id, task_id, run_id, map_index, try_number, log_url = (
            "vk_pages",
            "load",
            "run-1",
            -1,
            1,
            "http://x/log",
        )

    text = notify.failure_message({"ti": Ti()}, notify.run_counts("vk_pages", "run-1"))
    assert "Строк в карантине: 123" in text.splitlines() and "Страниц с ошибкой: 2" in text.splitlines()
    text = notify.failure_message({"ti": Ti()}, notify.run_counts("incidents_ingest", "run-5"))
    assert "Обращений с исполнителем не из реестра: 17" in text.splitlines()


def test_the_deadline_callback_of_the_dags_sends_the_alert(
    smtp_server: list[Message], telegram_stub: list[dict[str, Any]], tmp_path: Path, monkeypatch
) -> None:
    """The callable the DAGs' Deadline Alerts name (``deadlines.CALLBACK``) delivers by both channels
    and records the run's ids; the scheduler gives it the run as a dict (models/deadline.py)."""
    import importlib

    from gospublic.orchestration import deadlines

    monkeypatch.setenv("GOSPUBLIC_ALERT_LOG", str(tmp_path / "alerts.jsonl"))

    module, name = deadlines.CALLBACK.rsplit(".", 1)
    callback = getattr(importlib.import_module(module), name)
    context = {"dag_run": {"dag_id": "vk_pages", "run_id": "scheduled__2025-11-30T20:30:00+00:00"}}
    callback(context=context, what="день VK за 30 ноября не загружен к 03:00 МСК")
    assert telegram_stub[0]["text"].splitlines() == [
        "Пропущен срок: день VK за 30 ноября не загружен к 03:00 МСК",
        "DAG: vk_pages",
        "Запуск: scheduled__2025-11-30T20:30:00+00:00",
    ]
    assert _subject(smtp_server[0]) == "Пропущен срок"
    recorded = json.loads((tmp_path / "alerts.jsonl").read_text(encoding="utf-8"))
    assert (recorded["kind"], recorded["dag_id"], recorded["run_id"]) == (
        "deadline_missed", "vk_pages", "scheduled__2025-11-30T20:30:00+00:00"
    )  # fmt: skip


def test_the_rate_task_announces_publications(dagbag: Any) -> None:
    from gospublic.orchestration.defaults import notify_published

    rate = dagbag.get_dag("monthly_rating").get_task("rate")
    callbacks = (
        rate.on_success_callback if isinstance(rate.on_success_callback, list) else [rate.on_success_callback]
    )
    assert notify_published in callbacks


def test_no_warehouse_no_counts_and_none_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gospublic.orchestration import notify

    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", raising=False)
    monkeypatch.setenv("GOSPUBLIC_VAR_DIR", str(tmp_path))
    assert notify.run_counts("vk_pages", "run-1") == {}
    assert list(tmp_path.iterdir()) == []


def test_counts_wait_briefly_for_a_busy_duckdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DuckDB warehouse held by another process: the counts are left out after a short wait,
    not after the writers' 900 s."""
    import subprocess
    import sys
    import time

    path = tmp_path / "busy.duckdb"
    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=1); time.sleep(99)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setenv(
            "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE",
            json.dumps({"conn_type": "duckdb", "extra": {"path": str(path)}}),
        )
        monkeypatch.delenv("GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT", raising=False)
        from gospublic.orchestration import notify

        started = time.monotonic()
        assert notify.run_counts("vk_pages", "run-1") == {}
        assert time.monotonic() - started < 30  # the writers would wait 900 s
        import os

        assert "GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT" not in os.environ
    finally:
        holder.kill()
        holder.wait()
