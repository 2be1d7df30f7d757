"""What the publication reads for trends, municipalities and topics (issue 25), on both engines:
gospublic.rating.trends (12 months from published snapshots of one methodology version, place
moves within a group), gospublic.rating.municipalities and gospublic.rating.topics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.municipalities import municipality_bodies
from gospublic.rating.topics import topics_of, topics_summary
from gospublic.rating.trends import body_history, body_trends, group_moves
from transforms.rating import ZONE_CAPTIONS

M = "penza-2025"
NOVEMBER, OCTOBER = date(2025, 11, 1), date(2025, 10, 1)
OIV, DISTRICTS = "ОИВ", "ОМСУ районов"
BASH, BEKOVO, BELINSKY = (f"{n} муниципальный район" for n in ("Башмаковский", "Бековский", "Белинский"))
SCHOOL, SINCE = "учреждение", "2020-01-01"


def months_back(count: int) -> list[date]:
    """The ``count`` months ending with November 2025, oldest first."""
    index = 2025 * 12 + 10
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in reversed(range(count))]


def snapshot(
    wh: Warehouse, month: date, revision: int, status: str, rows, *, methodology=M, version=1
) -> str:
    sid = f"{methodology}:{month:%Y-%m}:r{revision}"
    wh.execute(
        "INSERT INTO mart.rating_snapshot (snapshot_id, month, methodology_id, methodology_version, "
        "methodology_hash, input_fingerprint, revision, status, created_at) "
        "VALUES (:s, :month, :m, :v, 'h', 'f', :r, :status, :at)",
        {"s": sid, "month": month, "m": methodology, "v": version, "r": revision, "status": status,
         "at": datetime(2025, 12, 3, tzinfo=UTC)},
    )  # fmt: skip
    for org_id, group, rank, score in rows:
        wh.execute(
            "INSERT INTO mart.rating_monthly (snapshot_id, org_id, month, rating_group, incidents, is_rated, "
            "not_rated_reason, score, rank, ranked_in_group, zone) VALUES (:s, :org, :month, :g, 10, :rated, "
            ":reason, :score, :rank, :n, :zone)",
            {"s": sid, "org": org_id, "month": month, "g": group, "rated": rank is not None,
             "reason": None if rank is not None else "мало сообщений", "score": score, "rank": rank,
             "n": sum(1 for r in rows if r[1] == group and r[2] is not None) if rank is not None else None,
             "zone": None if score is None else ("green" if score >= 80 else "yellow")},
        )  # fmt: skip
    return sid


@pytest.fixture
def rated(warehouse: Warehouse) -> Warehouse:
    migrate(warehouse)
    for n, month in enumerate(months_back(13)[:-2]):  # November 2024 … September 2025, published
        version = 0 if month == date(2025, 3, 1) else 1  # March under the methodology's old version
        snapshot(warehouse, month, 1, "published", [("org-a", OIV, 1, 70.0 + n)], version=version)
    snapshot(warehouse, date(2025, 9, 1), 2, "draft", [("org-a", OIV, 1, 1.0)])  # never published
    snapshot(warehouse, OCTOBER, 1, "published", [("org-a", OIV, 1, 50.0)])
    october = [("org-a", OIV, 2, 81.0), ("org-e", OIV, 1, 90.0), ("org-b", DISTRICTS, 1, 75.0)]
    snapshot(warehouse, OCTOBER, 2, "published", [*october, ("org-c", OIV, None, None)])
    snapshot(warehouse, date(2025, 8, 1), 1, "published", [("org-a", OIV, 9, 9.0)], methodology="other")
    snapshot(
        warehouse, NOVEMBER, 1, "draft",
        [("org-a", OIV, 1, 88.0), ("org-b", OIV, 2, 84.0), ("org-e", OIV, 3, 80.0), ("org-c", OIV, 4, 60.0)],
    )  # fmt: skip
    return warehouse


def test_a_body_s_last_12_months_come_from_published_snapshots_of_one_methodology_version(rated) -> None:
    points = body_history(rated, M, "org-a", "2025-11")
    expected = [m for m in months_back(12) if m != date(2025, 3, 1)]
    assert [p.month for p in points] == expected  # no November 2024 (13 months back), no March (version 0)
    by_month = {p.month: p for p in points}
    assert by_month[OCTOBER].snapshot_id == f"{M}:2025-10:r2" and by_month[OCTOBER].place == 2
    assert by_month[OCTOBER].score == 81.0 and by_month[OCTOBER].zone == "green"
    assert by_month[date(2025, 9, 1)].snapshot_id == f"{M}:2025-09:r1"  # the r2 draft is not published
    assert by_month[NOVEMBER].published is False and by_month[NOVEMBER].score == 88.0
    assert all(p.published for p in points[:-1]) and all(p.rating_group == OIV for p in points)
    assert by_month[NOVEMBER].ranked_in_group == 4
    assert (by_month[OCTOBER].rank, by_month[OCTOBER].zone_ru) == (
        2,
        ZONE_CAPTIONS["green"],
    )  # the card's names


def test_trends_of_several_bodies_keep_the_group_each_month(rated) -> None:
    trends = body_trends(rated, M, NOVEMBER, ["org-b", "org-c", "org-x"])
    assert [(p.month, p.rating_group, p.place) for p in trends["org-b"]] == [
        (OCTOBER, DISTRICTS, 1), (NOVEMBER, OIV, 2),
    ]  # fmt: skip
    assert [(p.is_rated, p.place) for p in trends["org-c"]] == [(False, None), (True, 4)]
    assert trends["org-x"] == []
    assert set(body_trends(rated, M, NOVEMBER)) == {"org-a", "org-b", "org-c", "org-e"}
    assert body_trends(rated, "unknown", NOVEMBER) == {}


def test_place_moves_are_compared_within_the_group_and_a_group_change_is_flagged(rated) -> None:
    moves = group_moves(rated, M, NOVEMBER)
    assert list(moves) == [OIV]
    got = {m.org_id: (m.place, m.previous_place, m.move, m.group_changed, m.is_new) for m in moves[OIV]}
    assert got == {
        "org-a": (1, 2, 1, False, False),  # up one place in ОИВ
        "org-b": (2, 1, None, True, False),  # first in ОМСУ районов: no move across groups
        "org-e": (3, 1, -2, False, False),
        "org-c": (4, None, None, False, True),  # not rated in October
    }
    assert [m.org_id for m in moves[OIV]] == ["org-a", "org-b", "org-e", "org-c"]
    assert {m.previous_month for m in moves[OIV]} == {OCTOBER}
    assert moves[OIV][1].previous_group == DISTRICTS


def test_no_moves_without_a_snapshot_of_the_month(rated) -> None:
    assert group_moves(rated, M, date(2025, 12, 1)) == {}


@pytest.fixture
def bodies(warehouse: Warehouse) -> Warehouse:
    migrate(warehouse)
    rows = [  # org, version, name, kind, group, municipality, oktmo, valid_from, valid_to
        ("org-1", 1, "Правительство", "ОИВ", OIV, None, None, SINCE, None),
        ("org-2", 1, "Администрация Башмаковского района", "ОМСУ", DISTRICTS, BASH, "56603000", SINCE, None),
        ("org-3", 1, "МОУ СОШ с. Покровка", SCHOOL, None, BASH, "56603000", SINCE, None),
        ("org-4", 1, "МУП «Водоканал»", "РСО-УК", "РСО-УК", BASH, "56603000", SINCE, None),
        (
            "org-5",
            1,
            "Администрация города Пензы",
            "ОМСУ",
            "ОМСУ города",
            "город Пенза",
            "56701000",
            SINCE,
            None,
        ),
        ("org-6", 1, "Старая школа", SCHOOL, None, BEKOVO, "56606000", SINCE, "2025-11-10"),
        ("org-6", 2, "Новая школа", SCHOOL, None, BELINSKY, "56609000", "2025-11-10", None),
        ("org-7", 1, "Закрытая школа", SCHOOL, None, BEKOVO, "56606000", SINCE, "2025-11-20"),
    ]
    for org, version, name, kind, group, municipality, oktmo, since, until in rows:
        warehouse.execute(
            "INSERT INTO mart.dim_org (org_id, version, name, kind, rating_group, region_code, "
            "region_name, timezone, valid_from, valid_to, is_current, municipality, oktmo) VALUES (:org, :v, "
            ":name, :kind, :g, '58', 'Пензенская область', 'Europe/Moscow', :since, :until, :current, :mun, "
            ":oktmo)",
            {"org": org, "v": version, "name": name, "kind": kind, "g": group, "mun": municipality,
             "since": date.fromisoformat(since), "until": date.fromisoformat(until) if until else None,
             "current": until is None, "oktmo": oktmo},
        )  # fmt: skip
    for org, source, incidents in (
        ("org-2", "im", 7),
        ("org-2", "pos", 3),
        ("org-4", "im", 5),
        ("org-1", "im", 9),
    ):
        warehouse.execute(
            "INSERT INTO mart.response_metrics_monthly (org_id, source, month, region_code, incidents, "
            "answered, answered_share, overdue, overdue_share, rated, answers_assessed) "
            "VALUES (:org, :source, :m, '58', :n, :n, 1.0, 0, 0.0, 0, 0)",
            {"org": org, "source": source, "m": NOVEMBER, "n": incidents},
        )
    return warehouse


def test_municipality_pages_gather_the_bodies_valid_at_the_month_s_end(bodies: Warehouse) -> None:
    places = municipality_bodies(bodies, "2025-11")
    assert [(p.name, p.oktmo) for p in places] == [
        ("город Пенза", "56701000"),
        (BASH, "56603000"),
        (BELINSKY, "56609000"),
    ]  # city districts first; the ОИВ has none; org-7 closed and org-6 moved before the month's end
    bashmakovo = places[1]
    assert [(b.org_id, b.kind, b.incidents) for b in bashmakovo.bodies] == [
        ("org-2", "ОМСУ", 10), ("org-3", "учреждение", 0), ("org-4", "РСО-УК", 5),
    ]  # fmt: skip
    assert bashmakovo.incidents == 15 and places[2].bodies[0].name == "Новая школа"
    assert bashmakovo.page == "municipalities/56603000.html"
    october = {p.name: [b.org_id for b in p.bodies] for p in municipality_bodies(bodies, OCTOBER)}
    assert october[BEKOVO] == ["org-7", "org-6"]  # by name: «Закрытая…», «Старая…»


def test_topics_of_a_body_and_of_the_region(warehouse: Warehouse) -> None:
    migrate(warehouse)
    rows = [  # org, source, rubric, channel, incidents, answered, overdue
        ("org-1", "im", "ЖКХ", "ВКонтакте", 5, 4, 1),
        ("org-1", "pos", "ЖКХ", "Госуслуги", 3, 3, 0),
        ("org-1", "im", "Дороги", "ВКонтакте", 2, 1, 1),
        ("org-2", "im", "Дороги", "Одноклассники", 5, 5, 0),
        ("org-2", "im", "не указано", "ВКонтакте", 1, 0, 1),
    ]
    for org, source, rubric, channel, n, answered, overdue in rows:
        warehouse.execute(
            "INSERT INTO mart.incident_topics_monthly (org_id, source, month, rubric, channel, region_code, "
            "incidents, answered, overdue, rated, satisfied) VALUES (:org, :source, :m, :rubric, :channel, "
            "'58', :n, :answered, :overdue, 0, 0)",
            {"org": org, "source": source, "m": NOVEMBER, "rubric": rubric, "channel": channel, "n": n,
             "answered": answered, "overdue": overdue},
        )  # fmt: skip
    body = topics_of(warehouse, "org-1", "2025-11")
    assert body.incidents == 10
    assert [(t.label, t.incidents, t.answered, t.overdue) for t in body.rubrics] == [
        ("ЖКХ", 8, 7, 1), ("Дороги", 2, 1, 1),
    ]  # fmt: skip
    assert [(t.label, t.incidents) for t in body.channels] == [("ВКонтакте", 7), ("Госуслуги", 3)]
    region = topics_summary(warehouse, NOVEMBER)
    assert region.incidents == 16 and region.month == NOVEMBER
    assert [(t.label, t.incidents, t.bodies) for t in region.rubrics] == [
        ("ЖКХ", 8, 1), ("Дороги", 7, 2), ("не указано", 1, 1),
    ]  # fmt: skip
    assert [(t.label, t.incidents) for t in region.channels] == [
        ("ВКонтакте", 8), ("Одноклассники", 5), ("Госуслуги", 3),
    ]  # fmt: skip
    assert topics_of(warehouse, "org-9", NOVEMBER).incidents == 0
