"""Great Expectations validation of pandas frames, turned into row-level quarantine decisions.

Suites live in ``expectations/<suite>.json`` (``suite.to_json_dict()`` format). A failed
expectation that names rows (column map and multi-column expectations) quarantines those rows with
the expectation as the reason; a failed expectation about the whole table (row count, column set)
fails the validation, because no row can be blamed for it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gospublic.infra import settings

log = logging.getLogger(__name__)

UNIQUE = "expect_column_values_to_be_unique"
PER_FRAME = "#frame"  # suffix of a column's values keyed by frame, for validate_frames


class ValidationError(RuntimeError):
    """A table-level expectation failed: the input as a whole is unusable."""


@dataclass(frozen=True)
class RowFailure:
    """One row that broke one expectation."""

    row: Any  # the frame's index label of the row
    column: str | None
    reason: str
    value: Any
    severity: str = "critical"  # "warning": reported, the row still loads
    rule: str | None = None  # the expectation's meta.rule, for callers that treat it specially
    expectation: str = ""  # the expectation's type


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's verdict on a frame (kept per file in ``audit.validation_results``)."""

    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int
    unexpected_count: int
    reason: str


@dataclass
class ValidationOutcome:
    """What a suite said about a frame."""

    suite: str
    rows: int
    evaluated: int = 0
    row_failures: list[RowFailure] = field(default_factory=list)
    table_failures: list[str] = field(default_factory=list)
    results: list[ExpectationResult] = field(default_factory=list)

    @property
    def failed_rows(self) -> set[Any]:
        """Rows that broke an expectation of severity other than ``warning``."""
        return {f.row for f in self.row_failures if f.severity != "warning"}

    @property
    def success(self) -> bool:
        return not self.row_failures and not self.table_failures

    def raise_for_table(self, source: str) -> None:
        if self.table_failures:
            raise ValidationError(f"{source}: suite {self.suite} failed: {'; '.join(self.table_failures)}")


def suite_path(suite: str) -> Path:
    return settings.project_home() / "expectations" / f"{suite}.json"


def load_suite_dict(suite: str) -> dict[str, Any]:
    """The suite's JSON as a dict (fails clearly when the file is missing)."""
    path = suite_path(suite)
    if not path.exists():
        raise FileNotFoundError(f"expectation suite {suite!r} not found at {path}")
    suite_dict: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return suite_dict


def validate_frame(frame: pd.DataFrame, suite: str) -> ValidationOutcome:
    """Run ``expectations/<suite>.json`` on ``frame``; rows are named by the frame's index."""
    return _validate(frame, suite)


def _validate(frame: pd.DataFrame, suite: str, frame_of_row: np.ndarray | None = None) -> ValidationOutcome:
    """:func:`validate_frame`; with ``frame_of_row`` (the frames concatenated into ``frame``, by
    number) each uniqueness expectation holds within each frame, not across them."""
    per_frame = frame_of_row is not None
    definition, columns = _definition(suite, suite_path(suite).stat().st_mtime_ns, per_frame)
    labels = list(frame.index)
    checked = frame[[c for c in frame.columns if c in columns]] if columns else frame
    if frame_of_row is not None:
        numbers = pd.Series(frame_of_row.astype(str), index=frame.index, dtype=object)
        keyed = {
            _per_frame(column): (numbers + "\x1f" + frame[column].astype(str)).where(
                frame[column].notna(), None
            )
            for column in _unique_columns(suite)
        }
        checked = checked.assign(**keyed)
    result = definition.run(
        batch_parameters={"dataframe": checked.reset_index(drop=True)},
        result_format={"result_format": "COMPLETE"},
    )
    outcome = ValidationOutcome(suite=suite, rows=len(frame), evaluated=len(result.results))
    for item in result.results:
        config = item.expectation_config
        reason = _reason(config.type, config.kwargs, config.meta)
        column = config.kwargs.get("column") or config.kwargs.get("column_A")
        column = column.removesuffix(PER_FRAME) if isinstance(column, str) else column
        severity = str(getattr(config, "severity", None) or (config.meta or {}).get("severity") or "critical")
        severity = severity.rsplit(".", 1)[-1].lower()
        outcome.results.append(
            ExpectationResult(
                expectation=config.type,
                column=column,
                severity=severity,
                success=bool(item.success),
                element_count=int(item.result.get("element_count") or len(frame)),
                unexpected_count=int(item.result.get("unexpected_count") or 0),
                reason=reason,
            )
        )
        if item.success:
            continue
        indices = item.result.get("unexpected_index_list")
        values = item.result.get("unexpected_list") or []
        if indices is None:
            outcome.table_failures.append(f"{reason} (observed {item.result.get('observed_value')!r})")
            continue
        rule = (config.meta or {}).get("rule")
        # GX lists only the first values of a long list; a one-column expectation's are the frame's
        own = (
            checked[column].to_numpy() if config.kwargs.get("column") and column in checked.columns else None
        )
        for position, index in enumerate(indices):
            row = _row_position(index)
            value = (
                _plain(own[row]) if own is not None else values[position] if position < len(values) else None
            )
            outcome.row_failures.append(
                RowFailure(labels[row], column, reason, value, severity, rule, config.type)
            )
    log.info(
        "suite %s on %d rows: %d expectations, %d rows failed, %d table failures",
        suite,
        outcome.rows,
        outcome.evaluated,
        len(outcome.failed_rows),
        len(outcome.table_failures),
    )
    return outcome


