"""Extract one day of Telegram channels into the lake, lake-first and replayable as VK and OK.

For each channel of a batch, through one Telethon client (``TelegramReader``):

1. the username resolved to the channel (``get_entity``: ``contacts.resolveUsername`` once, then
   Telethon's session cache);
2. ``channels.getFullChannel`` — subscribers (``full_chat.participants_count``) and the about text;
3. ``messages.getHistory`` through ``iter_messages`` (newest first, 100 a call, paged by Telethon)
   until a post older than the re-read window's start: new posts and the views, forwards, replies
   and reactions of recent ones.

Every answer lands first in the lake as gzip JSON lines (Telethon's ``to_dict()`` of the TL
objects: dates as ISO text, bytes as base64), holding the channel's username and never the
session or api_hash::

    raw/telegram/channels.getFullChannel/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/telegram/messages.getHistory/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/telegram/_manifests/dt=YYYY-MM-DD/<run_id>.json   (every finished run, with its checks)
    raw/telegram/_manifests/dt=YYYY-MM-DD/latest.json     (the last run that passed its checks)

Errors come in two kinds: ``page`` (Telegram's answer about the channel: ``CHANNEL_PRIVATE``,
``USERNAME_NOT_OCCUPIED``, ``CHANNEL_INVALID``…; ``USERNAME_INVALID`` for a registry username
Telegram cannot hold, refused before any request) and ``gave_up`` (Telethon's retries of Telegram's
internal errors exhausted).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from telethon import errors, functions, utils

from gospublic.infra.lake import Lake
from gospublic.telegram.client import TelegramReader, error_name

RAW_PREFIX = "raw/telegram"
RESOLVE, FULL, HISTORY = "contacts.resolveUsername", "channels.getFullChannel", "messages.getHistory"
METHODS = (FULL, HISTORY)
PAGE_ERROR, GAVE_UP = "page", "gave_up"
GAVE_UP_CODE = -1
PASSED, FAILED = "passed", "failed"
MAX_FAILED_SHARE = 0.2  # channels Telegram may refuse (private, unknown) before a run fails its checks
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


def raw_key(method: str, dt: date, run_id: str, batch: int) -> str:
    return f"{RAW_PREFIX}/{method}/dt={dt.isoformat()}/run={_safe(run_id)}/batch-{batch:04d}.jsonl.gz"


def manifest_key(dt: date, run_id: str | None = None) -> str:
    name = "latest" if run_id is None else _safe(run_id)
    return f"{RAW_PREFIX}/_manifests/dt={dt.isoformat()}/{name}.json"


def extract_batch(
    reader: TelegramReader,
    lake: Lake,
    *,
    usernames: list[str],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
) -> BatchOutcome:
    """Extract the channels ``usernames`` (subscribers, posts of the window), landing every answer."""
    return asyncio.run(
        _extract(
            reader, lake, usernames=usernames, dt=dt, window_start=window_start, run_id=run_id, batch=batch
        )
    )


async def _extract(
    reader: TelegramReader,
    lake: Lake,
    *,
    usernames: list[str],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
) -> BatchOutcome:
    outcome = BatchOutcome(batch=batch, pages=len(usernames), window_start=window_start.isoformat())
    writers = {method: _JsonLines() for method in METHODS}
    await reader.open()
    try:
        for username in usernames:
            await _channel(reader, username, window_start, writers, outcome)
    finally:
        await reader.close()
    for method, writer in writers.items():
        if writer.lines:
            key = raw_key(method, dt, run_id, batch)
            lake.put_bytes(key, writer.finish())
            outcome.files[method] = key
    return outcome


async def _channel(
    reader: TelegramReader,
    username: str,
    window_start: datetime,
    writers: Mapping[str, _JsonLines],
    outcome: BatchOutcome,
) -> None:
    """One channel: resolved, its full information, then its posts back to the window's start."""
    client = reader.client

    def land(
        method: str, params: dict[str, Any], response: Any = None, error: Exception | None = None
    ) -> None:
        line: dict[str, Any] = {
            "method": method,
            "params": params,
            "observed_at": datetime.now(UTC).isoformat(),
        }
        if error is None:
            line["response"] = response
        else:
            line["error"] = _error_fields(error)
            outcome.errors.append(_error(method, username, error))
        writers[method].write(line)
        outcome.calls[method] = outcome.calls.get(method, 0) + 1

    params = {"username": username}
    if utils.parse_username(username)[0] is None:  # Telethon would refuse it without asking
        land(FULL, params, error=errors.UsernameInvalidError(request=None))
        return
    try:
        entity = await reader.call(lambda: client.get_entity(username))
        full = await reader.call(lambda: client(functions.channels.GetFullChannelRequest(entity)))
    except (errors.RPCError, ValueError) as exc:
        land(FULL, params, error=exc.__cause__ if isinstance(exc.__cause__, errors.RPCError) else exc)
        return
    land(FULL, params, full.to_dict())
    history = {**params, "window_start": window_start.isoformat()}
    try:
        messages = await _window(reader, entity, window_start)
    except (errors.RPCError, ValueError) as exc:
        land(HISTORY, history, error=exc)
        return
    land(HISTORY, history, {"messages": [m.to_dict() for m in messages]})


async def _window(reader: TelegramReader, entity: Any, window_start: datetime) -> list[Any]:
    """The channel's posts from newest back to ``window_start`` through ``iter_messages``; after a
    FLOOD_WAIT the iteration goes on from the last post read (``offset_id``)."""
    found: list[Any] = []
    while True:
        offset_id = found[-1].id if found else 0
        await reader.sleep(reader.config.pause)
        reader.requests += 1
        try:
            async for message in reader.client.iter_messages(entity, offset_id=offset_id):
                if message.date < window_start:
                    return found
                found.append(message)
            return found
        except errors.FloodWaitError as exc:
            await reader.wait_flood(exc)


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
    errors_ = [e for o in outcomes for e in o.errors]
    pages = sum(o.pages for o in outcomes)
    failed, given_up = _pages(errors_, PAGE_ERROR), _pages(errors_, GAVE_UP)
    manifest: dict[str, Any] = {
        "network": "tg",
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
        ("refused by Telegram (private, unknown, invalid)", len(failed), max_failed_share),
        ("with calls given up after their retries", len(given_up), max_giveup_share),
    ):
        share = count / pages if pages else 0.0
        if share > limit:
            problems.append(f"{count} of {pages} Telegram channels {what} on {dt}: {share:.1%} > {limit}")
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


def _error_fields(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, errors.RPCError):
        return {"error_code": int(exc.code or 0), "error_msg": error_name(exc)}
    return {"error_code": GAVE_UP_CODE, "error_msg": f"{type(exc).__name__}: {exc}"[:300]}


def _error(method: str, username: str, exc: Exception) -> dict[str, Any]:
    fields = _error_fields(exc)
    if isinstance(exc, errors.UsernameNotOccupiedError | errors.UsernameInvalidError):
        method = RESOLVE
    return {
        "method": method,
        "kind": GAVE_UP if fields["error_code"] == GAVE_UP_CODE else PAGE_ERROR,
        "username": username,
        **fields,
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def _pages(found: Iterable[Mapping[str, Any]], kind: str) -> set[str]:
    return {str(e["username"]) for e in found if e.get("username") and e.get("kind") == kind}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


class _JsonLines:
    """Gzip JSON lines in memory (mtime 0: the same lines give the same bytes)."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        self._gzip.write(json.dumps(record, ensure_ascii=False, default=_json_default).encode() + b"\n")
        self.lines += 1

    def finish(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()
