"""The schema snapshot: the warehouse's DDL after all migrations, one file per engine.

``sql/schema.duckdb.sql`` and ``sql/schema.postgres.sql`` are generated, never edited: the
generator migrates an empty warehouse on each engine (a DuckDB file in a temporary folder, a
throw-away PostgreSQL database), reads the catalogs of the project schemas and writes their tables
(columns, types, nullability, defaults, keys and other constraints, comments), indexes, views and,
on PostgreSQL, privileges given to other roles — sorted, so a migration shows as a small diff.
``make schema`` (``python -m gospublic.cli schema-snapshot``) rewrites them;
``tests/test_schema_snapshot.py`` fails while they are stale.
"""

from __future__ import annotations

import difflib
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.warehouse import SCHEMAS, Dialect, Warehouse

ENGINES: tuple[Dialect, ...] = ("duckdb", "postgres")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REGENERATE = "make schema"
_ENGINE_NAMES = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")
_SCHEMA_LIST = ", ".join(f"'{schema}'" for schema in SCHEMAS)  # our own constants, not input


class SnapshotError(RuntimeError):
    """The snapshot could not be generated (PostgreSQL unreachable)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None
    comment: str | None


@dataclass
class Table:
    schema: str
    name: str
    comment: str | None = None
    columns: list[Column] = field(default_factory=list)
    constraints: list[tuple[int, str]] = field(default_factory=list)  # (kind order, definition)


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    definition: str  # the SELECT
    comment: str | None


@dataclass(frozen=True)
class Index:
    schema: str
    table: str
    name: str
    definition: str  # the whole CREATE INDEX statement


@dataclass
class Catalog:
    """What the project schemas hold, as read from one engine's catalog."""

    dialect: Dialect
    schemas: list[str]
    tables: list[Table]
    views: list[View]
    indexes: list[Index]
    grants: list[str] = field(default_factory=list)  # whole GRANT / ALTER DEFAULT PRIVILEGES statements
    keywords: frozenset[str] = frozenset()  # names that must be quoted on this engine


# -- paths and generation -------------------------------------------------------------------


def snapshot_path(dialect: str, root: Path | None = None) -> Path:
    """Where the snapshot of ``dialect`` is committed: ``sql/schema.<dialect>.sql``."""
    return (root or settings.sql_dir()) / f"schema.{dialect}.sql"


def generate(dialect: Dialect, root: Path | None = None, pg_url: str | None = None) -> str:
    """The snapshot text of ``dialect``: an empty warehouse migrated with ``root``'s migrations
    (PostgreSQL: in a throw-away database on the server of ``pg_url``, default ``DEFAULT_PG_URL``)."""
    from gospublic.infra.migrations import migrate

    with _empty_warehouse(dialect, pg_url or DEFAULT_PG_URL) as warehouse:
        migrate(warehouse, root)
        return render(read_catalog(warehouse))


def stale_diff(dialect: str, generated: str, root: Path | None = None) -> str:
    """A unified diff from the committed snapshot to ``generated``; empty when they match."""
    path = snapshot_path(dialect, root)
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    name = f"sql/{path.name}"
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (after all migrations)",
        )
    )


@contextmanager
def _empty_warehouse(dialect: Dialect, pg_url: str) -> Iterator[Warehouse]:
    if dialect == "duckdb":
        with (
            tempfile.TemporaryDirectory(prefix="gospublic-schema-") as folder,
            Warehouse.duckdb(Path(folder) / "schema.duckdb") as warehouse,
        ):
            yield warehouse
        return
    import psycopg

    admin_url = sa.make_url(pg_url)
    plain = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"gospublic_schema_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        shown = admin_url.render_as_string(hide_password=True)
        raise SnapshotError(
            f"PostgreSQL unreachable at {shown} (give the server with --pg-url): {exc}"
        ) from exc
    try:
        url = admin_url.set(drivername="postgresql+psycopg", database=name)
        with Warehouse.postgres(url) as warehouse:
            yield warehouse
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- catalogs -------------------------------------------------------------------------------


def read_catalog(warehouse: Warehouse) -> Catalog:
    """The project schemas' tables, views, indexes (and PostgreSQL grants) from the catalog."""
    if warehouse.dialect == "duckdb":
        return _read_duckdb(warehouse)
    return _read_postgres(warehouse)


