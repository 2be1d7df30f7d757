"""ulyanovsk-2021-pos on a fixture month, every score computed by hand (DuckDB and PostgreSQL).

The preset (config/methodologies/ulyanovsk-2021-pos.yaml): rated with at least 2 ПОС messages; groups
the registry's; four indicators of weight 25 each:
  pos_time      mean working days to the answer, 100 at 1 day, 0 at 8: 100 × (8 − mean) / 7 (required)
  pos_on_time   100 × the share of counted ПОС messages not overdue (measure on_time; required)
  pos_satisfied 100 × pos_satisfied_share / 0.6, at most 100; missing under 5 ratings (optional)
  pos_fast      100 × the share of counted ПОС messages answered within 2 working days (required)
"""

from __future__ import annotations

from gospublic.infra.warehouse import Warehouse
from tests.rating.month import (
    Body,
    Expected,
    Message,
    check_not_rated,
    check_rated,
    im,
    points,
    pos,
    rate,
    seed_month,
    weight,
)

OIV, CITY = "ОИВ", "ОМСУ города"

# ПОС messages registered Mon 17 Nov 2025 10:00 (Moscow). Working days count from the day after
# registration to the answer's day: Tue 18 → 1, Wed 19 → 2, Thu 20 → 3, Fri 21 → 4, Mon 24 → 5,
# Tue 25 → 6, Wed 26 → 7 (8 working hours a day).
DAY = {1: "2025-11-18", 2: "2025-11-19", 3: "2025-11-20", 4: "2025-11-21", 5: "2025-11-24", 6: "2025-11-25",
       7: "2025-11-26"}  # fmt: skip


def after(days: int, *, late: bool = False) -> Message:
    """Answered ``days`` working days after registration; ``late``: after the export's due date."""
    return pos("2025-11-17 10:00", f"{DAY[days]} 10:00", 8 * days, days, overdue=late)


OPEN = pos("2025-11-17 10:00")  # not answered yet, not yet due
OPEN_LATE = pos("2025-11-17 10:00", overdue=True)  # not answered, past its due date
REJECTED = pos("2025-11-17 10:00", status="rejected")

BODIES = [
    # a: days 1 2 2 3 4 → mean 2.4 → 100 × 5.6 / 7 = 80; on time 100; satisfied 0.6 (5 ratings) → 100;
    #    fast: 3 of 5 within 2 days → 60; score (80 + 100 + 100 + 60) / 4 = 85.0 → green
    Body("p-oiv-a", "ОИВ", "ОИВ", {"pos_satisfied_share": 0.6, "pos_rated": 5},
         (after(1), after(2), after(2), after(3), after(4))),
    # b: days 3 3 4 4 5 → 3.8 → 100 × 4.2 / 7 = 60; on time 4 of 5 → 80; satisfied: 4 ratings — missing,
    #    its weight spread; fast 0 of 5 → 0; score (60 + 80 + 0) / 3 = 46.667 → 46.7 → red
    Body("p-oiv-b", "ОИВ", "ОИВ", {"pos_satisfied_share": 0.75, "pos_rated": 4},
         (after(3), after(3), after(4), after(4), after(5, late=True))),
    # c: the rejected message is out of every share: days 1 1 → 100; on time 100; satisfied 0.3 (10
    #    ratings) → 50; fast 2 of 2 → 100 (2 of 3 = 66.7 if the rejected one counted); score
    #    (100 + 100 + 50 + 100) / 4 = 87.5 → green
    Body("p-oiv-c", "ОИВ", "ОИВ", {"pos_satisfied_share": 0.3, "pos_rated": 10},
         (after(1), after(1), REJECTED)),
    # d: one ПОС message beside ten IM: under the ПОС minimum — not rated (the old preset counted both
    #    sources: 25 rated bodies of the demo month had no ПОС message and a score of nan)
    Body("p-oiv-d", "ОИВ", "ОИВ", {},
         (after(1), *[im("2025-11-17 10:00", "2025-11-17 12:00", 2, 0)] * 10)),
    # e: days 3 6 and one open past due → mean 4.5 → 100 × 3.5 / 7 = 50; on time 2 of 3 → 66.667; satisfied
    #    0.45 (6) → 75; fast 0 of 3 → 0; score (50 + 66.667 + 75 + 0) / 4 = 47.917 → 47.9 → red
    Body("p-mg-e", "ОМСУ", "ОМСУ города",
         {"pos_satisfied_share": 0.45, "pos_rated": 6},
         (after(3), after(6), OPEN_LATE)),
    # f: days 6 6 7 7 7, the last three late → 6.6 → 100 × 1.4 / 7 = 20; on time 2 of 5 → 40; no rating;
    #    fast 0; score (20 + 40 + 0) / 3 = 20.0 → red
    Body("p-mg-f", "ОМСУ", "ОМСУ города", {},
         (after(6), after(6), after(7, late=True), after(7, late=True), after(7, late=True))),
    # g: two open messages, not yet overdue: no answer, so no mean time — pos_time is required: 0 points,
    #    its weight kept; on time 100; fast 0 of 2 → 0; satisfied missing (optional, spread);
    #    score (0 + 100 + 0) / 3 = 33.3 → red (were pos_time optional: (100 + 0) / 2 = 50)
    Body("p-mg-g", "ОМСУ", "ОМСУ города", {}, (OPEN, OPEN)),
    # an institution: not rated
    Body("p-inst", "учреждение", None, {}, (after(1), after(1))),
]  # fmt: skip

EXPECTED = {
    "p-oiv-c": Expected(OIV, 87.5, 1, "green"),
    "p-oiv-a": Expected(OIV, 85.0, 2, "green"),
    "p-oiv-b": Expected(OIV, 46.7, 3, "red"),
    "p-mg-e": Expected(CITY, 47.9, 1, "red"),
    "p-mg-g": Expected(CITY, 33.3, 2, "red"),
    "p-mg-f": Expected(CITY, 20.0, 3, "red"),
}


def test_ulyanovsk_pos_scores_places_and_zones_as_computed_by_hand(warehouse: Warehouse) -> None:
    seed_month(warehouse, BODIES)
    bodies, indicators = rate(warehouse, "ulyanovsk-2021-pos")
    check_rated(bodies, EXPECTED)
    check_not_rated(bodies, {"p-oiv-d": "ПОС", "p-inst": ""})
    # b: 4 ratings are under min_ratings — the satisfaction share is missing, not scored
    assert weight(indicators, "p-oiv-b", "pos_satisfied") == 0.0
    assert round(weight(indicators, "p-oiv-b", "pos_time"), 2) == 33.33
    # g: the required time indicator without a value costs its points and keeps its weight
    assert points(indicators, "p-mg-g", "pos_time") == 0.0
    assert round(weight(indicators, "p-mg-g", "pos_time"), 2) == 33.33
    # working days, not calendar hours: a mean of 2.4 days is 80 points
    assert round(points(indicators, "p-oiv-a", "pos_time"), 6) == 80.0
