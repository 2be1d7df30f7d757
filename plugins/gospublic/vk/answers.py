"""VK's raw answers as typed columns: the Parquet sidecar beside each raw file, and the choice of
what a load reads.

The extractor lands each batch's answers of a method as gzip JSON lines, the source of truth
(``gospublic.vk.extract``), and then runs the method's typed read over those very bytes — the SQL
of ``sql/flatten/vk_*_answers.sql``, DuckDB's ``read_json`` with its column spec, the relation the
flatten reads (``gospublic.vk.flatten``) — and keeps the result beside the raw file::

    raw/vk/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/vk/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.answers-<version>.parquet

``<version>`` is 12 hex digits of a SHA-256 of the method's typed read (its SQL text and the
macros it calls): a changed column spec gives sidecars of another name, and the load never
looks at the older ones. The Parquet key-value metadata repeats the version and names the
method, the raw file's key and its gzip trailer (CRC-32 and length of the uncompressed lines):
a raw file rewritten after its sidecar was written no longer matches it.

A load reads a method's sidecars when every raw file of the day has a current one (its name,
its metadata and its raw file's trailer agree), else the raw files — older lakes, days landed
before the sidecars, a sidecar missing or stale: the rows are the same either way, only their
cost differs. The raw file stays required: a sidecar whose raw file is gone is not read (the
load fails naming the raw key, as it does without sidecars), and errors name raw keys.
A batch whose typed read fails (a line that is not JSON, a value of another type) gets no
sidecar; its load reads the raw files and refuses them with the usual error.
``python -m gospublic.cli vk-sidecars`` writes the missing sidecars of a lake's days
(``gospublic.vk.backfill``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from gospublic.infra.lake import Lake
from gospublic.vk.flatten import (
    LocalFile,
    _memory_connection,
    answers_sql,
    local_files,
    macros_sql,
    refusal,
    refused_line,
)

log = logging.getLogger(__name__)

RAW_SUFFIX = ".jsonl.gz"
TRAILER_BYTES = 8  # a gzip member's trailer: CRC-32 and length (mod 2**32) of its uncompressed bytes
COMPRESSION = "zstd"
# Parquet key-value metadata of a sidecar
VERSION_KEY, METHOD_KEY, RAW_KEY, TRAILER_KEY, DUCKDB_KEY = (
    "gospublic_vk_answers", "gospublic_vk_method", "gospublic_vk_raw_key", "gospublic_vk_raw_trailer",
    "gospublic_duckdb",
)  # fmt: skip
_MACRO_NAME = re.compile(r"CREATE\s+OR\s+REPLACE\s+TEMP\s+MACRO\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class TypedRead:
    """A method's typed read as its files hold it now: the SELECT over ``$files``, the macro
    statements the flattens create, and the sidecars' format ``version`` derived from them."""

    method: str
    sql: str
    macros: tuple[str, ...]
    version: str


def typed_read(method: str, root: Path | None = None) -> TypedRead:
    """``method``'s typed read, its SQL files read once; the version's digest is computed once per
    process for a given content of those files."""
    return _typed_read(method, answers_sql(method, root), tuple(macros_sql(root)))


@lru_cache(maxsize=64)
def _typed_read(method: str, read: str, macros: tuple[str, ...]) -> TypedRead:
    called = [
        statement
        for statement in macros
        if (name := _MACRO_NAME.search(statement)) and re.search(rf"\b{name.group(1)}\s*\(", read)
    ]
    digest = hashlib.sha256("\n".join([method, read, *called]).encode()).hexdigest()[:12]
    return TypedRead(method, read, macros, digest)


def version(method: str, root: Path | None = None) -> str:
    """The sidecars' format version of ``method``: a digest of its typed read (the SQL and the
    macros it calls), so that any change of the columns read retires the sidecars written before."""
    return typed_read(method, root).version


def sidecar_key(raw_key: str, method_version: str) -> str:
    """The sidecar of the raw file ``raw_key`` at ``method_version``."""
    if not raw_key.endswith(RAW_SUFFIX):
        raise ValueError(f"{raw_key!r} is not a raw VK file (*{RAW_SUFFIX})")
    return f"{raw_key.removesuffix(RAW_SUFFIX)}.answers-{method_version}.parquet"


# -- writing ------------------------------------------------------------------------------------


def sidecar_bytes(method: str, raw_key: str, raw: bytes, root: Path | None = None) -> bytes | None:
    """The Parquet sidecar of the raw file ``raw`` (its bytes, a batch: bounded), by the method's
    typed read run on the process's in-memory DuckDB connection; None when that read refuses
    the file (the load will read the raw file and name the problem)."""
    return _sidecar_bytes(typed_read(method, root), raw_key, raw)


