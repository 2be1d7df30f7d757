"""Reading public Telegram channels with Telethon, FLOOD_WAIT honoured, secrets masked.

Credentials come from the Airflow connection ``gospublic_telegram_mtproto`` (not
``gospublic_telegram``, the alert bot's):

* ``login`` — the application's ``api_id`` (my.telegram.org);
* ``password`` — its ``api_hash``;
* ``extra.session`` — a Telethon ``StringSession`` of the reading account, logged in once by hand
  (it holds the account's auth key: a secret as strong as a password);
* ``extra.pause`` — seconds between requests (default 1; Telegram publishes no rate), kept by the
  shared ``gospublic.infra.pacer.RateLimiter`` on the reader's clock;
* ``extra.max_flood_wait`` — the longest FLOOD_WAIT waited out (default 900 s); a longer one stops
  the run rather than hold a worker for hours;
* ``extra.flood_patience`` — FLOOD_WAIT seconds a client waits in all before it stops (default 3600);
* ``extra.boundary`` — development only: ``module:function`` giving the reader's ``client_factory``,
  ``sleep`` and ``clock`` (``sandbox.tg_sandbox:reader_options``, the sandbox installed in the
  process), so a DAG run reads the sandbox; empty in production.

Telethon's own automatic sleeping is off (``flood_sleep_threshold=0``): every ``FloodWaitError``
reaches this module, which waits its seconds with the reader's ``sleep`` and sends again. Errors
of the credentials (unregistered or revoked auth key, invalid api_id, deactivated account) stop the
run; a channel's own error (private, unknown username, invalid) is that channel's result.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telethon import TelegramClient, errors, functions
from telethon.sessions import StringSession

from gospublic.infra.connections import get_connection, mask_secret
from gospublic.infra.pacer import RateLimiter
from gospublic.infra.settings import CONN_TELEGRAM_MTPROTO

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
ClientFactory = Callable[..., TelegramClient]
DEFAULT_PAUSE = 1.0
DEFAULT_MAX_FLOOD_WAIT = 900.0
DEFAULT_FLOOD_PATIENCE = 3600.0
FATAL_ERRORS: tuple[type[Exception], ...] = (
    errors.AuthKeyUnregisteredError, errors.AuthKeyDuplicatedError, errors.SessionRevokedError,
    errors.SessionExpiredError, errors.UserDeactivatedError, errors.UserDeactivatedBanError,
    errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError,
)  # fmt: skip


class TelegramExtractionError(RuntimeError):
    """Extraction cannot go on (credentials refused, a flood wait too long to sit out)."""


@dataclass(frozen=True)
class TelegramConfig:
    """The application, the session and the pace; ``repr`` shows no secret."""

    api_id: int
    api_hash: str = field(repr=False)
    session: str = field(repr=False)
    pause: float = DEFAULT_PAUSE
    max_flood_wait: float = DEFAULT_MAX_FLOOD_WAIT
    flood_patience: float = DEFAULT_FLOOD_PATIENCE
    boundary: str | None = None


def config_from_connection(conn_id: str = CONN_TELEGRAM_MTPROTO) -> TelegramConfig:
    """The configuration of the Airflow connection ``conn_id`` (see the module docstring)."""
    info = get_connection(conn_id)
    if info is None:
        raise TelegramExtractionError(
            f"Airflow connection {conn_id!r} is not defined (api_id, api_hash, session)"
        )
    session = str(info.extra.get("session") or "")
    for secret in (info.password, session):
        mask_secret(secret)
    if not (info.login or "").strip().isdigit():
        raise TelegramExtractionError(f"connection {conn_id!r}: login must be the numeric api_id")
    if not info.password or not session:
        raise TelegramExtractionError(
            f"connection {conn_id!r} needs the api_hash (password) and extra.session"
        )
    return TelegramConfig(
        api_id=int(info.login or 0),
        api_hash=info.password,
        session=session,
        pause=float(info.extra.get("pause", DEFAULT_PAUSE)),
        max_flood_wait=float(info.extra.get("max_flood_wait", DEFAULT_MAX_FLOOD_WAIT)),
        flood_patience=float(info.extra.get("flood_patience", DEFAULT_FLOOD_PATIENCE)),
        boundary=str(info.extra.get("boundary") or "") or None,
    )


def boundary_options(boundary: str) -> Mapping[str, Any]:
    """The reader options ``module:function`` gives (see ``extra.boundary``)."""
    module, _, name = boundary.partition(":")
    if not module or not name:
        raise TelegramExtractionError(f"extra.boundary must be module:function, not {boundary!r}")
    options: Mapping[str, Any] = getattr(importlib.import_module(module), name)()
    return options


def error_name(exc: BaseException) -> str:
    """Telegram's name of an RPC error (``ChannelPrivateError`` → ``CHANNEL_PRIVATE``)."""
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


