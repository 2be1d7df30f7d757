"""Catalogue of the bodies of a region: rated bodies (ОИВ, ОМСУ) and subordinate institutions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.generator import municipalities
from sandbox.generator.municipalities import REGION_WIDE, Municipality
from sandbox.generator.regions import GENERIC_DISTRICTS, PENZA, PENZA_DISTRICTS, PENZA_TOWNS, Region

GROUP_OIV = "ОИВ"
GROUP_CITY = "ОМСУ города"
GROUP_DISTRICTS = "ОМСУ районов"
GROUP_UTILITIES = "РСО-УК"


@dataclass
class BodySpec:
    """A body before it gets ids: name, short names, kind, rating group, domain, parent name."""

    name: str
    short_names: list[str]
    kind: str
    rating_group: str
    domain: str
    parent: str = ""
    weight: float = 1.0  # relative share of citizens' messages routed to it
    municipality: Municipality = REGION_WIDE  # where it works; region-wide bodies have none


# (name template, short template, domain, weight); {gen} is the region in genitive, {abbr} its letters.
OIV = [
    ("Правительство {gen}", "Правительство {abbr}", "general", 3.0),
    ("Министерство здравоохранения {gen}", "Минздрав {abbr}", "health", 6.0),
    ("Министерство образования {gen}", "Минобр {abbr}", "education", 3.0),
    (
        "Министерство жилищно-коммунального хозяйства и гражданской защиты населения {gen}",
        "Минжкх {abbr}",
        "utilities",
        6.0,
    ),
    ("Министерство строительства и архитектуры {gen}", "Минстрой {abbr}", "construction", 1.5),
    ("Министерство транспорта и дорожного хозяйства {gen}", "Минтранс {abbr}", "roads", 6.0),
    ("Министерство сельского хозяйства {gen}", "Минсельхоз {abbr}", "agriculture", 0.8),
    (
        "Министерство экономического развития и промышленности {gen}",
        "Минэкономразвития {abbr}",
        "economy",
        0.6,
    ),
    ("Министерство финансов {gen}", "Минфин {abbr}", "economy", 0.3),
    (
        "Министерство труда, социальной защиты и демографической политики {gen}",
        "Минтруд {abbr}",
        "social",
        4.0,
    ),
    ("Министерство культуры и туризма {gen}", "Минкультуры {abbr}", "culture", 0.8),
    ("Министерство физической культуры и спорта {gen}", "Минспорт {abbr}", "sport", 0.8),
    (
        "Министерство лесного, охотничьего хозяйства и природопользования {gen}",
        "Минлесхоз {abbr}",
        "ecology",
        1.0,
    ),
    ("Министерство цифрового развития и связи {gen}", "Минцифры {abbr}", "digital", 1.0),
    ("Министерство внутренней и информационной политики {gen}", "Минвнутполитики {abbr}", "general", 0.4),
    ("Министерство по делам молодёжи {gen}", "Минмолодёжи {abbr}", "youth", 0.4),
    ("Министерство государственного имущества {gen}", "Мингосимущества {abbr}", "property", 0.6),
    ("Министерство инвестиционного развития {gen}", "Мининвест {abbr}", "economy", 0.2),
    ("Министерство природных ресурсов и экологии {gen}", "Минприроды {abbr}", "ecology", 1.0),
    ("Департамент по регулированию тарифов {gen}", "Департамент тарифов {abbr}", "utilities", 0.8),
    ("Государственная жилищная инспекция {gen}", "ГЖИ {abbr}", "utilities", 2.5),
    ("Управление ветеринарии {gen}", "Управление ветеринарии {abbr}", "agriculture", 0.5),
    ("Управление записи актов гражданского состояния {gen}", "Управление ЗАГС {abbr}", "general", 0.3),
    ("Управление по охране объектов культурного наследия {gen}", "Охрана наследия {abbr}", "culture", 0.2),
    ("Инспекция государственного технического надзора {gen}", "Гостехнадзор {abbr}", "agriculture", 0.2),
    ("Департамент региональной безопасности {gen}", "ДРБ {abbr}", "general", 0.3),
    ("Управление лицензирования {gen}", "Управление лицензирования {abbr}", "health", 0.3),
    ("Управление по делам архивов {gen}", "Архивное управление {abbr}", "general", 0.1),
    ("Департамент гражданской обороны и пожарной безопасности {gen}", "ДГО {abbr}", "general", 0.5),
    ("Министерство промышленности, торговли и энергетики {gen}", "Минпромторг {abbr}", "economy", 0.4),
]

CITY = [
    ("Администрация города {cap_gen}", "Администрация г. {cap}", "general", 12.0),
    ("Администрация {district} района города {cap_gen}", "Администрация {district} р-на", "general", 4.0),
    ("Городская Дума города {cap_gen}", "Гордума {cap_gen}", "general", 0.4),
    ("Управление жилищно-коммунального хозяйства города {cap_gen}", "УЖКХ г. {cap}", "utilities", 6.0),
    ("Управление образования города {cap_gen}", "Управление образования г. {cap}", "education", 2.0),
    ("Управление транспорта и связи города {cap_gen}", "Управление транспорта г. {cap}", "transport", 4.0),
    ("Управление культуры города {cap_gen}", "Управление культуры г. {cap}", "culture", 0.4),
]
CITY_DISTRICTS = ["Железнодорожного", "Ленинского", "Октябрьского", "Первомайского", "Советского"]

INSTITUTIONS = [
    # (kind, name template, domain, parent key, weight of the kind, weight of messages)
    ("учреждение", "МБОУ СОШ № {n} г. {cap_gen}", "education", "city_education", 6, 0.4),
    ("учреждение", "МБДОУ «Детский сад № {n}» г. {cap_gen}", "education", "city_education", 4, 0.3),
    ("учреждение", "МОУ СОШ с. {village} {district_gen} района", "education", "district", 4, 0.2),
    ("учреждение", "ГБУЗ «Городская поликлиника № {n}»", "health", "oiv_health", 3, 2.0),
    ("учреждение", "ГБУЗ «{district_fem} районная больница»", "health", "oiv_health", 3, 1.5),
    (
        "учреждение",
        "ГБУ «Центр социального обслуживания населения {district_gen} района»",
        "social",
        "oiv_social",
        2,
        0.5,
    ),
    (
        "учреждение",
        "МБУК «Централизованная библиотечная система {district_gen} района»",
        "culture",
        "district",
        1,
        0.1,
    ),
    ("учреждение", "МБУ «Дом культуры с. {village}»", "culture", "district", 1, 0.05),
    ("учреждение", "ГАУ «Спортивная школа олимпийского резерва № {n}»", "sport", "oiv_sport", 1, 0.1),
    ("учреждение", "ГКУ «Центр занятости населения {district_gen} района»", "social", "oiv_social", 1, 0.3),
    ("РСО-УК", "ООО «Управляющая компания «{company}»»", "utilities", "city_utilities", 4, 3.0),
    ("РСО-УК", "МУП «Жилищно-эксплуатационный участок № {n}»", "utilities", "city_utilities", 1, 1.5),
    ("РСО-УК", "МУП «Водоканал {district_gen} района»", "utilities", "district", 1, 1.5),
    ("РСО-УК", "АО «Теплоэнерго г. {cap_gen}»", "utilities", "oiv_utilities", 0.3, 4.0),
    ("РСО-УК", "АО «Горэлектросеть г. {cap_gen}»", "utilities", "oiv_utilities", 0.3, 2.0),
    ("РСО-УК", "ООО «Региональный оператор по обращению с ТКО {n}»", "utilities", "oiv_utilities", 0.3, 3.0),
]
# Where each kind of institution works: its district, the regional capital, or the whole region.
PLACES = [
    "capital", "capital", "district", "capital", "district", "district", "district", "district",
    "capital", "district", "capital", "capital", "district", "capital", "capital", "region",
]  # fmt: skip
COMPANIES = [
    "Жилсервис",
    "Комфорт",
    "Уютный дом",
    "Наш дом",
    "Гарант",
    "Домовой",
    "Жилкомфорт",
    "Содружество",
    "Новый город",
    "Северная",
    "Зелёный квартал",
    "Партнёр",
    "Лидер",
    "Дом-Сервис",
    "ЖЭК-5",
    "Управдом",
    "Стандарт",
    "Мой дом",
    "Восход",
    "Ремжилстрой",
]
VILLAGES = [
    "Александровка",
    "Никольское",
    "Покровка",
    "Михайловка",
    "Берёзовка",
    "Ивановка",
    "Знаменское",
    "Троицкое",
    "Сосновка",
    "Каменка",
    "Озёрки",
    "Лесное",
    "Петровка",
    "Успенское",
    "Вольное",
]


def genitive(adjective: str) -> str:
    """«Башмаковский» → «Башмаковского», «Заречный» → «Заречного»."""
    return adjective[:-2] + "ого"


def feminine(adjective: str) -> str:
    """«Шемышейский» → «Шемышейская», «Заречный» → «Заречная»."""
    return adjective[:-2] + "ая"


def _fill(template: str, region: Region, **extra: str) -> str:
    return template.format(
        gen=region.genitive,
        abbr=region.abbreviation,
        cap=region.capital,
        cap_gen=region.capital_genitive,
        **extra,
    )


def rated_bodies(region: Region, n_rated: int) -> list[BodySpec]:
    """ОИВ, ОМСУ of the capital and ОМСУ of districts, in the Penza proportions 30 : 10 : 29."""
    n_oiv = max(1, round(n_rated * 30 / 69))
    n_city = max(1, round(n_rated * 10 / 69))
    n_districts = max(1, n_rated - n_oiv - n_city)
    bodies = [
        BodySpec(_fill(name, region), [_fill(short, region)], "ОИВ", GROUP_OIV, domain, weight=weight)
        for name, short, domain, weight in OIV[:n_oiv]
    ]
    government = bodies[0].name
    capital = municipalities.city(region, region.capital, 0)
    city: list[BodySpec] = []
    for name, short, domain, weight in CITY:
        if "{district}" in name:
            for district in CITY_DISTRICTS[:4]:
                city.append(
                    BodySpec(
                        _fill(name, region, district=district),
                        [_fill(short, region, district=district)],
                        "ОМСУ",
                        GROUP_CITY,
                        domain,
                        weight=weight,
                        municipality=capital,
                    )
                )
        else:
            city.append(
                BodySpec(
                    _fill(name, region),
                    [_fill(short, region)],
                    "ОМСУ",
                    GROUP_CITY,
                    domain,
                    weight=weight,
                    municipality=capital,
                )
            )
    city = city[:n_city]
    for body in city[1:]:
        body.parent = city[0].name
    districts: list[BodySpec] = []
    names = PENZA_DISTRICTS if region == PENZA else GENERIC_DISTRICTS
    for index, adjective in enumerate(names):
        gen = genitive(adjective)
        districts.append(
            BodySpec(
                f"Администрация {gen} района {region.genitive}",
                [f"Администрация {gen} р-на", f"{adjective} район"],
                "ОМСУ",
                GROUP_DISTRICTS,
                "general",
                weight=1.5,
                municipality=municipalities.district(region, adjective, index),
            )
        )
    if region == PENZA:
        towns = {"Заречный": "Заречного", "Кузнецк": "Кузнецка"}
        for index, town in enumerate(PENZA_TOWNS, start=1):
            districts.append(
                BodySpec(
                    f"Администрация города {towns[town]} {region.genitive}",
                    [f"Администрация г. {town}"],
                    "ОМСУ",
                    GROUP_DISTRICTS,
                    "general",
                    weight=3.0,
                    municipality=municipalities.city(region, town, index),
                )
            )
    while len(districts) < n_districts:  # more districts than names: numbered settlements
        k = len(districts) + 1
        districts.append(
            BodySpec(
                f"Администрация муниципального образования № {k} {region.genitive}",
                [f"Администрация МО № {k}"],
                "ОМСУ",
                GROUP_DISTRICTS,
                "general",
                weight=1.0,
                municipality=municipalities.numbered(region, k),
            )
        )
    for body in bodies[1:]:
        body.parent = government
    return bodies + city + districts[:n_districts]


def institutions(
    region: Region, rated: list[BodySpec], count: int, rng: np.random.Generator
) -> list[BodySpec]:
    """``count`` subordinate institutions and utilities with unique names and a parent body."""
    by_domain = {body.domain: body.name for body in rated if body.kind == "ОИВ"}
    city = [body for body in rated if body.rating_group == GROUP_CITY]
    districts = [body for body in rated if body.rating_group == GROUP_DISTRICTS and " района " in body.name]
    fallback = rated[0].name
    capital = municipalities.city(region, region.capital, 0)
    parents = {
        "oiv_health": by_domain.get("health", fallback),
        "oiv_social": by_domain.get("social", fallback),
        "oiv_sport": by_domain.get("sport", fallback),
        "oiv_utilities": by_domain.get("utilities", fallback),
        "city_education": next(
            (b.name for b in city if b.domain == "education"), city[0].name if city else fallback
        ),
        "city_utilities": next(
            (b.name for b in city if b.domain == "utilities"), city[0].name if city else fallback
        ),
    }
    kind_weights = np.array([item[4] for item in INSTITUTIONS], dtype=float)
    kind_weights /= kind_weights.sum()
    numbers: dict[int, int] = {}
    seen = {body.name for body in rated}
    result: list[BodySpec] = []
    attempts = 0
    while len(result) < count and attempts < count * 20:
        attempts += 1
        k = int(rng.choice(len(INSTITUTIONS), p=kind_weights))
        kind, template, domain, parent_key, _, weight = INSTITUTIONS[k]
        numbers[k] = numbers.get(k, 0) + 1 + int(rng.integers(3))
        district = districts[int(rng.integers(len(districts)))] if districts else None
        district_adj = district.short_names[-1].removesuffix(" район") if district else "Центральный"
        name = _fill(
            template,
            region,
            n=str(numbers[k]),
            village=VILLAGES[int(rng.integers(len(VILLAGES)))],
            district_gen=genitive(district_adj),
            district_fem=feminine(district_adj),
            company=COMPANIES[int(rng.integers(len(COMPANIES)))],
        )
        if name in seen:
            continue
        seen.add(name)
        parent = district.name if parent_key == "district" and district else parents.get(parent_key, fallback)
        group = GROUP_UTILITIES if kind == "РСО-УК" else ""
        place = {"capital": capital, "district": district.municipality if district else capital}
        where = place.get(PLACES[k], REGION_WIDE)
        result.append(BodySpec(name, [], kind, group, domain, parent, weight, where))
    return result
