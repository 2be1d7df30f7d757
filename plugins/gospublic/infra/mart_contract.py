"""The BI contract (``config/mart_contract.yaml``): table and column comments, the data dictionary.

Its tables are the mart tables of the model graph (``sql/models.yml``), which also tells the
dictionary how each table is built. The marts' comments are English (the meaning and the grain);
the Russian side (captions, names and values) is schema ``mart_ru``, built by
``gospublic.infra.mart_ru`` from the same contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from gospublic.infra import settings
from gospublic.infra.model_graph import ModelGraph, graph
from gospublic.infra.warehouse import Warehouse

DICTIONARY = Path("docs") / "data-dictionary.md"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # table and column names go into COMMENT ON unquoted


class ContractError(ValueError):
    """The contract names a table or column that is not a plain lower-case SQL name, or its tables
    are not the mart tables of the model graph."""


SHARE = "share"  # the one unit: a fraction 0..1, shown as a percentage in mart_ru
_TABLE_KEYS = {"grain", "description", "caption", "grain_ru", "columns"}
_COLUMN_KEYS = {"description", "caption", "ru_name", "unit", "values", "separator"}
_CODE = re.compile(r"[a-z0-9_]{1,40}")  # a stored code a `values:` map translates


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    caption: str
    ru_name: str | None = None  # the mart_ru column name, when not derived from the caption
    unit: str | None = None  # SHARE or None
    values: tuple[tuple[str, str], ...] = ()  # (code, Russian word) for mart_ru
    separator: str | None = None  # the column is a list of codes joined by it: each code translated


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    description: str
    caption: str
    columns: tuple[Column, ...]
    grain_ru: str = ""


@dataclass(frozen=True)
class Names:
    """Names mart_ru adds beside an id column (``key``) from a dimension with one row per id."""

    key: str
    dimension: str
    columns: tuple[tuple[str, str], ...]  # (dimension column, mart_ru name)
    not_on: tuple[str, ...]


@dataclass(frozen=True)
class MartRu:
    """The contract's ``mart_ru`` section."""

    percent_digits: int
    names: tuple[Names, ...]


def _contract_path(path: Path | None) -> Path:
    return path or settings.project_home() / "config" / "mart_contract.yaml"