def validate_frames(frames: list[pd.DataFrame], suite: str) -> list[ValidationOutcome]:
    """:func:`validate_frame` of each frame, from one run of the suite over all of them (its fixed
    cost, building the metric graph, is most of a small frame's validation).

    Each frame gets its own outcome, as if validated alone: its rows' failures and each
    expectation's counts over its rows; a uniqueness expectation holds within each frame. A
    table-level failure (no row to blame, so no frame) is settled by validating each frame alone."""
    if len(frames) <= 1:
        return [validate_frame(frame, suite) for frame in frames]
    sizes = [len(frame) for frame in frames]
    frame_of_row = np.repeat(np.arange(len(frames)), sizes)
    whole = _validate(pd.concat(frames, ignore_index=True), suite, frame_of_row)  # rows named 0..n-1
    if whole.table_failures:
        return [validate_frame(frame, suite) for frame in frames]
    starts = np.cumsum([0, *sizes])
    failures_of: list[list[RowFailure]] = [[] for _ in frames]
    counts: Counter[tuple[int, str, str | None, str]] = Counter()
    for failure in whole.row_failures:
        number = int(frame_of_row[failure.row])
        row = frames[number].index[failure.row - starts[number]]
        failures_of[number].append(dataclasses.replace(failure, row=row))
        counts[(number, failure.expectation, failure.column, failure.reason)] += 1
    outcomes = []
    for number, frame in enumerate(frames):
        outcome = ValidationOutcome(suite=suite, rows=len(frame), evaluated=whole.evaluated)
        outcome.row_failures = failures_of[number]
        for item in whole.results:
            unexpected = counts[(number, item.expectation, item.column, item.reason)]
            outcome.results.append(
                dataclasses.replace(
                    item, success=unexpected == 0, element_count=len(frame), unexpected_count=unexpected
                )
            )
        outcomes.append(outcome)
    return outcomes


def _per_frame(column: str) -> str:
    return f"{column}{PER_FRAME}"


@cache
def _unique_columns(suite: str) -> tuple[str, ...]:
    return tuple(
        str(e["kwargs"]["column"])
        for e in load_suite_dict(suite).get("expectations", [])
        if e.get("type") == UNIQUE
    )


@cache
def _definition(suite: str, _mtime_ns: int, per_frame: bool = False) -> tuple[Any, frozenset[str]]:
    """The suite's validation definition, made once per process and suite version (building it
    costs more than validating a small file), and the columns its expectations read (the frame
    handed to GX is cut to those). ``per_frame``: each uniqueness expectation reads its column's
    values keyed by frame (``<column>#frame``), so that it holds within each frame."""
    import great_expectations as gx

    context = _context()
    suite_dict = load_suite_dict(suite)
    if per_frame:
        suite_dict = {**suite_dict, "name": f"{suite_dict.get('name', suite)}{PER_FRAME}"}
        suite_dict["expectations"] = [_keyed_by_frame(e) for e in suite_dict.get("expectations", [])]
    suite_obj = context.suites.add_or_update(gx.ExpectationSuite(**suite_dict))
    name = f"{suite}-{uuid.uuid4().hex}"
    asset = f"{suite}{PER_FRAME}" if per_frame else suite
    definition = gx.ValidationDefinition(data=_batch_definition(context, asset), suite=suite_obj, name=name)
    expectations = suite_dict.get("expectations", [])
    columns: set[str] = set()
    for expectation in expectations:
        kwargs = expectation.get("kwargs", {})
        columns.update(str(kwargs[k]) for k in ("column", "column_A", "column_B") if kwargs.get(k))
        columns.update(str(c) for c in kwargs.get("column_list") or [])
    if per_frame:  # failing rows show the column's own values
        columns.update(_unique_columns(suite))
    reads_more = any(  # table-level expectations and row conditions see other columns too
        not e.get("type", "").startswith("expect_column") or e.get("kwargs", {}).get("row_condition")
        for e in expectations
    )
    return definition, frozenset() if reads_more else frozenset(columns)


def _keyed_by_frame(expectation: dict[str, Any]) -> dict[str, Any]:
    """A uniqueness expectation moved to its column's per-frame keys (its reason unchanged)."""
    if expectation.get("type") != UNIQUE:
        return expectation
    kwargs, meta = dict(expectation.get("kwargs", {})), dict(expectation.get("meta") or {})
    meta.setdefault("reason", _reason(UNIQUE, kwargs, meta))
    kwargs["column"] = _per_frame(str(kwargs["column"]))
    return {**expectation, "kwargs": kwargs, "meta": meta, "id": None}


@cache
def _context() -> Any:
    """One ephemeral context per process (each creates a temporary docs folder)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except (ImportError, AttributeError):  # pragma: no cover - older or newer GX
        pass
    return context


def _batch_definition(context: Any, suite: str) -> Any:
    name = "gospublic_frames"
    try:
        source = context.data_sources.get(name)
    except (KeyError, ValueError, LookupError):
        source = context.data_sources.add_pandas(name)
    try:
        asset = source.get_asset(suite)
    except (KeyError, LookupError):
        asset = source.add_dataframe_asset(suite)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _plain(value: Any) -> Any:
    """A frame's cell as GX would list it: None when missing, Python scalars for NumPy ones."""
    if value is None or (not isinstance(value, str | bytes | tuple | list) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _row_position(index: Any) -> int:
    if isinstance(index, dict):  # multi-column expectations may name the row in a dict
        return int(index.get("index", next(iter(index.values()))))
    return int(index)


def _reason(kind: str, kwargs: dict[str, Any], meta: dict[str, Any] | None) -> str:
    """The expectation as a short reason; ``meta.reason`` wins when the suite gives one."""
    if meta and meta.get("reason"):
        return str(meta["reason"])
    shown = {k: v for k, v in kwargs.items() if k not in ("batch_id", "result_format")}
    arguments = ", ".join(f"{k}={v!r}" for k, v in shown.items())
    return f"{kind}({arguments})"
