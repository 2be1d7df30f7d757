"""Telethon's real client against the sandbox boundary: entity resolution, full channel,
``iter_messages`` paging, Telethon's own errors and FLOOD_WAIT bookkeeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from telethon import TelegramClient, errors, functions
from telethon.sessions import StringSession

from tests.telegram.conftest import API_HASH, API_ID, DAY, SESSION, make_session


def run(
    sandbox: Any, body: Callable[[TelegramClient], Awaitable[Any]], session: str = SESSION, **kw: Any
) -> Any:
    async def main() -> Any:
        client = sandbox.client_factory()(
            StringSession(session), API_ID, API_HASH, receive_updates=False, **kw
        )
        await client.connect()
        try:
            return await body(client)
        finally:
            await client.disconnect()

    return asyncio.run(main())


def readable(tg_world) -> list[str]:
    return sorted(u for u, ok in tg_world.pages().items() if ok)


def test_subscribers_come_from_get_full_channel(tg_sandbox, tg_world) -> None:
    names = readable(tg_world)

    async def body(client: TelegramClient) -> dict[str, int]:
        counts = {}
        for name in names:
            entity = await client.get_entity(name)
            full = await client(functions.channels.GetFullChannelRequest(entity))
            counts[name] = full.full_chat.participants_count
        await client.get_entity(names[0])  # resolved once: Telethon asks again only for strings
        return counts

    counts = run(tg_sandbox, body)
    truth = tg_world.subscribers(DAY)
    assert counts == {n: truth[n] for n in names}
    assert tg_sandbox.requests["channels.getFullChannel"] == len(names)


def test_iter_messages_pages_the_whole_history(tg_sandbox, tg_world) -> None:
    """The busiest channel has more than one page of 100: Telethon pages by offset id and date."""
    published = tg_world.posts(date(2000, 1, 1), DAY)  # every post up to the sandbox's clock
    busiest = max(readable(tg_world), key=lambda n: published.get(n, 0))
    expected = published[busiest]

    async def body(client: TelegramClient) -> list[int]:
        return [m.id async for m in client.iter_messages(busiest)]

    ids = run(tg_sandbox, body)
    assert expected > 100 and len(ids) == len(set(ids)) == expected
    assert ids == sorted(ids, reverse=True)
    assert tg_sandbox.requests["messages.getHistory"] == -(-expected // 100)
    assert tg_sandbox.requests["contacts.resolveUsername"] == 1


def test_private_unknown_and_refused_session_raise_telethons_errors(tg_sandbox, tg_world) -> None:
    private = sorted(u for u, why in tg_world.reasons().items() if why == "private")[0]
    tg_sandbox.unknown.add("gone_channel")

    async def body(client: TelegramClient) -> list[str]:
        found = []
        entity = await client.get_entity(private)
        with pytest.raises(errors.ChannelPrivateError):
            await client(functions.channels.GetFullChannelRequest(entity))
        with pytest.raises(errors.ChannelPrivateError):
            await client.get_messages(entity, limit=5)
        with pytest.raises(ValueError, match="gone_channel") as raised:
            await client.get_entity("gone_channel")
        found.append(type(raised.value.__cause__).__name__)
        return found

    assert run(tg_sandbox, body) == ["UsernameNotOccupiedError"]

    async def unauthorized(client: TelegramClient) -> bool:
        return bool(await client.is_user_authorized())

    assert run(tg_sandbox, unauthorized) is True
    assert run(tg_sandbox, unauthorized, session=make_session(9)) is False


def test_flood_wait_reaches_the_caller(tg_sandbox, tg_world) -> None:
    """With flood_sleep_threshold 0 Telethon raises FLOOD_WAIT to its caller. It also notes the
    wait to refuse the same request early, but keyed by the constructor of the request as sent
    (``InvokeWithoutUpdates`` when updates are off) while it checks the inner one: the second
    request goes out, and the sandbox answers it with the rest of the wait, as Telegram does."""
    from sandbox.tg_sandbox.client import FloodStorm

    name = readable(tg_world)[0]
    tg_sandbox.storms.append(FloodStorm(seconds=30, times=1, method="contacts.resolveUsername"))

    async def body(client: TelegramClient) -> tuple[int, int]:
        with pytest.raises(errors.FloodWaitError) as first:
            await client.get_entity(name)
        with pytest.raises(errors.FloodWaitError) as early:
            await client.get_entity(name)
        return first.value.seconds, early.value.seconds

    assert run(tg_sandbox, body, flood_sleep_threshold=0) == (30, 30)
    assert tg_sandbox.early == ["contacts.resolveUsername"]
