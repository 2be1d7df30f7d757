"""The test harness itself: importing ``tests/conftest.py`` a second time (as ``tests.conftest``,
beside pytest's ``conftest``) keeps the session's Airflow home, so child processes started later
still find the metadata database the session migrated."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def test_a_second_import_of_the_root_conftest_keeps_the_session_folder() -> None:
    before = {key: os.environ[key] for key in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")}
    spec = importlib.util.spec_from_file_location(
        "conftest_imported_again", Path(__file__).with_name("conftest.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    after = {key: os.environ[key] for key in before}
    assert after == before
    assert str(module._SESSION_DIR) in before["AIRFLOW_HOME"]