_CONSTRAINT_ORDER = {"PRIMARY KEY": 0, "UNIQUE": 1, "FOREIGN KEY": 2, "CHECK": 3, "EXCLUDE": 4}


def _read_duckdb(warehouse: Warehouse) -> Catalog:
    where = f"database_name = current_database() AND schema_name IN ({_SCHEMA_LIST})"
    schemas = [
        r["schema_name"] for r in warehouse.query(f"SELECT schema_name FROM duckdb_schemas() WHERE {where}")
    ]
    tables = {
        (r["schema_name"], r["table_name"]): Table(r["schema_name"], r["table_name"], r["comment"] or None)
        for r in warehouse.query(
            f"SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE {where} AND NOT temporary"
        )
    }
    for r in warehouse.query(
        "SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default, comment "
        f"FROM duckdb_columns() WHERE {where} ORDER BY schema_name, table_name, column_index"
    ):
        table = tables.get((r["schema_name"], r["table_name"]))
        if table is not None:  # views have columns too
            table.columns.append(
                Column(
                    r["column_name"],
                    r["data_type"],
                    r["is_nullable"],
                    r["column_default"],
                    r["comment"] or None,
                )
            )
    for r in warehouse.query(
        "SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints() "
        f"WHERE {where} AND constraint_type <> 'NOT NULL'"
    ):
        tables[(r["schema_name"], r["table_name"])].constraints.append(
            (_CONSTRAINT_ORDER.get(r["constraint_type"], 9), r["constraint_text"])
        )
    views = [
        View(r["schema_name"], r["view_name"], _view_select(r["sql"]), r["comment"] or None)
        for r in warehouse.query(
            f"SELECT schema_name, view_name, sql, comment FROM duckdb_views() WHERE {where} AND NOT internal"
        )
    ]
    indexes = [
        Index(r["schema_name"], r["table_name"], r["index_name"], r["sql"].rstrip().rstrip(";"))
        for r in warehouse.query(
            f"SELECT schema_name, table_name, index_name, sql FROM duckdb_indexes() WHERE {where}"
        )
    ]
    keywords = frozenset(
        r["keyword_name"] for r in warehouse.query("SELECT keyword_name FROM duckdb_keywords()")
    )  # DuckDB's own printer quotes every keyword (as in its constraint texts)
    return Catalog("duckdb", schemas, list(tables.values()), views, indexes, keywords=keywords)


def _read_postgres(warehouse: Warehouse) -> Catalog:
    in_schemas = f"n.nspname IN ({_SCHEMA_LIST})"
    schemas = [
        r["nspname"] for r in warehouse.query(f"SELECT n.nspname FROM pg_namespace n WHERE {in_schemas}")
    ]
    relations = warehouse.query(
        "SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, "
        "obj_description(c.oid, 'pg_class') AS comment, "
        "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE {in_schemas} AND c.relkind IN ('r', 'p', 'v', 'm')"
    )
    tables = {
        (r["schema"], r["name"]): Table(r["schema"], r["name"], r["comment"])
        for r in relations
        if r["kind"] in ("r", "p")
    }
    views = [
        View(r["schema"], r["name"], r["definition"], r["comment"])
        for r in relations
        if r["kind"] in ("v", "m")
    ]
    for r in warehouse.query(
        "SELECT n.nspname AS schema, c.relname AS name, a.attname AS column_name, "
        "format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, "
        "pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attidentity AS identity, "
        "a.attgenerated AS generated, col_description(c.oid, a.attnum) AS comment "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        f"WHERE {in_schemas} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY n.nspname, c.relname, a.attnum"
    ):
        default = r["default_expr"]
        if r["generated"] == "s":
            default, generated = None, f" GENERATED ALWAYS AS ({r['default_expr']}) STORED"
        elif r["identity"] in ("a", "d"):
            generated = f" GENERATED {'ALWAYS' if r['identity'] == 'a' else 'BY DEFAULT'} AS IDENTITY"
        else:
            generated = ""
        tables[(r["schema"], r["name"])].columns.append(
            Column(
                r["column_name"], _upper_type(r["type"]) + generated, not r["not_null"], default, r["comment"]
            )
        )
    kinds = {"p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY", "c": "CHECK", "x": "EXCLUDE"}
    for r in warehouse.query(
        "SELECT n.nspname AS schema, c.relname AS name, k.conname, k.contype, "
        "pg_get_constraintdef(k.oid, true) AS definition "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE {in_schemas} AND k.contype IN ('p', 'u', 'f', 'c', 'x')"
    ):
        tables[(r["schema"], r["name"])].constraints.append(
            (_CONSTRAINT_ORDER[kinds[r["contype"]]], f"CONSTRAINT {r['conname']} {r['definition']}")
        )
    indexes = [
        Index(r["schema"], r["table_name"], r["name"], r["definition"])
        for r in warehouse.query(
            "SELECT n.nspname AS schema, t.relname AS table_name, i.relname AS name, "
            "pg_get_indexdef(x.indexrelid) AS definition "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            f"WHERE {in_schemas} "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "  # those of keys are the keys
            "WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))"
        )
    ]
    keywords = frozenset(
        r["word"] for r in warehouse.query("SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'")
    )
    return Catalog(
        "postgres", schemas, list(tables.values()), views, indexes, _pg_grants(warehouse), keywords
    )


