"""Run the model files of ``sql/`` for one partition, in the order a step of ``sql/models.yml`` gives
(``gospublic.infra.model_graph``: ``run_models(conn, graph().step("vk"), params)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.sql_files import inserted_tables, model_files, split_statements
from gospublic.infra.warehouse import analyze, run_script


def run_models(
    conn: sa.Connection, names: Sequence[str], params: Mapping[str, Any], root: Path | None = None
) -> None:
    """Run the named models (``"core/020_fct_post.sql"``…) in the given order on ``conn``.

    On PostgreSQL a table is analyzed after a statement inserts into it, when it has no
    statistics yet or the rows inserted are more than a tenth of those its statistics count: the
    statements after it in the same transaction read it, and a join planned without statistics
    can cost minutes.
    """
    files = {f.name: f for f in model_files(root or settings.sql_dir())}
    missing = [name for name in names if name not in files]
    if missing:
        raise FileNotFoundError(f"no such models in sql/: {missing}")
    for name in names:
        for statement in split_statements(files[name].text):
            written = run_script(conn, statement, params)
            analyze(conn, inserted_tables(statement), rows_written=written)
