"""Names and defaults of every setting the project reads: connections, variables, environment.

Keeping them in one module lets a test check that docker-compose provides each of them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transforms.publication_gate import GateRules

# The checkout this module runs from (plugins/gospublic/infra/settings.py), when it is one: an
# editable install. An installed copy (the Docker image) has no sql/ beside it and needs GOSPUBLIC_HOME.
PROJECT_ROOT = Path(__file__).resolve().parents[3]

# Airflow connections.
CONN_WAREHOUSE = "gospublic_warehouse"
CONN_LAKE = "gospublic_lake"
CONN_VK = "gospublic_vk"
CONN_OK = "gospublic_ok"  # OK (Odnoklassniki) application and token, gospublic.ok.client
CONN_MAX = "gospublic_max"  # MAX Bot API token, gospublic.max.client
# Telegram reading account (api_id, api_hash, StringSession), gospublic.telegram.client; not the alert bot's
CONN_TELEGRAM_MTPROTO = "gospublic_telegram_mtproto"
CONN_PSEUDONYM = "gospublic_pseudonym"
# Alert channels, each on when its connection exists (gospublic.orchestration.notify).
CONN_SMTP = "gospublic_smtp"
CONN_TELEGRAM = "gospublic_telegram"

CONNECTIONS = (
    CONN_WAREHOUSE,
    CONN_LAKE,
    CONN_VK,
    CONN_OK,
    CONN_MAX,
    CONN_TELEGRAM_MTPROTO,
    CONN_PSEUDONYM,
    CONN_SMTP,
    CONN_TELEGRAM,
)

# Environment variables (name -> meaning). Defaults live in the functions below.
ENV_HOME = "GOSPUBLIC_HOME"
ENV_VAR_DIR = "GOSPUBLIC_VAR_DIR"
ENV_TASK_RETRIES = "GOSPUBLIC_TASK_RETRIES"
ENV_ALERT_LOG = "GOSPUBLIC_ALERT_LOG"
ENV_REGISTRY_DIR = "GOSPUBLIC_REGISTRY_DIR"
ENV_VK_WINDOW_DAYS = "GOSPUBLIC_VK_WINDOW_DAYS"
ENV_VK_BATCH_PAGES = "GOSPUBLIC_VK_BATCH_PAGES"
ENV_VK_MAX_FAILED_SHARE = "GOSPUBLIC_VK_MAX_FAILED_SHARE"
ENV_VK_MAX_GIVEUP_SHARE = "GOSPUBLIC_VK_MAX_GIVEUP_SHARE"
ENV_PRODUCTION_CALENDAR = "GOSPUBLIC_PRODUCTION_CALENDAR"
ENV_ENGINE_MEMORY_LIMIT = "GOSPUBLIC_ENGINE_MEMORY_LIMIT"
ENV_RATING_METHODOLOGIES = "GOSPUBLIC_RATING_METHODOLOGIES"
ENV_WORKER_PROCESSES = "GOSPUBLIC_WORKER_PROCESSES"
ENV_WAREHOUSE_LOCK_TIMEOUT = "GOSPUBLIC_WAREHOUSE_LOCK_TIMEOUT"
ENV_GATE_VK_MISSING_DAYS = "GOSPUBLIC_GATE_VK_MISSING_DAYS"
ENV_GATE_EXPORT_SOURCES = "GOSPUBLIC_GATE_EXPORT_SOURCES"
ENV_GATE_MAX_DATA_SHARE_DROP = "GOSPUBLIC_GATE_MAX_DATA_SHARE_DROP"
ENV_GATE_MAX_RATED_DROP = "GOSPUBLIC_GATE_MAX_RATED_DROP"
ENV_PUBLICATION_PDF = "GOSPUBLIC_PUBLICATION_PDF"
ENV_DEADLINE_ALERTS = "GOSPUBLIC_DEADLINE_ALERTS"
ENV_OPS_EXPORT_MAX_DAYS = "GOSPUBLIC_OPS_EXPORT_MAX_DAYS"
ENV_OPS_PAGE_FAILING_DAYS = "GOSPUBLIC_OPS_PAGE_FAILING_DAYS"
ENV_OPS_NETWORK_PAGE_FAILING_DAYS = "GOSPUBLIC_OPS_NETWORK_PAGE_FAILING_DAYS"
ENV_OPS_VK_MISSING_DAYS = "GOSPUBLIC_OPS_VK_MISSING_DAYS"

ENVIRONMENT = {
    ENV_HOME: "project root with sql/, config/ and expectations/ (default: the checkout)",
    ENV_VAR_DIR: "runtime state folder: warehouse file, lake, Airflow home (default: <home>/var)",
    ENV_TASK_RETRIES: "retries of every task (default 2; tests set 0)",
    ENV_ALERT_LOG: "file failure alerts are appended to as JSON lines (optional; beside mail, Telegram)",
    ENV_REGISTRY_DIR: "folder with the registry's orgs.csv and pages.csv (default: <home>/config/registry)",
    ENV_VK_WINDOW_DAYS: "days of posts re-read by vk_pages to refresh their metrics (default 7)",
    ENV_VK_BATCH_PAGES: "pages per mapped extraction task of vk_pages (default 500)",
    ENV_VK_MAX_FAILED_SHARE: "share of pages VK may refuse (closed, private…) per run (default 0.05)",
    ENV_VK_MAX_GIVEUP_SHARE: "share of pages with calls given up (5xx, dropped…) per run (default 0.01)",
    ENV_PRODUCTION_CALENDAR: "production-calendar overrides (default: config/production_calendar/ru.yaml)",
    ENV_ENGINE_MEMORY_LIMIT: "memory of the loads' in-process DuckDB, e.g. 512MB (default 1GB; it spills)",
    ENV_RATING_METHODOLOGIES: "methodologies monthly_rating computes, comma separated (default penza-2025)",
    ENV_WORKER_PROCESSES: "processes a task may start for CPU-bound steps (default: the CPUs, at most 4)",
    ENV_WAREHOUSE_LOCK_TIMEOUT: "seconds a warehouse writer waits for another to finish (default 900)",
    ENV_GATE_VK_MISSING_DAYS: "days of the month without a VK load monthly_rating tolerates (default 0)",
    ENV_GATE_EXPORT_SOURCES: "sources whose exports must cover the rated month (default im,pos)",
    ENV_GATE_MAX_DATA_SHARE_DROP: "tolerated relative fall of the share of bodies with data (default 0.2)",
    ENV_GATE_MAX_RATED_DROP: "tolerated relative fall of rated bodies since last publication (default 0.2)",
    ENV_PUBLICATION_PDF: "PDFs of the publication: auto (when Chromium is installed; default), on, off",
    ENV_DEADLINE_ALERTS: "on (default): DAGs carry their Deadline Alerts; off for `airflow dags test` runs",
    ENV_OPS_EXPORT_MAX_DAYS: "ops_check: days without an export per [region:]source (default im=3,pos=7)",
    ENV_OPS_PAGE_FAILING_DAYS: "ops_check: VK page errors on this many loaded days in a row (default 3)",
    ENV_OPS_NETWORK_PAGE_FAILING_DAYS: "ops_check: the same per network, e.g. ok=3,max=3,tg=5 (default VK's)",
    ENV_OPS_VK_MISSING_DAYS: "ops_check: VK days of the last 7 not fully loaded it tolerates (default 0)",
}


def project_home() -> Path:
    """Folder holding ``sql/``, ``config/`` and ``expectations/``: ``$GOSPUBLIC_HOME``, else the
    checkout the package runs from."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home)
    if not (PROJECT_ROOT / "sql" / "models.yml").is_file():
        raise RuntimeError(
            f"{ENV_HOME} is not set and {PROJECT_ROOT} is not a gospublic checkout (no sql/models.yml): "
            f"set {ENV_HOME} to the folder holding sql/, config/ and expectations/"
        )
    return PROJECT_ROOT


