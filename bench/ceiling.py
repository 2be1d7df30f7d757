"""The physical ceiling of a load stage: the database's own bulk load of the rows the stage wrote.

After a stage ran, each of its target tables is written to a CSV file (not timed), then loaded
into an empty copy of the table by the database alone (timed): PostgreSQL ``COPY … FROM STDIN``
streaming the file (what ``psql \\copy`` does), DuckDB ``COPY … FROM`` (its ``read_csv`` reader).
No parsing, validation, pseudonymization or SQL models: a stage's time over this is the price of
everything it does beyond moving bytes into tables.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from gospublic.infra.warehouse import Warehouse

# The tables each load stage fills with the rows it read (incidents: staging is emptied after
# every file, so the core events and restricted texts stand for them).
TABLES = {
    "incidents": ("core.fct_incident_event", "restricted.incident_text"),
    "vk_load": (
        "staging.vk_page_observations",
        "staging.vk_post_observations",
        "staging.vk_comment_observations",
    ),
}
SCHEMA = "bench_ceiling"
BLOCK = 1 << 20


def measure(warehouse: Warehouse, stage: str) -> dict[str, Any]:
    """Rows and seconds of the bulk load of ``stage``'s tables, per table and in total."""
    tables: dict[str, dict[str, Any]] = {}
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    with tempfile.TemporaryDirectory(prefix="gospublic-ceiling-") as scratch:
        for table in TABLES[stage]:
            path = Path(scratch) / f"{table}.csv"
            clone = f"{SCHEMA}.{table.replace('.', '__')}"
            warehouse.execute(f"DROP TABLE IF EXISTS {clone}")
            warehouse.execute(f"CREATE TABLE {clone} AS SELECT * FROM {table} WHERE 1 = 0")
            _export(warehouse, table, path)
            started = time.monotonic()
            _load(warehouse, clone, path)
            seconds = time.monotonic() - started
            rows = int(warehouse.scalar(f"SELECT COUNT(*) FROM {clone}"))
            tables[table] = {"rows": rows, "seconds": round(seconds, 3), "bytes": path.stat().st_size}
            warehouse.execute(f"DROP TABLE {clone}")
    warehouse.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}")
    return {
        "rows": sum(t["rows"] for t in tables.values()),
        "seconds": sum(t["seconds"] for t in tables.values()),
        "tables": tables,
    }


def _export(warehouse: Warehouse, table: str, path: Path) -> None:
    _copy(warehouse, table, path, into_table=False)


def _load(warehouse: Warehouse, table: str, path: Path) -> None:
    if path.stat().st_size:  # an empty file has nothing to load (DuckDB cannot sniff it)
        _copy(warehouse, table, path, into_table=True)


def _copy(warehouse: Warehouse, table: str, path: Path, *, into_table: bool) -> None:
    """``table`` → ``path`` or ``path`` → ``table`` as CSV, by the database's own ``COPY``."""
    with warehouse.begin() as conn:
        raw = conn.connection.driver_connection
        if warehouse.dialect == "duckdb":
            direction = "FROM" if into_table else "TO"
            raw.execute(
                f"COPY {table} {direction} '{path}' (FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"')"
            )
            return
        sql = f"COPY {table} {'FROM STDIN' if into_table else 'TO STDOUT'} (FORMAT csv)"
        with (
            raw.cursor() as cursor,
            cursor.copy(sql) as copy,
            path.open("rb" if into_table else "wb") as file,
        ):
            if into_table:
                while block := file.read(BLOCK):
                    copy.write(block)
            else:
                for block in copy:
                    file.write(block)
