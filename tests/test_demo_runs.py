"""The demo's runs carry the times they really ran (issue 26: dag.test() starts them at their
logical date, so a run of last year's day lasted a year in the UI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.airflow


PROBE = """
from datetime import UTC, datetime
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("demo_times_probe", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    EmptyOperator(task_id="nothing")
"""


def test_a_demo_run_of_an_old_day_lasts_seconds_not_a_year(airflow_home, tmp_path) -> None:
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from sandbox.demo import _real_times

    (tmp_path / "probe.py").write_text(PROBE)
    bag = DagBag(dag_folder=str(tmp_path / "probe.py"))
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    dag = bag.get_dag("demo_times_probe")
    started = datetime.now(UTC)
    run = dag.test(logical_date=datetime(2025, 11, 1, 20, 30, tzinfo=UTC))
    _real_times(run, started)
    with create_session() as session:
        stored = session.query(DagRun).filter(DagRun.run_id == run.run_id, DagRun.dag_id == dag.dag_id).one()
        assert stored.start_date >= started - timedelta(seconds=1)
        assert stored.end_date - stored.start_date < timedelta(minutes=5)


def test_run_dag_records_when_the_run_really_started(airflow_home, tmp_path, monkeypatch) -> None:
    """``make demo``'s warehouse_migrate goes through ``cli.run_dag`` (``airflow dags test``)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from gospublic.cli import run_dag

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "probe.py").write_text(PROBE.replace("demo_times_probe", "run_dag_probe"))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    bag = DagBag(dag_folder=str(tmp_path / "dags"))
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    started = datetime.now(UTC)
    run_dag("run_dag_probe", "2025-11-01", tmp_path / "logs")  # (its state line is the DAG's log's)
    with create_session() as session:
        stored = (
            session.query(DagRun).filter(DagRun.dag_id == "run_dag_probe").order_by(DagRun.id.desc()).first()
        )
        assert stored is not None and stored.state == "success"
        assert stored.start_date >= started - timedelta(seconds=1)
        assert stored.end_date - stored.start_date < timedelta(minutes=5)


def test_make_demo_judges_the_health_of_its_month_as_of_the_day_after_it() -> None:
    """``make demo`` runs ``health --month``: a past month judged on its next day, December too."""
    from datetime import date

    from gospublic.cli import _day_after

    assert _day_after("2025-11") == date(2025, 12, 1)
    assert _day_after("2025-12") == date(2026, 1, 1)
    assert _day_after(None) is None
