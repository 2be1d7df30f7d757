"""kirov-2024 on a fixture month, every score computed by hand (DuckDB and PostgreSQL).

The preset (config/methodologies/kirov-2024.yaml): two ratings, ОИВ and ОМСУ (city and districts
together); institutions and РСО/УК not rated; rated with at least 2 messages of either source. Three
equal parts, weights out of 300 (a score is Σ points × weight over the weights present):
  page_compliance 100  compliance_score itself (required: no official page → 0)
  im_wait 30           mean calendar hours to the IM answer: 100 at 2 h, 0 at 24 h: 100 × (24 − h) / 22
  im_within_day 30     100 × the share of IM messages answered within 24 calendar hours
  im_specific 20       100 × (1 − no_specifics_share)
  im_satisfied 20      100 × im_satisfied_share; missing under 5 IM ratings
  pos_on_time 40       100 × the share of counted ПОС messages not overdue (measure on_time)
  pos_time 30          mean working days to the ПОС answer: 100 × (8 − days) / 7
  pos_satisfied 30     100 × pos_satisfied_share / 0.6, at most 100; missing under 5 ПОС ratings
Every message indicator needs 2 messages of its own source, else it is missing and its weight spread.
"""

from __future__ import annotations

from dataclasses import replace

from gospublic.infra.warehouse import Warehouse
from tests.rating.month import Body, Expected, check_not_rated, check_rated, im, pos, rate, seed_month, weight

OIV, OMSU = "ОИВ", "ОМСУ"

# IM messages registered Mon 17 Nov 2025 10:00 (Moscow), by calendar hours to the answer:
H = {
    1: im("2025-11-17 10:00", "2025-11-17 11:00", 1, 0),
    2: im("2025-11-17 10:00", "2025-11-17 12:00", 2, 0),
    3: im("2025-11-17 10:00", "2025-11-17 13:00", 3, 0),
    7.5: im("2025-11-17 10:00", "2025-11-17 17:30", 6.5, 0),
    13: im("2025-11-17 10:00", "2025-11-17 23:00", 7, 0),
    24: im("2025-11-17 10:00", "2025-11-18 10:00", 8, 1),  # exactly 24 hours: within the day
    30: im("2025-11-17 10:00", "2025-11-18 16:00", 13, 1),
    40: im("2025-11-17 10:00", "2025-11-19 02:00", 15, 2),
}
IM_OPEN = im("2025-11-17 10:00")
# ПОС messages registered Mon 17 Nov 10:00, by working days to the answer (Tue 18 → 1 … Mon 24 → 5)
D = {
    1: pos("2025-11-17 10:00", "2025-11-18 10:00", 8, 1),
    3: pos("2025-11-17 10:00", "2025-11-20 10:00", 24, 3),
    4: pos("2025-11-17 10:00", "2025-11-21 10:00", 32, 4),
    5: pos("2025-11-17 10:00", "2025-11-24 10:00", 40, 5),
    6: pos("2025-11-17 10:00", "2025-11-25 10:00", 48, 6),
}
LATE = {days: replace(message, overdue=True) for days, message in D.items()}  # after the due date
POS_REJECTED = pos("2025-11-17 10:00", status="rejected")

