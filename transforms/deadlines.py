"""The deadline an incident's answer is measured against (``config/marts.yaml`` → ``deadlines``).

A region's own deadline names its ``source``, the regulation that sets it: how a rating scores
speed (Ulyanovsk's full points within 8 hours) is the methodology's business, never a deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from transforms.worktime import add_work_hours


@dataclass(frozen=True)
class DeadlineRule:
    """One rule: calendar hours, working hours, or the export's own due date (else calendar days)."""

    hours: float | None = None
    work_hours: float | None = None
    export_due: bool = False
    days: float | None = None

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> DeadlineRule:
        if unknown := set(raw) - {"hours", "work_hours", "export_due", "days", "source"}:
            raise ValueError(f"deadline rule {raw!r}: unknown keys {sorted(unknown)}")
        rule = cls(
            hours=raw.get("hours"),
            work_hours=raw.get("work_hours"),
            export_due=bool(raw.get("export_due", False)),
            days=raw.get("days"),
        )
        if rule.hours is None and rule.work_hours is None and not rule.export_due and rule.days is None:
            raise ValueError(f"deadline rule {raw!r} sets none of hours, work_hours, export_due, days")
        return rule

    def describe(self) -> str:
        if self.work_hours is not None:
            return f"{self.work_hours:g} working hours"
        if self.hours is not None:
            return f"{self.hours:g} hours"
        if self.export_due:
            return f"export due date, else {self.days:g} days" if self.days else "export due date"
        return f"{self.days:g} days"


class Deadlines:
    """Rules by source and region."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._rules: dict[tuple[str, str | None], DeadlineRule] = {}
        for source, spec in config.items():
            self._rules[(source, None)] = DeadlineRule.from_config(spec["default"])
            for region, rule in (spec.get("regions") or {}).items():
                if not str(rule.get("source") or "").strip():
                    raise ValueError(
                        f"deadlines.{source}.regions.{region}: a region's deadline needs its source "
                        "(the regulation that sets it); a rating's scoring rule is not a deadline"
                    )
                self._rules[(source, str(region))] = DeadlineRule.from_config(rule)

    def rule(self, source: str, region_code: str) -> DeadlineRule:
        try:
            return self._rules.get((source, region_code)) or self._rules[(source, None)]
        except KeyError:
            raise ValueError(f"no deadline rule for source {source!r}") from None

    def deadline_at(
        self, source: str, region_code: str, registered_at: pd.Series, export_due: pd.Series, tz: str
    ) -> tuple[pd.Series, str]:
        """Deadlines (UTC) of one source's incidents of one region, and the rule's description."""
        rule = self.rule(source, region_code)
        if rule.work_hours is not None:
            hours = float(rule.work_hours)
            values = [add_work_hours(ts.to_pydatetime(), hours, tz) for ts in registered_at]
            result = pd.Series(pd.to_datetime(values, utc=True), index=registered_at.index)
        elif rule.hours is not None:
            result = registered_at + pd.Timedelta(hours=float(rule.hours))
        else:
            fallback = registered_at + pd.Timedelta(days=float(rule.days or 0))
            result = export_due.where(export_due.notna(), fallback) if rule.export_due else fallback
        return pd.to_datetime(result, utc=True), rule.describe()
