"""Extract one day of MAX channels into the lake, lake-first and replayable as the VK and OK
extractions.

Calls for a batch of channels, each answer leading to the next call as soon as it arrives:

1. ``getChat`` (``GET /chats/{chatId}``) — subscribers (``participants_count``) and the
   channel's compliance fields (title, description, icon, public link);
2. ``getMessages`` (``GET /messages?chat_id=…&to=<window start>&count=100``, newest first, each
   post with ``stat.views``) — followed by the next older page (``from`` = the oldest post's time)
   while a page comes back full, so new posts and the views of recent ones are both read. ``from``
   is taken as inclusive, so a page may repeat the post at its edge: the load keeps each ``mid``
   once.

Every answer lands first in the lake, as gzip JSON lines holding the call's own parameters and
never the token::

    raw/max/<operation>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/max/_manifests/dt=YYYY-MM-DD/<run_id>.json      (every finished run, with its checks' verdict)
    raw/max/_manifests/dt=YYYY-MM-DD/latest.json        (the last run that passed its checks)

A killed run leaves files but no manifest; a run that failed its checks leaves its manifest but
not ``latest.json``, so a later load never sees half a day. Errors come in two kinds: ``page``
(MAX answered with the channel's own error: 403 the bot is not in it, 404 not found, 400) and
``gave_up`` (abandoned after its transport retries).
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
from gospublic.max.client import GAVE_UP_CODE, MaxCall, MaxClient, MaxResult

RAW_PREFIX = "raw/max"
GET_CHAT, GET_MESSAGES = "getChat", "getMessages"  # the Bot API's OpenAPI operationIds
OPERATIONS = (GET_CHAT, GET_MESSAGES)
PAGE_SIZE = 100  # the largest count GET /messages takes
PAGE_ERROR, GAVE_UP = "page", "gave_up"
PASSED, FAILED = "passed", "failed"
MAX_FAILED_SHARE = 0.2  # channels MAX may refuse (bot not a member, deleted) before a run fails
MAX_GIVEUP_SHARE = 0.05  # channels with calls given up before a run fails its checks


@dataclass
class BatchOutcome:
    """What extracting one batch of channels produced."""

    batch: int
    pages: int
    window_start: str
    files: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def raw_key(operation: str, dt: date, run_id: str, batch: int) -> str:
    return f"{RAW_PREFIX}/{operation}/dt={dt.isoformat()}/run={_safe(run_id)}/batch-{batch:04d}.jsonl.gz"


def manifest_key(dt: date, run_id: str | None = None) -> str:
    name = "latest" if run_id is None else _safe(run_id)
    return f"{RAW_PREFIX}/_manifests/dt={dt.isoformat()}/{name}.json"


def chat_call(chat_id: str) -> MaxCall:
    return MaxCall(GET_CHAT, f"/chats/{chat_id}", {}, key=chat_id)


def messages_call(
    chat_id: str, window_ms: int, before_ms: int | None = None, page_size: int = PAGE_SIZE
) -> MaxCall:
    params = {"chat_id": chat_id, "count": str(page_size), "to": str(window_ms)}
    if before_ms is not None:
        params["from"] = str(before_ms)
    return MaxCall(GET_MESSAGES, "/messages", params, key=chat_id)


def next_page(result: MaxResult) -> list[MaxCall]:
    """The next older page of ``getMessages`` when this one came back full."""
    if not result.ok or result.call.operation != GET_MESSAGES or not isinstance(result.response, dict):
        return []
    messages = result.response.get("messages") or []
    if len(messages) < int(result.call.params["count"]):
        return []
    oldest = min(int(m.get("timestamp", 0)) for m in messages)
    previous = result.call.params.get("from")
    if previous is not None and oldest >= int(previous):
        return []  # a page of one instant: going on would repeat it
    size = int(result.call.params["count"])
    return [messages_call(str(result.call.key), int(result.call.params["to"]), oldest, size)]


def extract_batch(
    client: MaxClient,
    lake: Lake,
    *,
    chat_ids: list[str],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
    page_size: int = PAGE_SIZE,
) -> BatchOutcome:
    """Extract the channels ``chat_ids`` (information, subscribers, posts ``page_size`` a call),
    landing every answer."""
    outcome = BatchOutcome(batch=batch, pages=len(chat_ids), window_start=window_start.isoformat())
    writers = {operation: _JsonLines() for operation in OPERATIONS}
    window_ms = int(window_start.timestamp() * 1000)

    def record(result: MaxResult) -> None:
        writers[result.call.operation].write(_raw_line(result))
        outcome.calls[result.call.operation] = outcome.calls.get(result.call.operation, 0) + 1
        if not result.ok:
            outcome.errors.append(_error(result))

    calls = [chat_call(c) for c in chat_ids] + [
        messages_call(c, window_ms, None, page_size) for c in chat_ids
    ]
    client.run(calls, on_result=record, follow=next_page)
    for operation, writer in writers.items():
        if writer.lines:
            key = raw_key(operation, dt, run_id, batch)
            lake.put_bytes(key, writer.finish())
            outcome.files[operation] = key
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
        "network": "max",
        "dt": dt.isoformat(),
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(),
        "window_start": min((o.window_start for o in outcomes), default=None),
        "batches": [asdict(o) for o in outcomes],
        "files": {op: [o.files[op] for o in outcomes if op in o.files] for op in OPERATIONS},
        "pages": pages,
        "failed_pages": sorted(failed),
        "given_up_pages": sorted(given_up),
        "complete": not given_up,
    }
    problems = []
    for what, count, limit in (
        ("refused by MAX (bot not a member, not found, invalid)", len(failed), max_failed_share),
        ("with calls given up after their retries", len(given_up), max_giveup_share),
    ):
        share = count / pages if pages else 0.0
        if share > limit:
            problems.append(f"{count} of {pages} MAX channels {what} on {dt}: {share:.1%} > {limit}")
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


def _pages(errors: Iterable[Mapping[str, Any]], kind: str) -> set[str]:
    return {str(e["max_chat_id"]) for e in errors if e.get("max_chat_id") and e.get("kind") == kind}


def _raw_line(result: MaxResult) -> dict[str, Any]:
    line: dict[str, Any] = {
        "method": result.call.operation,
        "chat_id": str(result.call.key),
        "params": dict(result.call.params),
        "observed_at": datetime.now(UTC).isoformat(),
    }
    if result.ok:
        line["response"] = result.response
    else:
        line["error"] = {"error_code": result.error_code, "error_msg": result.error_msg}
    return line


def _error(result: MaxResult) -> dict[str, Any]:
    return {
        "method": result.call.operation,
        "kind": GAVE_UP if result.error_code == GAVE_UP_CODE else PAGE_ERROR,
        "max_chat_id": str(result.call.key),
        "error_code": result.error_code,
        "error_msg": result.error_msg,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


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
