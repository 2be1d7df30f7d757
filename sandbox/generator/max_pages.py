"""The MAX world of a generated data set: channels, daily participants and channel posts.

Generated *beside* an existing data set (``python -m sandbox generate-max --data DIR``, after
``python -m sandbox generate``) without changing a byte of it: the registry is rebuilt from the
data set's own parameters (``DIR/manifest.json``) with the generator's registry streams, and every
random draw of this module comes from its own streams (``stream(seed, "max", ...)``).

The sample registry lists no MAX pages yet (its suite admits ``vk``, ``ok`` and ``tg``), so the
MAX world also writes the registry rows it would carry: network code ``max``, the channel's
numeric ``chat_id`` in ``screen_name`` (as an OK group's id is kept there) and its public link in
``url``; page ids continue after the registry's last one. Output, all under ``DIR/max/``::

    registry/pages.csv     the MAX pages in the registry's pages.csv columns (network ``max``)
    chats.jsonl            a MAX Bot API ``Chat`` object per channel (sandbox keys start with ``_``)
    participants_daily.csv chat_id,date,participants_count (Moscow calendar dates)
    messages.jsonl.gz      a channel post per line (``Message``), with its final views (``_views``)
    truth/subscribers_daily.csv  page_id,chat_id,date,participants_count
    truth/posts_daily.csv        page_id,chat_id,date,posts (Moscow calendar dates)
    truth/pages.csv              page_id,chat_id,readable
    truth/page_fields.csv        page_id,chat_id and the channel's compliance fields (has_photo,
                                 has_description, page_open: 1 or 0)
    manifest.json          what was generated, with counts

About one channel in ten (at least one when a region has eight or more) has not admitted
gospublic's bot (``readable`` 0): the API answers 403 for its information and its posts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox.generator import translit
from sandbox.generator.outputs import CsvAppender, close_gzip, gzip_writer, text_writer
from sandbox.generator.params import Params
from sandbox.generator.registry import PAGE_COLUMNS
from sandbox.generator.rng import stream
from sandbox.generator.timeutil import DAY, epoch, parse_month

MOSCOW = 3 * 3600  # dates of participants_daily.csv and the truth are Moscow calendar dates
CHAT_ID_BASE = -70_000_000_000_000  # MAX chat ids are negative int64 (as in the official client's stubs)
MAX_OPENED = dt.date(2025, 6, 1)  # bodies opened MAX channels from mid-2025
HOUR_WEIGHTS = np.array(
    [0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.0, 2.5, 4.5, 6.0, 6.5, 6.0,
     5.0, 5.5, 6.0, 5.5, 5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.2]
)  # fmt: skip
TEXTS = (
    "Коротко о главном за день: решения, сроки, контакты.",
    "Напоминаем: приём граждан по четвергам с 10:00 до 13:00.",
    "Отвечаем на вопросы жителей — пишите в комментарии.",
    "Плановые работы на сетях: адреса и сроки в карточке.",
    "Как подать заявление через Госуслуги: инструкция.",
    "Итоги недели и планы на следующую.",
)


@dataclass
class MaxPage:
    """One MAX channel of a body."""

    page_id: str
    org_id: str
    chat_id: int
    link: str
    title: str
    valid_from: str  # the registry's date the channel became official
    alive_from: int  # unix seconds (clipped to the history start)
    alive_to: int  # unix seconds (the world end)
    rated: bool
    readable: bool

    def registry_row(self) -> dict[str, str]:
        row = dict.fromkeys(PAGE_COLUMNS, "")
        row.update(
            page_id=self.page_id, org_id=self.org_id, network="max", screen_name=str(self.chat_id),
            url=f"https://max.ru/{self.link}", status="active", valid_from=self.valid_from,
        )  # fmt: skip
        return row


def max_pages(params: Params) -> Iterator[tuple[str, list[MaxPage], int, int]]:
    """Per region: its code, its MAX channels, the history start and the world end (unix s)."""
    from sandbox.generator.pipeline import iter_registries

    month_start, next_month = parse_month(params.month)
    history_start = month_start - dt.timedelta(days=params.start_days_before)
    start, end = epoch(history_start) - MOSCOW, epoch(next_month) - MOSCOW
    registries = [reg for reg, _ in iter_registries(params)]
    numbers = [int(p.page_id.split("-")[1]) for reg in registries for p in reg.pages]
    width = max([len(p.page_id) - 5 for reg in registries for p in reg.pages] + [4])
    next_page = max(numbers, default=0) + 1
    serial = 0
    for reg in registries:
        rng = stream(params.seed, "max", "pages", reg.region.code)
        found: list[MaxPage] = []
        for org in reg.current_orgs():
            if org.valid_to:
                continue
            rated = org.rating_group not in ("", "РСО-УК")
            if rng.random() >= (0.45 if rated else 0.04):
                continue
            opened = MAX_OPENED + dt.timedelta(days=int(rng.integers((month_start - MAX_OPENED).days + 10)))
            alive_from = max(epoch(opened) - MOSCOW, start)
            serial += 1
            found.append(
                MaxPage(
                    page_id=f"page-{next_page:0{width}d}",
                    org_id=org.org_id,
                    chat_id=CHAT_ID_BASE - serial * 7 - int(rng.integers(7)),
                    link=f"{translit.screen_name(org.short_name or org.name, 24)}_{serial}",
                    title=org.name,
                    valid_from=opened.isoformat(),
                    alive_from=alive_from,
                    alive_to=end,
                    rated=rated,
                    readable=True,
                )
            )
            next_page += 1
        n_closed = max(1, round(len(found) * 0.1)) if len(found) >= 8 else 0
        for index in rng.choice(len(found), size=n_closed, replace=False).tolist() if n_closed else []:
            found[index].readable = False
        yield reg.region.code, found, start, end


def participants(pages: list[MaxPage], day_starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pages × days of participants_count (``-1`` before the channel opened): young channels grow."""
    n_pages, n_days = len(pages), len(day_starts)
    rated = np.array([p.rated for p in pages], dtype=bool)
    base = np.where(rated, 900.0, 120.0) * rng.lognormal(0.0, 0.9, n_pages)
    trend = rng.normal(0.006, 0.003, n_pages)
    step = trend[:, None] + rng.normal(0.0, 0.002, (n_pages, n_days))
    step[:, 0] = 0.0
    counts = np.maximum(np.rint(base[:, None] * np.exp(np.cumsum(step, axis=1))), 1).astype(np.int64)
    alive_from = np.array([p.alive_from for p in pages], dtype=np.int64)
    alive = day_starts[None, :] + DAY > alive_from[:, None]
    return np.where(alive, counts, -1)


