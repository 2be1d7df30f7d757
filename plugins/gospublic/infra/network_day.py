"""A network's day of extraction around its batches, the same for OK, MAX and Telegram: which
pages, the lake's files and manifests, the checks, and the errors in ``audit.extract_errors``.

A network describes itself once in a :class:`NetworkSpec` (its registry code, lake prefix,
methods, how its errors name a page, its error classes); :class:`NetworkDay` then gives what its
``daily`` and ``steps`` modules call:

    plan (the pages official on the day in ``core.dim_page``, in batches)
    → extract (the network's own: a batch of pages into the lake, see ``BatchOutcome``)
    → land (the run's manifest always; the day's ``latest.json`` only when it passed its checks)
    → record_errors (the run's errors replace the day's rows of the network)
    → check (fail when the run did not pass its checks)

The lake layout (every network the same, under its own prefix)::

    raw/<network>/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/<network>/_manifests/dt=YYYY-MM-DD/<run_id>.json   (every finished run, with its checks)
    raw/<network>/_manifests/dt=YYYY-MM-DD/latest.json     (the last run that passed its checks)

The partition is a calendar day ``dt`` in Moscow time, as for VK; the posts' re-read window
starts ``window_days`` before it at Moscow midnight.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from gospublic.infra.connections import redacted
from gospublic.infra.lake import Lake
from gospublic.infra.network_results import DaySummary
from gospublic.infra.warehouse import Warehouse, writer

log = logging.getLogger(__name__)

PARTITION_ZONE = ZoneInfo("Europe/Moscow")
WINDOW_DAYS = 7
PAGE_ERROR, GAVE_UP = "page", "gave_up"
PASSED, FAILED = "passed", "failed"
MAX_FAILED_SHARE = 0.2  # pages the network may refuse (closed, deleted, private) before a run fails
MAX_GIVEUP_SHARE = 0.05  # pages with calls given up before a run fails its checks
# The writer lock of each network's rows, by its registry code: its load (gospublic.<ok|max|telegram>.load),
# the recording of its extraction errors and the staging cleanup (gospublic.infra.retention) take it.
# The one place a network's lock is named: NetworkSpec refuses a network missing here.
NETWORK_WRITERS: Mapping[str, str] = {"ok": "ok_load", "max": "max_load", "tg": "telegram_load"}
ERROR_COLUMNS = (
    "dt", "run_id", "network", "page_key", "vk_group_id", "method", "kind", "error_code", "error_msg",
    "occurred_at",
)  # fmt: skip

_PAGES_ON = """
SELECT DISTINCT screen_name FROM core.dim_page
WHERE network = :network AND screen_name IS NOT NULL
  AND valid_from <= :dt AND (valid_to IS NULL OR :dt < valid_to)
ORDER BY screen_name
"""


@dataclass(frozen=True)
class NetworkLake:
    """A network's files in the lake: its answers by method, its runs' manifests."""

    raw_prefix: str  # raw/ok…
    methods: tuple[str, ...]  # the methods (or operations) whose answers land, one folder each
    json_default: Callable[[Any], Any] | None = None  # how the raw answers' odd values become JSON

    def raw_key(self, method: str, dt: date, run_id: str, batch: int) -> str:
        return f"{self.raw_prefix}/{method}/dt={dt.isoformat()}/run={safe(run_id)}/batch-{batch:04d}.jsonl.gz"

    def manifest_key(self, dt: date, run_id: str | None = None) -> str:
        name = "latest" if run_id is None else safe(run_id)
        return f"{self.raw_prefix}/_manifests/dt={dt.isoformat()}/{name}.json"

    def read_manifest(self, lake: Lake, dt: date, run_id: str | None = None) -> dict[str, Any]:
        """The manifest of the latest run of ``dt`` that passed its checks (or of ``run_id``)."""
        manifest: dict[str, Any] = json.loads(lake.get_bytes(self.manifest_key(dt, run_id)))
        return manifest

    def writers(self) -> dict[str, JsonLines]:
        """One file of raw lines per method, for a batch."""
        return {method: JsonLines(self.json_default) for method in self.methods}

    def put_files(
        self, lake: Lake, writers: Mapping[str, JsonLines], outcome: BatchOutcome, dt: date, run_id: str
    ) -> None:
        """Land a batch's files (methods that answered at least once) and name them in ``outcome``."""
        for method, lines in writers.items():
            if lines.lines:
                key = self.raw_key(method, dt, run_id, outcome.batch)
                lake.put_bytes(key, lines.finish())
                outcome.files[method] = key