def _pg_grants(warehouse: Warehouse) -> list[str]:
    """Privileges the owner gave other roles (``sql/grants/``), as the statements that give them."""
    grantee = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END"
    schema_rows = warehouse.query(
        f"SELECT n.nspname AS object, {grantee} AS grantee, a.privilege_type AS privilege "
        "FROM pg_namespace n, aclexplode(n.nspacl) a "
        f"WHERE n.nspname IN ({_SCHEMA_LIST}) AND a.grantee <> n.nspowner"
    )
    table_rows = warehouse.query(
        f"SELECT n.nspname || '.' || c.relname AS object, {grantee} AS grantee, "
        "a.privilege_type AS privilege "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
        f"WHERE n.nspname IN ({_SCHEMA_LIST}) AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND a.grantee <> c.relowner"
    )
    default_rows = warehouse.query(
        f"SELECT n.nspname AS object, {grantee} AS grantee, a.privilege_type AS privilege, "
        "d.defaclobjtype AS kind "
        "FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a "
        f"WHERE n.nspname IN ({_SCHEMA_LIST}) AND a.grantee <> d.defaclrole"
    )
    kinds = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
    statements = [
        *(f"GRANT {p} ON SCHEMA {o} TO {g};" for o, g, p in _grouped(schema_rows)),
        *(f"GRANT {p} ON {o} TO {g};" for o, g, p in _grouped(table_rows)),
    ]
    for kind in sorted({r["kind"] for r in default_rows}):
        rows = [r for r in default_rows if r["kind"] == kind]
        statements += [
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {o} GRANT {p} ON {kinds.get(kind, kind)} TO {g};"
            for o, g, p in _grouped(rows)
        ]
    return statements


