"""Failures that retrying cannot heal fail the task at its first attempt (issue 26)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from gospublic.infra.warehouse import Warehouse
from gospublic.orchestration.failures import NON_RETRYABLE, fail_fast, non_retryable_reason

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(NON_RETRYABLE))
def test_every_non_retryable_name_is_an_exception_class(name: str) -> None:
    module, _, cls = name.rpartition(".")
    found = getattr(importlib.import_module(module), cls)
    assert isinstance(found, type) and issubclass(found, Exception), name


def test_fail_fast_turns_only_non_retryable_errors_into_airflow_fail() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from gospublic.infra.migrations import MigrationEditedError, MigrationError
    from gospublic.marts.check import MartCheckError

    def raising(exc: Exception) -> None:
        raise exc

    with pytest.raises(AirflowFailException, match="not retried"):
        fail_fast(raising)(MartCheckError("reconciliation failed"))
    with pytest.raises(AirflowFailException):
        fail_fast(raising)(MigrationEditedError("edited"))
    # a migration that failed (connection lost, lock) may heal: retried as before
    with pytest.raises(MigrationError):
        fail_fast(raising)(MigrationError("migration 0001 failed: server closed the connection"))
    with pytest.raises(TimeoutError):
        fail_fast(raising)(TimeoutError("VK did not answer"))
    assert non_retryable_reason(ValueError("x")) is None


@pytest.mark.airflow
@pytest.mark.slow
def test_an_edited_migration_fails_once_and_is_not_retried(
    airflow_home, warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """warehouse_migrate as production parses it (retries 2): an edited migration is one attempt."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("GOSPUBLIC_TASK_RETRIES", "2")
    dag = DagBag(dag_folder=str(PROJECT / "dags" / "warehouse_migrate.py")).get_dag("warehouse_migrate")
    assert dag.get_task("apply_migrations").retries == 2
    assert dag.test().state == "success"

    warehouse.execute_script(
        "UPDATE audit.schema_migrations SET checksum = 'edited' "
        "WHERE migration = (SELECT MIN(migration) FROM audit.schema_migrations);"
    )
    run = dag.test()
    ti = run.get_task_instance("apply_migrations")
    assert run.state == "failed"
    assert ti.state == "failed"  # not up_for_retry
    assert ti.try_number == 1
    assert ti.max_tries == 2
