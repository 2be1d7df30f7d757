"""Telethon's real TL objects built from the world at the sandbox's clock, and Telethon's real
errors, for the requests gospublic makes (``contacts.resolveUsername``,
``channels.getFullChannel``, ``messages.getHistory``, ``updates.getState``)."""

from __future__ import annotations

from typing import Any

from telethon import errors
from telethon.tl import functions, types

from sandbox.tg_sandbox.world import TgWorld, grown, utc

HISTORY_LIMIT = 100  # messages.getHistory answers at most 100 messages a call

# TL method names of the request classes the sandbox answers (also the fault plan's keys)
METHODS: dict[type, str] = {
    functions.contacts.ResolveUsernameRequest: "contacts.resolveUsername",
    functions.channels.GetFullChannelRequest: "channels.getFullChannel",
    functions.messages.GetHistoryRequest: "messages.getHistory",
    functions.updates.GetStateRequest: "updates.getState",
}


def channel_tl(channel: dict[str, Any]) -> types.Channel:
    """The ``Channel`` a non-member user sees (``left``: gospublic's account joins nothing)."""
    photo: types.TypeChatPhoto = types.ChatPhotoEmpty()
    if channel.get("photo"):
        photo = types.ChatPhoto(photo_id=channel["id"], dc_id=2)
    return types.Channel(
        id=channel["id"], title=channel["title"], photo=photo, date=utc(channel["date"]),
        broadcast=True, left=True, verified=channel["verified"], access_hash=channel["access_hash"],
        username=channel["username"],
    )  # fmt: skip


def answer(world: TgWorld, request: Any, now: float, private: set[str], unknown: set[str]) -> Any:
    """The answer to ``request`` at ``now``; raises Telethon's error where Telegram would."""
    if isinstance(request, functions.updates.GetStateRequest):
        return types.updates.State(pts=1, qts=0, date=utc(now), seq=1, unread_count=0)
    if isinstance(request, functions.contacts.ResolveUsernameRequest):
        channel = None if request.username.lower() in unknown else world.channel(request.username, now)
        if channel is None:
            raise errors.UsernameNotOccupiedError(request=request)
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(channel["id"]), chats=[channel_tl(channel)], users=[]
        )
    if isinstance(request, functions.channels.GetFullChannelRequest):
        channel = _readable(world, request, request.channel, now, private)
        full = types.ChannelFull(
            id=channel["id"], about=channel["about"], read_inbox_max_id=0, read_outbox_max_id=0,
            unread_count=0, chat_photo=_photo(channel), notify_settings=types.PeerNotifySettings(),
            bot_info=[], pts=1, participants_count=world.participants_at(channel, now),
            available_reactions=types.ChatReactionsAll(), linked_chat_id=channel.get("linked_chat_id"),
        )  # fmt: skip
        return types.messages.ChatFull(full_chat=full, chats=[channel_tl(channel)], users=[])
    if isinstance(request, functions.messages.GetHistoryRequest):
        channel = _readable(world, request, request.peer, now, private)
        posts = world.posts_at(channel, now)
        page = _history_page(posts, request)
        return types.messages.ChannelMessages(
            pts=1, count=len(posts), messages=[_message(channel, m, now) for m in page], topics=[],
            chats=[channel_tl(channel)], users=[],
        )  # fmt: skip
    raise NotImplementedError(f"the Telegram sandbox does not answer {type(request).__name__}")


def _photo(channel: dict[str, Any]) -> types.TypePhoto:
    """The channel's photo as ``ChannelFull.chat_photo`` gives it (``PhotoEmpty`` without one)."""
    if not channel.get("photo"):
        return types.PhotoEmpty(id=0)
    return types.Photo(
        id=channel["id"], access_hash=0, file_reference=b"", date=utc(channel["date"]), sizes=[], dc_id=2
    )


def _readable(world: TgWorld, request: Any, peer: Any, now: float, private: set[str]) -> dict[str, Any]:
    """The channel an input peer names, checked as Telegram checks it."""
    channel = world.by_id(getattr(peer, "channel_id", 0))
    if channel is None or channel["access_hash"] != getattr(peer, "access_hash", None):
        raise errors.ChannelInvalidError(request=request)
    if not channel["_sandbox_readable"] or channel["username"].lower() in private:
        raise errors.ChannelPrivateError(request=request)
    if not channel["_sandbox_alive_from"] <= now < channel["_sandbox_alive_to"]:
        raise errors.ChannelInvalidError(request=request)
    return channel


def _history_page(posts: list[dict[str, Any]], request: Any) -> list[dict[str, Any]]:
    """Newest first, before ``offset_id``/``offset_date``, inside ``min_id``/``max_id``, skipping
    ``add_offset``, at most ``limit`` (capped at 100)."""
    found = [
        m
        for m in reversed(posts)
        if (not request.offset_id or m["id"] < request.offset_id)
        and (request.offset_date is None or m["date"] < request.offset_date.timestamp())
        and (not request.max_id or m["id"] < request.max_id)
        and (not request.min_id or m["id"] > request.min_id)
    ]
    skip = max(0, request.add_offset or 0)
    return found[skip : skip + max(0, min(request.limit or HISTORY_LIMIT, HISTORY_LIMIT))]


def _message(channel: dict[str, Any], post: dict[str, Any], now: float) -> types.Message:
    """A channel post with its metrics grown to ``now`` (views at least 1 once published)."""
    tau = float(post["tau_hours"])
    reactions = [
        types.ReactionCount(reaction=types.ReactionEmoji(emoticon=e), count=grown(n, post["date"], now, tau))
        for e, n in post["reactions"].items()
    ]
    replies = post["replies"]
    return types.Message(
        id=post["id"], peer_id=types.PeerChannel(channel["id"]), date=utc(post["date"]), message=post["text"],
        post=True, views=max(1, grown(post["views"], post["date"], now, tau)),
        forwards=grown(post["forwards"], post["date"], now, tau),
        replies=None if replies is None else types.MessageReplies(
            replies=grown(replies, post["date"], now, tau), replies_pts=1, comments=True
        ),
        reactions=types.MessageReactions(results=[r for r in reactions if r.count > 0])
        if reactions else None,
    )  # fmt: skip
