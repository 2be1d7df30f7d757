"""Municipalities (OKTMO) of the sandbox's regions: the registry's ``municipality`` and ``oktmo``.

Penza oblast (region 58) has its real 27 municipal districts and 3 city districts; OKTMO numbers
Penza oblast 56, its municipal districts 566xx000 and its city districts 567xx000. The codes are
sample data: six district codes were checked against published OKTMO listings (``CHECKED``); the
others follow the classifier's structure (districts in alphabetical order) and must be replaced
from the official OKTMO before real use (docs/registry-format.md). Other regions get synthetic
codes: their region code as prefix, then 6 (districts) or 7 (city districts) and a serial number;
numbered municipalities (more districts than names) get 9 and their number.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.generator.regions import Region


@dataclass(frozen=True)
class Municipality:
    """A municipality as orgs.csv names it."""

    name: str  # «Башмаковский муниципальный район», «город Пенза»
    oktmo: str  # 8 digits


REGION_WIDE = Municipality("", "")  # bodies of the whole region (ministries, regional operators)
CAPITAL = "capital"  # the place key of the regional capital

# Penza oblast: 27 municipal districts (alphabetical, as PENZA_DISTRICTS) and 3 city districts.
PENZA_DISTRICT_OKTMO = {
    "Башмаковский": "56603000",
    "Бековский": "56606000",
    "Белинский": "56609000",
    "Бессоновский": "56613000",
    "Вадинский": "56615000",
    "Городищенский": "56618000",
    "Земетчинский": "56621000",
    "Иссинский": "56624000",
    "Каменский": "56629000",
    "Камешкирский": "56630000",
    "Колышлейский": "56633000",
    "Кузнецкий": "56637000",
    "Лопатинский": "56640000",
    "Лунинский": "56642000",
    "Малосердобинский": "56644000",
    "Мокшанский": "56645000",
    "Наровчатский": "56647000",
    "Неверкинский": "56649000",
    "Нижнеломовский": "56651000",
    "Никольский": "56652000",
    "Пачелмский": "56654000",
    "Пензенский": "56655000",
    "Сердобский": "56656000",
    "Сосновоборский": "56657000",
    "Спасский": "56658000",
    "Тамалинский": "56660000",
    "Шемышейский": "56662000",
}
PENZA_CITY_OKTMO = {"Пенза": "56701000", "Кузнецк": "56705000", "Заречный": "56734000"}
# Checked against published OKTMO listings (OK 033-2013); every other code is sample data.
CHECKED = frozenset({"56603000", "56613000", "56644000", "56647000", "56654000", "56656000"})


def district(region: Region, adjective: str, index: int) -> Municipality:
    """The municipal district named by ``adjective`` (``index``: its place in the region's list)."""
    name = f"{adjective} муниципальный район"
    if region.code == "58" and adjective in PENZA_DISTRICT_OKTMO:
        return Municipality(name, PENZA_DISTRICT_OKTMO[adjective])
    return Municipality(name, f"{_prefix(region)}6{index + 1:02d}000")


def city(region: Region, town: str, index: int) -> Municipality:
    """The city district of ``town`` (index 0 is the capital)."""
    if region.code == "58" and town in PENZA_CITY_OKTMO:
        return Municipality(f"город {town}", PENZA_CITY_OKTMO[town])
    return Municipality(f"город {town}", f"{_prefix(region)}7{index + 1:02d}000")


def numbered(region: Region, number: int) -> Municipality:
    """A numbered municipality of a region with more districts than names (synthetic 9xx codes,
    outside the classifier's ranges, so they never take a real district's code)."""
    return Municipality(f"муниципальное образование № {number}", f"{_prefix(region)}9{number % 100:02d}000")


def _prefix(region: Region) -> str:
    """Two digits: OKTMO's 56 for Penza oblast, the region's own code (synthetic) elsewhere."""
    return "56" if region.code == "58" else region.code[:2]
