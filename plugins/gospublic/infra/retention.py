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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property

from gospublic.infra.network_day import NETWORK_WRITERS
from gospublic.infra.retention_results import PartitionCleaned, StagingCleaned
from gospublic.infra.retention_rule import RetentionRule
from gospublic.infra.warehouse import Transaction, Warehouse

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Fold:
    """How a day of ``source`` is folded into ``retired`` before it is deleted: per entity (``keys``,
    within ``scope``: columns bound to the parameter of the same name, such as the network), the
    day's latest row joins the entity's folded row unless that holds the same observation already
    (a day replayed from the lake and deleted again: same day, time and load); with
    ``first_seen`` each entity's earliest sighting (``first_seen_at``) spreads to its rows; then
    only its latest row stays (latest day, then time, then load: the core models' order).
    Identifiers come from :data:`FOLDS` only, never from configuration, and are checked when
    rendered."""

    source: str
    retired: str
    keys: tuple[str, ...]
    values: tuple[str, ...]  # the other columns copied as they are
    scope: tuple[str, ...] = ()
    first_seen: bool = False

    @cached_property
    def sql(self) -> str:
        """The fold's statements, run with ``:dt`` and a parameter per ``scope`` column."""
        tables, names = (self.source, self.retired), (*self.scope, *self.keys, *self.values)
        bad = [t for t in tables if not _TABLE.match(t)] + [n for n in names if not _IDENTIFIER.match(n)]
        if bad:
            raise ValueError(f"fold of {self.source}: not plain identifiers {bad}")
        return _render_fold(self)


def _render_fold(fold: Fold) -> str:
    source, retired, keys, entity = fold.source, fold.retired, fold.keys, (*fold.scope, *fold.keys)
    first_seen = ("first_seen_at",) if fold.first_seen else ()
    columns = ", ".join((*entity, *fold.values, *first_seen, "observed_at", "dt", "load_id"))

    def match(left: str, right: str, names: tuple[str, ...]) -> str:
        return " AND ".join(f"{left}.{n} = {right}.{n}" for n in names)

    def scoped(alias: str) -> str:
        return "".join(f"{alias}{n} = :{n} AND " for n in fold.scope)

    window = ", ".join(f"s.{n}" for n in keys)
    sighting = (
        f"MIN(s.observed_at) OVER (PARTITION BY {window}) AS first_seen_at, " if fold.first_seen else ""
    )
    later = (
        f"(r.dt > {retired}.dt OR (r.dt = {retired}.dt AND (r.observed_at > {retired}.observed_at"
        f" OR (r.observed_at = {retired}.observed_at AND r.load_id > {retired}.load_id))))"
    )
    statements = [
        f"INSERT INTO {retired} ({columns})\n"
        f"SELECT {columns}\n"
        f"FROM (SELECT s.*, {sighting}"
        f"ROW_NUMBER() OVER (PARTITION BY {window} ORDER BY s.observed_at DESC, s.load_id DESC) AS rn"
        f" FROM {source} AS s WHERE {scoped('s.')}s.dt = :dt) AS d\n"
        f"WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM {retired} AS r WHERE {match('r', 'd', entity)}"
        " AND r.dt = d.dt AND r.observed_at = d.observed_at AND r.load_id = d.load_id)"
    ]
    if fold.first_seen:
        statements.append(
            f"UPDATE {retired} AS t SET first_seen_at = f.first_seen_at\n"
            f"FROM (SELECT {', '.join(f'r.{n}' for n in entity)}, MIN(r.first_seen_at) AS first_seen_at"
            f" FROM {retired} AS r WHERE {scoped('r.')}EXISTS (SELECT 1 FROM {source} AS s"
            f" WHERE {scoped('s.')}s.dt = :dt AND {match('s', 'r', keys)})"
            f" GROUP BY {', '.join(f'r.{n}' for n in entity)}) AS f\n"
            f"WHERE {match('f', 't', entity)} AND f.first_seen_at < t.first_seen_at"
        )
    statements.append(
        f"DELETE FROM {retired}\n"
        f"WHERE {scoped('')}EXISTS (SELECT 1 FROM {source} AS s WHERE {scoped('s.')}s.dt = :dt"
        f" AND {match('s', retired, keys)})\n"
        f"  AND EXISTS (SELECT 1 FROM {retired} AS r WHERE {match('r', retired, entity)} AND {later})"
    )
    return ";\n\n".join(statements) + "\n"


# The folds of the tables whose deleted days the core models still read (the only identifiers the
# fold's SQL is made of): VK's posts and comments (sql/core/020_fct_post.sql, 030_fct_comment.sql),
# and the OK/MAX/Telegram posts, one network's day at a time (sql/core/060_fct_network_post.sql).
FOLDS = {
    "staging.vk_post_observations": Fold(
        "staging.vk_post_observations", "staging.vk_post_retired",
        keys=("vk_group_id", "post_id"),
        values=(
            "published_at", "text_length", "photo_count", "video_count", "link_count",
            "other_attachment_count", "is_pinned", "is_repost", "views", "likes", "comments", "reposts",
        ),
        first_seen=True,
    ),
    "staging.vk_comment_observations": Fold(
        "staging.vk_comment_observations", "staging.vk_comment_retired",
        keys=("vk_group_id", "post_id", "comment_id"),
        values=("parent_comment_id", "published_at", "author_hash", "is_page_reply"),
    ),
    "staging.network_post_observations": Fold(
        "staging.network_post_observations", "staging.network_post_retired",
        scope=("network",),
        keys=("page_key", "post_key"),
        values=(
            "published_at", "text_length", "has_photo", "has_video", "views", "likes", "comments", "reposts",
        ),
        first_seen=True,
    ),
}  # fmt: skip


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
    fold: Fold | None = None  # run with :dt (and :network) before the partition is deleted
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
        Retained(
            "staging.vk_post_observations",
            _days("staging.vk_post_observations"),
            FOLDS["staging.vk_post_observations"],
        ),
        Retained(
            "staging.vk_comment_observations",
            _days("staging.vk_comment_observations"),
            FOLDS["staging.vk_comment_observations"],
        ),
        Retained(
            "staging.network_page_observations",
            _network_days("staging.network_page_observations"),
            by_network=True,
        ),
        Retained(
            "staging.network_post_observations",
            _network_days("staging.network_post_observations"),
            FOLDS["staging.network_post_observations"],
            by_network=True,
        ),
    )
}
# The cleaned tables and the folds: vacuumed (PostgreSQL) after a cleanup that deleted rows.
VACUUMED = (*RETAINED, *(fold.retired for fold in FOLDS.values()))


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
    if spec.fold is not None:
        tx.execute_script(spec.fold.sql, partition.key)
    rows = tx.delete_partition(spec.table, partition.key)
    folded = rows if spec.fold is not None else 0  # a folded table's partition is its (network's) day
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
