"""penza-2025 on a fixture month, every score computed by hand (DuckDB and PostgreSQL).

The preset (config/methodologies/penza-2025.yaml): messages in social networks (IM); rated with at
least 2 IM messages; groups by kind as the January 2025 rating publishes them — «ОМСУ г. Пензы»,
«ОМСУ районов», «ОИВ» — and «РСО и УК» apart; institutions not rated. Weights (they add up to 100,
so a body with every indicator scores Σ points × weight / 100), every share scoring 100 × the share:
  satisfied 25       im_satisfied_share, missing under 5 IM ratings (optional)
  not_formal 15      1 − formal_share          specific 15     1 − no_specifics_share
  not_template 10    1 − template_share        polite 5        1 − impolite_share
  not_redirect 5     1 − redirect_share
  within_day 15      share of counted IM messages answered within 24 calendar hours (required)
  page_compliance 10 compliance_score (0–100) itself; required: no official page → 0 points

Most bodies share one set of quality shares, QUALITY: formal 0.2 → 80 × 0.15 = 12; no specifics 0.4 →
60 × 0.15 = 9; template 0.1 → 90 × 0.10 = 9; impolite 0 → 100 × 0.05 = 5; redirect 0.2 → 80 × 0.05 = 4;
together Q = 39 points.
"""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from tests.rating.month import (
    Body,
    Expected,
    check_not_rated,
    check_rated,
    im,
    points,
    pos,
    rate,
    seed_month,
    weight,
)

CITY, DISTRICTS, OIV, RSO = "ОМСУ г. Пензы", "ОМСУ районов", "ОИВ", "РСО и УК"

QUALITY = {"formal_share": 0.2, "no_specifics_share": 0.4, "template_share": 0.1, "impolite_share": 0.0,
           "redirect_share": 0.2, "answers_assessed": 4}  # fmt: skip
PERFECT = {"formal_share": 0.0, "no_specifics_share": 0.0, "template_share": 0.0, "impolite_share": 0.0,
           "redirect_share": 0.0, "answers_assessed": 2}  # fmt: skip


def page(score: float) -> dict:
    return {"pages": 1, "compliance_score": score}


def satisfied(share: float, ratings: int) -> dict:
    return {"im_satisfied_share": share, "im_rated": ratings}


# IM messages with their calendar hours to the answer (the clock of within_day):
IN_2H = im("2025-11-17 10:00", "2025-11-17 12:00", 2, 0)
IN_5H = im("2025-11-17 10:00", "2025-11-17 15:00", 4, 0)
IN_24H = im("2025-11-17 10:00", "2025-11-18 10:00", 8, 1)  # exactly 24 hours: within
AT_NIGHT = im("2025-11-21 20:00", "2025-11-22 11:00", 0, 0)  # 15 hours
# 65 hours — only 2 working hours, and still not within the day
OVER_WEEKEND = im("2025-11-21 17:00", "2025-11-24 10:00", 2, 1)
IN_30H = im("2025-11-17 10:00", "2025-11-18 16:00", 13, 1)
OPEN = im("2025-11-17 10:00")
POS = pos("2025-11-17 10:00", "2025-11-18 10:00", 8, 1)  # ПОС is not a social network: not scored here

