"""A day's raw VK answers flattened into staging rows in SQL, by DuckDB, without a Python row loop.

Each method has two SQL files in ``sql/flatten/``, one definition for both engines: the typed
read of its raw answers (``vk_*_answers.sql``: ``read_json`` of the gzip JSON lines with an explicit
column spec (posts, comments), or each line as read and one ``JSON_TRANSFORM`` of it (pages, whose
response has two shapes), so that each answer is parsed once), and the flatten of that relation,
``vk_answers`` (``vk_*_observations.sql``). The typed columns come from the raw files, or from the
Parquet sidecars the extractor wrote with the very same read (``gospublic.vk.answers``, which
chooses): ``answers_view_sql`` makes one or the other the temporary view ``vk_answers`` that
the flatten's unchanged text reads, so its errors read alike either way. The flatten unnests the answers
into a temporary table of the DuckDB connection, each row with its ``outcome`` (``row``,
``before_window``, ``rejected``, ``malformed``); then the rows go to staging:

- DuckDB warehouse (:class:`WarehouseFlatten`): the flatten runs on the warehouse's own
  connection, inside the load's transaction, and ``INSERT … SELECT`` moves the rows into the
  staging table without leaving DuckDB;
- PostgreSQL warehouse (:class:`CopyFlatten`): an in-memory DuckDB connection (the process's,
  reused) runs the same SQL, writes the rows as CSV to a temporary file, and the file is streamed
  to ``COPY … FROM STDIN`` in the load's transaction (the fastest of the paths measured, see the
  class).

Files of an S3 lake (raw files or sidecars) are fetched to a temporary local folder first
(DuckDB's httpfs would need an extension download). Commenters' ids are personal data: the SQL
yields them as ``author_id``, and only their keyed hashes reach staging, computed set-wise — each
distinct id once, by the pseudonymizer in Python, joined back in SQL — so the key never appears in
SQL text or logs.
"""

from __future__ import annotations

import atexit
import gzip
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import duckdb
import pyarrow as pa

from gospublic.infra import settings
from gospublic.infra.lake import Lake, LakeError, LocalLake, normalize_key
from gospublic.infra.sql_files import split_statements
from gospublic.infra.warehouse import Transaction
from transforms.vk_flatten import COMMENT_COLUMNS, PAGE_COLUMNS, POST_COLUMNS, RawFormatError

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

FLATTEN_DIR = "flatten"
MACROS = "vk_macros.sql"
ANSWERS = "vk_answers"  # the relation of the typed answers that each flatten reads
# the sidecars' typed answers (gospublic.vk.answers): their columns, with the file each row came from
COLUMNAR_READ = (
    "SELECT filename AS source_file, * EXCLUDE (filename) FROM READ_PARQUET($files, filename = TRUE)"
)
FLAT = "vk_flat"  # the temporary table of one method's flattened answers
AUTHORS = "vk_flat_authors"  # distinct commenters' ids and their pseudonyms (a registered Arrow table)
COPY_CHUNK_BYTES = 1 << 20  # of the CSV file, a write to COPY at a time


@dataclass(frozen=True)
class _Method:
    sql: str  # the flatten of vk_answers, in sql/flatten/
    answers: str  # the typed read of the raw answers (vk_answers from the gzip JSON lines)
    columns: tuple[str, ...]  # the staging table's, in order


METHODS = {
    "groups.getById": _Method("vk_page_observations.sql", "vk_page_answers.sql", PAGE_COLUMNS),
    "wall.get": _Method("vk_post_observations.sql", "vk_post_answers.sql", POST_COLUMNS),
    "wall.getComments": _Method("vk_comment_observations.sql", "vk_comment_answers.sql", COMMENT_COLUMNS),
}


@dataclass(frozen=True)
class FlatCounts:
    """What one method's files held: rows to stage, error answers, posts from before the window."""

    rows: int = 0
    rejected: int = 0
    before_window: int = 0

    @property
    def read(self) -> int:
        """Items read: rows written plus error answers (the load's reconciliation)."""
        return self.rows + self.rejected


