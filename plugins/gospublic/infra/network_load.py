"""Load one extracted day of a network beyond VK (OK, MAX, Telegram) from the lake into staging
and core, in one transaction: the load every such network shares, told by its package what its
raw answers mean (a :class:`NetworkSource`).

Re-runnable for any past day without calling the network: it reads the day's ``latest.json``
manifest (a run that passed its checks), replaces the day's rows of the network in
``staging.network_page_observations`` and ``staging.network_post_observations`` and in
``audit.extract_errors``, rebuilds the network's core rows of the day (step ``networks`` of
``sql/models.yml``: ``core.fct_network_page_daily``, ``core.fct_network_post``) and records one
``audit.load_runs`` row per raw method. Counts reconcile per method: every item of the raw lines
(a page's card, a post) is staged (written), repeated (duplicate: a post read twice in the day,
at the edge of two pages), or rejected with its reason (an error answer, recorded in
``audit.extract_errors``; a post published before the re-read window, not re-read every day).
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from gospublic.infra.audit import LoadRun
from gospublic.infra.lake import Lake
from gospublic.infra.load_skeleton import PartitionLoad
from gospublic.infra.network_day import partition_date
from gospublic.infra.network_results import MethodCounts, NetworkDayLoad
from gospublic.infra.warehouse import Transaction, Warehouse

log = logging.getLogger(__name__)

STEP = "networks"
PAGES_TABLE = "staging.network_page_observations"
POSTS_TABLE = "staging.network_post_observations"
PASSED = "passed"
# The page card's fields the compliance checks read (migration 0030; docs/networks.md,
# "Compliance checks per network"): None where the network's card has no such field.
PAGE_FIELDS = (
    "has_photo", "has_description", "has_contacts_or_links", "page_open", "verified", "comments_open",
)  # fmt: skip

PAGE_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("page_key", pa.string()),
        ("dt", pa.date32()),
        ("subscribers", pa.int64()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("load_id", pa.string()),
        *((name, pa.bool_()) for name in PAGE_FIELDS),
    ]
)
POST_SCHEMA = pa.schema(
    [
        ("network", pa.string()),
        ("page_key", pa.string()),
        ("dt", pa.date32()),
        ("post_key", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("text_length", pa.int32()),
        ("has_photo", pa.bool_()),
        ("has_video", pa.bool_()),
        ("views", pa.int64()),
        ("likes", pa.int64()),
        ("comments", pa.int64()),
        ("reposts", pa.int64()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("load_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class PageItem:
    """A page's card in a raw answer: its key (as the registry keeps it), subscribers and the
    fields of :data:`PAGE_FIELDS` (None where the network's card has no such field)."""

    page_key: str
    subscribers: int | None
    has_photo: bool | None = None
    has_description: bool | None = None
    has_contacts_or_links: bool | None = None
    page_open: bool | None = None
    verified: bool | None = None
    comments_open: bool | None = None

    def fields(self) -> dict[str, bool | None]:
        """The card's compliance fields by column name."""
        return {name: getattr(self, name) for name in PAGE_FIELDS}


@dataclass(frozen=True)
class PostItem:
    """A post in a raw answer, with the metrics the network gives (None where it gives none)."""

    page_key: str
    post_key: str
    published_at: datetime
    text_length: int | None = None
    has_photo: bool | None = None
    has_video: bool | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    reposts: int | None = None


@dataclass(frozen=True)
class NetworkSource:
    """What one network's load needs to know of its lake files, given by its package."""

    network: str  # the registry's code: 'ok', 'max', 'tg'
    pipeline: str  # the DAG's name for messages (ok_pages, max_pages, tg_pages)
    pages_method: str  # the raw method whose answers hold the pages' cards
    posts_method: str  # the raw method whose answers hold the posts
    read_manifest: Callable[[Lake, date], dict[str, Any]]  # the day's latest.json
    error_rows: Callable[[Mapping[str, Any]], pd.DataFrame]  # the manifest's audit.extract_errors rows
    pages: Callable[[Mapping[str, Any]], list[PageItem]]  # the cards of one answered raw line
    posts: Callable[[Mapping[str, Any]], list[PostItem]]  # the posts of one answered raw line


class ManifestNotPassedError(RuntimeError):
    """The day's manifest names a run that did not pass its checks: loading it would lose data."""


@dataclass
class _Counter:
    read: int = 0
    rejected: int = 0
    duplicate: int = 0
    before_window: int = 0
    error_answers: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def load_network_day(
    warehouse: Warehouse,
    lake: Lake,
    source: NetworkSource,
    dt: date,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> NetworkDayLoad:
    """Load ``dt`` of ``source``'s network from its latest manifest; counts per method.

    The caller holds the network's writer lock (``@writer`` in the network's ``load`` module)."""
    return NetworkLoad(lake, source, dt, dag_id=dag_id, task_id=task_id).run(warehouse)


class NetworkLoad(PartitionLoad[NetworkDayLoad]):
    """One network's day of the lake into staging (its partition of each table) and core."""

    step = STEP

    def __init__(
        self, lake: Lake, source: NetworkSource, dt: date, *, dag_id: str | None, task_id: str | None
    ) -> None:
        self.lake, self.source, self.dt = lake, source, dt
        self.manifest = source.read_manifest(lake, dt)
        self.run_id: str = str(self.manifest["run_id"])
        self.load_id = f"{source.network}:{dt.isoformat()}:{self.run_id}"
        window = self.manifest.get("window_start")
        self.window_start = datetime.fromisoformat(window) if window else None
        self.started, self.dag_id, self.task_id = datetime.now(UTC), dag_id, task_id
        self.counts: dict[str, MethodCounts] = {}
        self.errors = 0

    def attempt_runs(self) -> list[LoadRun]:
        return self.runs()

    def read(self, warehouse: Warehouse) -> None:
        """Refuse a manifest that is not the day's or whose run did not pass its checks."""
        problems = list(self.manifest.get("problems") or [])
        if (
            self.manifest.get("status") != PASSED
            or problems
            or self.manifest.get("dt") != self.dt.isoformat()
        ):
            raise ManifestNotPassedError(
                f"the {self.source.network} manifest of {self.dt} names {self.source.pipeline} run "
                f"{self.run_id} (day {self.manifest.get('dt')}, status {self.manifest.get('status')}), "
                f"which is not a passed run of that day ({'; '.join(problems) or 'no verdict'}). Nothing "
                f"was loaded: re-extract {self.dt} or point latest.json at a run of that day that passed."
            )

    def stage(self, tx: Transaction) -> dict[str, int | None]:
        network = self.source.network
        partition = {"network": network, "dt": self.dt}
        pages = self._pages()
        written_pages = tx.replace_partition(PAGES_TABLE, _table(pages.rows, PAGE_SCHEMA), partition).inserted
        posts = self._posts()
        written_posts = tx.replace_partition(POSTS_TABLE, _table(posts.rows, POST_SCHEMA), partition).inserted
        errors = self.source.error_rows(self.manifest)
        tx.replace_partition("audit.extract_errors", errors, {"dt": self.dt, "network": network})
        self.errors = len(errors)
        for method, counter, written in (
            (self.source.pages_method, pages, written_pages),
            (self.source.posts_method, posts, written_posts),
        ):
            self.counts[method] = {
                "read": counter.read, "written": written, "rejected": counter.rejected,
                "duplicate": counter.duplicate, "before_window": counter.before_window,
                "error_answers": counter.error_answers,
            }  # fmt: skip
        return {PAGES_TABLE: written_pages, POSTS_TABLE: written_posts}

    def model_params(self, tx: Transaction) -> dict[str, Any]:
        return {"dt": self.dt, "network": self.source.network}

    def runs(self) -> list[LoadRun]:
        tables = ((self.source.pages_method, PAGES_TABLE), (self.source.posts_method, POSTS_TABLE))
        runs = []
        for method, table in tables:
            counts = self.counts.get(method)
            message = None
            if counts and (counts["error_answers"] or counts["before_window"]):
                message = (
                    f"rejected: {counts['error_answers']} error answers (audit.extract_errors), "
                    f"{counts['before_window']} posts published before the re-read window"
                )
            runs.append(
                LoadRun(
                    load_id=f"{self.load_id}:{method}",
                    source=f"{self.source.network}/{method}",
                    partition_key=self.dt.isoformat(),
                    target_table=table,
                    rows_read=counts["read"] if counts else 0,
                    rows_written=counts["written"] if counts else 0,
                    rows_rejected=counts["rejected"] if counts else 0,
                    rows_duplicate=counts["duplicate"] if counts else 0,
                    started_at=self.started,
                    message=message,
                    dag_id=self.dag_id,
                    run_id=self.run_id,
                    task_id=self.task_id,
                )
            )
        return runs

    def prefix(self) -> str:
        return f"{self.source.network}:{self.dt.isoformat()}:"

    def result(self) -> NetworkDayLoad:
        log.info(
            "loaded %s day %s from run %s: %s (%d extraction errors)",
            self.source.network, self.dt, self.run_id, self.counts, self.errors,
        )  # fmt: skip
        return {
            "network": self.source.network, "dt": self.dt.isoformat(), "run_id": self.run_id,
            "counts": self.counts, "errors": self.errors,
        }  # fmt: skip

    # -- reading the raw lines ---------------------------------------------------------------

    def _lines(self, method: str) -> Iterator[dict[str, Any]]:
        for key in self.manifest["files"].get(method, []):
            with self.lake.open_read(key) as stream, gzip.open(stream, "rt", encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():
                        yield json.loads(line)

    def _base(self, line: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "network": self.source.network,
            "dt": self.dt,
            "observed_at": datetime.fromisoformat(line["observed_at"]).astimezone(UTC),
            "load_id": self.load_id,
        }

    def _pages(self) -> _Counter:
        """The day's page cards: one row per card answered; an error answer counts as one item
        rejected (its pages' errors are in audit.extract_errors)."""
        counter = _Counter()
        for line in self._lines(self.source.pages_method):
            if "response" not in line:
                counter.read += 1
                counter.rejected += 1
                counter.error_answers += 1
                continue
            for page in self.source.pages(line):
                counter.read += 1
                counter.rows.append(
                    {
                        **self._base(line), "page_key": page.page_key, "subscribers": page.subscribers,
                        **page.fields(),
                    }
                )  # fmt: skip
        return counter

    def _posts(self) -> _Counter:
        """The day's posts: each post once (its latest observation of the day), from the re-read
        window's start on."""
        counter = _Counter()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for line in self._lines(self.source.posts_method):
            if "response" not in line:
                counter.read += 1
                counter.rejected += 1
                counter.error_answers += 1
                continue
            for post in self.source.posts(line):
                counter.read += 1
                if self.window_start is not None and post.published_at < self.window_start:
                    counter.rejected += 1
                    counter.before_window += 1
                    continue
                row = {**self._base(line), **_post_fields(post)}
                key = (post.page_key, post.post_key)
                if key in latest:
                    counter.duplicate += 1
                    if row["observed_at"] < latest[key]["observed_at"]:
                        continue
                latest[key] = row
        counter.rows = list(latest.values())
        return counter


def _post_fields(post: PostItem) -> dict[str, Any]:
    return {
        "page_key": post.page_key,
        "post_key": post.post_key,
        "published_at": post.published_at.astimezone(UTC),
        "text_length": post.text_length,
        "has_photo": post.has_photo,
        "has_video": post.has_video,
        "views": post.views,
        "likes": post.likes,
        "comments": post.comments,
        "reposts": post.reposts,
    }


def _table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([dict(row) for row in rows], schema=schema)


# -- helpers the networks' parsers share ---------------------------------------------------------


def as_int(value: Any) -> int | None:
    """An integer of a raw answer (numbers may come as text); None when absent."""
    if value is None or value == "":
        return None
    return int(value)


def filled(value: Any) -> bool:
    """Whether a card's text field is filled in (not absent, null or blank)."""
    return value is not None and str(value).strip() != ""


def from_epoch_ms(value: Any) -> datetime:
    """A UTC moment from epoch milliseconds (OK's created_ms, MAX's timestamp)."""
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def load_from_connections(
    load_day: Callable[..., NetworkDayLoad],
    logical_date: datetime,
    *,
    dag_id: str | None = None,
    task_id: str | None = None,
) -> NetworkDayLoad:
    """What a network's DAG ``load`` task runs: ``load_day`` (the network's, under its writer lock)
    on the run's day (its logical date's Moscow day), with a warehouse and lake of its own."""
    with Warehouse.from_connection() as warehouse:
        return load_day(
            warehouse, Lake.from_connection(), partition_date(logical_date), dag_id=dag_id, task_id=task_id
        )
