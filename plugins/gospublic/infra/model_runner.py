"""Run the model files of ``sql/`` for one partition, in the order a step of ``sql/models.yml`` gives
(``gospublic.infra.model_graph``). Callers run a step inside a transaction,
``tx.run_models("vk", params)``; ``run_models(conn, graph().step("vk"), params)`` is the entry
point of ``gospublic.infra`` and of the callers that still hold a connection (``marts.build``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic.infra import settings
from gospublic.infra.model_graph import ModelGraph, graph
from gospublic.infra.sql_files import inserted_tables, model_files, split_statements
from gospublic.infra.warehouse import analyze, run_script


def run_models(
    conn: sa.Connection,
    names: Sequence[str],
    params: Mapping[str, Any],
    root: Path | None = None,
    *,
    declared: ModelGraph | None = None,
) -> None:
    """Run the named models (``"core/020_fct_post.sql"``…) in the given order on ``conn``.

    Before the first statement, ``params`` are checked against the parameters the models declare
    in ``sql/models.yml`` (``ModelGraph.check_params``: none missing, none undeclared, each of its
    type). The project's models are checked against the project's graph; models of another
    ``root`` (a test's folder) against ``declared`` when given.

    On PostgreSQL a table is analyzed after a statement inserts into it, when it has no
    statistics yet or the rows inserted are more than a tenth of those its statistics count: the
    statements after it in the same transaction read it, and a join planned without statistics
    can cost minutes.
    """
    checker = declared if declared is not None else graph() if root is None else None
    if checker is not None:
        checker.check_params(names, params)
    files = {f.name: f for f in model_files(root or settings.sql_dir())}
    missing = [name for name in names if name not in files]
    if missing:
        raise FileNotFoundError(f"no such models in sql/: {missing}")
    for name in names:
        for statement in split_statements(files[name].text):
            written = run_script(conn, statement, params)
            analyze(conn, inserted_tables(statement), rows_written=written)
