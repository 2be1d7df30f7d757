"""A small region as a publication shows it (issue 25): bodies of power and other organisations
(schools, hospitals, utilities, names longer than 40 characters), three volume groups under
``penza-2025``, two months (a body changes group in between, two are not rated), incidents with
identifiers, page checks and answer counts — written straight into the tables the publication
reads, as tests/test_rating_publish.py does for the protocol."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from tests.rating_inputs import record_complete_inputs

METHODOLOGY = "penza-2025"
MONTHS = (date(2025, 10, 1), date(2025, 11, 1))
LONG_NAME = (
    "Муниципальное унитарное предприятие «Пензенское городское водопроводно-канализационное "
    "хозяйство» (Пензаводоканал)"
)
BODIES = [
    ("Министерство здравоохранения Пензенской области", "ОИВ"),
    ("Министерство образования Пензенской области", "ОИВ"),
    ("Министерство ЖКХ и гражданской защиты населения Пензенской области", "ОИВ"),
    ("Министерство социальной защиты населения Пензенской области", "ОИВ"),
    ("Министерство транспорта Пензенской области", "ОИВ"),
    ("Администрация города Пензы", "ОМСУ"),
    ("Администрация города Заречного", "ОМСУ"),
    ("Администрация Бессоновского района Пензенской области", "ОМСУ"),
    ("Администрация Кузнецкого района Пензенской области", "ОМСУ"),
    ("Администрация Пензенского района Пензенской области", "ОМСУ"),
    ("Администрация Сердобского района Пензенской области", "ОМСУ"),
    ("Администрация города Кузнецка", "ОМСУ"),
    ("Администрация города Сердобска", "ОМСУ"),
    (LONG_NAME, "РСО-УК"),
    (
        "Муниципальное бюджетное общеобразовательное учреждение средняя общеобразовательная школа № 1 "
        "г. Пензы",
        "учреждение",
    ),
    ("ГБУЗ «Пензенская областная детская клиническая больница им. Н. Ф. Филатова»", "учреждение"),
    ("МБОУ «Лицей № 55» г. Пензы", "учреждение"),
    ("ГБУЗ «Кузнецкая межрайонная больница»", "учреждение"),
    (
        "Государственное бюджетное учреждение здравоохранения «Пензенская областная клиническая больница "
        "имени Н. Н. Бурденко»",
        "учреждение",
    ),
    ("АО «Горэлектросеть г. Пензы»", "РСО-УК"),
    ("АО «Теплоэнерго г. Пензы»", "РСО-УК"),
    ("ООО «Управляющая компания Жилье-12»", "РСО-УК"),
    ("Администрация Белинского района Пензенской области", "ОМСУ"),
    ("Администрация Лопатинского района Пензенской области", "ОМСУ"),
]
# November's messages per body: > 100, 31–100 and 10–30 (volume groups); under 10 is not rated.
VOLUMES = [240, 180, 150, 130, 120, 160, 90, 85, 70, 60, 55, 40, 35, 30, 28, 25, 22, 26, 20, 18, 15, 12, 6, 4]
# Municipalities (name, OKTMO) by body: the city's administration, school, utilities; a district's.
MUNICIPALITIES = {
    **{n: ("город Пенза", "56701000") for n in (5, 13, 14, 16, 19, 20)},
    **{n: ("Кузнецкий муниципальный район", "56640000") for n in (8, 17)},
}
TOPICS = (("ЖКХ", "vk"), ("Дороги", "vk"), ("Здравоохранение", "госуслуги"), ("не указано", "телефон"))
MOVED = "org-06"  # 90 in November (31–100), 130 in October (more than 100); a district's group then
NO_PAGE = "org-19"


def org_id(n: int) -> str:
    return f"org-{n:02d}"


def registry_group(n: int, month: date) -> str:
    """The registry's rating group: «ОМСУ города» for the cities' administrations, «ОМСУ районов»
    for the districts' (the moved body is a district's in October), else the kind."""
    name, kind = BODIES[n]
    if kind != "ОМСУ":
        return kind
    city = "города" in name and not (org_id(n) == MOVED and month == MONTHS[0])
    return "ОМСУ города" if city else "ОМСУ районов"


RANGES = {"_share": (0.05, 0.95), "_avg": (2.5, 4.9), "hours": (2, 90), "compliance_score": (40, 100),
          "engagement_rate_pct": (0.3, 6), "posts_per_week": (0.5, 12)}  # fmt: skip


def _value(column: str, rng: random.Random) -> float | None:
    """A plausible value of a mart.rating_base column by its name (None for the rest)."""
    for part, (low, high) in RANGES.items():
        if column.endswith(part) or part == column or (part == "hours" and part in column):
            return round(rng.uniform(low, high), 3)
    return None


def seed_publication_region(warehouse: Warehouse) -> None:
    """The region (module doc) with rating inputs for October and November 2025."""
    migrate(warehouse)
    rng = random.Random(25)
    with warehouse.begin() as conn:
        for n, (name, kind) in enumerate(BODIES):
            conn.execute(
                sa.text(
                    "INSERT INTO core.dim_org (org_id, version, name, kind, region_code, region_name, "
                    "timezone, valid_from, is_current, load_id) VALUES (:o, 1, :name, :kind, '58', "
                    "'Пензенская область', 'Europe/Moscow', DATE '2020-01-01', TRUE, 'test')"
                ),
                {"o": org_id(n), "name": name, "kind": kind},
            )
    org_columns = set(warehouse.query_df("SELECT * FROM core.dim_org WHERE 1 = 0").columns)
    if {"municipality", "oktmo"} <= org_columns:  # the registry's municipalities (issue 25)
        for n, (municipality, oktmo) in MUNICIPALITIES.items():
            warehouse.execute(
                "UPDATE core.dim_org SET municipality = :m, oktmo = :k WHERE org_id = :o",
                {"m": municipality, "k": oktmo, "o": org_id(n)},
            )
    mart_columns = set(warehouse.query_df("SELECT * FROM mart.dim_org WHERE 1 = 0").columns)
    shared = ", ".join(sorted(mart_columns & org_columns))  # the BI copy, as sql/mart/010_dim_org.sql makes
    warehouse.execute(f"INSERT INTO mart.dim_org ({shared}) SELECT {shared} FROM core.dim_org")
    base_columns = list(warehouse.query_df("SELECT * FROM mart.rating_base WHERE 1 = 0").columns)
    for month in MONTHS:
        rows = []
        for n, volume in enumerate(VOLUMES):
            incidents = 130 if (org_id(n) == MOVED and month == MONTHS[0]) else volume
            row: dict[str, object] = {c: _value(c, rng) for c in base_columns}
            row.update(
                org_id=org_id(n), month=month, region_code="58", rating_group=registry_group(n, month),
                incidents=incidents,
                incidents_im=incidents * 2 // 3, incidents_pos=incidents - incidents * 2 // 3,
                answers_assessed=incidents // 2, pages=0 if org_id(n) == NO_PAGE else 1,
            )  # fmt: skip
            if "kind" in row:
                row["kind"] = BODIES[n][1]
            rows.append(row)
        warehouse.bulk_load("mart.rating_base", pd.DataFrame(rows))
        record_complete_inputs(warehouse, month)
    november = MONTHS[1]
    _seed_details(warehouse, november, rng)


def _seed_details(warehouse: Warehouse, month: date, rng: random.Random) -> None:
    """November's incidents (identifiers, dates, flags), answer counts and page checks."""
    timing, metrics, checks = [], [], []
    start = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    for n, volume in enumerate(VOLUMES):
        for source, count in (("im", volume * 2 // 3), ("pos", volume - volume * 2 // 3)):
            overdue = max(1, count // 7)
            for k in range(min(count, 12)):
                registered = start + timedelta(hours=7 * k + n)
                timing.append(
                    {
                        "source": source,
                        "incident_id": f"{source.upper()}-2025-{n:02d}{k:03d}",
                        "month": month,
                        "org_id": org_id(n),
                        "region_code": "58",
                        "registered_at": registered,
                        "is_answered": True,
                        "reaction_hours": round(rng.uniform(0.5, 9), 2),
                        "reaction_work_hours": 1.0,
                        "answer_hours": round(rng.uniform(20, 300), 1),
                        "answer_work_hours": 8.0,
                        "deadline_at": registered + timedelta(days=1 if source == "im" else 8),
                        "deadline_rule": "test",
                        "is_overdue": k < min(overdue, 4),
                        "satisfaction": rng.choice([2, 3, 4, 5, 5]) if source == "pos" else None,
                        "satisfied": None,
                        "has_answer_text": True,
                        "formal": k % 5 == 1,
                        "no_specifics": k % 4 == 2,
                        "impolite": False,
                        "redirect": k % 6 == 3,
                        "template": False,
                    }
                )
            metrics.append(
                {
                    "org_id": org_id(n),
                    "source": source,
                    "month": month,
                    "region_code": "58",
                    "incidents": count,
                    "answered": count - 1,
                    "answered_share": (count - 1) / count,
                    "overdue": overdue,
                    "overdue_share": overdue / count,
                    "rated": count // 2,
                    "satisfied_share": 0.5,
                    "answers_assessed": count // 2,
                    "formal_share": 0.2,
                    "no_specifics_share": 0.25,
                    "impolite_share": 0.0,
                    "redirect_share": 0.1,
                    "template_share": 0.0,
                }
            )
        if org_id(n) != NO_PAGE:
            failed = ["has_cover", "messages_open"] if n % 3 == 0 else (["verified"] if n % 3 == 1 else [])
            checks.append(
                {
                    "page_id": f"vk-{n:02d}",
                    "network": "vk",
                    "org_id": org_id(n),
                    "month": month,
                    "observed_on": date(2025, 11, 30),
                    "has_photo": True,
                    "has_cover": "has_cover" not in failed,
                    "has_description": True,
                    "has_contacts_or_links": True,
                    "messages_open": "messages_open" not in failed,
                    "wall_open": True,
                    "verified": "verified" not in failed,
                    "posts_per_week": 4.0,
                    "posts_per_week_ok": True,
                    "views_share": 0.2,
                    "views_share_ok": True,
                    "score": 100.0 - 12 * len(failed),
                    "failed_checks": ", ".join(failed),
                }
            )
    warehouse.bulk_load("core.fct_incident_timing", pd.DataFrame(timing))
    evidence = [  # the stock phrases the answer-quality rules matched (restricted; a card quotes them)
        {
            "source": row["source"],
            "incident_id": row["incident_id"],
            "month": month,
            "flag": "formal",
            "evidence": "обращение рассмотрено",  # the whole match of a rule, lower case (build.py)
        }
        for row in timing
        if row["formal"]
    ]
    warehouse.bulk_load("restricted.answer_quality_evidence", pd.DataFrame(evidence))
    if warehouse.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'mart' "
                       "AND table_name = 'incident_topics_monthly'")[0]["n"]:  # fmt: skip
        topics = [
            {
                "org_id": org_id(n),
                "source": "im",
                "month": month,
                "rubric": rubric,
                "channel": channel,
                "region_code": "58",
                "incidents": volume // (k + 2),
                "answered": volume // (k + 3),
                "overdue": k,
                "rated": 0,
                "satisfied": 0,
            }
            for n, volume in enumerate(VOLUMES)
            for k, (rubric, channel) in enumerate(TOPICS)
        ]
        warehouse.bulk_load("mart.incident_topics_monthly", pd.DataFrame(topics))
    warehouse.bulk_load("mart.response_metrics_monthly", pd.DataFrame(metrics))
    warehouse.bulk_load("mart.page_compliance_monthly", pd.DataFrame(checks))


def publish_region(month: str = "2025-11") -> dict:
    """Rate and publish October, then ``month``; the November result (path, revision, status)."""
    from gospublic.rating.steps import rate

    rate("2025-10", [METHODOLOGY])
    (result,) = rate(month, [METHODOLOGY])
    return dict(result)