BODIES = [
    # city-1: Q 39; satisfied 0.8 → 20; within 4 of 4 → 15; page 70 → 7; score 81.0 → green
    Body("z-city-1", "ОМСУ", "ОМСУ города", {**QUALITY, **satisfied(0.8, 10), **page(70)},
         (IN_2H, IN_5H, IN_24H, AT_NIGHT)),
    # city-2: 3 ratings — satisfied missing, its 25 spread; within 3 of 4 → 75 × 0.15 = 11.25; page 50 → 5;
    #    score (39 + 11.25 + 5) / 0.75 = 73.667 → 73.7 → yellow
    Body("z-city-2", "ОМСУ", "ОМСУ города", {**QUALITY, **satisfied(0.6, 3), **page(50)},
         (IN_2H, IN_5H, AT_NIGHT, OVER_WEEKEND)),
    # city-3: no official page — page_compliance is required: 0 points, weight 10 kept; satisfied 0.5 →
    #    12.5; within 2 of 2 → 15; score 39 + 12.5 + 15 + 0 = 66.5 → yellow (spread, it would be 73.9)
    Body("z-city-3", "ОМСУ", "ОМСУ города", {**QUALITY, **satisfied(0.5, 6)}, (IN_2H, IN_5H)),
    # dist-1: no defect → Q 50; satisfied 1.0 → 25; within 2 of 2 → 15; page 90 → 9; score 99.0 → green
    Body("z-dist-1", "ОМСУ", "ОМСУ районов", {**PERFECT, **satisfied(1.0, 8), **page(90)}, (IN_2H, AT_NIGHT)),
    # dist-2: satisfied 0.4 on exactly 5 ratings → 10; within 1 of 3 → 33.3 × 0.15 = 5; page 60 → 6;
    #    score 39 + 10 + 5 + 6 = 60.0 → yellow
    Body("z-dist-2", "ОМСУ", "ОМСУ районов", {**QUALITY, **satisfied(0.4, 5), **page(60)},
         (IN_2H, OVER_WEEKEND, IN_30H)),
    # dist-3: templates only — formal 0.5 → 7.5; no specifics 0.5 → 7.5; template 1.0 → 0; impolite 0.5 →
    #    2.5; redirect 0 → 5: Q 22.5; satisfied 0.3 → 7.5; within 0 of 2 → 0; page 40 → 4; score 34.0 → red
    Body("z-dist-3", "ОМСУ", "ОМСУ районов",
         {"formal_share": 0.5, "no_specifics_share": 0.5, "template_share": 1.0, "impolite_share": 0.5,
          "redirect_share": 0.0, "answers_assessed": 2, **satisfied(0.3, 20), **page(40)}, (IN_30H, OPEN)),
    # oiv-1: Q 39; satisfied 0.7 → 17.5; within 3 of 3 → 15; page 80 → 8; score 79.5 → yellow
    Body("z-oiv-1", "ОИВ", "ОИВ", {**QUALITY, **satisfied(0.7, 10), **page(80)}, (IN_2H, IN_5H, IN_24H)),
    # oiv-2: 2 IM messages (the minimum) and 30 on ПОС with 30 ratings at 100 %, which this IM rating
    #    does not read; no IM rating — satisfied missing; within 1 of 2 → 7.5; page 100 → 10;
    #    score (39 + 7.5 + 10) / 0.75 = 75.333 → 75.3 → yellow
    Body("z-oiv-2", "ОИВ", "ОИВ",
         {**QUALITY, "pos_satisfied_share": 1.0, "pos_rated": 30, "satisfied_share": 1.0, **page(100)},
         (IN_2H, OVER_WEEKEND, *[POS] * 30)),
    # oiv-3: one IM message beside 40 on ПОС: under the IM minimum — not rated
    Body("z-oiv-3", "ОИВ", "ОИВ", {**QUALITY, **satisfied(1.0, 1), **page(100)}, (IN_2H, *[POS] * 40)),
    # oiv-4: Q 39; satisfied 0.6 → 15; within 2 of 2 → 15; page 70 → 7; score 76.0 → yellow
    Body("z-oiv-4", "ОИВ", "ОИВ", {**QUALITY, **satisfied(0.6, 7), **page(70)}, (IN_2H, IN_24H)),
    # rso-1: no page → 0; satisfied 0.6 → 15; within 2 of 2 → 15; score 39 + 15 + 15 = 69.0 → yellow
    Body("z-rso-1", "РСО-УК", "РСО-УК", {**QUALITY, **satisfied(0.6, 5)}, (IN_2H, IN_5H)),
    # rso-2: satisfied 0.9 → 22.5; within 2 of 2 → 15; page 50 → 5; score 81.5 → green
    Body("z-rso-2", "РСО-УК", "РСО-УК", {**QUALITY, **satisfied(0.9, 9), **page(50)}, (IN_2H, AT_NIGHT)),
    # rso-3: satisfied 0.2 → 5; within 1 of 2 → 7.5; page 30 → 3; score 54.5 → red
    Body("z-rso-3", "РСО-УК", "РСО-УК", {**QUALITY, **satisfied(0.2, 5), **page(30)}, (IN_2H, IN_30H)),
    # an institution with plenty of messages: in none of the seed's groups — not rated
    Body("z-inst", "учреждение", None, {**PERFECT, **satisfied(1.0, 12), **page(100)}, (IN_2H,) * 12),
]  # fmt: skip

EXPECTED = {
    "z-city-1": Expected(CITY, 81.0, 1, "green"),
    "z-city-2": Expected(CITY, 73.7, 2, "yellow"),
    "z-city-3": Expected(CITY, 66.5, 3, "yellow"),
    "z-dist-1": Expected(DISTRICTS, 99.0, 1, "green"),
    "z-dist-2": Expected(DISTRICTS, 60.0, 2, "yellow"),
    "z-dist-3": Expected(DISTRICTS, 34.0, 3, "red"),
    "z-oiv-1": Expected(OIV, 79.5, 1, "yellow"),
    "z-oiv-4": Expected(OIV, 76.0, 2, "yellow"),
    "z-oiv-2": Expected(OIV, 75.3, 3, "yellow"),
    "z-rso-2": Expected(RSO, 81.5, 1, "green"),
    "z-rso-1": Expected(RSO, 69.0, 2, "yellow"),
    "z-rso-3": Expected(RSO, 54.5, 3, "red"),
}


def test_penza_scores_places_and_zones_as_computed_by_hand(warehouse: Warehouse) -> None:
    seed_month(warehouse, BODIES)
    bodies, indicators = rate(warehouse, "penza-2025")
    check_rated(bodies, EXPECTED)
    check_not_rated(bodies, {"z-oiv-3": "ИМ", "z-inst": ""})
    # the official page is required: none → 0 points with its weight of 10 kept
    assert points(indicators, "z-city-3", "page_compliance") == 0.0
    assert weight(indicators, "z-city-3", "page_compliance") == 10.0
    # 3 ratings are under min_ratings: satisfaction missing, its weight spread (75 → 100)
    assert weight(indicators, "z-city-2", "satisfied") == 0.0
    assert round(weight(indicators, "z-city-2", "not_formal"), 2) == 20.0
    # templates and redirects are scored
    assert points(indicators, "z-dist-3", "not_template") == 0.0
    assert round(points(indicators, "z-oiv-1", "not_redirect"), 6) == 80.0