def post_times(
    pages: list[MaxPage], day_starts: np.ndarray, posts_per_month: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """``(page index, created unix seconds)`` of every channel post, sorted by page then time."""
    rate = rng.lognormal(0.0, 0.7, len(pages)) * posts_per_month / 30.4 * 0.6
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


def chat_object(page: MaxPage, rnd: random.Random) -> dict[str, object]:
    """The ``Chat`` object of GET /chats/{chatId} (participants_count and messages_count are the
    sandbox's, at its clock)."""
    return {
        "chat_id": page.chat_id,
        "type": "channel",
        "status": "active",
        "title": page.title,
        "icon": {"url": f"https://i.oneme.ru/i?r=max{-page.chat_id}"} if rnd.random() < 0.85 else None,
        "last_event_time": page.alive_from * 1000,
        "is_public": True,
        "link": f"https://max.ru/{page.link}",
        "description": f"Официальный канал: {page.title}." if rnd.random() < 0.8 else None,
        "_sandbox_page_id": page.page_id,
        "_sandbox_alive_from": page.alive_from,
        "_sandbox_alive_to": page.alive_to,
        "_sandbox_bot_member": page.readable,
    }


FIELD_COLUMNS = ["page_id", "chat_id", "has_photo", "has_description", "page_open"]


def card_fields(chat: dict[str, Any]) -> list[int]:
    """The truth of a channel's compliance fields (docs/networks.md, "Compliance checks per network")."""
    return [
        int(bool((chat.get("icon") or {}).get("url"))), int(bool(str(chat.get("description") or "").strip())),
        int(bool(chat["is_public"])),
    ]  # fmt: skip


def generate_max(params: Params, out: str) -> dict[str, object]:
    """Write ``out/max/`` for the data set generated with ``params``; returns its manifest."""
    folder = os.path.join(out, "max")
    for sub in ("truth", "registry"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    registry_csv = CsvAppender(os.path.join(folder, "registry", "pages.csv"), PAGE_COLUMNS)
    chats = text_writer(os.path.join(folder, "chats.jsonl"))
    daily = CsvAppender(
        os.path.join(folder, "participants_daily.csv"), ["chat_id", "date", "participants_count"]
    )
    subscribers = CsvAppender(
        os.path.join(folder, "truth", "subscribers_daily.csv"),
        ["page_id", "chat_id", "date", "participants_count"],
    )
    posts_daily = CsvAppender(
        os.path.join(folder, "truth", "posts_daily.csv"), ["page_id", "chat_id", "date", "posts"]
    )
    pages_csv = CsvAppender(os.path.join(folder, "truth", "pages.csv"), ["page_id", "chat_id", "readable"])
    fields_csv = CsvAppender(os.path.join(folder, "truth", "page_fields.csv"), FIELD_COLUMNS)
    messages = gzip_writer(os.path.join(folder, "messages.jsonl.gz"), params.gzip_level)
    counts = {"max_pages": 0, "max_unreadable_pages": 0, "max_participants_rows": 0, "max_posts": 0}
    for region, pages, start, end in max_pages(params):
        rng = stream(params.seed, "max", "world", region)
        rnd = random.Random(int(rng.integers(2**63)))
        # the card's extra variety from a stream of its own, so the world's other draws stay as they were
        card = random.Random(int(stream(params.seed, "max", "card", region).integers(2**63)))
        day_starts = np.arange(start, end, DAY, dtype=np.int64)
        dates = [dt.datetime.fromtimestamp(int(d) + MOSCOW, dt.UTC).date().isoformat() for d in day_starts]
        matrix = participants(pages, day_starts, rng) if pages else np.zeros((0, len(dates)), np.int64)
        for index, page in enumerate(pages):
            registry_csv.row([page.registry_row()[c] for c in PAGE_COLUMNS])
            chat = chat_object(page, rnd)
            chat["is_public"] = card.random() >= 0.1  # about one channel in ten private (joined by link)
            chats.write(json.dumps(chat, ensure_ascii=False, separators=(",", ":")) + "\n")
            fields_csv.row([page.page_id, page.chat_id, *card_fields(chat)])
            pages_csv.row([page.page_id, page.chat_id, int(page.readable)])
            for day, count in zip(dates, matrix[index], strict=True):
                if count >= 0:
                    daily.row([page.chat_id, day, int(count)])
                    subscribers.row([page.page_id, page.chat_id, day, int(count)])
        per_day: dict[tuple[int, str], int] = {}
        seq: dict[int, int] = {}
        for index, created in post_times(pages, day_starts, params.posts_per_page_month, rng):
            seq[index] = seq.get(index, 0) + 1
            messages.write(_message_line(pages[index], seq[index], created, rnd))
            day = dt.datetime.fromtimestamp(created + MOSCOW, dt.UTC).date().isoformat()
            per_day[(index, day)] = per_day.get((index, day), 0) + 1
            counts["max_posts"] += 1
        for (index, day), n in sorted(per_day.items()):
            posts_daily.row([pages[index].page_id, pages[index].chat_id, day, n])
        counts["max_pages"] += len(pages)
        counts["max_unreadable_pages"] += sum(not p.readable for p in pages)
        counts["max_participants_rows"] += int((matrix >= 0).sum())
    for appender in (registry_csv, daily, subscribers, posts_daily, pages_csv, fields_csv):
        appender.close()
    chats.close()
    close_gzip(messages)
    manifest: dict[str, object] = {
        "generator": "sandbox.generator.max_pages",
        "seed": params.seed,
        "month": params.month,
        "parameters": params.as_dict(),
        "counts": counts,
    }
    with text_writer(os.path.join(folder, "manifest.json")) as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return manifest


def _message_line(page: MaxPage, seq: int, created: int, rnd: random.Random) -> str:
    """A channel post as GET /messages returns it, without ``stat`` (grown by the sandbox)."""
    created_ms = created * 1000 + rnd.randint(0, 999)
    audience = 300 if page.rated else 40
    message = {
        "sender": None,
        "recipient": {"chat_id": page.chat_id, "chat_type": "channel", "user_id": None},
        "timestamp": created_ms,
        "link": None,
        "body": {
            "mid": f"mid.{-page.chat_id:016x}{seq:016x}",
            "seq": seq,
            "text": rnd.choice(TEXTS),
            "attachments": [{"type": "image", "payload": {"photo_id": seq, "url": "https://i.oneme.ru/i"}}]
            if rnd.random() < 0.5
            else None,
        },
        "url": f"https://max.ru/{page.link}/{seq}",
        "_chat_id": page.chat_id,
        "_views": int(rnd.expovariate(1 / audience)) + 1,
        "_tau_hours": round(rnd.uniform(3.0, 24.0), 2),
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"


def params_of(data_dir: str) -> Params:
    """The parameters a data set was generated with (its ``manifest.json``)."""
    with open(os.path.join(data_dir, "manifest.json"), encoding="utf-8") as handle:
        return Params(**json.load(handle)["parameters"])


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``generate-max`` sub-command."""
    parser = subparsers.add_parser(
        "generate-max",
        help="add the MAX world (channels, participants, posts, truth) to a generated data set",
        description="Write DIR/max/ for the data set in DIR (made by `generate`); see docs/networks.md.",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="a data set made by `generate`")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``generate-max``."""
    manifest = generate_max(params_of(args.data), args.data)
    print(f"generated the MAX world into {args.data}/max: {manifest['counts']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.generator.max_pages --data DIR``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.generator.max_pages")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["generate-max", *(argv or [])])
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
