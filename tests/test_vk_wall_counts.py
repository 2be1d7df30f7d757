"""How many posts ``vk_pages`` asks for in a page's first ``wall.get``: sized from what earlier
runs loaded into ``core.fct_post``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.vk.daily import wall_counts
from gospublic.vk.extract import MIN_WALL_COUNT, PAGE_SIZE, wall_count_hint


@pytest.mark.parametrize(
    ("known", "days", "want"),
    [
        (0, 7, MIN_WALL_COUNT),  # nothing known yet (first run, new page): the minimum
        (3, 1, 3 + 6 + 5),  # three posts yesterday: today's two days' worth at twice the rate
        (21, 7, 21 + 6 + 5),  # three a day over a week's window
        (90, 1, PAGE_SIZE),  # capped at one full page
    ],
)
def test_hint_is_known_posts_plus_twice_the_daily_rate_plus_a_margin(
    known: int, days: int, want: int
) -> None:
    assert wall_count_hint(known, days) == want


def test_wall_counts_count_each_pages_posts_in_the_window(warehouse: Warehouse) -> None:
    migrate(warehouse)
    dt = date(2025, 11, 20)
    window_start = datetime(2025, 11, 13, tzinfo=UTC)
    stamps = {
        101: [window_start + timedelta(days=d, hours=9) for d in range(7) for _ in range(3)],  # 21 in window
        102: [window_start - timedelta(hours=1), datetime(2025, 11, 20, 5, tzinfo=UTC)],  # before / after
    }
    rows = [
        {"vk_group_id": gid, "post_id": n, "published_at": at, "first_observed_at": at, "observed_at": at}
        for gid, moments in stamps.items()
        for n, at in enumerate(moments)
    ]
    warehouse.bulk_load("core.fct_post", pd.DataFrame(rows))

    counts = wall_counts(warehouse, [101, 102, 103], dt, window_start)

    assert counts == {101: wall_count_hint(21, 7), 102: MIN_WALL_COUNT, 103: MIN_WALL_COUNT}
    assert counts[101] == 32