def flatten_sql(method: str, root: Path | None = None) -> str:
    """The flatten of ``method``: one SELECT over the relation ``vk_answers`` (its typed answers,
    see :func:`answers_view_sql`) with bind parameters ``$dt``, ``$load_id`` and ``$window_start``."""
    return _read_sql(_method(method).sql, root).strip().rstrip(";")


def answers_view_sql(
    method: str, paths: list[str], root: Path | None = None, *, columnar: bool = False
) -> str:
    """The temporary view ``vk_answers`` of ``method``'s typed answers in the local files ``paths``:
    the raw gzip JSON lines read by the method's typed read, or with ``columnar`` their Parquet
    sidecars (a view binds no parameters: the paths are written into it as a list literal)."""
    read = COLUMNAR_READ if columnar else answers_sql(method, root)
    files = "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"
    return f"CREATE OR REPLACE TEMP VIEW {ANSWERS} AS\n{read.replace('$files', files)}"


def answers_sql(method: str, root: Path | None = None) -> str:
    """The typed read of ``method``'s raw answers (one SELECT over ``$files``, gzip JSON lines):
    ``source_file`` and the typed columns the flatten reads as ``vk_answers``."""
    return _read_sql(_method(method).answers, root).strip().rstrip(";")


def macros_sql(root: Path | None = None) -> list[str]:
    """The statements creating the flattens' macros (temporary, on the connection that runs them)."""
    return split_statements(_read_sql(MACROS, root))


def _method(method: str) -> _Method:
    try:
        return METHODS[method]
    except KeyError:
        raise RawFormatError(f"no flatten for VK method {method!r}") from None


class Flatten:
    """One DuckDB connection flattening the raw files of a day, a method at a time.

    :meth:`flatten` fills the temporary table; :meth:`rows_sql` selects its staging rows (with
    the commenters' pseudonyms); :meth:`write` (per engine) puts them into the staging table."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        pseudonymize: Callable[[str], str],
        root: Path | None = None,
    ) -> None:
        self.connection = connection
        self.pseudonymize = pseudonymize
        self.root = root  # the SQL folder (settings.sql_dir() unless given: bench/vk_flatten.py)
        self.method: str | None = None
        for statement in macros_sql(root):
            connection.execute(statement)

    def flatten(
        self,
        method: str,
        files: list[LocalFile],
        dt: date,
        load_id: str,
        window_start: int | None,
        *,
        columnar: bool = False,
    ) -> FlatCounts:
        """Flatten ``files`` (answers of ``method``: raw files, or with ``columnar`` their Parquet
        sidecars, each with its raw file's key) into the temporary table; returns the counts.

        Raises :class:`RawFormatError` naming the raw file (and the line, when it is found) when a
        line is not JSON or not a VK answer of the expected shape, never the value refused."""
        self.drop()  # the method flattened before, if any
        if not files:
            return FlatCounts()
        by_path = {file.path: file.key for file in files}
        sql = flatten_sql(method, self.root)
        given = {"files": list(by_path), "dt": dt, "load_id": load_id, "window_start": window_start}
        params = {name: value for name, value in given.items() if f"${name}" in sql}  # DuckDB: no extras
        refused = None
        try:
            self.connection.execute(answers_view_sql(method, list(by_path), self.root, columnar=columnar))
            self.connection.execute(f"CREATE TEMP TABLE {FLAT} AS {sql}", params)
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            # the view stays: a failed statement aborts the load's transaction (whose rollback
            # drops it), and drop() or the next flatten replaces it otherwise
            line_of = (
                None
                if columnar
                else partial(refused_line, read=answers_sql(method, self.root), macros=macros_sql(self.root))
            )
            refused = refusal(exc, by_path, line_of)
        if refused is not None:  # raised here, so that DuckDB's error (quoting the value) is not chained
            raise RawFormatError(f"{method} raw files of {dt}: {refused}")
        self.connection.execute(f"DROP VIEW {ANSWERS}")
        self.method = method
        found: dict[str, int] = dict(self._rows(f"SELECT outcome, COUNT(*) FROM {FLAT} GROUP BY outcome"))
        if found.get("malformed"):
            ((path,),) = self._rows(f"SELECT MIN(source_file) FROM {FLAT} WHERE outcome = 'malformed'")
            raise RawFormatError(
                f"{by_path.get(path, path)}: {found['malformed']} {method} answers or items lack a field "
                "every VK answer has (observed_at; ids and dates; params of wall.getComments)"
            )
        return FlatCounts(found.get("row", 0), found.get("rejected", 0), found.get("before_window", 0))

    def rows_sql(self) -> str:
        """The staging rows of the flattened method, in the staging table's column order (only
        after :meth:`flatten` was given files)."""
        assert self.method is not None, "flatten() first"
        columns = METHODS[self.method].columns
        if "author_hash" not in columns:
            return f"SELECT {_quoted(columns)} FROM {FLAT} WHERE outcome = 'row'"
        self._register_authors()
        selected = ", ".join("a.author_hash" if c == "author_hash" else f'f."{c}"' for c in columns)
        return (
            f"SELECT {selected} FROM {FLAT} AS f LEFT JOIN {AUTHORS} AS a ON a.author_id = f.author_id "
            "WHERE f.outcome = 'row'"
        )

    def _register_authors(self) -> None:
        """Each distinct commenter's pseudonym, computed once, as a table the rows join."""
        ids = self.connection.sql(
            f"SELECT DISTINCT author_id FROM {FLAT} WHERE outcome = 'row' AND author_id IS NOT NULL"
        ).to_arrow_table()["author_id"]
        hashes = pa.array([self.pseudonymize(f"vk:{i}") for i in ids.to_pylist()], pa.string())
        self.connection.register(AUTHORS, pa.table({"author_id": ids, "author_hash": hashes}))

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, every one fetched (DuckDB refuses more work on a connection whose
        result is not fully read)."""
        return self.connection.execute(sql).fetchall()

    def drop(self) -> None:
        """Forget the flattened method (its table and pseudonyms)."""
        self.connection.execute(f"DROP TABLE IF EXISTS {FLAT}")
        self.connection.execute(f"DROP VIEW IF EXISTS {ANSWERS}")
        self.connection.unregister(AUTHORS)
        self.method = None

    def write(self, tx: Transaction, table: str, dt: date) -> int:
        """Replace ``table``'s partition ``dt`` with the flattened rows; returns the rows written."""
        raise NotImplementedError


