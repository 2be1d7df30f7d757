"""The SQL files of ``sql/``: where they are, how they split.

Layout::

    sql/migrations/NNNN_name.sql   DDL, applied once each in order (see ``migrations``)
    sql/migrations/NNNN_name.postgres.sql   the same, on that engine only (physical tuning
                                   such as indexes; never a table or column)
    sql/core/*.sql, sql/mart/*.sql models: SQL that rebuilds one partition; which step runs
                                   which model, in what order, is the graph of sql/models.yml
                                   (see ``model_graph``), not the file names

Every other file runs unchanged on DuckDB and PostgreSQL; bind parameters are written ``:name``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS = "migrations"
MODEL_LAYERS = ("core", "mart")  # folders of model files; their run order is sql/models.yml's
DIALECTS = ("duckdb", "postgres")

_LEADING_COMMENTS = re.compile(r"^(?:\s*--[^\n]*\n|\s*/\*.*?\*/)*\s*", re.DOTALL)
_INSERT_TARGET = re.compile(
    r"INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE
)
_UPDATE_TARGET = re.compile(r"UPDATE\s+([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\s", re.IGNORECASE)


@dataclass(frozen=True)
class SqlFile:
    """One SQL file with its layer and a content checksum."""

    path: Path
    layer: str

    @property
    def name(self) -> str:
        return f"{self.layer}/{self.path.name}"

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def statements(self) -> list[str]:
        return split_statements(self.text)

    @property
    def dialect(self) -> str | None:
        """The one engine a ``name.<dialect>.sql`` file is for; None when it is for both."""
        suffixes = self.path.suffixes
        return (
            suffixes[-2].lstrip(".") if len(suffixes) >= 2 and suffixes[-2].lstrip(".") in DIALECTS else None
        )


def migration_files(root: Path, dialect: str | None = None) -> list[SqlFile]:
    """Migrations in the order they apply (by their numeric file-name prefix); with ``dialect``,
    only those for that engine."""
    files = _layer_files(root, MIGRATIONS)
    return files if dialect is None else [f for f in files if f.dialect in (None, dialect)]


def model_files(root: Path, layers: tuple[str, ...] = MODEL_LAYERS) -> list[SqlFile]:
    """Every model file, by layer then file name (a listing, not a run order: see ``model_graph``)."""
    return [f for layer in layers for f in _layer_files(root, layer)]


def all_files(root: Path) -> list[SqlFile]:
    return migration_files(root) + model_files(root)


def _layer_files(root: Path, layer: str) -> list[SqlFile]:
    folder = root / layer
    if not folder.is_dir():
        return []
    return [SqlFile(path, layer) for path in sorted(folder.glob("*.sql"))]


def inserted_tables(text: str) -> list[str]:
    """The ``schema.table`` names the statements of ``text`` insert into, in first-seen order."""
    tables: list[str] = []
    for statement in split_statements(text):
        match = _INSERT_TARGET.match(_LEADING_COMMENTS.sub("", statement, count=1))
        if match and match.group(1).lower() not in tables:
            tables.append(match.group(1).lower())
    return tables


def written_tables(text: str) -> list[str]:
    """The ``schema.table`` names the statements of ``text`` insert into or update, in first-seen
    order (a model's outputs; ``DELETE`` alone writes nothing new)."""
    tables: list[str] = []
    for statement in split_statements(text):
        head = _LEADING_COMMENTS.sub("", statement, count=1)
        match = _INSERT_TARGET.match(head) or _UPDATE_TARGET.match(head)
        if match and match.group(1).lower() not in tables:
            tables.append(match.group(1).lower())
    return tables


def bind_params(text: str) -> list[str]:
    """The bind parameters (``:name``) the statements of ``text`` use, first-seen order, as the
    runner finds them (SQLAlchemy's ``text``: ``::type`` casts and quoted text are not parameters)."""
    import sqlalchemy as sa

    names: list[str] = []
    for statement in split_statements(text):
        names += [name for name in sa.text(statement).compile().params if name not in names]
    return names


def split_statements(text: str) -> list[str]:
    """Split SQL text on ``;`` outside quotes, comments and dollar-quoted bodies.

    Comment-only fragments are dropped; each statement is returned stripped, without ``;``.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if ch == "-" and nxt == "-":
            end = text.find("\n", i)
            end = n if end == -1 else end
            current.append(text[i:end])
            i = end
        elif ch == "/" and nxt == "*":
            end = text.find("*/", i + 2)
            end = n if end == -1 else end + 2
            current.append(text[i:end])
            i = end
        elif ch in ("'", '"'):
            end = _end_of_quoted(text, i, ch)
            current.append(text[i:end])
            i = end
        elif ch == "$" and (tag_end := text.find("$", i + 1)) != -1 and _is_dollar_tag(text[i : tag_end + 1]):
            tag = text[i : tag_end + 1]
            close = text.find(tag, tag_end + 1)
            end = n if close == -1 else close + len(tag)
            current.append(text[i:end])
            i = end
        elif ch == ";":
            _flush(current, statements)
            current = []
            i += 1
        else:
            current.append(ch)
            i += 1
    _flush(current, statements)
    return statements


def _end_of_quoted(text: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == quote:
            if i + 1 < len(text) and text[i + 1] == quote:  # doubled quote escapes itself
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def _is_dollar_tag(tag: str) -> bool:
    inner = tag[1:-1]
    return inner == "" or (inner.replace("_", "a").isalnum() and not inner[0].isdigit())


def _flush(parts: list[str], statements: list[str]) -> None:
    statement = "".join(parts).strip()
    if statement and not _only_comments(statement):
        statements.append(statement)


def _only_comments(statement: str) -> bool:
    lines = [line.strip() for line in statement.splitlines()]
    code = [line for line in lines if line and not line.startswith("--")]
    return not code or all(line.startswith("/*") and line.endswith("*/") for line in code)
