"""Run the model files of ``sql/`` (staging → core → mart) for one partition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gospublic import settings
from gospublic.sql_files import model_files
from gospublic.warehouse import run_script


def run_models(
    conn: sa.Connection, names: Sequence[str], params: Mapping[str, Any], root: Path | None = None
) -> None:
    """Run the named models (``"core/020_fct_post.sql"``…) in the given order on ``conn``."""
    files = {f.name: f for f in model_files(root or settings.sql_dir())}
    missing = [name for name in names if name not in files]
    if missing:
        raise FileNotFoundError(f"no such models in sql/: {missing}")
    for name in names:
        run_script(conn, files[name].text, params)