class WarehouseFlatten(Flatten):
    """The flatten on the DuckDB warehouse's own connection, in the load's transaction."""

    def write(self, tx: Transaction, table: str, dt: date) -> int:
        deleted = tx.delete_partition(table, {"dt": dt})
        inserted = 0
        if self.method is not None:
            columns = _quoted(METHODS[self.method].columns)
            ((count,),) = self._rows(f"INSERT INTO {table} ({columns}) {self.rows_sql()}")
            inserted = int(count)
        log.info("replaced %s dt=%s: %d rows out, %d in (SQL flatten)", table, dt, deleted, inserted)
        return inserted


class CopyFlatten(Flatten):
    """The flatten on an in-memory DuckDB connection, its rows copied into PostgreSQL: DuckDB writes
    them as CSV to a temporary file, streamed to ``COPY … FROM STDIN``. Measured on the region
    month's 95,189 post rows: 0.89 s, where Arrow-written CSV (``Warehouse.bulk_load``) took 1.75 s
    and binary ``COPY`` fed row by row 2.76 s."""

    def write(self, tx: Transaction, table: str, dt: date) -> int:
        deleted = tx.delete_partition(table, {"dt": dt})
        inserted = 0
        if self.method is not None:
            columns = _quoted(METHODS[self.method].columns)
            raw = cast("psycopg.Connection[Any]", tx.connection.connection.driver_connection)
            with tempfile.TemporaryDirectory(prefix="gospublic-vk-copy-") as folder:
                path = str(Path(folder) / "rows.csv").replace("'", "''")
                ((count,),) = self._rows(f"COPY ({self.rows_sql()}) TO '{path}' (FORMAT csv, HEADER false)")
                copy_sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
                with raw.cursor() as cursor, cursor.copy(copy_sql) as copy, open(path, "rb") as rows:
                    while chunk := rows.read(COPY_CHUNK_BYTES):
                        copy.write(chunk)
            inserted = int(count)
        log.info("replaced %s dt=%s: %d rows out, %d in (SQL flatten, COPY)", table, dt, deleted, inserted)
        return inserted


