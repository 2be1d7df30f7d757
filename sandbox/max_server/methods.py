"""The MAX Bot API methods the sandbox answers, given the query and the simulated clock.

Shapes from the Bot API's OpenAPI description (``schema.yaml`` of the official Go client,
max-messenger/max-bot-api-client-go, version 0.0.30):

* ``GET /chats/{chatId}`` — a ``Chat``: ``chat_id``, ``type``, ``status``, ``title``, ``icon``,
  ``last_event_time``, ``participants_count`` (from participants_daily.csv at the clock's Moscow
  date), ``is_public``, ``link``, ``description``, ``messages_count`` (posts up to the clock).
  404 for a chat unknown or not yet open at the clock; 403 when the bot is not a member.
* ``GET /messages?chat_id=&from=&to=&count=`` — ``{"messages": [...]}``, newest first, ``count``
  1–100 (default 50); ``from`` and ``to`` are times in ms with ``to`` less than ``from`` (the
  sandbox takes both as inclusive: ``to <= timestamp <= from``); only posts created at or before
  the clock, each with ``stat.views`` grown to the clock. 403 when the bot is not a member.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from sandbox.max_server.data import MaxDataset

MAX_COUNT = 100
DEFAULT_COUNT = 50


class MaxError(Exception):
    """An error answer: the HTTP status and ``{"code": ..., "message": ...}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def get_chat(data: MaxDataset, path_id: str, query: dict[str, str], now: int) -> Any:
    chat_id = _chat_id(path_id, "chatId")
    chat = _member_chat(data, chat_id, now)
    count = data.participants_at(chat_id, now)
    channel = data.channels.get(chat_id)
    posts = bisect.bisect_right(channel.stamps, now * 1000) if channel else 0
    answer = {k: v for k, v in chat.items() if not k.startswith("_")}
    answer.update(participants_count=count or 0, messages_count=posts)
    return answer


def get_messages(data: MaxDataset, path_id: str, query: dict[str, str], now: int) -> Any:
    if query.get("message_ids"):
        raise MaxError(400, "proto.payload", "message_ids is not supported by the sandbox")
    if not query.get("chat_id"):
        raise MaxError(400, "proto.payload", "chat_id is required")
    chat_id = _chat_id(query["chat_id"], "chat_id")
    count = _int(query.get("count"), DEFAULT_COUNT, "count")
    if not 1 <= count <= MAX_COUNT:
        raise MaxError(400, "proto.payload", f"count must be 1..{MAX_COUNT}")
    upper = min(_int(query.get("from"), now * 1000, "from"), now * 1000)
    lower = _int(query.get("to"), 0, "to")
    if lower > upper:
        raise MaxError(400, "proto.payload", "to must be less than from")
    _member_chat(data, chat_id, now)
    channel = data.channels.get(chat_id)
    if channel is None:
        return {"messages": []}
    stop = bisect.bisect_right(channel.stamps, upper)
    begin = bisect.bisect_left(channel.stamps, lower)
    chosen = channel.messages[max(begin, stop - count) : stop]
    return {"messages": [_message(m, now) for m in reversed(chosen)]}


def _member_chat(data: MaxDataset, chat_id: int, now: int) -> dict[str, Any]:
    if not data.alive(chat_id, now):
        raise MaxError(404, "not.found", f"Chat {chat_id} not found")
    chat = data.chats[chat_id]
    if not chat.get("_sandbox_bot_member", True):
        raise MaxError(403, "chat.denied", f"Bot is not a member of chat {chat_id}")
    return chat


def _message(message: dict[str, Any], now: int) -> dict[str, Any]:
    age_hours = max(now * 1000 - int(message["timestamp"]), 0) / 3_600_000
    grown = 1 - math.exp(-age_hours / float(message.get("_tau_hours", 12.0)))
    answer = {k: v for k, v in message.items() if not k.startswith("_")}
    answer["stat"] = {"views": max(1, int(int(message.get("_views", 0)) * grown))}
    return answer


def _chat_id(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise MaxError(400, "proto.payload", f"{name} must be an integer") from exc


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise MaxError(400, "proto.payload", f"{name} must be an integer") from exc


# (HTTP verb, first path segment) → handler(data, id in the path or "", query, now)
METHODS: dict[tuple[str, str], Callable[[MaxDataset, str, dict[str, str], int], Any]] = {
    ("GET", "chats"): get_chat,
    ("GET", "messages"): get_messages,
}
