"""Regions of the sandbox: names, cases, capitals and IANA time zones.

The region preset is Penza-like (its real districts); the national preset takes the regions of
``data/regions.csv`` in order (cycling with numbered copies when asked for more), giving every
region but Penza generic district names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Region:
    """A region as the generator needs it."""

    code: str  # two-digit region code, e.g. "58"
    name: str  # nominative: «Пензенская область»
    genitive: str  # «Пензенской области»
    capital: str  # «Пенза»
    capital_genitive: str  # «Пензы»
    timezone: str  # IANA
    abbreviation: str  # «ПО»


PENZA_DISTRICTS = [
    "Башмаковский",
    "Бековский",
    "Белинский",
    "Бессоновский",
    "Вадинский",
    "Городищенский",
    "Земетчинский",
    "Иссинский",
    "Каменский",
    "Камешкирский",
    "Колышлейский",
    "Кузнецкий",
    "Лопатинский",
    "Лунинский",
    "Малосердобинский",
    "Мокшанский",
    "Наровчатский",
    "Неверкинский",
    "Нижнеломовский",
    "Никольский",
    "Пачелмский",
    "Пензенский",
    "Сердобский",
    "Сосновоборский",
    "Спасский",
    "Тамалинский",
    "Шемышейский",
]
PENZA_TOWNS = ["Заречный", "Кузнецк"]
PENZA_CITY_DISTRICTS = ["Железнодорожного", "Ленинского", "Октябрьского", "Первомайского"]

GENERIC_DISTRICTS = [
    "Октябрьский",
    "Первомайский",
    "Советский",
    "Ленинский",
    "Кировский",
    "Заречный",
    "Северный",
    "Южный",
    "Восточный",
    "Западный",
    "Лесной",
    "Озёрный",
    "Нагорный",
    "Приволжский",
    "Заводской",
    "Центральный",
    "Березовский",
    "Александровский",
    "Ивановский",
    "Никольский",
    "Покровский",
    "Петровский",
    "Михайловский",
    "Вознесенский",
    "Сосновский",
    "Краснослободский",
    "Дубовский",
    "Каменский",
    "Луговской",
    "Степной",
    "Ольховский",
    "Павловский",
    "Знаменский",
    "Троицкий",
    "Успенский",
    "Красногорский",
    "Новоспасский",
    "Ягодный",
    "Рощинский",
    "Кедровый",
]

DATA = Path(__file__).with_name("data") / "regions.csv"


def _load() -> list[Region]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return [Region(**row) for row in csv.DictReader(handle)]


NATIONAL = _load()
PENZA = next(region for region in NATIONAL if region.code == "58")


def national_regions(count: int) -> list[Region]:
    """``count`` regions: the list above, cycled with numbered copies when more are asked."""
    regions = []
    for i in range(count):
        base = NATIONAL[i % len(NATIONAL)]
        if i < len(NATIONAL):
            regions.append(base)
        else:
            copy = i // len(NATIONAL)
            regions.append(
                Region(
                    f"{base.code}{copy}",
                    f"{base.name} ({copy + 1})",
                    f"{base.genitive} ({copy + 1})",
                    base.capital,
                    base.capital_genitive,
                    base.timezone,
                    f"{base.abbreviation}{copy + 1}",
                )
            )
    return regions
