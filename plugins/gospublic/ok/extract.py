"""Extract one day of OK pages into the lake, lake-first and replayable as the VK extraction.

Calls for a batch of pages, each answer leading to the next call as soon as it arrives:

1. ``group.getInfo`` (100 ids a call) — subscribers (``members_count``) and the page's
   compliance fields (description, avatar, site, phone, access type);
2. ``mediatopic.getTopics`` (newest first, ``PAGE_SIZE`` a call) — followed by its ``anchor``
   while the page has more topics and the oldest one read is still inside the re-read window, so
   new posts and the metrics (likes, comments, reshares) of recent ones are both read.

Every answer lands first in the lake, as gzip JSON lines holding the call's own parameters and
never the application key, signature or token::

    raw/ok/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/ok/_manifests/dt=YYYY-MM-DD/<run_id>.json      (every finished run, with its checks' verdict)
    raw/ok/_manifests/dt=YYYY-MM-DD/latest.json        (the last run that passed its checks)

A killed run leaves files but no manifest; a run that failed its checks leaves its manifest but
not ``latest.json``, so a later load never sees half a day. Errors come in two kinds: ``page``
(OK answered with the page's own error: closed, not found, invalid; or the page is missing from
``group.getInfo``'s answer) and ``gave_up`` (abandoned after its transport retries).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from gospublic.infra.lake import Lake
from gospublic.ok.client import GAVE_UP_CODE, OkCall, OkClient, OkResult

RAW_PREFIX = "raw/ok"
GROUP_INFO, TOPICS = "group.getInfo", "mediatopic.getTopics"
METHODS = (GROUP_INFO, TOPICS)
GROUP_FIELDS = "uid,name,members_count,description,access_type,pic_avatar,homepage_url,phone,category,city"
GROUPS_PER_CALL = 100
PAGE_SIZE = 50
NOT_IN_ANSWER = 300  # NOT_FOUND: a page group.getInfo did not return
PAGE_ERROR, GAVE_UP = "page", "gave_up"
PASSED, FAILED = "passed", "failed"
MAX_FAILED_SHARE = 0.2  # pages OK may refuse (closed, deleted) before a run fails its checks
MAX_GIVEUP_SHARE = 0.05  # pages with calls given up before a run fails its checks


@dataclass
class BatchOutcome:
    """What extracting one batch of pages produced."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def raw_key(method: str, dt: date, run_id: str, batch: int) -> str:
    return f"{RAW_PREFIX}/{method}/dt={dt.isoformat()}/run={_safe(run_id)}/batch-{batch:04d}.jsonl.gz"


def manifest_key(dt: date, run_id: str | None = None) -> str:
    name = "latest" if run_id is None else _safe(run_id)
    return f"{RAW_PREFIX}/_manifests/dt={dt.isoformat()}/{name}.json"


def extract_batch(
    client: OkClient,
    lake: Lake,
    *,
    gids: list[str],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
) -> BatchOutcome:
    """Extract the pages ``gids`` (information, subscribers, topics), landing every answer."""
    outcome = BatchOutcome(batch=batch, pages=len(gids), window_start=window_start.isoformat())
    writers = {method: _JsonLines() for method in METHODS}
    window_ms = int(window_start.timestamp() * 1000)

    def record(result: OkResult) -> None:
        writers[result.call.method].write(_raw_line(result))
        outcome.calls[result.call.method] = outcome.calls.get(result.call.method, 0) + 1
        outcome.errors.extend(_errors(result))

    def follow(result: OkResult) -> list[OkCall]:
        if not result.ok or result.call.method != TOPICS or not isinstance(result.response, dict):
            return []
        topics = result.response.get("media_topics") or []
        oldest = min((int(t.get("created_ms", 0)) for t in topics), default=None)
        anchor = result.response.get("anchor")
        if result.response.get("has_more") and anchor and oldest is not None and oldest >= window_ms:
            return [_topics_call(result.call.key, anchor)]
        return []

    info_calls = [
        OkCall(GROUP_INFO, {"uids": ",".join(chunk), "fields": GROUP_FIELDS}, key=tuple(chunk))
        for chunk in _chunks(gids, GROUPS_PER_CALL)
    ]
    client.run(info_calls + [_topics_call(gid) for gid in gids], on_result=record, follow=follow)
    for method, writer in writers.items():
        if writer.lines:
            key = raw_key(method, dt, run_id, batch)
            lake.put_bytes(key, writer.finish())
            outcome.files[method] = key
    return outcome