@contextmanager
def flatten_for(tx: Transaction, pseudonymize: Callable[[str], str]) -> Iterator[Flatten]:
    """The flatten fitting the warehouse of ``tx``: on its own connection (DuckDB), or on an
    in-memory DuckDB connection whose rows are copied (PostgreSQL)."""
    if tx.dialect == "duckdb":
        own = cast("duckdb.DuckDBPyConnection", tx.connection.connection.driver_connection)
        flatten: Flatten = WarehouseFlatten(own, pseudonymize)
        yield flatten
        flatten.drop()  # a failed load's rollback drops the temporary table with the rest
        return
    with _memory_connection() as connection:
        flatten = CopyFlatten(connection, pseudonymize)
        yield flatten
        flatten.drop()


# The in-memory connection of each process, by its pid: a forked child (a task runner, or a
# subprocess's preexec) opens its own and leaves its parent's alone — destroying that copy would
# wait forever for DuckDB threads the child does not have.
_memory: dict[int, duckdb.DuckDBPyConnection] = {}
_memory_lock = threading.Lock()


@contextmanager
def _memory_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """The process's in-memory DuckDB connection, one user at a time. Reused from load to load (a
    new one costs more than a region's day of flattening); closed and forgotten after an error,
    which may leave a result half read."""
    with _memory_lock:
        connection = _memory.get(os.getpid())
        if connection is None:
            spill = tempfile.mkdtemp(prefix="gospublic-vk-flatten-")
            atexit.register(shutil.rmtree, spill, ignore_errors=True)
            config: dict[str, str | bool | int | float | list[str]] = {
                "temp_directory": spill,
                "memory_limit": settings.engine_memory_limit(),  # it spills beyond
            }
            connection = _memory[os.getpid()] = duckdb.connect(config=config)
            connection.execute("SET TimeZone = 'UTC'")
        try:
            yield connection
        except BaseException:
            _memory.pop(os.getpid(), None)
            with suppress(duckdb.Error):
                connection.close()
            raise


@dataclass(frozen=True)
class LocalFile:
    """A raw file of the lake (``key``) as a local file DuckDB can read (``path``: the raw file, or
    its sidecar)."""

    key: str
    path: str


@contextmanager
def local_files(lake: Lake, keys: list[str]) -> Iterator[list[LocalFile]]:
    """``keys`` as local files: a local lake's own files, or an S3 lake's fetched to a temporary
    folder (removed afterwards)."""
    if isinstance(lake, LocalLake):
        files = [LocalFile(key, str(lake.root / normalize_key(key))) for key in keys]
        for file in files:
            if not Path(file.path).is_file():
                raise LakeError(f"no object {file.key!r} in {lake.description}")
        yield files
        return
    with tempfile.TemporaryDirectory(prefix="gospublic-vk-raw-") as folder:
        yield [LocalFile(key, str(lake.download(key, Path(folder) / normalize_key(key)))) for key in keys]


def _read_sql(name: str, root: Path | None = None) -> str:
    return ((root or settings.sql_dir()) / FLATTEN_DIR / name).read_text(encoding="utf-8")


