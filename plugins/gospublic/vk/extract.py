"""Extract one day of VK page data into the lake, and read it back for loading.

Calls for a batch of pages, each answer leading to the next calls as soon as it arrives (no
rounds, so tokens never idle at a round's tail):

1. ``groups.getById`` (500 ids a call) — subscribers and page-compliance fields;
2. ``wall.get`` (newest first) — paged until a post older than the re-read window, so new posts
   and the metrics of recent ones are both read. The first call of a page asks for as many posts
   as the plan expects in the window (``wall_counts``, from what earlier runs loaded, see
   :func:`wall_count_hint`), not a full 100: on the benchmark's region month that cuts the raw
   posts landed and loaded threefold for 2 % more calls;
3. ``wall.getComments`` (100 a call, 10 thread replies inline) for posts in the window that have
   comments, plus the full thread where it has more replies than came inline.

Every answer lands first in the lake, as gzip JSON lines without the token, and beside each
batch file its answers typed as the load reads them, in Parquet (``gospublic.vk.answers``: the
raw file stays the source of truth; the load reads the sidecars when they are all current)::

    raw/vk/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/vk/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.answers-<version>.parquet
    raw/vk/_manifests/dt=YYYY-MM-DD/<run_id>.json      (every finished run, with its checks' verdict)
    raw/vk/_manifests/dt=YYYY-MM-DD/latest.json        (the last run that passed its checks)

A killed run leaves files but no manifest, and a run that failed its checks (too many pages
refused by VK, or too many calls given up) leaves its manifest but not ``latest.json``, so
loading never sees half a day. Errors come in two kinds (``kind`` of each error): ``page`` — VK
answered with the page's own error (closed, private, deleted, invalid) — and ``gave_up`` — the
call was abandoned after its transport retries (5xx, dropped connections, timeouts); each kind
has its own budget. A day with given-up calls within budget is loaded but not ``complete``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gospublic.infra import settings
from gospublic.infra.lake import Lake
from gospublic.vk.answers import land_sidecar
from gospublic.vk.client import GAVE_UP_CODE, VkCall, VkClient, VkResult, iter_batches

GROUP_FIELDS = ",".join(
    [
        "members_count", "verified", "has_photo", "cover", "description", "links", "contacts", "site",
        "can_message", "wall", "counters", "activity",
    ]
)  # fmt: skip
GROUPS_PER_CALL = 500
PAGE_SIZE = 100
MIN_WALL_COUNT = 10
THREAD_INLINE = 10
RAW_PREFIX = "raw/vk"
METHODS = ("groups.getById", "wall.get", "wall.getComments")
PAGE_ERROR_CODES = frozenset({15, 18, 30, 100, 203})
PAGE_ERROR, GAVE_UP = "page", "gave_up"  # kinds of errors, see the module docstring
PASSED, FAILED = "passed", "failed"  # a manifest's status


@dataclass
class BatchOutcome:
    """What extracting one batch of pages produced."""

    batch: int
    pages: int
    window_start: str | None = None  # ISO start of the posts' re-read window
    files: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    given_up: dict[str, int] = field(default_factory=dict)  # calls given up, by method

    @property
    def failed_pages(self) -> set[int]:
        """Pages VK answered with their own error (closed, private, deleted, invalid)."""
        return _pages(self.errors, PAGE_ERROR)

    @property
    def given_up_pages(self) -> set[int]:
        """Pages with at least one call given up after its transport retries."""
        return _pages(self.errors, GAVE_UP)


def error_kind(error: Mapping[str, Any]) -> str:
    """``page`` or ``gave_up``; errors recorded before kinds existed are told by their code."""
    return error.get("kind") or (GAVE_UP if error.get("error_code") == GAVE_UP_CODE else PAGE_ERROR)


def _pages(errors: Iterable[Mapping[str, Any]], kind: str) -> set[int]:
    return {e["vk_group_id"] for e in errors if e.get("vk_group_id") is not None and error_kind(e) == kind}


def raw_key(method: str, dt: date, run_id: str, batch: int) -> str:
    return f"{RAW_PREFIX}/{method}/dt={dt.isoformat()}/run={_safe(run_id)}/batch-{batch:04d}.jsonl.gz"


def manifest_key(dt: date, run_id: str | None = None) -> str:
    name = "latest" if run_id is None else _safe(run_id)
    return f"{RAW_PREFIX}/_manifests/dt={dt.isoformat()}/{name}.json"


def extract_batch(
    client: VkClient,
    lake: Lake,
    *,
    group_ids: list[int],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
    wall_counts: Mapping[int, int] | None = None,
) -> BatchOutcome:
    """Extract ``group_ids`` (pages, posts, comments), landing every answer in the lake (with each
    file's sidecar of typed answers).

    ``wall_counts`` sizes each page's first ``wall.get`` (default and cap: 100 posts); a page
    that posted more than expected costs one more call, never a missed post."""
    wall_counts = wall_counts or {}
    outcome = BatchOutcome(batch=batch, pages=len(group_ids), window_start=window_start.isoformat())
    writers = {method: _JsonLinesWriter() for method in METHODS}

    def record(result: VkResult) -> None:
        writers[result.call.method].write(_raw_line(result))
        outcome.calls[result.call.method] = outcome.calls.get(result.call.method, 0) + 1
        if not result.ok:
            outcome.errors.extend(_errors(result))
            if result.error_code == GAVE_UP_CODE:
                outcome.given_up[result.call.method] = outcome.given_up.get(result.call.method, 0) + 1

    window_ts = int(window_start.timestamp())

    def follow(result: VkResult) -> list[VkCall]:
        """The calls an answer leads to: older posts, comments of recent posts, long threads."""
        if not result.ok:
            return []
        if result.call.method == "wall.get":
            return _wall_follow_ups(result, window_ts)
        if result.call.method == "wall.getComments":
            return _follow_ups(result)
        return []

    group_calls = [
        VkCall(
            "groups.getById", {"group_ids": ",".join(map(str, ids)), "fields": GROUP_FIELDS}, key=tuple(ids)
        )
        for ids in iter_batches(group_ids, GROUPS_PER_CALL)
    ]
    wall_calls = [_wall_call(gid, 0, wall_counts.get(gid, PAGE_SIZE)) for gid in group_ids]
    client.run(group_calls + wall_calls, on_result=record, follow=follow)

    for method, writer in writers.items():
        if writer.lines:
            key, data = raw_key(method, dt, run_id, batch), writer.finish()
            lake.put_bytes(key, data)
            land_sidecar(lake, method, key, data)  # after its raw file: never a sidecar alone
            outcome.files[method] = key
    return outcome


def write_manifest(
    lake: Lake,
    dt: date,
    run_id: str,
    outcomes: Iterable[BatchOutcome],
    *,
    max_failed_share: float | None = None,
    max_giveup_share: float | None = None,
) -> dict[str, Any]:
    """Record a finished run: its manifest with the checks' verdict (``status``, ``problems``)
    always, and the day's ``latest`` pointer only when the run passed them."""
    outcomes = sorted(outcomes, key=lambda o: o.batch)
    given_up = sorted(set().union(*(o.given_up_pages for o in outcomes))) if outcomes else []
    manifest: dict[str, Any] = {
        "dt": dt.isoformat(),
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(),
        "window_start": min((o.window_start for o in outcomes if o.window_start), default=None),
        "batches": [asdict(o) for o in outcomes],
        "files": {m: [o.files[m] for o in outcomes if m in o.files] for m in METHODS},
        "pages": sum(o.pages for o in outcomes),
        "failed_pages": sorted(set().union(*(o.failed_pages for o in outcomes))) if outcomes else [],
        "given_up_pages": given_up,
        "given_up_calls": {m: sum(o.given_up.get(m, 0) for o in outcomes) for m in METHODS},
        "complete": not given_up,
    }
    limits = _limits(max_failed_share, max_giveup_share)
    problems = judge_manifest(manifest, **limits)
    manifest.update(status=FAILED if problems else PASSED, problems=problems, limits=limits)
    body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    lake.put_bytes(manifest_key(dt, run_id), body)
    if not problems:
        lake.put_bytes(manifest_key(dt), body)
    return manifest


def judge_manifest(
    manifest: Mapping[str, Any], *, max_failed_share: float, max_giveup_share: float
) -> list[str]:
    """What keeps a run's day from being loaded: more pages refused by VK than
    ``max_failed_share`` of them, or more pages with calls given up than ``max_giveup_share``."""
    pages, dt = int(manifest["pages"]), manifest["dt"]
    errors = [e for batch in manifest["batches"] for e in batch["errors"]]
    problems = []
    for kind, limit, what, setting in (
        (PAGE_ERROR, max_failed_share, "refused by VK (closed, private, deleted, invalid)",
         settings.ENV_VK_MAX_FAILED_SHARE),
        (GAVE_UP, max_giveup_share, "with calls given up after their retries (5xx, dropped "
         "connections, timeouts)", settings.ENV_VK_MAX_GIVEUP_SHARE),
    ):  # fmt: skip
        count = len(_pages(errors, kind))
        share = count / pages if pages else 0.0
        if share > limit:
            problems.append(f"{count} of {pages} VK pages {what} on {dt}: {share:.1%} > {setting}={limit}")
    return problems


def manifest_problems(manifest: Mapping[str, Any]) -> list[str]:
    """Why a manifest's run did not pass its checks (empty: it passed). A manifest written before
    runs recorded their verdict is judged now, by the same checks and today's limits."""
    status = manifest.get("status")
    if status is None:
        return judge_manifest(manifest, **_limits(None, None))
    if status != PASSED:
        return list(manifest.get("problems") or [f"status {status!r}"])
    return []


def _limits(max_failed_share: float | None, max_giveup_share: float | None) -> dict[str, float]:
    return {
        "max_failed_share": settings.vk_max_failed_share() if max_failed_share is None else max_failed_share,
        "max_giveup_share": settings.vk_max_giveup_share() if max_giveup_share is None else max_giveup_share,
    }


def read_manifest(lake: Lake, dt: date) -> dict[str, Any]:
    """The manifest of the latest extraction of ``dt`` that passed its checks."""
    manifest: dict[str, Any] = json.loads(lake.get_bytes(manifest_key(dt)))
    return manifest


def window_start_for(
    dt: date, window_days: int, last_extracted: date | None, first_incomplete: date | None = None
) -> datetime:
    """Start of the re-read window: ``window_days`` before ``dt``, or earlier to close a gap
    (back to the last extracted day) or to re-read an incomplete day (from the day before it,
    so that all of its Moscow day is covered)."""
    start = dt - timedelta(days=window_days)
    if last_extracted is not None and last_extracted < start:
        start = last_extracted
    if first_incomplete is not None and first_incomplete - timedelta(days=1) < start:
        start = first_incomplete - timedelta(days=1)
    return datetime.combine(start, datetime.min.time(), UTC)


# -- helpers ------------------------------------------------------------------------------------


def wall_count_hint(posts_known: int, days_known: int, days_ahead: int = 1) -> int:
    """Posts to ask for in a page's first ``wall.get``: those already known in the window plus
    twice the page's daily rate for the days not yet seen, and a margin; 10 to 100."""
    rate = posts_known / max(days_known, 1)
    hint = posts_known + math.ceil(2 * rate * max(days_ahead, 1)) + 5
    return max(MIN_WALL_COUNT, min(PAGE_SIZE, hint))


def _wall_call(group_id: int, offset: int, count: int = PAGE_SIZE) -> VkCall:
    count = max(1, min(PAGE_SIZE, int(count)))
    params = {"owner_id": -group_id, "offset": offset, "count": count, "filter": "owner"}
    return VkCall("wall.get", params, key=(group_id, offset))


def _comments_call(group_id: int, post_id: int, offset: int, thread_of: int | None = None) -> VkCall:
    params: dict[str, Any] = {
        "owner_id": -group_id,
        "post_id": post_id,
        "offset": offset,
        "count": PAGE_SIZE,
        "sort": "asc",
    }
    if thread_of is None:
        params["thread_items_count"] = THREAD_INLINE
    else:
        params["comment_id"] = thread_of
    return VkCall("wall.getComments", params, key=(group_id, post_id, offset, thread_of))


def _wall_follow_ups(result: VkResult, window_ts: int) -> list[VkCall]:
    """The next page of posts while the page still reaches into the window, and the comments of
    the window's posts that have any."""
    group_id, offset = result.call.key
    asked = int(result.call.params.get("count", PAGE_SIZE))
    items = result.response.get("items", [])
    calls = [
        _comments_call(group_id, int(post["id"]), 0)
        for post in items
        if post["date"] >= window_ts and (post.get("comments") or {}).get("count", 0)
    ]
    regular = [p["date"] for p in items if not p.get("is_pinned")]
    if offset + asked < result.response.get("count", 0) and regular and min(regular) >= window_ts:
        calls.append(_wall_call(group_id, offset + asked))
    return calls


def _follow_ups(result: VkResult) -> list[VkCall]:
    """Next page of comments, and full threads that did not fit inline."""
    group_id, post_id, offset, thread_of = result.call.key
    items = result.response.get("items", [])
    calls = []
    if offset + PAGE_SIZE < result.response.get("count", 0) and items:
        calls.append(_comments_call(group_id, post_id, offset + PAGE_SIZE, thread_of))
    if thread_of is None:
        for item in items:
            thread = item.get("thread") or {}
            if thread.get("count", 0) > len(thread.get("items", [])):
                calls.append(_comments_call(group_id, post_id, 0, thread_of=int(item["id"])))
    return calls


def _raw_line(result: VkResult) -> dict[str, Any]:
    line: dict[str, Any] = {
        "method": result.call.method,
        "params": result.call.params,
        "observed_at": datetime.now(UTC).isoformat(),
    }
    if result.ok:
        line["response"] = result.response
    else:
        line["error"] = {"error_code": result.error_code, "error_msg": result.error_msg}
    return line


def _errors(result: VkResult) -> list[dict[str, Any]]:
    """One error per page the failed call was about (a ``groups.getById`` call covers many)."""
    params = result.call.params
    if result.call.method == "groups.getById":
        group_ids = str(params.get("group_ids", "")).split(",")
        ids: list[int | None] = [int(i) for i in group_ids if i.strip().isdigit()]
    else:
        ids = [-int(params["owner_id"])] if params.get("owner_id") is not None else [None]
    occurred_at = datetime.now(UTC).isoformat()
    kind = GAVE_UP if result.error_code == GAVE_UP_CODE else PAGE_ERROR
    return [
        {
            "method": result.call.method,
            "kind": kind,
            "vk_group_id": group_id,
            "error_code": result.error_code,
            "error_msg": result.error_msg,
            "occurred_at": occurred_at,
        }
        for group_id in ids or [None]
    ]


def _safe(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in run_id)


class _JsonLinesWriter:
    """Gzip JSON lines of one batch, compressed in memory (a batch is bounded in pages)."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        self._gzip.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        self.lines += 1

    def finish(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()
