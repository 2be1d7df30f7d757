"""Executor name → body (``org_id``) through the registry's aliases.

Names match on ``transforms.names.normalize_alias`` (case, spaces, «кавычки», ё/е) within the
file's region. When aliases of several versions match, the version valid on the day of
registration decides; a name that is an alias of two different bodies that day is ambiguous and
stays unresolved, like an unknown one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pandas as pd

from transforms.names import normalize_alias

FAR_FUTURE = dt.date(9999, 12, 31)


class ExecutorResolver:
    """Resolves executor names of one region; built from rows of ``core.dim_org_alias`` ⋈ ``dim_org``."""

    def __init__(self, aliases: pd.DataFrame) -> None:
        """``aliases`` has columns alias_key, org_id, valid_from, valid_to (dates; valid_to may be null)."""
        self._by_key: dict[str, list[tuple[str, dt.date, dt.date]]] = defaultdict(list)
        columns = (aliases[c].tolist() for c in ("alias_key", "org_id", "valid_from", "valid_to"))
        for key, org_id, start, end in zip(*columns, strict=True):
            self._by_key[str(key)].append(
                (str(org_id), _date(start) or dt.date.min, _date(end) or FAR_FUTURE)
            )

    def resolve_one(self, executor: str | None, day: dt.date | None) -> str | None:
        if not isinstance(executor, str) or not executor:
            return None
        candidates = self._by_key.get(normalize_alias(executor), [])
        if isinstance(day, dt.date) and not pd.isna(day):
            valid = {org for org, start, end in candidates if start <= day < end}
            if valid:
                return valid.pop() if len(valid) == 1 else None
        orgs = {org for org, _, _ in candidates}
        return orgs.pop() if len(orgs) == 1 else None

    def resolve(self, executors: pd.Series, days: pd.Series) -> pd.Series:
        """``org_id`` per row (None when unknown or ambiguous); ``days`` are local registration dates."""
        pairs = pd.DataFrame({"executor": executors, "day": days})
        unique = pairs.drop_duplicates()
        found = {
            (executor, day): self.resolve_one(executor, day)
            for executor, day in unique.itertuples(index=False)
        }
        return pd.Series(
            [found[(e, d)] for e, d in pairs.itertuples(index=False)], index=executors.index, dtype=object
        )


def _date(value: object) -> dt.date | None:
    if type(value) is dt.date:  # the common case, first: pd.isna costs more than the rest
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    date: dt.date = pd.Timestamp(value).date()
    return date
