"""Staging retention's cleanup (issue 29): delete the staged days the rule no longer keeps, one
table partition per transaction, each recorded in ``audit.staging_retention``.

The rule is ``gospublic.infra.retention_rule`` (``config/retention.yaml``). Core and the marts are
untouched: the marts are rebuilt from core, never from staging, and core keeps every row. The VK
load's full scope (sql/core/020_fct_post.sql, 030_fct_comment.sql) reads every observation of the
posts it rebuilds, so a day of posts or comments is first *folded* — in the transaction that deletes
it — into ``staging.vk_post_retired`` / ``staging.vk_comment_retired``: per post, the latest of its
deleted observations and the earliest time it was seen; per comment, its latest. The full scope reads
those rows beside the staged ones, and gives the core rows it would give with every day staged
(``tests/vk/test_staging_retention.py``). The OK, MAX and Telegram posts are folded the same way,
one network's day at a time, into ``staging.network_post_retired``, which
sql/core/060_fct_network_post.sql reads beside the staged ones
(``tests/networks/test_network_post_retention.py``). A deleted day loaded again is replayed from the lake (the
replayable source): the load re-stages it, and the next cleanup deletes it again.

Idempotent: a partition already deleted is not found again; a run deletes only what exists.
Each partition is deleted under the writer lock of the loads that write it (``vk_load``, or the
network's load for ``staging.network_page_observations`` and ``staging.network_post_observations``),
so a cleanup never meets a load of the same day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from gospublic.infra.network_day import NETWORK_WRITERS
from gospublic.infra.retention_results import PartitionCleaned, StagingCleaned
from gospublic.infra.retention_rule import RetentionRule
from gospublic.infra.warehouse import Transaction, Warehouse

log = logging.getLogger(__name__)

# A post's deleted observations, folded: the day's latest row of the post (with the day's first
# sighting) joins the post's folded row unless that holds the same observation already (a day
# replayed from the lake and deleted again: same day, time and load), each post's earliest
# first_seen_at spreads to its rows, then only its latest row stays (latest day, then time, then
# load: the core models' order).
FOLD_POSTS = """
INSERT INTO staging.vk_post_retired (
    vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
    other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
    first_seen_at, observed_at, dt, load_id
)
SELECT vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
       other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
       first_seen_at, observed_at, dt, load_id
FROM (
    SELECT s.*,
           MIN(s.observed_at) OVER (PARTITION BY s.vk_group_id, s.post_id) AS first_seen_at,
           ROW_NUMBER() OVER (
               PARTITION BY s.vk_group_id, s.post_id ORDER BY s.observed_at DESC, s.load_id DESC
           ) AS rn
    FROM staging.vk_post_observations AS s
    WHERE s.dt = :dt
) AS d
WHERE rn = 1
  AND NOT EXISTS (
    SELECT 1 FROM staging.vk_post_retired AS r
    WHERE r.vk_group_id = d.vk_group_id AND r.post_id = d.post_id
      AND r.dt = d.dt AND r.observed_at = d.observed_at AND r.load_id = d.load_id
);

UPDATE staging.vk_post_retired AS t
SET first_seen_at = f.first_seen_at
FROM (
    SELECT r.vk_group_id, r.post_id, MIN(r.first_seen_at) AS first_seen_at
    FROM staging.vk_post_retired AS r
    WHERE EXISTS (
        SELECT 1 FROM staging.vk_post_observations AS s
        WHERE s.dt = :dt AND s.vk_group_id = r.vk_group_id AND s.post_id = r.post_id
    )
    GROUP BY r.vk_group_id, r.post_id
) AS f
WHERE f.vk_group_id = t.vk_group_id AND f.post_id = t.post_id AND f.first_seen_at < t.first_seen_at;

DELETE FROM staging.vk_post_retired
WHERE EXISTS (
    SELECT 1 FROM staging.vk_post_observations AS s
    WHERE s.dt = :dt
      AND s.vk_group_id = staging.vk_post_retired.vk_group_id AND s.post_id = staging.vk_post_retired.post_id
)
  AND EXISTS (
    SELECT 1 FROM staging.vk_post_retired AS r
    WHERE r.vk_group_id = staging.vk_post_retired.vk_group_id AND r.post_id = staging.vk_post_retired.post_id
      AND (r.dt > staging.vk_post_retired.dt
           OR (r.dt = staging.vk_post_retired.dt
               AND (r.observed_at > staging.vk_post_retired.observed_at
                    OR (r.observed_at = staging.vk_post_retired.observed_at
                        AND r.load_id > staging.vk_post_retired.load_id))))
)
"""

# A comment's deleted observations, folded: the day's latest row of the comment joins its folded
# row (unless that is the same observation), then only its latest row stays.
FOLD_COMMENTS = """
INSERT INTO staging.vk_comment_retired (
    vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
    observed_at, dt, load_id
)
SELECT vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
       observed_at, dt, load_id
