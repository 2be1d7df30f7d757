"""What other pipelines read from the loaded registry: region time zones, executor resolvers."""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from transforms.executor_resolve import ExecutorResolver


def region_timezones(warehouse: Warehouse) -> dict[str, str]:
    """Each registry region's IANA zone: the one most of its bodies have (ties: alphabetical)."""
    rows = warehouse.query(
        "SELECT region_code, timezone, COUNT(*) AS bodies FROM core.dim_org GROUP BY region_code, timezone"
    )
    zones: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (-int(r["bodies"]), str(r["timezone"]))):
        zones.setdefault(str(row["region_code"]), str(row["timezone"]))
    return zones


def executor_resolvers(warehouse: Warehouse) -> dict[str, ExecutorResolver]:
    """An executor resolver per registry region, from one read of every alias (through Arrow: a
    national registry has ~290,000 aliases, whose rows as Python tuples cost seconds a run)."""
    aliases = warehouse.query_frame(
        "SELECT a.region_code, a.alias_key, a.org_id, o.valid_from, o.valid_to "
        "FROM core.dim_org_alias AS a JOIN core.dim_org AS o "
        "ON o.org_id = a.org_id AND o.version = a.version"
    )
    return {str(region): ExecutorResolver(rows) for region, rows in aliases.groupby("region_code")}