def var_dir() -> Path:
    """Folder of runtime state; git-ignored."""
    return Path(os.environ.get(ENV_VAR_DIR) or project_home() / "var")


def sql_dir() -> Path:
    return project_home() / "sql"


def default_warehouse_path() -> Path:
    return var_dir() / "warehouse.duckdb"


def default_lake_path() -> Path:
    return var_dir() / "lake"


def task_retries() -> int:
    return int(os.environ.get(ENV_TASK_RETRIES, "2"))


def registry_dir() -> Path:
    return Path(os.environ.get(ENV_REGISTRY_DIR) or project_home() / "config" / "registry")


def vk_window_days() -> int:
    return int(os.environ.get(ENV_VK_WINDOW_DAYS, "7"))


def vk_batch_pages() -> int:
    return int(os.environ.get(ENV_VK_BATCH_PAGES, "500"))


def vk_max_failed_share() -> float:
    return float(os.environ.get(ENV_VK_MAX_FAILED_SHARE, "0.05"))


def vk_max_giveup_share() -> float:
    """Pages with calls given up after their retries, as a share of the day's pages, that a run
    may carry as an incomplete day (re-read by the next run) rather than fail."""
    return float(os.environ.get(ENV_VK_MAX_GIVEUP_SHARE, "0.01"))


