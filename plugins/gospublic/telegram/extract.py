"""Extract one day of Telegram channels into the lake, lake-first and replayable as VK and OK.

For each channel of a batch, through one Telethon client (``TelegramReader``):

1. the username resolved to the channel (``get_entity``: ``contacts.resolveUsername`` once, then
   Telethon's session cache);
2. ``channels.getFullChannel`` — subscribers (``full_chat.participants_count``) and the about text;
3. ``messages.getHistory`` through ``iter_messages`` (newest first, 100 a call, one call a paced request)
   until a post older than the re-read window's start: new posts and the views, forwards, replies
   and reactions of recent ones.

Every answer lands first in the lake as gzip JSON lines (Telethon's ``to_dict()`` of the TL
objects: dates as ISO text, bytes as base64), holding the channel's username and never the
session or api_hash::

    raw/tg/channels.getFullChannel/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/tg/messages.getHistory/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/tg/_manifests/dt=YYYY-MM-DD/<run_id>.json   (every finished run, with its checks)
    raw/tg/_manifests/dt=YYYY-MM-DD/latest.json     (the last run that passed its checks)

Errors come in two kinds: ``page`` (Telegram's answer about the channel: ``CHANNEL_PRIVATE``,
``USERNAME_NOT_OCCUPIED``, ``CHANNEL_INVALID``…; ``USERNAME_INVALID`` for a registry username
Telegram cannot hold, refused before any request) and ``gave_up`` (Telethon's retries of Telegram's
internal errors exhausted).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from telethon import errors, functions, utils

from gospublic.infra.lake import Lake
from gospublic.infra.network_day import GAVE_UP, PAGE_ERROR, BatchOutcome, JsonLines, NetworkLake, read_lines
from gospublic.telegram.client import TelegramReader, error_name

RAW_PREFIX = "raw/tg"
RESOLVE, FULL, HISTORY = "contacts.resolveUsername", "channels.getFullChannel", "messages.getHistory"
METHODS = (FULL, HISTORY)
GAVE_UP_CODE = -1
HISTORY_PAGE = 100  # the most messages one messages.getHistory answer holds (Telethon asks this many)


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
    writers = LAKE.writers()
    await reader.open()
    try:
        for username in usernames:
            await _channel(reader, username, window_start, writers, outcome)
    finally:
        await reader.close()
    LAKE.put_files(lake, writers, outcome, dt, run_id)
    return outcome


async def _channel(
    reader: TelegramReader,
    username: str,
    window_start: datetime,
    writers: Mapping[str, JsonLines],
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
    """The channel's posts from newest back to ``window_start``, one ``messages.getHistory`` page
    (``HISTORY_PAGE`` posts) a request, each paced and counted by the reader: Telethon is never left
    to fetch further pages between our pauses. A FLOOD_WAIT is sat out and the page asked again."""
    found: list[Any] = []
    while True:
        offset_id = found[-1].id if found else 0
        await reader.pace()
        try:
            answer = reader.client.iter_messages(entity, limit=HISTORY_PAGE, offset_id=offset_id)
            page = [message async for message in answer]
        except errors.FloodWaitError as exc:
            await reader.wait_flood(exc)
            continue
        for message in page:
            if message.date < window_start:
                return found
            found.append(message)
        if len(page) < HISTORY_PAGE:
            return found


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


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


LAKE = NetworkLake(RAW_PREFIX, METHODS, json_default)
raw_key, manifest_key, read_manifest = LAKE.raw_key, LAKE.manifest_key, LAKE.read_manifest
__all__ = ["LAKE", "extract_batch", "json_default", "manifest_key", "raw_key", "read_lines", "read_manifest"]
