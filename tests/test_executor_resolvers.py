"""Executor resolvers read from the loaded registry (``gospublic.registry.lookups``): one per region,
read through Arrow, resolving every alias on every day of its versions as resolvers built from the
rows as Python values do."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from gospublic.registry.lookups import executor_resolvers
from tests.registry_csv import SAMPLE
from transforms.executor_resolve import ExecutorResolver

ALIASES = (
    "SELECT a.region_code, a.alias_key, a.org_id, o.valid_from, o.valid_to "
    "FROM core.dim_org_alias AS a JOIN core.dim_org AS o ON o.org_id = a.org_id AND o.version = a.version"
)


def test_resolvers_resolve_as_from_python_rows(migrated: Warehouse) -> None:
    load_registry(migrated, SAMPLE)
    rows = migrated.query(ALIASES)
    assert any(r["valid_to"] is not None for r in rows), "the sample registry has renamed bodies"
    expected = {
        str(region): ExecutorResolver(frame)
        for region, frame in pd.DataFrame(rows).groupby("region_code")  # rows as the driver gives them
    }

    resolvers = executor_resolvers(migrated)

    assert resolvers.keys() == expected.keys()
    days: list[dt.date | None] = [None]
    for row in rows:
        for bound in (row["valid_from"], row["valid_to"]):
            if bound is not None:
                days += [bound - dt.timedelta(days=1), bound, bound + dt.timedelta(days=1)]
    checked = 0
    for row in rows:
        region, alias = str(row["region_code"]), str(row["alias_key"])
        for day in days:
            found = resolvers[region].resolve_one(alias, day)
            assert found == expected[region].resolve_one(alias, day), (region, alias, day)
            checked += found is not None
    assert checked  # aliases resolve at all


def test_resolver_reads_dates_as_dates_timestamps_or_missing() -> None:
    """The same bodies whether a frame's dates are dates, timestamps or missing (None, NaT)."""
    as_dates = pd.DataFrame(
        {
            "alias_key": ["a", "a", "b"],
            "org_id": ["org-1", "org-2", "org-3"],
            "valid_from": [dt.date(2025, 1, 1), dt.date(2025, 6, 1), dt.date(2025, 1, 1)],
            "valid_to": [dt.date(2025, 6, 1), None, None],
        }
    )
    as_stamps = as_dates.assign(
        valid_from=pd.to_datetime(as_dates["valid_from"]), valid_to=pd.to_datetime(as_dates["valid_to"])
    )
    for frame in (as_dates, as_stamps):
        resolver = ExecutorResolver(frame)
        assert resolver.resolve_one("a", dt.date(2025, 5, 31)) == "org-1"
        assert resolver.resolve_one("a", dt.date(2025, 6, 1)) == "org-2"
        assert resolver.resolve_one("a", None) is None  # two bodies: ambiguous without a day
        assert resolver.resolve_one("b", dt.date(2030, 1, 1)) == "org-3"
