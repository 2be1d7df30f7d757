"""The benchmark's ceiling: the database's own bulk load of a stage's rows, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from bench.ceiling import SCHEMA, TABLES, measure
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse


def test_ceiling_reloads_every_row_of_the_stage_tables_and_leaves_nothing(warehouse: Warehouse) -> None:
    migrate(warehouse)
    at = datetime(2025, 11, 20, 9, tzinfo=UTC)
    posts = pd.DataFrame(
        {
            "dt": [date(2025, 11, 20)] * 3, "vk_group_id": [1, 1, 2], "post_id": [10, 11, 12],
            "published_at": [at] * 3, "text_length": [5, 0, 7], "observed_at": [at] * 3, "load_id": ["l"] * 3,
        }
    )  # fmt: skip
    warehouse.bulk_load("staging.vk_post_observations", posts)

    measured = measure(warehouse, "vk_load")

    assert set(measured["tables"]) == set(TABLES["vk_load"])
    assert measured["tables"]["staging.vk_post_observations"]["rows"] == 3
    assert measured["rows"] == 3 and measured["seconds"] >= 0
    assert SCHEMA not in warehouse.schemas()