BODIES = [
    # oiv-1: page 80 × 100 = 8000; IM mean (1 + 3) / 2 = 2 h → 100 × 30 = 3000; within 2 of 2 → 3000;
    #    specific 0.75 → 75 × 20 = 1500; satisfied 0.5 (6 ratings) → 50 × 20 = 1000; ПОС on time 100 × 40 =
    #    4000; days 1 1 → 100 × 30 = 3000; satisfied 0.6 (5) → 100 × 30 = 3000;
    #    score 26500 / 300 = 88.333 → 88.3 → green
    Body("k-oiv-1", "ОИВ", "ОИВ",
         {"pages": 1, "compliance_score": 80, "no_specifics_share": 0.25,
          "im_satisfied_share": 0.5, "im_rated": 6, "pos_satisfied_share": 0.6, "pos_rated": 5},
         (H[1], H[3], D[1], D[1])),
    # oiv-2: no official page → 0 × 100 (weight kept); IM answered 2, 13, 24 h, one open → mean 13 h →
    #    100 × 11 / 22 = 50 × 30 = 1500; within 3 of 4 → 75 × 30 = 2250; specific 0.5 → 50 × 20 = 1000;
    #    3 ratings — satisfied missing; no ПОС message — the ПОС part missing, spread;
    #    score 4750 / (100 + 30 + 30 + 20) = 26.389 → 26.4 → red
    Body("k-oiv-2", "ОИВ", "ОИВ", {"no_specifics_share": 0.5, "im_satisfied_share": 1.0, "im_rated": 3},
         (H[2], H[13], H[24], IM_OPEN)),
    # oiv-3: page 60 × 100 = 6000; a single IM message — under min_volume 2, the IM part missing (its
    #    shares are there and not read); ПОС days 4 5, the rejected one out → mean 4.5 → 50 × 30 = 1500;
    #    on time 1 of 2 → 50 × 40 = 2000; no ПОС rating — missing; score 9500 / 170 = 55.882 → 55.9 → red
    Body("k-oiv-3", "ОИВ", "ОИВ",
         {"pages": 1, "compliance_score": 60, "no_specifics_share": 0.0,
          "im_satisfied_share": 1.0, "im_rated": 5},
         (H[2], D[4], LATE[5], POS_REJECTED)),
    # oiv-4: one message — under the rating's minimum of 2: not rated
    Body("k-oiv-4", "ОИВ", "ОИВ", {"pages": 1, "compliance_score": 90}, (H[2],)),
    # mo-1 (city): page 100 → 10000; IM 1 2 3 h → mean 2 → 3000; within → 3000; specific 1.0 → 2000;
    #    satisfied 0.9 → 1800; ПОС on time → 4000; days 1 1 → 3000; satisfied 0.6 → 3000;
    #    score 29800 / 300 = 99.333 → 99.3 → green
    Body("k-mo-1", "ОМСУ", "ОМСУ города",
         {"pages": 1, "compliance_score": 100, "no_specifics_share": 0.0,
          "im_satisfied_share": 0.9, "im_rated": 10, "pos_satisfied_share": 0.6, "pos_rated": 5},
         (H[1], H[2], H[3], D[1], D[1])),
    # mo-2 (district): page 50 → 5000; IM 7.5 7.5 h → 100 × 16.5 / 22 = 75 × 30 = 2250; within → 3000;
    #    specific 0.5 → 1000; satisfied 0.4 (5) → 800; ПОС on time 1 of 2 → 2000; days 3 6 → 4.5 → 50 × 30 =
    #    1500; satisfied 0.3 (8) → 50 × 30 = 1500; score 17050 / 300 = 56.833 → 56.8 → red
    Body("k-mo-2", "ОМСУ", "ОМСУ районов",
         {"pages": 1, "compliance_score": 50, "no_specifics_share": 0.5,
          "im_satisfied_share": 0.4, "im_rated": 5, "pos_satisfied_share": 0.3, "pos_rated": 8},
         (H[7.5], H[7.5], D[3], LATE[6])),
    # mo-3 (district): page 70 → 7000; IM 30 40 h → mean 35 h, beyond 24 → 0; within 0 of 2 → 0; specific
    #    0.8 → 1600; no rating, no ПОС — missing; score 8600 / 180 = 47.778 → 47.8 → red
    Body("k-mo-3", "ОМСУ", "ОМСУ районов", {"pages": 1, "compliance_score": 70, "no_specifics_share": 0.2},
         (H[30], H[40])),
    # mo-4 (city): page 90 → 9000; IM 2 2 h → 3000; within → 3000; specific 0.9 → 1800; satisfied 0.8 (6) →
    #    1600; ПОС on time 4 of 5 → 3200; days 3 3 4 4 5 → 3.8 → 100 × 4.2 / 7 = 60 × 30 = 1800; satisfied
    #    0.45 (5) → 75 × 30 = 2250; score 25650 / 300 = 85.5 → green
    Body("k-mo-4", "ОМСУ", "ОМСУ города",
         {"pages": 1, "compliance_score": 90, "no_specifics_share": 0.1,
          "im_satisfied_share": 0.8, "im_rated": 6, "pos_satisfied_share": 0.45, "pos_rated": 5},
         (H[2], H[2], D[3], D[3], D[4], D[4], LATE[5])),
    # outside «ОИВ и ОМСУ»: not rated (before, 120 institutions landed in «Без группы»)
    Body("k-rso", "РСО-УК", "РСО-УК", {"pages": 1, "compliance_score": 100}, (H[1],) * 5),
    Body("k-inst", "учреждение", None, {"pages": 1, "compliance_score": 100}, (H[1],) * 5),
]  # fmt: skip

EXPECTED = {
    "k-oiv-1": Expected(OIV, 88.3, 1, "green"),
    "k-oiv-3": Expected(OIV, 55.9, 2, "red"),
    "k-oiv-2": Expected(OIV, 26.4, 3, "red"),
    "k-mo-1": Expected(OMSU, 99.3, 1, "green"),
    "k-mo-4": Expected(OMSU, 85.5, 2, "green"),
    "k-mo-2": Expected(OMSU, 56.8, 3, "red"),
    "k-mo-3": Expected(OMSU, 47.8, 4, "red"),
}


def test_kirov_scores_places_and_zones_as_computed_by_hand(warehouse: Warehouse) -> None:
    seed_month(warehouse, BODIES)
    bodies, indicators = rate(warehouse, "kirov-2024")
    check_rated(bodies, EXPECTED)
    check_not_rated(bodies, {"k-oiv-4": "2", "k-rso": "", "k-inst": ""})
    # oiv-3: one IM message is under the IM indicators' min_volume: they are missing, not scored
    for indicator in ("im_wait", "im_within_day", "im_specific", "im_satisfied"):
        assert weight(indicators, "k-oiv-3", indicator) == 0.0
    # oiv-2: the required page without a value keeps its weight (100 of 180)
    assert round(weight(indicators, "k-oiv-2", "page_compliance"), 2) == 55.56
