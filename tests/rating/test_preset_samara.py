"""samara-2022 on a fixture month, every score computed by hand (DuckDB and PostgreSQL).

The preset (config/methodologies/samara-2022.yaml): official pages of ministries (ОИВ) and
municipalities (ОМСУ), two groups; institutions and РСО/УК not rated; rated with an official page.
Three equal criteria, weights out of 300 (a score is Σ points × weight over the weights present):
  regularity 50   posts a week, 100 at 3 or more: 100 × min(posts_per_week, 3) / 3 (required)
  visuals 50      100 × photo_video_share (required)
  engagement 100  ER's percentile in the group: (rank − 1) / (n − 1) × 100 over the group's bodies with
                  a value, ties sharing the better rank (required)
  comments 100    100 × replied_share; no citizens' comment → missing, weight spread
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
    rate,
    seed_month,
    weight,
)

OIV, OMSU = "ОИВ", "ОМСУ"


def pages(n: int = 1, **values: float | None) -> dict:
    return {"pages": n, **values}


BODIES = [
    # ОИВ engagement: ER 1.0 (oiv-2), 2.0 (oiv-1), 3.0 (oiv-3) → percentiles 0, 50, 100; oiv-5 has no
    # post, no ER: 0 points (required), outside the ranking.
    # oiv-1: 4 posts a week → 100 × 50; visuals 0.5 → 50 × 50; ER 50 × 100; comments 0.8 → 80 × 100;
    #    score (5000 + 2500 + 5000 + 8000) / 300 = 68.333 → 68.3 → yellow
    Body("s-oiv-1", "ОИВ", "ОИВ",
         pages(posts_per_week=4.0, photo_video_share=0.5, engagement_rate_pct=2.0, replied_share=0.8)),
    # oiv-2: 1.5 a week → 50 × 50; visuals 0.9 → 90 × 50; ER 0; no comment — missing, spread;
    #    score (2500 + 4500 + 0) / 200 = 35.0 → red
    Body("s-oiv-2", "ОИВ", "ОИВ",
         pages(posts_per_week=1.5, photo_video_share=0.9, engagement_rate_pct=1.0, replied_share=None)),
    # oiv-3: 3 a week → 100 × 50; visuals 0.2 → 20 × 50; ER 100 × 100; comments 0.1 → 10 × 100;
    #    score (5000 + 1000 + 10000 + 1000) / 300 = 56.667 → 56.7 → red
    Body("s-oiv-3", "ОИВ", "ОИВ",
         pages(posts_per_week=3.0, photo_video_share=0.2, engagement_rate_pct=3.0, replied_share=0.1)),
    # oiv-4: messages but no official page — not rated
    Body("s-oiv-4", "ОИВ", "ОИВ", {}, (im("2025-11-17 10:00", "2025-11-17 12:00", 2, 0),) * 3),
    # oiv-5: a page that posted nothing: regularity 0; visuals and ER have no value and are required →
    #    0 with their weights kept; no comment — missing; score 0 / 200 = 0.0 → red
    Body("s-oiv-5", "ОИВ", "ОИВ", pages(posts_per_week=0.0)),
    # ОМСУ engagement: ER 0.5 (mo-3), 1.5 (mo-4), 5.0 and 5.0 (mo-1, mo-2: a tie shares the better
    # rank 4) → percentiles 0, 33.333, 100, 100.
    # mo-1: 6 a week → 100 × 50; visuals 0.94 → 94 × 50; ER 100 × 100; comments 1.0 → 100 × 100;
    #    score (5000 + 4700 + 10000 + 10000) / 300 = 99.0 → green
    Body("s-mo-1", "ОМСУ", "ОМСУ города",
         pages(posts_per_week=6.0, photo_video_share=0.94, engagement_rate_pct=5.0, replied_share=1.0)),
    # mo-2: 2.25 a week → 75 × 50; visuals 0.6 → 60 × 50; ER 100 × 100; comments 0.5 → 50 × 100;
    #    score (3750 + 3000 + 10000 + 5000) / 300 = 72.5 → yellow
    Body("s-mo-2", "ОМСУ", "ОМСУ районов",
         pages(posts_per_week=2.25, photo_video_share=0.6, engagement_rate_pct=5.0, replied_share=0.5)),
    # mo-3: 0.75 a week → 25 × 50; visuals 0.4 → 40 × 50; ER 0; comments 0.9 → 90 × 100;
    #    score (1250 + 2000 + 0 + 9000) / 300 = 40.833 → 40.8 → red
    Body("s-mo-3", "ОМСУ", "ОМСУ районов",
         pages(posts_per_week=0.75, photo_video_share=0.4, engagement_rate_pct=0.5, replied_share=0.9)),
    # mo-4 (two pages, values averaged by the mart): 3 a week → 100 × 50; visuals 0.7 → 70 × 50;
    #    ER 33.333 × 100; comments 0.3 → 30 × 100; score (5000 + 3500 + 3333.33 + 3000) / 300 = 49.444 →
    #    49.4 → red
    Body("s-mo-4", "ОМСУ", "ОМСУ города",
         pages(2, posts_per_week=3.0, photo_video_share=0.7, engagement_rate_pct=1.5, replied_share=0.3)),
    # outside the ministries and municipalities of the source: not rated, pages or not
    Body("s-inst", "учреждение", None,
         pages(posts_per_week=9.0, photo_video_share=1.0, engagement_rate_pct=9.0, replied_share=1.0)),
    Body("s-rso", "РСО-УК", "РСО-УК",
         pages(posts_per_week=9.0, photo_video_share=1.0, engagement_rate_pct=9.0, replied_share=1.0)),
]  # fmt: skip

EXPECTED = {
    "s-oiv-1": Expected(OIV, 68.3, 1, "yellow"),
    "s-oiv-3": Expected(OIV, 56.7, 2, "red"),
    "s-oiv-2": Expected(OIV, 35.0, 3, "red"),
    "s-oiv-5": Expected(OIV, 0.0, 4, "red"),
    "s-mo-1": Expected(OMSU, 99.0, 1, "green"),
    "s-mo-2": Expected(OMSU, 72.5, 2, "yellow"),
    "s-mo-4": Expected(OMSU, 49.4, 3, "red"),
    "s-mo-3": Expected(OMSU, 40.8, 4, "red"),
}


def test_samara_scores_places_and_zones_as_computed_by_hand(warehouse: Warehouse) -> None:
    seed_month(warehouse, BODIES)
    bodies, indicators = rate(warehouse, "samara-2022")
    check_rated(bodies, EXPECTED)
    check_not_rated(bodies, {"s-oiv-4": "госпаблик", "s-inst": "", "s-rso": ""})
    # percentile points within the group, the tie sharing the better place
    engagement = [
        round(points(indicators, o, "engagement"), 3) for o in ("s-mo-3", "s-mo-4", "s-mo-1", "s-mo-2")
    ]
    assert engagement == [0.0, 33.333, 100.0, 100.0]
    # a page without citizens' comments: the comments indicator is optional — missing, weight spread
    assert weight(indicators, "s-oiv-2", "comments") == 0.0
    assert weight(indicators, "s-oiv-2", "engagement") == 50.0
    # a page without posts: the required visuals cost their points
    assert points(indicators, "s-oiv-5", "visuals") == 0.0
    assert weight(indicators, "s-oiv-5", "visuals") == 25.0


def test_bodies_outside_the_groups_are_no_group_of_the_degeneracy_report(warehouse: Warehouse) -> None:
    """The institution and the utility are listed unrated under «Вне групп методики», which is not a
    rating group: the report names no small group for it (the demo month had one for every preset)."""
    from gospublic.rating.snapshot import methodologies, score_without_writing
    from tests.rating.month import MONTH
    from transforms.rating_degeneracy import find_degeneracies

    seed_month(warehouse, BODIES)
    _, indicators, bodies = score_without_writing(warehouse, methodologies()["samara-2022"], MONTH)
    found = find_degeneracies(indicators, bodies, methodologies()["samara-2022"])
    assert {d.group for d in found if d.kind == "small_group"} == set(), [d.message_ru for d in found]