def _read(path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return raw


def _check_names(path: Path, raw: dict[str, Any]) -> None:
    for name, spec in raw["tables"].items():
        names = {f"tables.{name!r}": name} | {f"tables.{name}.columns.{c!r}": c for c in spec["columns"]}
        for where, ident in names.items():
            if not isinstance(ident, str) or not _NAME.fullmatch(ident):
                raise ContractError(f"{path}: {where} must be a lower-case name of a-z, 0-9 and _")
        if unknown := set(spec) - _TABLE_KEYS:
            raise ContractError(f"{path}: tables.{name}: unknown keys {sorted(unknown)}")
        for col, c in spec["columns"].items():
            where = f"{path}: tables.{name}.columns.{col}"
            if unknown := set(c) - _COLUMN_KEYS:
                raise ContractError(f"{where}: unknown keys {sorted(unknown)}")
            if c.get("unit") not in (None, SHARE):
                raise ContractError(f"{where}: unit must be {SHARE!r} (a fraction 0..1) or absent")
            if col.endswith("_share") and c.get("unit") != SHARE:
                raise ContractError(
                    f"{where}: a *_share column must say `unit: {SHARE}` (mart_ru shows it in %)"
                )
            _check_values(where, c)


def _check_values(where: str, c: dict[str, Any]) -> None:
    for code in c.get("values") or {}:
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ContractError(f"{where}: values: code {code!r} must be a-z, 0-9 and _")
    if "separator" in c:
        separator = c["separator"]
        if not isinstance(separator, str) or not separator or not c.get("values"):
            raise ContractError(f"{where}: separator must be a non-empty text, given with values")
        if clashing := [w for w in c["values"].values() if separator in str(w)]:
            raise ContractError(f"{where}: values {clashing} hold the separator {separator!r}")


def _column(col: str, c: dict[str, Any]) -> Column:
    return Column(
        col,
        str(c["description"]),
        str(c["caption"]),
        ru_name=str(c["ru_name"]) if c.get("ru_name") else None,
        unit=c.get("unit"),
        values=tuple((str(code), str(word)) for code, word in (c.get("values") or {}).items()),
        separator=c.get("separator"),
    )


def load_contract(path: Path | None = None) -> list[Table]:
    path = _contract_path(path)
    raw = _read(path)
    _check_names(path, raw)
    declared = {f"mart.{name}" for name in raw["tables"]}
    if declared != set(graph().mart_tables()):
        raise ContractError(
            f"{path}: tables differ from the mart tables of sql/models.yml: "
            f"only in the contract {sorted(declared - set(graph().mart_tables()))}, "
            f"only in the graph {sorted(set(graph().mart_tables()) - declared)}"
        )
    return [
        Table(
            name=name,
            grain=str(spec["grain"]),
            description=str(spec["description"]),
            caption=str(spec["caption"]),
            columns=tuple(_column(col, c) for col, c in spec["columns"].items()),
            grain_ru=str(spec.get("grain_ru") or ""),
        )
        for name, spec in raw["tables"].items()
    ]


def load_mart_ru(path: Path | None = None) -> MartRu:
    """The contract's ``mart_ru`` section: decimals of percentages, names beside ids."""
    path = _contract_path(path)
    section: dict[str, Any] = _read(path).get("mart_ru") or {}
    digits = section.get("percent_digits", 1)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 4:
        raise ContractError(f"{path}: mart_ru.percent_digits must be a whole number 0..4")
    names = []
    for key, spec in (section.get("names") or {}).items():
        idents = [key, spec["dimension"], *spec["columns"], *(spec.get("not_on") or [])]
        for ident in idents:
            if not isinstance(ident, str) or not _NAME.fullmatch(ident):
                raise ContractError(f"{path}: mart_ru.names.{key}: {ident!r} must be a lower-case name")
        names.append(
            Names(
                key=key,
                dimension=spec["dimension"],
                columns=tuple((str(c), str(n)) for c, n in spec["columns"].items()),
                not_on=tuple(spec.get("not_on") or ()),
            )
        )
    return MartRu(percent_digits=digits, names=tuple(names))


def literal(text: str) -> str:
    """A standard SQL string literal; backslashes and NUL are refused, not escaped, so that the
    text means the same whatever PostgreSQL's ``standard_conforming_strings``."""
    if "\\" in text or "\x00" in text:
        raise ContractError(f"contract text {text[:60]!r}…: no backslash or NUL in captions and descriptions")
    return "'" + text.replace("'", "''") + "'"


def table_comment(table: Table) -> str:
    """A mart table's comment: its meaning and grain, in English (Russian is schema mart_ru's)."""
    return f"{table.description} Grain: {table.grain}."


def column_comment(column: Column) -> str:
    """A mart column's comment: its meaning, in English."""
    return column.description


def comment_statements(tables: list[Table]) -> list[str]:
    """``COMMENT ON`` for every mart table and column (English only)."""
    statements = []
    for table in tables:
        statements.append(f"COMMENT ON TABLE mart.{table.name} IS {literal(table_comment(table))}")
        statements += [
            f"COMMENT ON COLUMN mart.{table.name}.{c.name} IS {literal(column_comment(c))}"
            for c in table.columns
        ]
    return statements


def apply_comments(warehouse: Warehouse, tables: list[Table] | None = None) -> int:
    """Comment every mart table of the contract (or of ``tables``) that exists (both engines
    support ``COMMENT ON``). A ``:name`` in a caption stays text: every colon is escaped for
    ``sa.text`` (names have none), which also escapes ``%`` for the driver."""
    statements = [
        s
        for table in (load_contract() if tables is None else tables)
        if warehouse.table_exists(f"mart.{table.name}")
        for s in comment_statements([table])
    ]
    with warehouse.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement.replace(":", "\\:")))
    return len(statements)


def lineage(table: str, models: ModelGraph | None = None) -> str:
    """How a mart table is built, from the model graph: its SQL, what it reads, what a run replaces."""
    models = models or graph()
    built = models.built_by(table)
    if not built:
        return f"the {models.loaded.get(table, 'unknown')} pipeline's Python (a bulk load), not a SQL model."
    parts = []
    for model in built:
        reads = ", ".join(f"`{t}`" for t in model.depends_on)
        run = "the whole table" if model.partition == "whole" else f"one `{model.partition}`"
        suite = f"; checked by `expectations/{model.suite}.json`" if model.suite else ""
        parts.append(f"`sql/{model.file}` from {reads}; each run replaces {run}{suite}.")
    return " ".join(parts)