FROM (
    SELECT s.*,
           ROW_NUMBER() OVER (
               PARTITION BY s.vk_group_id, s.post_id, s.comment_id ORDER BY s.observed_at DESC, s.load_id DESC
           ) AS rn
    FROM staging.vk_comment_observations AS s
    WHERE s.dt = :dt
) AS d
WHERE rn = 1
  AND NOT EXISTS (
    SELECT 1 FROM staging.vk_comment_retired AS r
    WHERE r.vk_group_id = d.vk_group_id AND r.post_id = d.post_id AND r.comment_id = d.comment_id
      AND r.dt = d.dt AND r.observed_at = d.observed_at AND r.load_id = d.load_id
);

DELETE FROM staging.vk_comment_retired
WHERE EXISTS (
    SELECT 1 FROM staging.vk_comment_observations AS s
    WHERE s.dt = :dt
      AND s.vk_group_id = staging.vk_comment_retired.vk_group_id
      AND s.post_id = staging.vk_comment_retired.post_id
      AND s.comment_id = staging.vk_comment_retired.comment_id
)
  AND EXISTS (
    SELECT 1 FROM staging.vk_comment_retired AS r
    WHERE r.vk_group_id = staging.vk_comment_retired.vk_group_id
      AND r.post_id = staging.vk_comment_retired.post_id
      AND r.comment_id = staging.vk_comment_retired.comment_id
      AND (r.dt > staging.vk_comment_retired.dt
           OR (r.dt = staging.vk_comment_retired.dt
               AND (r.observed_at > staging.vk_comment_retired.observed_at
                    OR (r.observed_at = staging.vk_comment_retired.observed_at
                        AND r.load_id > staging.vk_comment_retired.load_id))))
)
"""

# A network's post observations of a deleted day, folded as VK's posts are (FOLD_POSTS), per network:
# into staging.network_post_retired (sql/core/060_fct_network_post.sql reads it beside staging).
FOLD_NETWORK_POSTS = """
INSERT INTO staging.network_post_retired (
    network, page_key, post_key, published_at, text_length, has_photo, has_video, views, likes, comments,
    reposts, first_seen_at, observed_at, dt, load_id
)
SELECT network, page_key, post_key, published_at, text_length, has_photo, has_video, views, likes, comments,
       reposts, first_seen_at, observed_at, dt, load_id
FROM (
    SELECT s.*,
           MIN(s.observed_at) OVER (PARTITION BY s.page_key, s.post_key) AS first_seen_at,
           ROW_NUMBER() OVER (
               PARTITION BY s.page_key, s.post_key ORDER BY s.observed_at DESC, s.load_id DESC
           ) AS rn
    FROM staging.network_post_observations AS s
    WHERE s.network = :network AND s.dt = :dt
) AS d
WHERE rn = 1
  AND NOT EXISTS (
    SELECT 1 FROM staging.network_post_retired AS r
    WHERE r.network = d.network AND r.page_key = d.page_key AND r.post_key = d.post_key
      AND r.dt = d.dt AND r.observed_at = d.observed_at AND r.load_id = d.load_id
);

UPDATE staging.network_post_retired AS t
SET first_seen_at = f.first_seen_at
FROM (
    SELECT r.network, r.page_key, r.post_key, MIN(r.first_seen_at) AS first_seen_at
    FROM staging.network_post_retired AS r
    WHERE r.network = :network
      AND EXISTS (
        SELECT 1 FROM staging.network_post_observations AS s
        WHERE s.network = :network AND s.dt = :dt AND s.page_key = r.page_key AND s.post_key = r.post_key
    )
    GROUP BY r.network, r.page_key, r.post_key
) AS f
WHERE f.network = t.network AND f.page_key = t.page_key AND f.post_key = t.post_key
  AND f.first_seen_at < t.first_seen_at;

DELETE FROM staging.network_post_retired
WHERE network = :network
  AND EXISTS (
    SELECT 1 FROM staging.network_post_observations AS s
    WHERE s.network = :network AND s.dt = :dt
      AND s.page_key = staging.network_post_retired.page_key
      AND s.post_key = staging.network_post_retired.post_key
)
  AND EXISTS (
    SELECT 1 FROM staging.network_post_retired AS r
    WHERE r.network = staging.network_post_retired.network
      AND r.page_key = staging.network_post_retired.page_key
      AND r.post_key = staging.network_post_retired.post_key
      AND (r.dt > staging.network_post_retired.dt
           OR (r.dt = staging.network_post_retired.dt
               AND (r.observed_at > staging.network_post_retired.observed_at
                    OR (r.observed_at = staging.network_post_retired.observed_at
                        AND r.load_id > staging.network_post_retired.load_id))))
)
"""

PUBLISHED_MONTHS = "SELECT DISTINCT month FROM mart.rating_snapshot WHERE status = 'published'"


@dataclass(frozen=True)
class Partition:
    """One staged day of a table (and its network, for a table of several networks)."""

    dt: date
    network: str | None = None

    @property
    def key(self) -> dict[str, object]:
        return {"dt": self.dt} if self.network is None else {"network": self.network, "dt": self.dt}


@dataclass(frozen=True)
class Retained:
    """How the cleanup finds and deletes a table's old partitions (names are code, never config)."""

    table: str
    partitions_sql: str  # (dt[, network]) of the partitions before :horizon
    fold_sql: str | None = None  # run with :dt (and :network) before the partition is deleted
    by_network: bool = False

    def writer(self, partition: Partition) -> str | None:
        """The writer lock the partition is deleted under (None: a network without a known load)."""
        return "vk_load" if partition.network is None else NETWORK_WRITERS.get(partition.network)


