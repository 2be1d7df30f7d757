"""ulyanovsk-2021-im on a fixture month, every score computed by hand (DuckDB and PostgreSQL).

The preset (config/methodologies/ulyanovsk-2021-im.yaml): rated with at least 2 IM messages; groups
the registry's; im_within_8h 50 (100 × the share of counted IM messages answered within 8 working
hours, required), im_not_formal 25 (100 × (1 − formal_share)), im_specific 25 (100 × (1 −
no_specifics_share)), both optional. Weights add up to 100, so a body with every indicator scores
Σ points × weight / 100.
"""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from tests.rating.month import Body, Expected, check_not_rated, check_rated, im, pos, rate, seed_month, weight

OIV, DISTRICTS = "ОИВ", "ОМСУ районов"

# IM messages of the week of Mon 17 Nov 2025 (Moscow; working day 9–18, lunch 13–14), with the
# working hours and working days from registration to the answer, counted by hand:
IN_2H = im("2025-11-17 10:00", "2025-11-17 12:00", 2, 0)
IN_4H = im("2025-11-17 10:00", "2025-11-17 15:00", 4, 0)  # 10–13 and 14–15
AT_8H = im("2025-11-17 10:00", "2025-11-18 10:00", 8, 1)  # 3 + 4 on Monday, 1 on Tuesday: within
IN_9H = im("2025-11-17 10:00", "2025-11-18 11:00", 9, 1)  # not within
IN_13H = im("2025-11-17 10:00", "2025-11-18 16:00", 13, 1)  # not within
AT_NIGHT = im("2025-11-21 20:00", "2025-11-22 11:00", 0, 0)  # Fri night → Sat: no working time passed
OVER_WEEKEND = im("2025-11-21 17:00", "2025-11-24 10:00", 2, 1)  # 65 calendar hours, 2 working hours
OPEN = im("2025-11-17 10:00")  # not answered: counts as not within
REJECTED = im("2025-11-17 10:00", status="rejected")  # «Отклонён»: out of the share


def quality(formal: float, no_specifics: float, assessed: int) -> dict:
    return {"formal_share": formal, "no_specifics_share": no_specifics, "answers_assessed": assessed}


BODIES = [
    # a: 5 of 5 within → 100 × 0.50 = 50; not formal 1 − 0.2 → 80 × 0.25 = 20; specific 1 − 0.4 → 60 ×
    #    0.25 = 15; score 85.0 → green
    Body("u-oiv-a", "ОИВ", "ОИВ", quality(0.2, 0.4, 5),
         (IN_2H, IN_4H, AT_8H, AT_NIGHT, OVER_WEEKEND)),
    # b: the rejected message is out: 2 of 4 within (9 h and the open one are not) → 50 × 0.50 = 25;
    #    not formal 100 × 0.25 = 25; specific 80 × 0.25 = 20; score 70.0 → yellow
    Body("u-oiv-b", "ОИВ", "ОИВ", quality(0.0, 0.2, 3),
         (IN_2H, IN_4H, IN_9H, OPEN, REJECTED)),
    # c: 1 of 2 within → 50; no answer assessed: both quality shares missing, optional → their weight
    #    spread, im_within_8h weighs 100 %; score 50.0 → red
    Body("u-oiv-c", "ОИВ", "ОИВ", {}, (IN_2H, IN_13H)),
    # d: one IM message and six on ПОС: under the IM minimum — not rated (the old preset counted both
    #    sources, and a body with no IM message came 1st with 100.0)
    Body("u-oiv-d", "ОИВ", "ОИВ", quality(0.0, 0.0, 7),
         (IN_2H, *[pos("2025-11-17 10:00", "2025-11-18 10:00", 8, 1)] * 6)),
    # e: 2 of 3 within → 66.667 × 0.50 = 33.333; not formal 90 × 0.25 = 22.5; specific 70 × 0.25 = 17.5;
    #    score 73.333 → 73.3 → yellow
    Body("u-mr-e", "ОМСУ", "ОМСУ районов", quality(0.1, 0.3, 3),
         (IN_2H, IN_4H, IN_9H)),
    # f: 4 of 4 within → 50; not formal 50 × 0.25 = 12.5; specific 50 × 0.25 = 12.5; score 75.0 → yellow
    Body("u-mr-f", "ОМСУ", "ОМСУ районов", quality(0.5, 0.5, 4),
         (IN_2H, IN_4H, AT_8H, AT_NIGHT)),
    # g: 0 of 3 within (13 h, two open) → 0 × 0.50; quality 100 × 0.25 + 100 × 0.25; score 50.0 → red
    Body("u-mr-g", "ОМСУ", "ОМСУ районов", quality(0.0, 0.0, 1),
         (IN_13H, OPEN, OPEN)),
    # h: 2 messages, none answered: im_within_8h 0 points (a value, not missing); no answer to assess;
    #    score 0.0 → red
    Body("u-mr-h", "ОМСУ", "ОМСУ районов", {}, (OPEN, OPEN)),
    # an institution: no rating group in the registry — not rated, however well it answers
    Body("u-inst", "учреждение", None, quality(0.0, 0.0, 5),
         (IN_2H, IN_2H, IN_4H, AT_8H, AT_NIGHT)),
]  # fmt: skip

EXPECTED = {
    "u-oiv-a": Expected(OIV, 85.0, 1, "green"),
    "u-oiv-b": Expected(OIV, 70.0, 2, "yellow"),
    "u-oiv-c": Expected(OIV, 50.0, 3, "red"),
    "u-mr-f": Expected(DISTRICTS, 75.0, 1, "yellow"),
    "u-mr-e": Expected(DISTRICTS, 73.3, 2, "yellow"),
    "u-mr-g": Expected(DISTRICTS, 50.0, 3, "red"),
    "u-mr-h": Expected(DISTRICTS, 0.0, 4, "red"),
}


def test_ulyanovsk_im_scores_places_and_zones_as_computed_by_hand(warehouse: Warehouse) -> None:
    seed_month(warehouse, BODIES)
    bodies, indicators = rate(warehouse, "ulyanovsk-2021-im")
    check_rated(bodies, EXPECTED)
    check_not_rated(bodies, {"u-oiv-d": "ИМ", "u-inst": ""})
    # c: the missing quality shares are optional — their weight went to the time indicator
    assert weight(indicators, "u-oiv-c", "im_within_8h") == 100.0
    assert weight(indicators, "u-oiv-c", "im_not_formal") == 0.0
    assert weight(indicators, "u-oiv-c", "im_specific") == 0.0
    # a: every indicator present, weights as written
    assert [weight(indicators, "u-oiv-a", i) for i in ("im_within_8h", "im_not_formal", "im_specific")] == [
        50.0, 25.0, 25.0,
    ]  # fmt: skip