@dataclass(frozen=True)
class NetworkSpec:
    """What makes a network's day its own."""

    code: str  # the registry's code (dim_page.network): the manifest's and audit rows' network
    title: str  # OK, MAX, Telegram: in messages
    label: str  # the DAG's name, in logs and messages: ok_pages…
    lake: NetworkLake  # where its answers land
    page_field: str  # the key naming the page in the network's errors (ok_group_id…)
    batch_field: str  # the key of a batch's pages (gids, chat_ids, usernames)
    pages_word: str  # pages or channels
    refused: str  # why the network refused pages: "closed, not found, invalid"…
    error: type[Exception]  # the network's extraction error: no pages to read
    failed: type[Exception]  # the run did not pass its checks
    batch_pages: int = 500
    window_days: int = WINDOW_DAYS

    def __post_init__(self) -> None:
        if self.code not in NETWORK_WRITERS:
            raise ValueError(f"network {self.code!r} has no writer lock in NETWORK_WRITERS")

    @property
    def writer(self) -> str:
        """The writer lock of its rows (its load, its rows in audit.extract_errors): ok_load…"""
        return NETWORK_WRITERS[self.code]


@dataclass
class BatchOutcome:
    """What extracting one batch of pages produced."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def partition_date(logical_date: datetime) -> date:
    """The day a run covers: its logical date's calendar day in Moscow."""
    return logical_date.astimezone(PARTITION_ZONE).date()


def window_start_for(dt: date, window_days: int = WINDOW_DAYS) -> datetime:
    """Moscow midnight ``window_days`` before ``dt``: posts from then on are read again."""
    return datetime.combine(dt - timedelta(days=window_days), time(), PARTITION_ZONE)


