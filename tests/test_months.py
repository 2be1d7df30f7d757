"""A month given by hand (DAG params, the CLI, the rating and mart steps) is ``YYYY-MM`` between
2000-01 and 2100-12; anything else fails with one clear message naming the value, the form and the
range, never a Python message ("unconverted data remains: 3", OverflowError)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gospublic.cli import main as cli_main
from gospublic.marts.steps import build as build_months
from gospublic.marts.steps import months_to_build
from gospublic.rating.steps import rate, rated_month

BAD_MONTHS = ["2025-13", "0000-01", "9999-12", "2025-1", "abc", "2025-11-05", "2025-00", "1999-12", "2101-01",
              " 2025-11", "2025/11", "２０２５-11"]  # fmt: skip
RUN_AFTER = datetime(2025, 12, 5, tzinfo=UTC)


def assert_clear(message: str, value: str) -> None:
    assert repr(value) in message
    assert "YYYY-MM between 2000-01 and 2100-12" in message
    for python_message in ("unconverted data", "does not match format", "out of range for", "Overflow"):
        assert python_message not in message


@pytest.mark.parametrize("value", BAD_MONTHS)
def test_months_to_build_and_rated_month_refuse_an_impossible_month(value: str) -> None:
    for step in (months_to_build, rated_month):
        with pytest.raises(ValueError) as raised:
            step(value, RUN_AFTER)
        assert_clear(str(raised.value), value)


@pytest.mark.parametrize("value", ["2025-13", "9999-12", "0000-01"])
def test_the_build_and_rate_steps_refuse_before_touching_the_warehouse(value: str) -> None:
    with pytest.raises(ValueError) as raised:
        build_months([value])
    assert_clear(str(raised.value), value)
    with pytest.raises(ValueError) as raised:
        rate(value, publish=False)
    assert_clear(str(raised.value), value)


def test_good_months_and_the_range_ends_pass() -> None:
    assert months_to_build("2025-11", RUN_AFTER) == ["2025-11"]
    assert months_to_build(None, RUN_AFTER) == ["2025-11", "2025-12"]
    assert rated_month("2000-01", RUN_AFTER) == "2000-01"
    assert rated_month("2100-12", RUN_AFTER) == "2100-12"
    assert rated_month(None, RUN_AFTER) == "2025-11"


def test_the_month_helpers_refuse_dates_out_of_range() -> None:
    from transforms.months import MonthError, next_month, parse_month, previous_month

    assert parse_month(date(2025, 11, 17)) == date(2025, 11, 1)
    assert next_month(date(2100, 12, 1)) == date(2101, 1, 1)
    assert previous_month(date(2000, 1, 1)) == date(1999, 12, 1)
    with pytest.raises(MonthError, match=r"'9999-12' is not a month \(out of range\)"):
        parse_month(date(9999, 12, 31))


@pytest.mark.parametrize("value", ["2025-13", "9999-12", "2025-11-05"])
def test_the_cli_names_the_value_and_the_form(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["rating-summary", "--month", value])
    assert exited.value.code == 2
    assert_clear(capsys.readouterr().err, value)


@pytest.mark.airflow
@pytest.mark.parametrize("dag_id", ["warehouse_build", "monthly_rating"])
def test_dag_params_refuse_an_impossible_month_when_triggered(dagbag, dag_id: str) -> None:
    """The trigger form shows the form and range; Airflow's refusal names the value and the pattern
    (the task's own check, above, gives the plain message)."""
    from airflow.sdk.exceptions import ParamValidationError

    from transforms.months import MONTH_PATTERN

    param = dagbag.get_dag(dag_id).params.get_param("month")
    assert param.description.startswith("YYYY-MM between 2000-01 and 2100-12")
    for value in BAD_MONTHS:
        with pytest.raises(ParamValidationError) as raised:
            param.resolve(value)
        assert repr(value) in str(raised.value) and MONTH_PATTERN in str(raised.value)
    assert param.resolve("2025-11") == "2025-11"
    assert param.resolve(None) is None