def write_manifest(
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
    outcomes = sorted(outcomes, key=lambda o: o.batch)
    errors = [e for o in outcomes for e in o.errors]
    pages = sum(o.pages for o in outcomes)
    failed, given_up = _pages(errors, PAGE_ERROR), _pages(errors, GAVE_UP)
    manifest: dict[str, Any] = {
        "network": "ok",
        "dt": dt.isoformat(),
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(),
        "window_start": min((o.window_start for o in outcomes), default=None),
        "batches": [asdict(o) for o in outcomes],
        "files": {m: [o.files[m] for o in outcomes if m in o.files] for m in METHODS},
        "pages": pages,
        "failed_pages": sorted(failed),
        "given_up_pages": sorted(given_up),
        "complete": not given_up,
    }
    problems = []
    for what, count, limit in (
        ("refused by OK (closed, not found, invalid)", len(failed), max_failed_share),
        ("with calls given up after their retries", len(given_up), max_giveup_share),
    ):
        share = count / pages if pages else 0.0
        if share > limit:
            problems.append(f"{count} of {pages} OK pages {what} on {dt}: {share:.1%} > {limit}")
    manifest.update(
        status=FAILED if problems else PASSED,
        problems=problems,
        limits={"max_failed_share": max_failed_share, "max_giveup_share": max_giveup_share},
    )
    body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    lake.put_bytes(manifest_key(dt, run_id), body)
    if not problems:
        lake.put_bytes(manifest_key(dt), body)
    return manifest


def read_manifest(lake: Lake, dt: date, run_id: str | None = None) -> dict[str, Any]:
    """The manifest of the latest run of ``dt`` that passed its checks (or of ``run_id``)."""
    manifest: dict[str, Any] = json.loads(lake.get_bytes(manifest_key(dt, run_id)))
    return manifest


def read_lines(lake: Lake, key: str) -> list[dict[str, Any]]:
    """The raw lines of one landed file."""
    with lake.open_read(key) as stream, gzip.open(stream, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# -- helpers ------------------------------------------------------------------------------------


def _topics_call(gid: str, anchor: str | None = None) -> OkCall:
    params = {"gid": gid, "count": str(PAGE_SIZE), "direction": "FORWARD"}
    if anchor:
        params["anchor"] = anchor
    return OkCall(TOPICS, params, key=gid)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _pages(errors: Iterable[Mapping[str, Any]], kind: str) -> set[str]:
    return {str(e["ok_group_id"]) for e in errors if e.get("ok_group_id") and e.get("kind") == kind}


def _raw_line(result: OkResult) -> dict[str, Any]:
    line: dict[str, Any] = {
        "method": result.call.method,
        "params": dict(result.call.params),
        "observed_at": datetime.now(UTC).isoformat(),
    }
    if result.ok:
        line["response"] = result.response
    else:
        line["error"] = {"error_code": result.error_code, "error_msg": result.error_msg}
    return line


def _errors(result: OkResult) -> list[dict[str, Any]]:
    """One error per page the failed call was about; for ``group.getInfo`` also the pages its
    answer left out (unknown or deleted groups)."""
    occurred_at = datetime.now(UTC).isoformat()
    if result.call.method == GROUP_INFO:
        asked = [str(gid) for gid in result.call.key]
        if result.ok:
            answered = {str(g.get("uid")) for g in _groups(result.response)}
            missing = [gid for gid in asked if gid not in answered]
            return [
                _error(GROUP_INFO, gid, NOT_IN_ANSWER, "not in group.getInfo's answer", occurred_at)
                for gid in missing
            ]
        return [_error(GROUP_INFO, gid, result.error_code, result.error_msg, occurred_at) for gid in asked]
    if result.ok:
        return []
    return [
        _error(result.call.method, str(result.call.key), result.error_code, result.error_msg, occurred_at)
    ]


def _error(method: str, gid: str, code: int | None, msg: str | None, occurred_at: str) -> dict[str, Any]:
    return {
        "method": method,
        "kind": GAVE_UP if code == GAVE_UP_CODE else PAGE_ERROR,
        "ok_group_id": gid,
        "error_code": code,
        "error_msg": msg,
        "occurred_at": occurred_at,
    }


def _groups(response: Any) -> list[dict[str, Any]]:
    """``group.getInfo``'s groups: OK answers a JSON array; its reference page shows them under
    ``groups``; both are read."""
    if isinstance(response, dict):
        return list(response.get("groups") or [])
    return list(response or [])


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


class _JsonLines:
    """Gzip JSON lines in memory (mtime 0: the same lines give the same bytes)."""

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
