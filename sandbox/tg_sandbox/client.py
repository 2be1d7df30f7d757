"""Telethon's ``TelegramClient`` with its MTProto sender swapped for the sandbox's.

What runs is Telethon's own code from ``client(request)`` up: ``TelegramClient._call`` (request
resolution of entities into input peers, its FLOOD_WAIT bookkeeping and raising, the session's
entity cache), ``get_entity``/``get_input_entity`` (``contacts.resolveUsername`` once per
username, then the cache), ``iter_messages`` (``messages.getHistory`` paged by offset id and
date) and ``is_user_authorized``. What does not run: ``connect``/``disconnect``'s network part
(TCP, the auth-key exchange, ``initConnection``, the update and keep-alive loops) and
``MTProtoSender`` itself (encryption, TL serialization): the sandbox's sender answers the TL
request objects with Telethon's TL objects, or Telethon's RPC errors, at the simulated clock.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors
from telethon.sessions import StringSession
from telethon.tl import functions

from sandbox.tg_sandbox.answers import METHODS, answer
from sandbox.tg_sandbox.world import SimClock, TgWorld


@dataclass
class FloodStorm:
    """``times`` requests of ``method`` (any method when None) answered FLOOD_WAIT_``seconds``."""

    seconds: int
    times: int
    method: str | None = None


@dataclass
class TelegramSandbox:
    """The world, the clock, the accepted application and sessions, faults and what was asked."""

    world: TgWorld
    api_id: int
    api_hash: str
    auth_keys: set[bytes]
    clock: SimClock = field(default_factory=SimClock)
    storms: list[FloodStorm] = field(default_factory=list)
    private: set[str] = field(default_factory=set)  # usernames made private by the fault plan
    unknown: set[str] = field(default_factory=set)  # usernames answered USERNAME_NOT_OCCUPIED
    requests: Counter[str] = field(default_factory=Counter)
    flood_waits: list[tuple[str, int]] = field(default_factory=list)
    early: list[str] = field(default_factory=list)  # requests sent before their flood wait ended
    _banned_until: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_data(
        cls, data_dir: Path | str, *, api_id: int, api_hash: str, sessions: list[str]
    ) -> TelegramSandbox:
        keys = {StringSession(s).auth_key.key for s in sessions}
        return cls(TgWorld.load(data_dir), api_id, api_hash, keys)

    # -- control ------------------------------------------------------------------------------

    def set_clock(self, when: datetime) -> None:
        self.clock.set(when)

    def clear(self) -> None:
        """No faults, no history of requests."""
        self.storms.clear()
        self.private.clear()
        self.unknown.clear()
        self.requests.clear()
        self.flood_waits.clear()
        self.early.clear()
        self._banned_until.clear()
        self.clock.slept = 0.0

    def client_factory(self) -> Callable[..., TelegramClient]:
        """What ``gospublic.telegram`` builds its client with: ``(session, api_id, api_hash, **kw)``."""

        def build(session: Any, api_id: int, api_hash: str, **kwargs: Any) -> TelegramClient:
            return SandboxTelegramClient(session, api_id, api_hash, sandbox=self, **kwargs)

        return build

    def reader_options(self) -> dict[str, Any]:
        """What ``gospublic.telegram.client.TelegramReader`` reads the sandbox with: its client,
        and its clock to wait on and pace by."""
        return {"client_factory": self.client_factory(), "sleep": self.clock.sleep, "clock": self.clock.time}

    # -- the boundary -------------------------------------------------------------------------

    def handle(self, request: Any, api_id: int, api_hash: str, auth_key: bytes | None) -> Any:
        """Answer one TL request (or raise Telethon's error for it)."""
        sent = request  # errors carry the request as sent, as MTProtoSender's do
        if isinstance(request, functions.InvokeWithoutUpdatesRequest):
            request = request.query
        method = METHODS.get(type(request), type(request).__name__)
        self.requests[method] += 1
        if api_id != self.api_id or api_hash != self.api_hash:
            raise errors.ApiIdInvalidError(request=sent)
        if auth_key is None or auth_key not in self.auth_keys:
            raise errors.AuthKeyUnregisteredError(request=sent)
        now = self.clock.now
        banned = self._banned_until.get(method, 0.0)
        if now < banned:  # Telegram answers a request sent during its wait with a new wait
            self.early.append(method)
            raise errors.FloodWaitError(request=sent, capture=math.ceil(banned - now))
        for storm in self.storms:
            if storm.times > 0 and storm.method in (None, method):
                storm.times -= 1
                self._banned_until[method] = now + storm.seconds
                self.flood_waits.append((method, storm.seconds))
                raise errors.FloodWaitError(request=sent, capture=storm.seconds)
        return answer(self.world, request, now, self.private, self.unknown)


class SandboxSender:
    """Stands where Telethon's ``MTProtoSender`` stands: ``send(request)`` gives a future."""

    def __init__(self, sandbox: TelegramSandbox, api_id: int, api_hash: str, auth_key: bytes | None) -> None:
        self._sandbox, self._api_id, self._api_hash, self._auth_key = sandbox, api_id, api_hash, auth_key
        self._connected = True

    def is_connected(self) -> bool:
        return self._connected

    def send(self, request: Any, ordered: bool = False) -> asyncio.Future[Any]:
        if not self._connected:
            raise ConnectionError("Cannot send requests while disconnected")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self._sandbox.handle(request, self._api_id, self._api_hash, self._auth_key))
        except Exception as exc:
            future.set_exception(exc)
        return future

    async def disconnect(self) -> None:
        self._connected = False


class SandboxTelegramClient(TelegramClient):  # type: ignore[misc]
    """A ``TelegramClient`` whose connection is the sandbox (see the module docstring)."""

    def __init__(
        self, session: Any, api_id: int, api_hash: str, *, sandbox: TelegramSandbox, **kwargs: Any
    ) -> None:
        super().__init__(session, api_id, api_hash, **kwargs)
        self._tg_sandbox = sandbox

    async def connect(self) -> None:
        self._loop = asyncio.get_running_loop()
        key = self.session.auth_key.key if self.session.auth_key else None
        self._sender = SandboxSender(self._tg_sandbox, self.api_id, self.api_hash, key)

    async def disconnect(self) -> None:  # type: ignore[override]
        await self._sender.disconnect()


_installed: list[TelegramSandbox] = []


def install(sandbox: TelegramSandbox | None) -> None:
    """Make ``sandbox`` the one a reader of this process finds through the connection's
    ``extra.boundary = "sandbox.tg_sandbox:reader_options"`` (a DAG run with ``dag.test()`` runs its
    tasks in this process); None removes it."""
    _installed.clear()
    if sandbox is not None:
        _installed.append(sandbox)


def reader_options() -> dict[str, Any]:
    """The installed sandbox's reader options (see :func:`install`)."""
    if not _installed:
        raise RuntimeError("no Telegram sandbox installed in this process (sandbox.tg_sandbox.install)")
    return _installed[0].reader_options()