def safe(text: str) -> str:
    """A run id as a file name."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def read_lines(lake: Lake, key: str) -> list[dict[str, Any]]:
    """The raw lines of one landed file."""
    with lake.open_read(key) as stream, gzip.open(stream, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


class JsonLines:
    """Gzip JSON lines in memory (mtime 0: the same lines give the same bytes)."""

    def __init__(self, default: Callable[[Any], Any] | None = None) -> None:
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)
        self._default = default
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        self._gzip.write(json.dumps(record, ensure_ascii=False, default=self._default).encode() + b"\n")
        self.lines += 1

    def finish(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()


class NetworkDay:
    """A network's day (see the module docstring); every step given open adapters."""

    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec
        self.lake = spec.lake

    # -- the run's manifest -------------------------------------------------------------------

    def write_manifest(
        self,
        lake: Lake,
        dt: date,
        run_id: str,
        outcomes: Iterable[BatchOutcome],
        *,
        max_failed_share: float = MAX_FAILED_SHARE,
        max_giveup_share: float = MAX_GIVEUP_SHARE,
    ) -> dict[str, Any]:
        """Record a finished run: its manifest with the checks' verdict always, and the day's
        ``latest`` pointer only when it passed them."""
        spec = self.spec
        outcomes = sorted(outcomes, key=lambda o: o.batch)
        errors = [e for o in outcomes for e in o.errors]
        pages = sum(o.pages for o in outcomes)
        failed, given_up = self._pages(errors, PAGE_ERROR), self._pages(errors, GAVE_UP)
        manifest: dict[str, Any] = {
            "network": spec.code,
            "dt": dt.isoformat(),
            "run_id": run_id,
            "written_at": datetime.now(UTC).isoformat(),
            "window_start": min((o.window_start for o in outcomes), default=None),
            "batches": [asdict(o) for o in outcomes],
            "files": {m: [o.files[m] for o in outcomes if m in o.files] for m in self.lake.methods},
            "pages": pages,
            "failed_pages": sorted(failed),
            "given_up_pages": sorted(given_up),
            "complete": not given_up,
        }
        problems = []
        for what, count, limit in (
            (f"refused by {spec.title} ({spec.refused})", len(failed), max_failed_share),
            ("with calls given up after their retries", len(given_up), max_giveup_share),
        ):
            share = count / pages if pages else 0.0
            if share > limit:
                problems.append(
                    f"{count} of {pages} {spec.title} {spec.pages_word} {what} on {dt}: {share:.1%} > {limit}"
                )
        manifest.update(
            status=FAILED if problems else PASSED,
            problems=problems,
            limits={"max_failed_share": max_failed_share, "max_giveup_share": max_giveup_share},
        )
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        lake.put_bytes(self.lake.manifest_key(dt, run_id), body)
        if not problems:
            lake.put_bytes(self.lake.manifest_key(dt), body)
        return manifest

    def _pages(self, errors: Iterable[Mapping[str, Any]], kind: str) -> set[str]:
        key = self.spec.page_field
        return {str(e[key]) for e in errors if e.get(key) and e.get("kind") == kind}

    # -- the day ------------------------------------------------------------------------------

    def plan(
        self,
        warehouse: Warehouse,
        dt: date,
        *,
        window_days: int | None = None,
        batch_pages: int | None = None,
    ) -> dict[str, Any]:
        """The network's pages official on ``dt`` (``core.dim_page``) in batches, with the window's
        start (a ``DayPlan`` of the network's ``results``)."""
        spec = self.spec
        window_days = spec.window_days if window_days is None else window_days
        batch_pages = spec.batch_pages if batch_pages is None else batch_pages
        found = warehouse.query(_PAGES_ON, {"network": spec.code, "dt": dt})
        names = [str(r["screen_name"]) for r in found]
        if not names:
            raise spec.error(
                f"no {spec.title} pages in core.dim_page official on {dt}: load the registry first"
            )
        start = window_start_for(dt, window_days).isoformat()
        batches = [
            {"batch": n, spec.batch_field: names[i : i + batch_pages], "window_start": start}
            for n, i in enumerate(range(0, len(names), batch_pages))
        ]
        log.info(
            "%s %s: %d %s in %d batches, posts re-read since %s",
            spec.label, dt, len(names), spec.pages_word, len(batches), start,
        )  # fmt: skip
        return {"dt": dt.isoformat(), "pages": len(names), "window_start": start, "batches": batches}

    def land(
        self,
        lake: Lake,
        dt: date,
        run_id: str,
        outcomes: Sequence[Mapping[str, Any]],
        *,
        max_failed_share: float = MAX_FAILED_SHARE,
        max_giveup_share: float = MAX_GIVEUP_SHARE,
    ) -> dict[str, Any]:
        """Write the run's manifest with its checks' verdict from its batches' results
        (``latest.json`` moves to it only when it passed them); the manifest."""
        batches = [
            BatchOutcome(
                batch=o["batch"], pages=o["pages"], window_start=o["window_start"], files=o["files"],
                calls=o["calls"], errors=o["errors"],
            )
            for o in outcomes
        ]  # fmt: skip
        return self.write_manifest(
            lake, dt, run_id, batches, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
        )

    @staticmethod
    def summarize(manifest: Mapping[str, Any], recorded: int) -> DaySummary:
        """A run's summary from its manifest (``recorded``: its errors written to the warehouse)."""
        batches = manifest["batches"]
        return {
            "dt": manifest["dt"],
            "run_id": manifest["run_id"],
            "status": manifest["status"],
            "pages": manifest["pages"],
            "failed_pages": len(manifest["failed_pages"]),
            "given_up_pages": len(manifest["given_up_pages"]),
            "complete": manifest["complete"],
            "calls": {m: sum(b["calls"].get(m, 0) for b in batches) for m in manifest["files"]},
            "errors_recorded": recorded,
        }

    def check(self, manifest: Mapping[str, Any]) -> None:
        """Fail when the run did not pass its checks (its manifest says why)."""
        if manifest["problems"]:
            dt, run_id = date.fromisoformat(manifest["dt"]), str(manifest["run_id"])
            problems, key = "; ".join(manifest["problems"]), self.lake.manifest_key(dt, run_id)
            raise self.spec.failed(
                f"{self.spec.label} run {run_id} did not pass its checks: {problems}. Its manifest ({key}) "
                "lists the errors; the day's latest.json still points at the last run that passed."
            )

    def finish(
        self,
        warehouse: Warehouse,
        lake: Lake,
        dt: date,
        run_id: str,
        outcomes: Sequence[Mapping[str, Any]],
        *,
        max_failed_share: float = MAX_FAILED_SHARE,
        max_giveup_share: float = MAX_GIVEUP_SHARE,
    ) -> DaySummary:
        """Land, record the errors and check at once: write the run's manifest (``latest.json``
        only when it passed its checks), record its errors in ``audit.extract_errors``, and fail
        when it did not pass."""
        manifest = self.land(
            lake, dt, run_id, outcomes, max_failed_share=max_failed_share, max_giveup_share=max_giveup_share
        )
        summary = self.summarize(manifest, self.record_errors(warehouse, manifest))
        log.info("%s %s extracted: %s", self.spec.label, dt, summary)
        self.check(manifest)
        return summary

    # -- audit.extract_errors -----------------------------------------------------------------

    def error_rows(self, manifest: Mapping[str, Any]) -> pd.DataFrame:
        """The manifest's errors as rows of ``audit.extract_errors``: the network's code, the
        page's own key in ``page_key``, ``vk_group_id`` empty."""
        dt, key = date.fromisoformat(manifest["dt"]), self.spec.page_field
        rows = []
        for batch in manifest["batches"]:
            for error in batch["errors"]:
                page, message = error.get(key), error.get("error_msg")
                rows.append(
                    {
                        "dt": dt,
                        "run_id": manifest["run_id"],
                        "network": self.spec.code,
                        "page_key": None if page is None else str(page),
                        "vk_group_id": None,
                        "method": str(error["method"]),
                        "kind": error["kind"],
                        "error_code": int(error["error_code"]),
                        "error_msg": redacted(str(message))[:1000] if message else None,
                        "occurred_at": datetime.fromisoformat(error["occurred_at"]).astimezone(UTC),
                    }
                )
        return pd.DataFrame(rows, columns=list(ERROR_COLUMNS)).astype({"vk_group_id": "Int64"})

    def record_errors(self, warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
        """Replace the day's rows of the network in ``audit.extract_errors`` with the manifest's
        errors. Two recordings of a day would each delete, then both insert: they take turns
        (the network's writer lock); other networks' loads replace only their own rows."""
        return int(writer(self.spec.writer)(self._replace_errors)(warehouse, manifest))

    def _replace_errors(self, warehouse: Warehouse, manifest: Mapping[str, Any]) -> int:
        frame = self.error_rows(manifest)
        with warehouse.transaction() as tx:
            tx.replace_partition(
                "audit.extract_errors",
                frame,
                {"dt": date.fromisoformat(manifest["dt"]), "network": self.spec.code},
            )
        return len(frame)

    # -- the steps of a DAG (each opens its adapters) -----------------------------------------

    def plan_step(self, logical_date: datetime) -> list[dict[str, Any]]:
        """The day's pages in batches, with the start of the posts' re-read window."""
        with Warehouse.from_connection() as warehouse:
            batches: list[dict[str, Any]] = self.plan(warehouse, partition_date(logical_date))["batches"]
            return batches

    def land_step(self, logical_date: datetime, run_id: str, outcomes: Sequence[Mapping[str, Any]]) -> str:
        """Write the run's manifest (``latest.json`` moves to it only when it passed its checks);
        its key in the lake."""
        dt = partition_date(logical_date)
        self.land(Lake.from_connection(), dt, run_id, outcomes)
        return self.lake.manifest_key(dt, run_id)

    def record_errors_step(self, logical_date: datetime, run_id: str | None = None) -> int:
        """Record the day's errors from the manifest of ``run_id``, or again from the day's latest
        manifest in the lake (after the warehouse lost them, or to record them as the current code
        does); the rows written."""
        dt = partition_date(logical_date)
        with Warehouse.from_connection() as warehouse:
            return self.record_errors(warehouse, self.lake.read_manifest(Lake.from_connection(), dt, run_id))

    def check_step(self, logical_date: datetime, run_id: str, recorded: int) -> DaySummary:
        """The run's summary (``recorded``: its errors written); fails when it did not pass its checks."""
        manifest = self.lake.read_manifest(Lake.from_connection(), partition_date(logical_date), run_id)
        summary = self.summarize(manifest, recorded)
        self.check(manifest)
        return summary

    def finish_step(
        self, logical_date: datetime, run_id: str, outcomes: Sequence[Mapping[str, Any]]
    ) -> DaySummary:
        """Write the run's manifest and record its errors; fail when it did not pass its checks."""
        with Warehouse.from_connection() as warehouse:
            return self.finish(
                warehouse, Lake.from_connection(), partition_date(logical_date), run_id, outcomes
            )
