"""Reading Telegram channels as a test checks them: with the reader the connection
``gospublic_telegram_mtproto`` makes (the sandbox's, through ``extra.boundary``)."""

from __future__ import annotations


async def tg_participants(usernames: list[str]) -> dict[str, int]:
    """Each channel's subscribers as ``channels.getFullChannel`` gives them."""
    from telethon import functions

    from gospublic.telegram.client import TelegramReader

    reader = TelegramReader.from_connection()
    await reader.open()
    try:
        found = {}
        for name in usernames:
            full = await reader.call(
                lambda n=name: reader.client(functions.channels.GetFullChannelRequest(n))
            )
            found[name] = full.full_chat.participants_count
        return found
    finally:
        await reader.close()
