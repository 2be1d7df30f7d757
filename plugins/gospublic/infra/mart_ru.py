"""Schema ``mart_ru``: one view per mart table with Russian column names and values, for BI tools
that show column names rather than comments (DataLens).

Generated from ``config/mart_contract.yaml`` and re-created by the migrator after every migration
(like the marts' comments), so a view cannot drift from its table or the contract:

- a column is named by its ``ru_name``, else its caption, with ``, %`` added for a share;
- a share (``unit: share``, a fraction 0..1) is shown as a percentage, rounded to
  ``mart_ru.percent_digits`` decimals (an exact decimal type);
- a column with ``values:`` shows the Russian word of each code (a code not listed as stored);
  with ``separator:`` too, it is a list of codes joined by the separator, each one translated;
- ``mart_ru.names``: beside an id column, the names of that id from a dimension with one row per
  id (``mart.dim_org_current``, ``mart.dim_page_current``), so the join cannot multiply rows;
- booleans, numbers, dates and timestamps keep their types; comments are in Russian.

The schema belongs to the generator: every view in it is dropped and created again (a view of
one's own belongs elsewhere). The views are dropped before pending migrations run, so a migration
may change a mart column a view reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from gospublic.infra.mart_contract import (
    SHARE,
    Column,
    ContractError,
    MartRu,
    Table,
    literal,
    load_contract,
    load_mart_ru,
)
from gospublic.infra.warehouse import Warehouse

SCHEMA = "mart_ru"
MAX_NAME_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1: a longer name would be cut, not refused
# Letters, digits and the punctuation of captions; no dot (BI tools read it as a path), no quote.
_RU_NAME = re.compile(r"[0-9A-Za-zА-Яа-яЁё№«(][0-9A-Za-zА-Яа-яЁё ,()%«»№/+\-–—]*[0-9A-Za-zА-Яа-яЁё)%»]")
_DECIMALS = {0: "целых", 1: "десятых", 2: "сотых", 3: "тысячных", 4: "десятитысячных"}
PERCENT_PRECISION = 9  # digits of the NUMERIC a percentage is shown as (shares above 1 fit too)


@dataclass(frozen=True)
class ViewColumn:
    name: str  # the Russian column name
    expression: str  # SQL over the table (alias t) and the name dimensions (n1, n2, …)
    comment: str  # Russian
    source: str  # what it shows: mart.<table>.<column>


@dataclass(frozen=True)
class View:
    table: str  # the mart table, and the view's own name in mart_ru
    comment: str
    columns: tuple[ViewColumn, ...]
    joins: tuple[str, ...]  # LEFT JOIN clauses of the name dimensions

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.table}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def column_name(column: Column) -> str:
    """The mart_ru name of a mart column: its ``ru_name``, else its caption (``, %`` for a share)."""
    if column.ru_name:
        return column.ru_name
    return f"{column.caption}, %" if column.unit == SHARE else column.caption


def _checked(table: str, names: list[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        where = f"mart_ru.{table}: column {name!r}"
        if not _RU_NAME.fullmatch(name) or "  " in name:
            raise ContractError(
                f"{where}: a mart_ru name is letters, digits, spaces and , ( ) % « » № / + - – — "
                "(no dot, no quote, no double space; give the column a ru_name)"
            )
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise ContractError(
                f"{where}: {len(name.encode('utf-8'))} bytes, PostgreSQL keeps {MAX_NAME_BYTES} "
                "(give the column a shorter ru_name)"
            )
        key = name.casefold()  # DuckDB's names are case-insensitive
        if key in seen:
            raise ContractError(f"{where}: the same name as {seen[key]!r} (give one a ru_name)")
        seen[key] = name


def _own_column(table: Table, column: Column, digits: int) -> ViewColumn:
    ref = f"t.{quote(column.name)}"
    source = f"mart.{table.name}.{column.name}"
    if column.unit == SHARE:
        return ViewColumn(
            column_name(column),
            f"CAST({ref} * 100 AS NUMERIC({PERCENT_PRECISION}, {digits}))",
            f"{column.caption} в процентах: {source} (доля от 0 до 1) × 100, "
            f"округлено до {_DECIMALS[digits]}",
            source,
        )
    if column.values and column.separator:
        return _list_column(column, ref, source)
    if column.values:
        cases = " ".join(f"WHEN {literal(code)} THEN {literal(word)}" for code, word in column.values)
        words = ", ".join(f"{word} ({code})" for code, word in column.values)
        return ViewColumn(
            column_name(column),
            f"CASE {ref} {cases} ELSE {ref} END",
            f"{column.caption} ({source}): {words}; иной код показан как хранится",
            source,
        )
    return ViewColumn(column_name(column), ref, f"{column.caption} ({source})", source)


def _list_column(column: Column, ref: str, source: str) -> ViewColumn:
    """A list of codes joined by the column's separator, each code replaced by its word: the list is
    framed by the separator (so a code is matched whole, never inside a longer one), each framed code
    replaced, and the frame taken off again; an empty list stays empty, an unknown code as stored."""
    sep = column.separator or ""
    framed = f"{literal(sep)} || {ref} || {literal(sep)}"
    for code, word in column.values:
        framed = f"REPLACE({framed}, {literal(sep + code + sep)}, {literal(sep + word + sep)})"
    words = ", ".join(f"{word} ({code})" for code, word in column.values)
    return ViewColumn(
        column_name(column),
        f"CASE WHEN {ref} = '' THEN {ref} "
        f"ELSE SUBSTRING({framed}, {len(sep) + 1}, LENGTH({framed}) - {2 * len(sep)}) END",
        f"{column.caption} ({source}), каждый код списка через «{sep}»: {words}; "
        "иной код показан как хранится",
        source,
    )


def build_views(tables: list[Table] | None = None, settings: MartRu | None = None) -> list[View]:
    """The mart_ru view of every contract table; ``ContractError`` when a name is not usable."""
    tables = load_contract() if tables is None else tables
    settings = load_mart_ru() if settings is None else settings
    views = []
    for table in tables:
        own = {c.name for c in table.columns}
        names = [n for n in settings.names if n.key in own and table.name not in n.not_on]
        joins = tuple(
            f"LEFT JOIN mart.{n.dimension} AS n{i} ON t.{quote(n.key)} = n{i}.{quote(n.key)}"
            for i, n in enumerate(names, start=1)
        )
        columns: list[ViewColumn] = []
        for column in table.columns:
            columns.append(_own_column(table, column, settings.percent_digits))
            for i, n in enumerate(names, start=1):
                if n.key == column.name:
                    columns += [
                        ViewColumn(
                            ru,
                            f"n{i}.{quote(dim_column)}",
                            f"{ru}: mart.{n.dimension}.{dim_column} (одна строка на {n.key}, "
                            "соединение не размножает строки)",
                            f"mart.{n.dimension}.{dim_column}",
                        )
                        for dim_column, ru in n.columns
                    ]
        _checked(table.name, [c.name for c in columns])
        comment = (
            f"{table.caption}: {table.grain_ru}. Русские названия столбцов и значений над mart.{table.name}."
        )
        views.append(View(table.name, comment, tuple(columns), joins))
    return views


def create_statements(view: View) -> list[str]:
    """``CREATE VIEW`` and the Russian ``COMMENT ON`` statements of one view (same SQL on both engines)."""
    select = ",\n".join(f"    {c.expression} AS {quote(c.name)}" for c in view.columns)
    joins = "".join(f"\n{join}" for join in view.joins)
    statements = [
        f"CREATE VIEW {view.qualified} AS\nSELECT\n{select}\nFROM mart.{view.table} AS t{joins}",
        f"COMMENT ON VIEW {view.qualified} IS {literal(view.comment)}",
    ]
    statements += [
        f"COMMENT ON COLUMN {view.qualified}.{quote(c.name)} IS {literal(c.comment)}" for c in view.columns
    ]
    return statements


def _execute(conn: sa.Connection, statement: str) -> None:
    conn.execute(sa.text(statement.replace(":", "\\:")))  # a colon in a name or comment stays text


def existing_views(warehouse: Warehouse) -> list[str]:
    """The views in mart_ru now (none while the schema does not exist)."""
    rows = warehouse.query(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = :schema AND table_type = 'VIEW' ORDER BY table_name",
        {"schema": SCHEMA},
    )
    return [r["table_name"] for r in rows]


def drop_views(warehouse: Warehouse) -> list[str]:
    """Drop every view of mart_ru (in one transaction); returns their names."""
    names = existing_views(warehouse)
    with warehouse.begin() as conn:
        for name in names:
            _execute(conn, f"DROP VIEW {SCHEMA}.{quote(name)}")
    return names


def apply_views(warehouse: Warehouse, views: list[View] | None = None) -> list[str]:
    """Re-create mart_ru from the contract (or as ``views``) in one transaction: every view dropped,
    one created per mart table that exists. Nothing while the schema does not exist (before its
    migration). Returns the views created."""
    if SCHEMA not in warehouse.schemas():
        return []
    views = [
        v for v in (build_views() if views is None else views) if warehouse.table_exists(f"mart.{v.table}")
    ]
    dimensions = {join.split()[2] for v in views for join in v.joins}  # LEFT JOIN mart.<dim> AS …
    missing = [d for d in sorted(dimensions) if not warehouse.table_exists(d)]
    if missing:
        raise ContractError(f"mart_ru: the name dimensions {missing} do not exist; migrate first")
    dropped = existing_views(warehouse)
    with warehouse.begin() as conn:
        for name in dropped:
            _execute(conn, f"DROP VIEW {SCHEMA}.{quote(name)}")
        for view in views:
            for statement in create_statements(view):
                _execute(conn, statement)
    return [v.table for v in views]
