"""A Great Expectations suite (its JSON, ``expectations/<suite>.json``) run as SQL on a table.

Each row expectation of the suite becomes a condition naming the rows that break it, with the
semantics GX gives it on a frame: missing values are not checked by value-set, range and pair
expectations (``ignore_row_if: either_value_is_missing``), a uniqueness expectation names every
row of a repeated value. The verdicts (``RuleResult``: rows checked, rows unexpected) are those GX
reports per expectation, so ``audit.validation_result`` reads the same. An expectation type this
module does not know fails loudly rather than being skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transforms.incident_stage import sql_text

NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
PAIR_GREATER = "expect_column_pair_values_a_to_be_greater_than_b"


@dataclass(frozen=True)
class RuleFailure:
    """One expectation as SQL: the rows that break it (``where``) and what names them."""

    expectation: str
    column: str | None  # the column its failures name (``column`` or ``column_A``)
    columns: tuple[str, ...]  # every column it reads
    reason: str
    severity: str
    rule: str | None
    where: str
    repeated: str | None = None  # a uniqueness rule: the column whose repeated values it names

    def first_row_sql(self, eligible: str = "true") -> str:
        """SQL of the first row, among those where ``eligible`` holds, of the value a uniqueness rule
        finds repeated (NULL for another rule)."""
        if self.repeated is None:
            return "NULL"
        return f"min(CASE WHEN {eligible} THEN row_number END) OVER (PARTITION BY {self.repeated})"


@dataclass(frozen=True)
class RuleResult:
    """One expectation's verdict on the table (as GX reports it)."""

    expectation: str
    column: str | None
    severity: str
    element_count: int
    unexpected_count: int
    reason: str


def suite_rules(suite: dict[str, Any]) -> list[RuleFailure]:
    """The suite's expectations as SQL conditions."""
    rules = []
    for expectation in suite.get("expectations", []):
        kind = str(expectation["type"])
        kwargs = expectation.get("kwargs", {})
        meta = expectation.get("meta") or {}
        severity = str(expectation.get("severity") or meta.get("severity") or "critical")
        severity = severity.rsplit(".", 1)[-1].lower()
        column = kwargs.get("column") or kwargs.get("column_A")
        columns = tuple(str(kwargs[k]) for k in ("column", "column_A", "column_B") if kwargs.get(k))
        where, repeated = _condition(kind, kwargs)
        reason = _reason(kind, kwargs, meta)
        rules.append(RuleFailure(kind, column, columns, reason, severity, meta.get("rule"), where, repeated))
    return rules


def _condition(kind: str, kwargs: dict[str, Any]) -> tuple[str, str | None]:
    """The rows that break an expectation, and for a uniqueness rule the column it partitions by."""
    column = kwargs.get("column")
    if kwargs.get("row_condition") or kwargs.get("mostly") not in (None, 1, 1.0):
        raise ValueError(f"{kind}: row_condition and mostly are not supported in SQL")
    if kind == NOT_NULL:
        return f"{column} IS NULL", None
    if kind == UNIQUE:
        repeated = f"count({column}) OVER (PARTITION BY {column}) > 1"
        return f"{column} IS NOT NULL AND {repeated}", str(column)
    if kind == IN_SET:
        values = ", ".join(sql_text(str(v)) for v in kwargs["value_set"])
        return f"{column} IS NOT NULL AND {column} NOT IN ({values})", None
    if kind == BETWEEN:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        below = "<=" if kwargs.get("strict_min") else "<"
        above = ">=" if kwargs.get("strict_max") else ">"
        tests = ([f"{column} {below} {low}"] if low is not None else []) + (
            [f"{column} {above} {high}"] if high is not None else []
        )
        return f"{column} IS NOT NULL AND ({' OR '.join(tests) or 'false'})", None
    if kind == PAIR_GREATER:
        a, b = kwargs["column_A"], kwargs["column_B"]
        if kwargs.get("ignore_row_if", "both_values_are_missing") != "either_value_is_missing":
            raise ValueError(f"{kind}: only ignore_row_if=either_value_is_missing is supported in SQL")
        compare = "<" if kwargs.get("or_equal") else "<="
        return f"{a} IS NOT NULL AND {b} IS NOT NULL AND {a} {compare} {b}", None
    raise ValueError(f"expectation {kind} has no SQL form here; add it to transforms/incident_rules.py")


def _reason(kind: str, kwargs: dict[str, Any], meta: dict[str, Any] | None) -> str:
    """The expectation as a short reason; ``meta.reason`` wins (as ``gospublic.infra.validation``)."""
    if meta and meta.get("reason"):
        return str(meta["reason"])
    shown = {k: v for k, v in kwargs.items() if k not in ("batch_id", "result_format")}
    return f"{kind}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def run_rules(con: Any, table: str, suite: dict[str, Any]) -> tuple[list[RuleFailure], list[RuleResult]]:
    """The suite's rules and their verdicts on ``table`` (one query for every count)."""
    rules = suite_rules(suite)
    if not rules:
        return [], []
    counts = ", ".join(f"count(*) FILTER (WHERE f{i})" for i in range(len(rules)))
    flags = ", ".join(f"({rule.where}) AS f{i}" for i, rule in enumerate(rules))
    found = con.execute(f"SELECT count(*), {counts} FROM (SELECT {flags} FROM {table})").fetchall()[0]
    total = int(found[0])
    results = [
        RuleResult(rule.expectation, rule.column, rule.severity, total, int(found[i + 1]), rule.reason)
        for i, rule in enumerate(rules)
    ]
    return rules, results
