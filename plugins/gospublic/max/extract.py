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

from datetime import UTC, date, datetime
from typing import Any

from gospublic.infra.lake import Lake
from gospublic.infra.network_day import GAVE_UP, PAGE_ERROR, BatchOutcome, NetworkLake, read_lines
from gospublic.max.client import GAVE_UP_CODE, MaxCall, MaxClient, MaxResult

RAW_PREFIX = "raw/max"
GET_CHAT, GET_MESSAGES = "getChat", "getMessages"  # the Bot API's OpenAPI operationIds
OPERATIONS = (GET_CHAT, GET_MESSAGES)
PAGE_SIZE = 100  # the largest count GET /messages takes
LAKE = NetworkLake(RAW_PREFIX, OPERATIONS)
raw_key, manifest_key, read_manifest = LAKE.raw_key, LAKE.manifest_key, LAKE.read_manifest
__all__ = [
    "LAKE", "chat_call", "extract_batch", "manifest_key", "messages_call", "next_page", "raw_key",
    "read_lines", "read_manifest",
]  # fmt: skip


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
    writers = LAKE.writers()
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
    LAKE.put_files(lake, writers, outcome, dt, run_id)
    return outcome


# -- helpers ------------------------------------------------------------------------------------


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
