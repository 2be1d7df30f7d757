"""The bodies of each municipality for the publication's municipality pages (issue 25).

A body's municipality (name, OKTMO code) is its registry version valid at the month's end
(``mart.dim_org``); bodies of the whole region have none and are not listed. Each body comes with
its incidents of the month (``mart.response_metrics_monthly``, both sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gospublic.infra.warehouse import Warehouse
from transforms.months import next_month, parse_month


@dataclass(frozen=True)
class MunicipalityBody:
    org_id: str
    name: str
    kind: str  # ОМСУ, учреждение, РСО-УК
    rating_group: str | None  # None: not rated on its own (institutions)
    parent_org_id: str | None
    incidents: int  # citizens' messages of the month, IM and ПОС


@dataclass(frozen=True)
class MunicipalityBodies:
    oktmo: str
    name: str  # «Башмаковский муниципальный район», «город Пенза»
    bodies: tuple[MunicipalityBody, ...]  # administrations (ОМСУ) first, then by name

    @property
    def incidents(self) -> int:
        return sum(body.incidents for body in self.bodies)

    @property
    def page(self) -> str:
        """The municipality's page in a publication, named by its OKTMO code."""
        return f"municipalities/{self.oktmo}.html"


KIND_ORDER = {"ОМСУ": 0, "учреждение": 1, "РСО-УК": 2}


def municipality_bodies(warehouse: Warehouse, month: Any) -> list[MunicipalityBodies]:
    """Every municipality with bodies in ``month``: city districts first, then by name."""
    start = parse_month(month)
    rows = warehouse.query(
        "SELECT o.org_id, o.name, o.kind, o.rating_group, o.parent_org_id, o.municipality, o.oktmo, "
        "o.valid_from, COALESCE(m.incidents, 0) AS incidents "
        "FROM mart.dim_org AS o LEFT JOIN (SELECT org_id, SUM(incidents) AS incidents "
        "  FROM mart.response_metrics_monthly WHERE month = :start GROUP BY org_id) AS m "
        "ON m.org_id = o.org_id "
        "WHERE o.oktmo IS NOT NULL AND o.valid_from < :end AND (o.valid_to IS NULL OR o.valid_to >= :end)",
        {"start": start, "end": next_month(start)},
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["valid_from"]):
        latest[str(row["org_id"])] = row  # the version valid at the month's end
    places: dict[tuple[str, str], list[MunicipalityBody]] = {}
    for row in latest.values():
        places.setdefault((str(row["oktmo"]), str(row["municipality"])), []).append(
            MunicipalityBody(
                org_id=str(row["org_id"]),
                name=str(row["name"]),
                kind=str(row["kind"]),
                rating_group=row["rating_group"],
                parent_org_id=row["parent_org_id"],
                incidents=int(row["incidents"]),
            )
        )
    return [
        MunicipalityBodies(
            oktmo, name, tuple(sorted(bodies, key=lambda b: (KIND_ORDER.get(b.kind, 9), b.name, b.org_id)))
        )
        for (oktmo, name), bodies in sorted(
            places.items(), key=lambda item: (not item[0][1].startswith("город "), item[0][1])
        )
    ]