def _sidecar_bytes(typed: TypedRead, raw_key: str, raw: bytes) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="gospublic-vk-answers-") as folder:
        raw_path, out_path = Path(folder) / "raw.jsonl.gz", Path(folder) / "answers.parquet"
        raw_path.write_bytes(raw)
        metadata = {
            VERSION_KEY: typed.version, METHOD_KEY: typed.method, RAW_KEY: raw_key,
            TRAILER_KEY: raw[-TRAILER_BYTES:].hex(), DUCKDB_KEY: duckdb.__version__,
        }  # fmt: skip
        kv = ", ".join(f"{name}: {_literal(value)}" for name, value in metadata.items())
        copy = (
            f"COPY (SELECT * EXCLUDE (source_file) FROM ({typed.sql}) AS answers) "
            f"TO {_literal(str(out_path))} (FORMAT parquet, COMPRESSION {COMPRESSION}, KV_METADATA {{{kv}}})"
        )
        try:
            with _memory_connection() as connection:
                for statement in typed.macros:
                    connection.execute(statement)
                connection.execute(copy, {"files": [str(raw_path)]})
        except duckdb.Error as exc:
            log.warning(
                "no sidecar for %s: its typed read failed (%s); loads read the raw file",
                raw_key,
                refusal(
                    exc, {str(raw_path): raw_key}, partial(refused_line, read=typed.sql, macros=typed.macros)
                ),
            )
            return None
        return out_path.read_bytes()


def land_sidecar(lake: Lake, method: str, raw_key: str, raw: bytes, root: Path | None = None) -> str | None:
    """Write the sidecar of the raw file ``raw_key`` (whose bytes are ``raw``) beside it; its key,
    or None when the typed read refused the file."""
    typed = typed_read(method, root)  # one read of the SQL files: the sidecar's bytes and key agree
    data = _sidecar_bytes(typed, raw_key, raw)
    if data is None:
        return None
    key = sidecar_key(raw_key, typed.version)
    lake.put_bytes(key, data)
    return key


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerFiles:
    """What a load flattens for one method: local files, each with its raw file's key, that are
    the raw files themselves or (``columnar``) their sidecars."""

    files: list[LocalFile]
    columnar: bool


@contextmanager
def answer_files(lake: Lake, method: str, keys: list[str], root: Path | None = None) -> Iterator[AnswerFiles]:
    """The raw files ``keys`` of ``method`` as local files to flatten: their sidecars when every
    one has a current sidecar, else the raw files. Raises ``LakeError`` naming a raw file that
    is missing, sidecar or not."""
    if not keys:
        yield AnswerFiles([], columnar=False)
        return
    with ExitStack() as stack:
        trailers = {key: lake.tail(key, TRAILER_BYTES) for key in keys}  # each raw file is there
        chosen = _current_sidecars(lake, method, trailers, root, stack)
        if chosen is None:
            chosen = AnswerFiles(stack.enter_context(local_files(lake, keys)), columnar=False)
        yield chosen


def _current_sidecars(
    lake: Lake,
    method: str,
    trailers: dict[str, bytes],
    root: Path | None,
    stack: ExitStack,
    *,
    tell: bool = True,
) -> AnswerFiles | None:
    """The sidecars of the raw files (keys of ``trailers``) when each one is current, fetched for
    as long as ``stack`` is open; None (with the reason logged when ``tell``) when one is missing
    or stale."""
    method_version = version(method, root)
    sidecars = {key: sidecar_key(key, method_version) for key in trailers}
    missing = [key for key, sidecar in sidecars.items() if not lake.exists(sidecar)]
    if missing:
        log.log(
            logging.INFO if tell else logging.DEBUG,
            "%s: %d of %d raw files have no sidecar of version %s (first: %s); reading the raw files",
            method, len(missing), len(sidecars), method_version, missing[0],
        )  # fmt: skip
        return None
    with ExitStack() as fetched:  # the fetched sidecars: kept (moved to ``stack``) only when read
        local = fetched.enter_context(local_files(lake, list(sidecars.values())))
        files = [LocalFile(key, file.path) for key, file in zip(sidecars, local, strict=True)]
        for file in files:
            problem = _stale(file, method, method_version, trailers[file.key])
            if problem:
                level = logging.WARNING if tell else logging.DEBUG
                log.log(level, "%s: the sidecar of %s %s; reading the raw files", method, file.key, problem)
                return None
        stack.push(fetched.pop_all())
    return AnswerFiles(files, columnar=True)


def has_current_sidecar(lake: Lake, method: str, raw_key: str, root: Path | None = None) -> bool:
    """Whether the raw file ``raw_key`` has a current sidecar (what a load would read)."""
    with ExitStack() as stack:
        trailer = lake.tail(raw_key, TRAILER_BYTES)
        return _current_sidecars(lake, method, {raw_key: trailer}, root, stack, tell=False) is not None


def _stale(file: LocalFile, method: str, method_version: str, trailer: bytes) -> str | None:
    """What makes the sidecar ``file.path`` of the raw file ``file.key`` unfit (None: it fits)."""
    try:
        found = {k.decode(): v.decode() for k, v in (pq.read_metadata(file.path).metadata or {}).items()}
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        return f"is not readable Parquet ({exc})"
    expected = {
        VERSION_KEY: method_version,
        METHOD_KEY: method,
        RAW_KEY: file.key,
        TRAILER_KEY: trailer.hex(),
    }
    wrong = [name for name, value in expected.items() if found.get(name) != value]
    if wrong:
        return f"does not match its raw file ({', '.join(f'{n}={found.get(n)!r}' for n in wrong)})"
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
