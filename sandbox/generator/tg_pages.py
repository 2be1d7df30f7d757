"""The Telegram world of a generated data set: public channels, daily subscribers and posts.

Generated *beside* an existing data set (``python -m sandbox generate-tg --data DIR``, after
``python -m sandbox generate``) without changing a byte of it: the registry is rebuilt from the
data set's own parameters (``DIR/manifest.json``) with the generator's registry streams, the
Telegram pages are those with ``network == "tg"`` (the channel's username in ``screen_name``), and
every random draw of this module comes from its own streams (``stream(seed, "tg", ...)``).
Output, all under ``DIR/tg/``::

    channels.jsonl         a channel per line: id, access hash, username, title, about, created,
                           verified, photo (has one), linked_chat_id (its discussion group, or
                           null: its posts take no comments) (sandbox keys start with ``_``)
    participants_daily.csv username,date,participants_count (Moscow calendar dates)
    messages.jsonl.gz      a channel post per line: id (per channel, from 1), date, text and its
                           final views, forwards, replies and reactions (grown by the sandbox)
    truth/subscribers_daily.csv  page_id,username,date,participants_count
    truth/posts_daily.csv        page_id,username,date,posts (Moscow calendar dates)
    truth/pages.csv              page_id,username,readable,reason
    truth/page_fields.csv        page_id,username and the channel's compliance fields (verified,
                                 has_photo, has_description, comments_open: 1 or 0)
    manifest.json          what was generated, with counts

About one channel in ten (at least one when a region has eight or more) is private to gospublic's
account (``readable`` 0, ``reason`` ``private``): its username resolves, but
``channels.getFullChannel`` and ``messages.getHistory`` answer ``CHANNEL_PRIVATE``. A registry
username Telegram cannot hold (5-32 characters, a letter first, no ``__``, not ending in ``_``:
the registry generator cuts names at 28 characters) names no channel (``reason``
``invalid_username``; Telethon refuses it before any request). Posts of unreadable channels are
not in the truth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sandbox.generator import registry as registry_module
from sandbox.generator.outputs import CsvAppender, close_gzip, gzip_writer, text_writer
from sandbox.generator.params import Params
from sandbox.generator.rng import stream
from sandbox.generator.timeutil import DAY, epoch, parse_month

MOSCOW = 3 * 3600  # dates of participants_daily.csv and the truth are Moscow calendar dates
CHANNEL_ID_START = 1_700_000_000  # channel ids are positive 64-bit integers (bare, without -100)
HOUR_WEIGHTS = np.array(
    [0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.0, 2.5, 4.5, 6.0, 6.5, 6.0,
     5.0, 5.5, 6.0, 5.5, 5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.2]
)  # fmt: skip
TEXTS = (
    "Официально: новости дня и ответы на вопросы жителей.",
    "Приём граждан — в четверг с 10:00 до 13:00, запись по телефону.",
    "Плановые работы: адреса и сроки в посте.",
    "Итоги недели и планы на следующую.",
    "Как подать заявление через Госуслуги: короткая инструкция.",
    "Напоминаем о мерах безопасности в холодный сезон.",
)
EMOJI = ("👍", "❤", "🔥", "👏", "🙏")
VALID_USERNAME = re.compile(
    r"^[a-z](?:(?!__)\w){1,30}[a-z\d]$", re.IGNORECASE
)  # Telegram's (Telethon's) rule


@dataclass
class TgPage:
    """One Telegram channel of the registry."""

    page_id: str
    username: str
    title: str
    channel_id: int
    access_hash: int
    alive_from: int  # unix seconds (clipped to the history start)
    alive_to: int  # unix seconds (valid_to, or the world end)
    rated: bool
    reason: str  # why gospublic cannot read it: "private", "invalid_username"; "" when it can

    @property
    def readable(self) -> bool:
        return not self.reason


def tg_pages(params: Params) -> Iterator[tuple[str, list[TgPage], int, int]]:
    """Per region: its code, its Telegram channels, the history start and the world end (unix s)."""
    from sandbox.generator.pipeline import iter_registries

    month_start, next_month = parse_month(params.month)
    history_start = month_start - dt.timedelta(days=params.start_days_before)
    start, end = epoch(history_start) - MOSCOW, epoch(next_month) - MOSCOW
    serial = 0
    for reg, _ in iter_registries(params):
        pages = [p for p in reg.pages if p.network == "tg"]
        rng = stream(params.seed, "tg", "pages", reg.region.code)
        n_private = max(1, round(len(pages) * 0.1)) if len(pages) >= 8 else 0
        private = set(rng.choice(len(pages), size=n_private, replace=False).tolist()) if n_private else set()
        found = []
        for index, page in enumerate(pages):
            serial += 1
            reason = "private" if index in private else ""
            if not VALID_USERNAME.match(page.screen_name):
                reason = "invalid_username"
            found.append(_page(page, serial, int(rng.integers(1, 2**62)), reason, (start, end)))
        yield reg.region.code, found, start, end


def _page(
    page: registry_module.Page, serial: int, access_hash: int, reason: str, span: tuple[int, int]
) -> TgPage:
    start, end = span

    def moscow_midnight(day: str) -> int:
        return epoch(dt.date.fromisoformat(day)) - MOSCOW

    return TgPage(
        page_id=page.page_id,
        username=page.screen_name,
        title=page.org_name,
        channel_id=CHANNEL_ID_START + serial * 13,
        access_hash=access_hash,
        alive_from=max(moscow_midnight(page.valid_from), start) if page.valid_from else start,
        alive_to=min(moscow_midnight(page.valid_to), end) if page.valid_to else end,
        rated=page.rating_group not in ("", "РСО-УК"),
        reason=reason,
    )


def participants(pages: list[TgPage], day_starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pages × days of participants_count (``-1`` where the channel does not exist that day)."""
    n_pages, n_days = len(pages), len(day_starts)
    rated = np.array([p.rated for p in pages], dtype=bool)
    base = np.where(rated, 1_800.0, 250.0) * rng.lognormal(0.0, 1.0, n_pages)
    trend = rng.normal(0.002, 0.0015, n_pages)
    step = trend[:, None] + rng.normal(0.0, 0.001, (n_pages, n_days))
    step[:, 0] = 0.0
    counts = np.maximum(np.rint(base[:, None] * np.exp(np.cumsum(step, axis=1))), 1).astype(np.int64)
    alive_from = np.array([p.alive_from for p in pages], dtype=np.int64)
    alive_to = np.array([p.alive_to for p in pages], dtype=np.int64)
    alive = (day_starts[None, :] + DAY > alive_from[:, None]) & (day_starts[None, :] < alive_to[:, None])
    return np.where(alive, counts, -1)