ENGINE_MEMORY_LIMIT = "1GB"
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|KiB|MiB|GiB)", re.IGNORECASE)
_MEMORY_UNITS = {"kb": "KB", "mb": "MB", "gb": "GB", "kib": "KiB", "mib": "MiB", "gib": "GiB"}


_UNIT_BYTES = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def engine_memory_limit(shares: int = 1) -> str:
    """Memory of the in-process DuckDB that reads and checks incident exports and flattens VK
    answers for a PostgreSQL warehouse (it spills to disk beyond): ``<number><KB|MB|GB|KiB|MiB|GiB>``,
    parsed and rendered here, never passed through as written. With ``shares`` engines running
    at once, the limit of each: the whole divided among them (in KiB), so that together they
    stay within it."""
    raw = os.environ.get(ENV_ENGINE_MEMORY_LIMIT, ENGINE_MEMORY_LIMIT)
    matched = _MEMORY.fullmatch(raw.strip())
    if not matched or float(matched[1]) <= 0:
        raise ValueError(
            f"{ENV_ENGINE_MEMORY_LIMIT}={raw!r}: expected a positive size with a unit, e.g. 512MB or 2GB"
        )
    unit = _MEMORY_UNITS[matched[2].lower()]
    if shares == 1:
        return f"{matched[1]}{unit}"
    if shares < 1:
        raise ValueError(f"shares={shares}: expected at least one engine")
    share = float(matched[1]) * _UNIT_BYTES[unit] / shares
    return f"{max(1, int(share // 2**10))}KiB"


def rating_methodologies() -> list[str]:
    raw = os.environ.get(ENV_RATING_METHODOLOGIES, "penza-2025")
    return [m.strip() for m in raw.split(",") if m.strip()]


def worker_processes() -> int:
    """Processes a task may start for CPU-bound steps (answer assessment, VK flattening)."""
    raw = os.environ.get(ENV_WORKER_PROCESSES)
    return max(1, int(raw)) if raw else max(1, min(4, os.cpu_count() or 1))


def warehouse_lock_timeout() -> float:
    """Seconds a writer waits for the warehouse's writer lock (the DuckDB file, or a PostgreSQL
    advisory lock of its loader) before it fails naming the holder."""
    return float(os.environ.get(ENV_WAREHOUSE_LOCK_TIMEOUT, "900"))


def gate_rules() -> GateRules:
    """The publication gate's tolerances (``transforms.publication_gate``); a value that is not a
    number, or out of range, fails naming its variable."""
    from transforms.publication_gate import GateRules

    sources = os.environ.get(ENV_GATE_EXPORT_SOURCES, "im,pos")
    try:
        return GateRules(
            vk_missing_days=int(os.environ.get(ENV_GATE_VK_MISSING_DAYS, "0")),
            export_sources=tuple(s.strip() for s in sources.split(",") if s.strip()),
            max_data_share_drop=float(os.environ.get(ENV_GATE_MAX_DATA_SHARE_DROP, "0.2")),
            max_rated_drop=float(os.environ.get(ENV_GATE_MAX_RATED_DROP, "0.2")),
        )
    except ValueError as exc:
        names = ", ".join(
            f"{name}={os.environ[name]!r}"
            for name in (ENV_GATE_VK_MISSING_DAYS, ENV_GATE_MAX_DATA_SHARE_DROP, ENV_GATE_MAX_RATED_DROP)
            if name in os.environ
        )
        raise ValueError(f"publication gate settings ({names or 'defaults'}): {exc}") from exc


def deadline_alerts() -> bool:
    """Whether DAGs carry their Deadline Alerts (``GOSPUBLIC_DEADLINE_ALERTS``, default on).

    Off where runs go through ``dag.test()`` / ``airflow dags test`` (the test suite, ``make demo``,
    test-prod's embedded reference): Airflow 3.3.2 fails such a run of a DAG with a deadline after
    it succeeded (apache/airflow#73428: the in-memory serialized DAG holds the alerts, not their ids).
    The scheduler, which checks deadlines, is not affected."""
    value = os.environ.get(ENV_DEADLINE_ALERTS, "on").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{ENV_DEADLINE_ALERTS} must be on or off, not {value!r}")
    return value == "on"