class TelegramReader:
    """One Telethon client for a batch of channels: opened, checked, its calls waited out."""

    def __init__(
        self,
        config: TelegramConfig,
        *,
        client_factory: ClientFactory = TelegramClient,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._factory = client_factory
        self.sleep = sleep
        rate = 1.0 / config.pause if config.pause > 0 else math.inf
        self.pacer = RateLimiter(rate, margin=0.0, clock=clock)
        self.requests = 0
        self.flood_waited = 0.0
        self._client: TelegramClient | None = None

    @classmethod
    def from_connection(cls, conn_id: str = CONN_TELEGRAM_MTPROTO, **kwargs: Any) -> TelegramReader:
        """A reader for the connection; ``kwargs`` win over what its ``extra.boundary`` gives."""
        config = config_from_connection(conn_id)
        options = boundary_options(config.boundary) if config.boundary and not kwargs else {}
        return cls(config, **{**options, **kwargs})

    @property
    def client(self) -> TelegramClient:
        if self._client is None:
            raise TelegramExtractionError("the reader is not open")
        return self._client

    async def open(self) -> None:
        """Connect with the session and check it is logged in (no interactive login here)."""
        client = self._factory(
            StringSession(self.config.session), self.config.api_id, self.config.api_hash,
            flood_sleep_threshold=0, receive_updates=False, request_retries=3,
        )  # fmt: skip
        await client.connect()
        self._client = client
        try:
            # What is_user_authorized() asks, asked here: it takes any RPC error, FLOOD_WAIT
            # included, for "not logged in"; here a wait is sat out and a refused key stops the run.
            await self.call(lambda: client(functions.updates.GetStateRequest()))
        except TelegramExtractionError as exc:
            await self.close()
            if not isinstance(exc.__cause__, FATAL_ERRORS):
                raise
            raise TelegramExtractionError(
                f"the Telegram session is not logged in or was revoked ({error_name(exc.__cause__)}): "
                "log the reading account in once and put its StringSession into the connection"
            ) from exc.__cause__
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """``await make()``, paced, with every FLOOD_WAIT waited out (within the limits)."""
        while True:
            await self.pace()
            try:
                return await make()
            except errors.FloodWaitError as exc:
                await self.wait_flood(exc)
            except FATAL_ERRORS as exc:
                raise TelegramExtractionError(f"Telegram refused the session: {error_name(exc)}") from exc

    async def pace(self) -> None:
        """Wait for the next request's turn (``extra.pause`` apart) and count it."""
        await self.pacer.wait(self.sleep)
        self.requests += 1

    async def wait_flood(self, exc: errors.FloodWaitError) -> None:
        """Sit out a FLOOD_WAIT of ``exc.seconds``, or stop when it is beyond the limits."""
        seconds = float(max(exc.seconds, 1))
        if seconds > self.config.max_flood_wait or self.flood_waited + seconds > self.config.flood_patience:
            raise TelegramExtractionError(
                f"Telegram asked to wait {seconds:.0f} s ({self.flood_waited:.0f} s waited already); "
                f"limits: max_flood_wait {self.config.max_flood_wait:.0f} s, "
                f"flood_patience {self.config.flood_patience:.0f} s"
            ) from exc
        log.info("telegram: FLOOD_WAIT of %.0f s; waiting", seconds)
        self.flood_waited += seconds
        await self.sleep(seconds)
        # Telethon notes the wait by the real clock, keyed by the constructor of the request as
        # sent, to refuse that request early; the wait is over by our clock, so forget it (for the
        # request and, when it was wrapped in InvokeWithoutUpdates, for the inner one).
        for request in (exc.request, getattr(exc.request, "query", None)):
            if request is not None:
                self.client._flood_waited_requests.pop(request.CONSTRUCTOR_ID, None)