def post_times(
    pages: list[TgPage], day_starts: np.ndarray, posts_per_month: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """``(page index, unix seconds)`` of every channel post, sorted by page then time."""
    rate = rng.lognormal(0.0, 0.7, len(pages)) * posts_per_month / 30.4 * 0.8
    hours = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
    found: list[tuple[int, int]] = []
    for index, page in enumerate(pages):
        per_day = rng.poisson(rate[index], len(day_starts))
        for day, n in zip(day_starts, per_day, strict=True):
            if n:
                hour = rng.choice(24, size=int(n), p=hours)
                when = day + hour * 3600 + rng.integers(0, 3600, int(n))
                found += [(index, int(t)) for t in when if page.alive_from <= t < page.alive_to]
    found.sort()
    return found


def channel_object(page: TgPage, rnd: random.Random) -> dict[str, object]:
    """What the sandbox builds ``Channel`` and ``ChannelFull`` from."""
    return {
        "id": page.channel_id,
        "access_hash": page.access_hash,
        "username": page.username,
        "title": page.title,
        "about": f"Официальный канал: {page.title}." if rnd.random() < 0.85 else "",
        "date": page.alive_from,
        "verified": rnd.random() < 0.2,
        "_sandbox_page_id": page.page_id,
        "_sandbox_alive_from": page.alive_from,
        "_sandbox_alive_to": page.alive_to,
        "_sandbox_readable": page.reason != "private",
    }


FIELD_COLUMNS = ["page_id", "username", "verified", "has_photo", "has_description", "comments_open"]
DISCUSSION_ID_OFFSET = 500_000_000  # a discussion group's id: the channel's plus this


def add_card(channel: dict[str, object], card: random.Random) -> None:
    """The channel's photo and discussion group, from the card's own stream: about 85 % have a
    photo, 60 % a discussion group (whose posts carry a replies count)."""
    channel["photo"] = card.random() < 0.85
    has_discussion = card.random() < 0.6
    channel["linked_chat_id"] = int(str(channel["id"])) + DISCUSSION_ID_OFFSET if has_discussion else None


def card_fields(channel: dict[str, object]) -> list[int]:
    """The truth of a channel's compliance fields (docs/networks.md, "Compliance checks per network")."""
    return [
        int(bool(channel["verified"])), int(bool(channel["photo"])), int(bool(str(channel["about"]).strip())),
        int(channel["linked_chat_id"] is not None),
    ]  # fmt: skip


def generate_tg(params: Params, out: str) -> dict[str, object]:
    """Write ``out/tg/`` for the data set generated with ``params``; returns its manifest."""
    folder = os.path.join(out, "tg")
    os.makedirs(os.path.join(folder, "truth"), exist_ok=True)
    channels = text_writer(os.path.join(folder, "channels.jsonl"))
    daily = CsvAppender(
        os.path.join(folder, "participants_daily.csv"), ["username", "date", "participants_count"]
    )
    subscribers = CsvAppender(
        os.path.join(folder, "truth", "subscribers_daily.csv"),
        ["page_id", "username", "date", "participants_count"],
    )
    posts_daily = CsvAppender(
        os.path.join(folder, "truth", "posts_daily.csv"), ["page_id", "username", "date", "posts"]
    )
    pages_csv = CsvAppender(
        os.path.join(folder, "truth", "pages.csv"), ["page_id", "username", "readable", "reason"]
    )
    fields_csv = CsvAppender(os.path.join(folder, "truth", "page_fields.csv"), FIELD_COLUMNS)
    messages = gzip_writer(os.path.join(folder, "messages.jsonl.gz"), params.gzip_level)
    counts = {"tg_pages": 0, "tg_unreadable_pages": 0, "tg_participants_rows": 0, "tg_posts": 0}
    for region, pages, start, end in tg_pages(params):
        rng = stream(params.seed, "tg", "world", region)
        rnd = random.Random(int(rng.integers(2**63)))
        # the card's photo and discussion group from a stream of its own: the other draws stay as they were
        card = random.Random(int(stream(params.seed, "tg", "card", region).integers(2**63)))
        day_starts = np.arange(start, end, DAY, dtype=np.int64)
        dates = [dt.datetime.fromtimestamp(int(d) + MOSCOW, dt.UTC).date().isoformat() for d in day_starts]
        matrix = participants(pages, day_starts, rng) if pages else np.zeros((0, len(dates)), np.int64)
        discussion: dict[int, bool] = {}
        for index, page in enumerate(pages):
            channel = channel_object(page, rnd)
            add_card(channel, card)
            discussion[index] = channel["linked_chat_id"] is not None
            channels.write(json.dumps(channel, ensure_ascii=False, separators=(",", ":")) + "\n")
            fields_csv.row([page.page_id, page.username, *card_fields(channel)])
            pages_csv.row([page.page_id, page.username, int(page.readable), page.reason])
            for day, count in zip(dates, matrix[index], strict=True):
                if count >= 0:
                    daily.row([page.username, day, int(count)])
                    subscribers.row([page.page_id, page.username, day, int(count)])
        per_day: dict[tuple[int, str], int] = {}
        seq: dict[int, int] = {}
        for index, created in post_times(pages, day_starts, params.posts_per_page_month, rng):
            seq[index] = seq.get(index, 0) + 1
            messages.write(_message_line(pages[index], seq[index], created, rnd, discussion[index]))
            counts["tg_posts"] += 1
            if pages[index].readable:
                day = dt.datetime.fromtimestamp(created + MOSCOW, dt.UTC).date().isoformat()
                per_day[(index, day)] = per_day.get((index, day), 0) + 1
        for (index, day), n in sorted(per_day.items()):
            posts_daily.row([pages[index].page_id, pages[index].username, day, n])
        counts["tg_pages"] += len(pages)
        counts["tg_unreadable_pages"] += sum(not p.readable for p in pages)
        counts["tg_participants_rows"] += int((matrix >= 0).sum())
    for appender in (daily, subscribers, posts_daily, pages_csv, fields_csv):
        appender.close()
    channels.close()
    close_gzip(messages)
    manifest: dict[str, object] = {
        "generator": "sandbox.generator.tg_pages",
        "seed": params.seed,
        "month": params.month,
        "parameters": params.as_dict(),
        "counts": counts,
    }
    with text_writer(os.path.join(folder, "manifest.json")) as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return manifest


def _message_line(page: TgPage, msg_id: int, created: int, rnd: random.Random, discussion: bool) -> str:
    """A channel post with its final metrics; the sandbox shows them grown to its clock. Its
    replies count exists when the channel has a discussion group (null otherwise, as Telegram
    sends no ``replies`` then); the draws are the same either way."""
    audience = 600 if page.rated else 80
    views = int(rnd.expovariate(1 / audience)) + 1
    reactions = {e: int(views * rnd.uniform(0.0, 0.02)) for e in rnd.sample(EMOJI, rnd.randint(0, 3))}
    text = rnd.choice(TEXTS)  # the draws in the order they always had
    forwards = int(views * rnd.uniform(0.0, 0.03))
    replies = int(views * rnd.uniform(0.0, 0.01)) if rnd.random() < 0.6 else 0
    message = {
        "username": page.username,
        "id": msg_id,
        "date": created,
        "text": text,
        "views": views,
        "forwards": forwards,
        "replies": replies if discussion else None,
        "reactions": {e: n for e, n in reactions.items() if n > 0},
        "tau_hours": round(rnd.uniform(3.0, 24.0), 2),
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"


def params_of(data_dir: str) -> Params:
    """The parameters a data set was generated with (its ``manifest.json``)."""
    with open(os.path.join(data_dir, "manifest.json"), encoding="utf-8") as handle:
        return Params(**json.load(handle)["parameters"])


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``generate-tg`` sub-command."""
    parser = subparsers.add_parser(
        "generate-tg",
        help="add the Telegram world (channels, subscribers, posts, truth) to a generated data set",
        description="Write DIR/tg/ for the data set in DIR (made by `generate`); see docs/networks.md.",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="a data set made by `generate`")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``generate-tg``."""
    manifest = generate_tg(params_of(args.data), args.data)
    print(f"generated the Telegram world into {args.data}/tg: {manifest['counts']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.generator.tg_pages --data DIR``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.generator.tg_pages")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["generate-tg", *(argv or [])])
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