def _quoted(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _named(message: str, by_path: dict[str, str]) -> str:
    """DuckDB's message with the lake's keys in place of the local paths."""
    for path, key in by_path.items():
        message = message.replace(path, key)
    return message


# DuckDB's errors about a refused value quote it: up to 50 characters of its JSON (a commenter's
# id, a comment's text) or the text that did not convert. They would reach the task log and
# audit.load_runs.message, outside the restricted schema, so refusal() tells them by what is no
# data: the file, the line and the kind of problem. DuckDB's own line number is not the line's
# for a value nested in lists (it counts their items) nor for a line that is not JSON (one more):
# the line is found again by reading the file's first lines (refused_line).
_LOCATED = re.compile(
    r'(?P<what>JSON transform error|Malformed JSON) in file "(?P<path>[^"]*)", '
    r"(?:at byte \d+ )?in (?:line|record/value|object) \d+: (?P<detail>.*)",
    re.DOTALL,
)
_TRANSFORM_KINDS = (  # DuckDB's JSON transform errors (extension/json) → the kind, without the value
    (
        re.compile(r"Expected (?P<expected>OBJECT|ARRAY), but got (?P<got>[A-Z]+)(?=: )"),
        "expected {expected}, found {got}",
    ),
    (re.compile(r"Failed to cast value to (?P<to>[a-z]+)(?=: )"), "a value that is not {to}"),
    (
        re.compile(r'Object .* has (?P<which>duplicate|unknown) key "', re.DOTALL),
        "an object with a {which} key",
    ),
)
_PARSE_PROBLEM = re.compile(r"(?P<problem>[a-z][a-z ,'()-]*)\.(?=\s|$)")  # yyjson's words: "unexpected …"
_ERROR_KIND = re.compile(r"(?P<kind>[A-Z][a-z]+(?: [A-Z][a-z]+)* Error): ")  # "Invalid Input Error: …"


def refusal(
    exc: duckdb.Error, by_path: dict[str, str], line_of: Callable[[str], int | None] | None = None
) -> str:
    """DuckDB's error ``exc`` about the local files ``by_path`` (path → the lake's key), fit for logs:
    a refused value (an invalid input, a data error) is told by the raw file's key, its line (by
    ``line_of``, given the local path) and the kind of problem, never by the value; other errors
    (I/O, memory) keep DuckDB's text."""
    if not isinstance(exc, (duckdb.InvalidInputException, duckdb.DataError)):
        return _named(str(exc), by_path)
    message = str(exc)
    kind = found["kind"] if (found := _ERROR_KIND.match(message)) else type(exc).__name__
    where = _LOCATED.search(message)
    if where is None:
        return f"{kind} (DuckDB's text is left out: it quotes the value, which may be personal data)"
    line = line_of(where["path"]) if line_of else None
    place = by_path.get(where["path"], where["path"]) + ("" if line is None else f", line {line}")
    if where["what"] == "Malformed JSON":
        parse = _PARSE_PROBLEM.match(where["detail"])
        return f"{place}: not JSON" + (f" ({parse['problem']})" if parse else "")
    for pattern, told in _TRANSFORM_KINDS:
        if transform := pattern.match(where["detail"]):
            return f"{place}: {told.format(**transform.groupdict())}"
    return f"{place}: a value the column spec refuses (DuckDB's text is left out: it quotes the value)"


def refused_line(path: str, read: str, macros: Iterable[str]) -> int | None:
    """The first line (from 1) of the gzip JSON lines file ``path`` that the typed read ``read`` (a
    SELECT over ``$files``, calling ``macros``) refuses: the shortest run of first lines it
    refuses, found by halving (a few reads of a batch); None when it reads the whole file. Run
    on a connection of its own, only after a refusal."""
    with gzip.open(path, "rb") as raw:
        lines = raw.read().rstrip(b"\n").split(b"\n")  # split at LF only, as DuckDB
    with tempfile.TemporaryDirectory(prefix="gospublic-vk-line-") as folder, duckdb.connect() as connection:
        for statement in macros:
            connection.execute(statement)
        probe = str(Path(folder) / "lines.jsonl.gz")

        def refuses(count: int) -> bool:
            Path(probe).write_bytes(gzip.compress(b"\n".join(lines[:count]) + b"\n", compresslevel=1))
            try:
                connection.execute(f"CREATE OR REPLACE TEMP TABLE probe AS {read}", {"files": [probe]})
            except duckdb.Error:
                return True
            return False

        if not lines or not refuses(len(lines)):
            return None
        read_well, refused = 0, len(lines)  # the first read_well lines are read, the first refused not
        while refused - read_well > 1:
            middle = (read_well + refused) // 2
            read_well, refused = (read_well, middle) if refuses(middle) else (middle, refused)
        return refused
