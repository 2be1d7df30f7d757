"""The BI contract (``config/mart_contract.yaml``): table and column comments, the data dictionary.

Its tables are the mart tables of the model graph (``sql/models.yml``), which also tells the
dictionary how each table is built.
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


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    caption: str


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    description: str
    caption: str
    columns: tuple[Column, ...]


def load_contract(path: Path | None = None) -> list[Table]:
    path = path or settings.project_home() / "config" / "mart_contract.yaml"
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, spec in raw["tables"].items():
        names = {f"tables.{name!r}": name} | {f"tables.{name}.columns.{c!r}": c for c in spec["columns"]}
        for where, ident in names.items():
            if not isinstance(ident, str) or not _NAME.fullmatch(ident):
                raise ContractError(f"{path}: {where} must be a lower-case name of a-z, 0-9 and _")
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
            columns=tuple(
                Column(col, str(c["description"]), str(c["caption"])) for col, c in spec["columns"].items()
            ),
        )
        for name, spec in raw["tables"].items()
    ]


def _literal(text: str) -> str:
    """A standard SQL string literal; backslashes and NUL are refused, not escaped, so that the
    text means the same whatever PostgreSQL's ``standard_conforming_strings``."""
    if "\\" in text or "\x00" in text:
        raise ContractError(f"contract text {text[:60]!r}…: no backslash or NUL in captions and descriptions")
    return "'" + text.replace("'", "''") + "'"


def comment_statements(tables: list[Table]) -> list[str]:
    """``COMMENT ON`` for every mart table and column: the caption, then the meaning."""
    statements = []
    for table in tables:
        text = f"{table.caption}. {table.description} Grain: {table.grain}."
        statements.append(f"COMMENT ON TABLE mart.{table.name} IS {_literal(text)}")
        statements += [
            f"COMMENT ON COLUMN mart.{table.name}.{c.name} IS {_literal(f'{c.caption}: {c.description}')}"
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
    """``docs/data-dictionary.md``: what a BI user needs to read the marts."""
    lines = [
        "# Data dictionary: schema `mart`",
        "",
        "Generated from `config/mart_contract.yaml` and `sql/models.yml` by",
        "`python -m gospublic.cli data-dictionary`; do not",
        "edit by hand. The same texts are the tables' and columns' comments in the warehouse.",
        "Connect BI tools as a login role granted `bi_reader` (PostgreSQL): it reads `mart` only.",
        "",
    ]
    for table in tables:
        lines += [
            f"## `mart.{table.name}` — {table.caption}",
            "",
            table.description,
            "",
            f"**Grain:** {table.grain}.",
            "",
            f"**Built by:** {lineage(f'mart.{table.name}', models)}",
            "",
            "| column | caption (ru) | meaning |",
            "| --- | --- | --- |",
            *[f"| `{c.name}` | {c.caption} | {c.description} |" for c in table.columns],
            "",
        ]
    return "\n".join(lines)


def write_dictionary(root: Path | None = None) -> Path:
    path = (root or settings.project_home()) / DICTIONARY
    path.write_text(render_dictionary(load_contract()), encoding="utf-8")
    return path