def render_dictionary(tables: list[Table], models: ModelGraph | None = None) -> str:
    """``docs/data-dictionary.md``: what a BI user needs to read the marts and their mart_ru views."""
    from gospublic.infra.mart_ru import build_views  # mart_ru is built from this module

    views = {view.table: view for view in build_views(tables)}
    lines = [
        "# Data dictionary: schemas `mart` and `mart_ru`",
        "",
        "Generated from `config/mart_contract.yaml` and `sql/models.yml` by",
        "`python -m gospublic.cli data-dictionary`; do not",
        "edit by hand. The meanings and grains are the `mart` tables' and columns' comments in the",
        "warehouse (English); the `mart_ru` views carry the Russian names and comments.",
        "Connect BI tools as a login role granted `bi_reader` (PostgreSQL): it reads `mart` and",
        "`mart_ru` only. Join facts to `dim_org_current` / `dim_page_current` (one row per id), not to",
        "`dim_org` (one row per version). More in `docs/bi.md`.",
        "",
        *_mart_ru_rules(),
    ]
    for table in tables:
        view = views[table.name]
        own = {
            c.source.rsplit(".", 1)[1]: c.name
            for c in view.columns
            if c.source.startswith(f"mart.{table.name}.")
        }
        added = [c for c in view.columns if not c.source.startswith(f"mart.{table.name}.")]
        lines += [
            f"## `mart.{table.name}` — {table.caption}",
            "",
            table.description,
            "",
            f"**Grain:** {table.grain}.",
            "",
            f"**Built by:** {lineage(f'mart.{table.name}', models)}",
            "",
            f"**Russian view:** `mart_ru.{table.name}` — {table.grain_ru}.",
            "",
            "| column | caption (ru) | `mart_ru` column | meaning |",
            "| --- | --- | --- | --- |",
            *[
                f"| `{c.name}` | {c.caption} | {_ru_cell(c, own[c.name])} | {c.description} |"
                for c in table.columns
            ],
            "",
        ]
        if added:
            lines += [
                f"`mart_ru.{table.name}` also shows, beside the ids: "
                + ", ".join(f"«{c.name}» (`{c.source}`)" for c in added)
                + ".",
                "",
            ]
    return "\n".join(lines)


def _ru_cell(column: Column, name: str) -> str:
    if column.unit == SHARE:
        return f"«{name}» (× 100)"
    if column.values:
        each = f"each of the codes joined by {column.separator!r}: " if column.separator else ""
        return f"«{name}» ({each}" + ", ".join(f"{code} → {word}" for code, word in column.values) + ")"
    return f"«{name}»"


def _mart_ru_rules() -> list[str]:
    digits = load_mart_ru().percent_digits
    decimals = "a whole number" if digits == 0 else f"{digits} decimal{'s' if digits > 1 else ''}"
    return [
        "## Schema `mart_ru`",
        "",
        "One view per `mart` table, same name, generated from the contract and re-created by the",
        "migrator after every migration (`gospublic.infra.mart_ru`):",
        "",
        "- columns are named by their Russian caption (or the contract's `ru_name` where the caption",
        "  is longer than PostgreSQL's 63 bytes); no dots, unique in the view;",
        f"- shares (fractions 0–1) are percentages: × 100, rounded to {decimals},",
        "  with «%» in the name;",
        "- codes for humans are Russian words (zone, source, status, network); a code the contract",
        "  does not list is shown as stored;",
        "- booleans, numbers, dates and timestamps keep their types;",
        "- views of tables with `org_id` / `page_id` add the body's / page's names from",
        "  `dim_org_current` / `dim_page_current` (one row per id: the row count stays the table's).",
        "",
    ]


def write_dictionary(root: Path | None = None) -> Path:
    path = (root or settings.project_home()) / DICTIONARY
    path.write_text(render_dictionary(load_contract()), encoding="utf-8")
    return path