def _grouped(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(object, grantee, "PRIV, PRIV") sorted, one per object and grantee."""
    privileges: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        privileges.setdefault((r["object"], r["grantee"]), set()).add(r["privilege"])
    return [(o, g, ", ".join(sorted(p))) for (o, g), p in sorted(privileges.items())]


def _upper_type(name: str) -> str:
    """PostgreSQL's built-in type names in upper case, as the migrations write them."""
    return name.upper() if re.fullmatch(r"[a-z0-9 ,()\[\]]+", name) else name


def _view_select(sql: str) -> str:
    """DuckDB keeps a view's whole ``CREATE VIEW … AS …;``: its SELECT."""
    match = re.match(r"(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+.+?\s+AS\s+(.*)$", sql)
    return (match.group(1) if match else sql).strip().rstrip(";")


# -- rendering ------------------------------------------------------------------------------


def render(catalog: Catalog) -> str:
    """The snapshot text: a header, then schema by schema (in the project's layer order) its
    tables with their comments and indexes, then its views, each group sorted by name."""
    engine = _ENGINE_NAMES[catalog.dialect]
    other = _ENGINE_NAMES[next(d for d in ENGINES if d != catalog.dialect)]
    lines = [
        f"-- The warehouse schema on {engine} after all migrations (sql/migrations/).",
        f"-- GENERATED by `{REGENERATE}` (python -m gospublic.cli schema-snapshot): do not edit.",
        "-- Schema changes: add a migration, then run `make schema` and commit this file with it;",
        "-- tests/test_schema_snapshot.py fails while it is stale.",
        f"-- {other}'s schema differs (types, keys, indexes): see the other sql/schema.*.sql.",
        "-- Not included: rows (audit.schema_migrations' too), roles themselves.",
        "",
    ]
    ordered = [s for s in SCHEMAS if s in catalog.schemas]
    lines += [f"CREATE SCHEMA {_quote(s, catalog)};" for s in ordered]
    for schema in ordered:
        lines += ["", "", f"-- {schema} " + "-" * (95 - len(schema))]
        for table in sorted((t for t in catalog.tables if t.schema == schema), key=lambda t: t.name):
            lines += ["", *_render_table(table, catalog)]
            indexes = sorted(
                (i for i in catalog.indexes if i.table == table.name and i.schema == schema),
                key=lambda i: i.name,
            )
            lines += [f"{index.definition};" for index in indexes]
        for view in sorted((v for v in catalog.views if v.schema == schema), key=lambda v: v.name):
            lines += ["", *_render_view(view, catalog)]
    if catalog.grants:
        lines += ["", "", "-- privileges of other roles (sql/grants/) " + "-" * 56, ""]
        lines += catalog.grants
    return "\n".join(lines) + "\n"


def _render_table(table: Table, catalog: Catalog) -> list[str]:
    name = _qualified(table.schema, table.name, catalog)
    names = [_quote(c.name, catalog) for c in table.columns]
    width = max(map(len, names), default=0)
    types = [c.type for c in table.columns]
    type_width = max(map(len, types), default=0)
    body = []
    for column, quoted in zip(table.columns, names, strict=True):
        spec = f"{quoted.ljust(width)}  {column.type}"
        extra = ("" if column.nullable else " NOT NULL") + (
            f" DEFAULT {column.default}" if column.default else ""
        )
        body.append((spec.ljust(width + 2 + type_width) + extra).rstrip())
    body += [definition for _, definition in sorted(table.constraints)]
    lines = [f"CREATE TABLE {name} ("]
    lines += [f"    {item}," for item in body[:-1]] + [f"    {item}" for item in body[-1:]]
    lines.append(");")
    if table.comment:
        lines.append(f"COMMENT ON TABLE {name} IS {_literal(table.comment)};")
    for column, quoted in zip(table.columns, names, strict=True):
        if column.comment:
            lines.append(f"COMMENT ON COLUMN {name}.{quoted} IS {_literal(column.comment)};")
    return lines


def _render_view(view: View, catalog: Catalog) -> list[str]:
    name = _qualified(view.schema, view.name, catalog)
    select = [line.rstrip() for line in view.definition.strip("\n").rstrip().rstrip(";").splitlines()]
    lines = [f"CREATE VIEW {name} AS"]
    lines += select if len(select) > 1 else [f"    {select[0].strip()}"]  # PostgreSQL's layout as it is
    lines[-1] += ";"
    if view.comment:
        lines.append(f"COMMENT ON VIEW {name} IS {_literal(view.comment)};")
    return lines


def _quote(identifier: str, catalog: Catalog) -> str:
    if _PLAIN.match(identifier) and identifier not in catalog.keywords:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(schema: str, name: str, catalog: Catalog) -> str:
    return f"{_quote(schema, catalog)}.{_quote(name, catalog)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- command --------------------------------------------------------------------------------


def run(
    check: bool = False,
    engines: tuple[Dialect, ...] = ENGINES,
    pg_url: str | None = None,
    root: Path | None = None,
) -> int:
    """``schema-snapshot``: write each engine's snapshot, or with ``check`` only compare; 0 when
    current (or written), 1 when ``check`` found a stale one (its diff is printed)."""
    stale = 0
    for dialect in engines:
        path = snapshot_path(dialect, root)
        try:
            text = generate(dialect, root, pg_url)
        except SnapshotError as exc:
            print(f"{path.name}: {exc}")
            return 2
        diff = stale_diff(dialect, text, root)
        if not diff:
            print(f"{path.name}: current")
        elif check:
            stale += 1
            print(f"{path.name}: STALE — run `{REGENERATE}` and commit it\n{diff}")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.name}: written")
    return 1 if stale else 0