def _days(table: str) -> str:
    return f"SELECT DISTINCT dt FROM {table} WHERE dt < :horizon ORDER BY dt"


def _network_days(table: str) -> str:
    return f"SELECT DISTINCT network, dt FROM {table} WHERE dt < :horizon ORDER BY dt, network"


RETAINED = {
    spec.table: spec
    for spec in (
        Retained("staging.vk_page_observations", _days("staging.vk_page_observations")),
        Retained("staging.vk_post_observations", _days("staging.vk_post_observations"), FOLD_POSTS),
        Retained("staging.vk_comment_observations", _days("staging.vk_comment_observations"), FOLD_COMMENTS),
        Retained(
            "staging.network_page_observations",
            _network_days("staging.network_page_observations"),
            by_network=True,
        ),
        Retained(
            "staging.network_post_observations",
            _network_days("staging.network_post_observations"),
            FOLD_NETWORK_POSTS,
            by_network=True,
        ),
    )
}
# The cleaned tables and the folds: vacuumed (PostgreSQL) after a cleanup that deleted rows.
VACUUMED = (
    *RETAINED,
    "staging.vk_post_retired",
    "staging.vk_comment_retired",
    "staging.network_post_retired",
)


def clean_staging(
    warehouse: Warehouse,
    rule: RetentionRule,
    horizon: date,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> StagingCleaned:
    """Delete the partitions of ``rule.tables`` before ``horizon`` (with ``rule.after_publication``
    only those of months with a published rating), each in its own transaction with its fold and
    its ``audit.staging_retention`` row."""
    published = _published_months(warehouse) if rule.after_publication else None
    deleted: list[PartitionCleaned] = []
    kept: set[date] = set()
    skipped: list[str] = []
    for table in rule.tables:
        spec = RETAINED[table]
        for partition in _partitions(warehouse, spec, horizon):
            month = partition.dt.replace(day=1)
            if published is not None and month not in published:
                kept.add(month)
                continue
            lock = spec.writer(partition)
            if lock is None:
                skipped.append(f"{table} {partition.network}:{partition.dt}")
                log.warning("retention: %s of network %r kept: no known load", table, partition.network)
                continue
            with warehouse.writer_lock(lock), warehouse.transaction() as tx:
                deleted.append(_clean(tx, spec, partition, horizon, now()))
    rows = sum(p["rows_deleted"] for p in deleted)
    if rows:
        warehouse.vacuum(VACUUMED)
    result = StagingCleaned(
        horizon=horizon.isoformat(),
        deleted=deleted,
        rows_deleted=rows,
        kept_unpublished=sorted(f"{m:%Y-%m}" for m in kept),
        skipped=skipped,
    )
    log.info(
        "retention before %s: %d partitions, %d rows deleted; kept unpublished months %s",
        horizon, len(deleted), rows, result["kept_unpublished"] or "none",
    )  # fmt: skip
    return result


def _published_months(warehouse: Warehouse) -> set[date]:
    return {_as_date(row["month"]) for row in warehouse.query(PUBLISHED_MONTHS)}


def _partitions(warehouse: Warehouse, spec: Retained, horizon: date) -> Iterable[Partition]:
    rows = warehouse.query(spec.partitions_sql, {"horizon": horizon})
    return [Partition(_as_date(r["dt"]), r["network"] if spec.by_network else None) for r in rows]


def _clean(
    tx: Transaction, spec: Retained, partition: Partition, horizon: date, cleaned_at: datetime
) -> PartitionCleaned:
    """Fold and delete one partition, and record it (one transaction, the caller's)."""
    if spec.fold_sql is not None:
        tx.execute_script(spec.fold_sql, partition.key)
    rows = tx.delete_partition(spec.table, partition.key)
    folded = rows if spec.fold_sql is not None else 0  # a folded table's partition is its (network's) day
    tx.execute(
        "INSERT INTO audit.staging_retention"
        " (table_name, dt, network, rows_deleted, rows_folded, horizon, cleaned_at)"
        " VALUES (:table_name, :dt, :network, :rows_deleted, :rows_folded, :horizon, :cleaned_at)",
        {
            "table_name": spec.table,
            "dt": partition.dt,
            "network": partition.network,
            "rows_deleted": rows,
            "rows_folded": folded,
            "horizon": horizon,
            "cleaned_at": cleaned_at,
        },
    )
    return PartitionCleaned(
        table=spec.table,
        dt=partition.dt.isoformat(),
        network=partition.network,
        rows_deleted=rows,
        rows_folded=folded,
    )


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
