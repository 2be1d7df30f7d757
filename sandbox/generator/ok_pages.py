"""The OK (Odnoklassniki) world of a generated data set: group objects, daily members and topics.

It is generated *beside* an existing data set (``python -m sandbox generate-ok --data DIR``, after
``python -m sandbox generate``) and never changes a byte of it: the registry is rebuilt from the
data set's own parameters (``DIR/manifest.json``) with the generator's registry streams, the OK
pages are those with ``network == "ok"``, and every random draw of this module comes from its own
streams (``stream(seed, "ok", ...)``). Output, all under ``DIR/ok/``::

    groups.jsonl           an OK ``group.getInfo`` object per page (sandbox keys start with ``_``)
    members_daily.csv      gid,date,members_count (Moscow calendar dates, as the VK world)
    topics.jsonl.gz        an OK media topic per line, with its final metrics (``_final``)
    truth/subscribers_daily.csv  page_id,gid,date,members_count
    truth/posts_daily.csv        page_id,gid,date,posts (Moscow calendar dates)
    truth/page_fields.csv        page_id,gid and the card's compliance fields (has_photo,
                                 has_description, has_contacts_or_links, page_open: 1 or 0)
    manifest.json          what was generated, with counts

About one OK page in ten (at least one when a region has eight or more) is closed
(``access_type`` ``CLOSED``): ``group.getInfo`` still answers for it, its feed answers error 10
(PERMISSION_DENIED), and its posts are not in the truth of readable posts (``readable`` 0 in
``truth/pages.csv``).
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

import numpy as np

from sandbox.generator import registry as registry_module
from sandbox.generator.outputs import CsvAppender, close_gzip, gzip_writer, text_writer
from sandbox.generator.params import Params
from sandbox.generator.rng import stream
from sandbox.generator.timeutil import DAY, epoch, parse_month

MOSCOW = 3 * 3600  # the dates of members_daily.csv and the truth are Moscow calendar dates
TOPIC_ID_START = 150_000_000_000_000
# share of topics by Moscow hour (0..23): posting in office hours, little at night
HOUR_WEIGHTS = np.array(
    [0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.0, 2.5, 4.5, 6.0, 6.5, 6.0,
     5.0, 5.5, 6.0, 5.5, 5.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.2]
)  # fmt: skip
TEXTS = (
    "Информируем жителей о плановых работах. Подробности — в карточках.",
    "Итоги недели: что сделано и что запланировано.",
    "Приём граждан пройдёт в четверг с 10:00 до 13:00.",
    "Отвечаем на частые вопросы жителей.",
    "Поздравляем с праздником! Благодарим за вашу работу.",
    "Важная информация о подаче заявлений через Госуслуги.",
    "Фотоотчёт с открытия нового объекта.",
    "Как записаться на приём: пошаговая инструкция.",
)
CATEGORIES = ("Государственные организации", "Органы власти", "Образование", "Медицина", "Культура")


@dataclass
class OkPage:
    """One OK page of the registry with what the world needs to know."""

    page_id: str
    gid: int
    name: str
    alive_from: int  # unix seconds (clipped to the history start)
    alive_to: int  # unix seconds (valid_to, or the world end)
    rated: bool
    closed: bool


def ok_pages(params: Params) -> Iterator[tuple[str, list[OkPage], int, int]]:
    """Per region: its code, its OK pages, the history start and the world end (unix seconds)."""
    from sandbox.generator.pipeline import iter_registries

    month_start, next_month = parse_month(params.month)
    history_start = month_start - dt.timedelta(days=params.start_days_before)
    start, end = epoch(history_start) - MOSCOW, epoch(next_month) - MOSCOW
    for reg, _ in iter_registries(params):
        pages = [p for p in reg.pages if p.network == "ok"]
        rng = stream(params.seed, "ok", "pages", reg.region.code)
        n_closed = max(1, round(len(pages) * 0.1)) if len(pages) >= 8 else 0
        closed = set(rng.choice(len(pages), size=n_closed, replace=False).tolist()) if n_closed else set()
        yield (
            reg.region.code,
            [_page(p, i in closed, start, end) for i, p in enumerate(pages)],
            start,
            end,
        )


def _page(page: registry_module.Page, closed: bool, start: int, end: int) -> OkPage:
    def moscow_midnight(day: str) -> int:
        return epoch(dt.date.fromisoformat(day)) - MOSCOW

    alive_from = max(moscow_midnight(page.valid_from), start) if page.valid_from else start
    alive_to = min(moscow_midnight(page.valid_to), end) if page.valid_to else end
    return OkPage(
        page_id=page.page_id,
        gid=int(page.screen_name),
        name=page.org_name,
        alive_from=alive_from,
        alive_to=alive_to,
        rated=page.rating_group not in ("", "РСО-УК"),
        closed=closed,
    )


def members(pages: list[OkPage], day_starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pages × days of members_count (``-1`` where the page does not exist that day)."""
    n_pages, n_days = len(pages), len(day_starts)
    rated = np.array([p.rated for p in pages], dtype=bool)
    base = np.where(rated, 2_500.0, 400.0) * rng.lognormal(0.0, 1.0, n_pages)
    trend = rng.normal(0.0008, 0.001, n_pages)
    step = trend[:, None] + rng.normal(0.0, 0.0008, (n_pages, n_days))
    drops = rng.random((n_pages, n_days)) < 0.01
    step -= drops * rng.uniform(0.005, 0.03, (n_pages, n_days))
    step[:, 0] = 0.0
    counts = np.maximum(np.rint(base[:, None] * np.exp(np.cumsum(step, axis=1))), 0).astype(np.int64)
    alive_from = np.array([p.alive_from for p in pages], dtype=np.int64)
    alive_to = np.array([p.alive_to for p in pages], dtype=np.int64)
    alive = (day_starts[None, :] + DAY > alive_from[:, None]) & (day_starts[None, :] < alive_to[:, None])
    return np.where(alive, counts, -1)


def topics(
    pages: list[OkPage], day_starts: np.ndarray, posts_per_month: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """``(page index, created unix seconds)`` of every topic, sorted by page then time."""
    rate = rng.lognormal(0.0, 0.8, len(pages)) * posts_per_month / 30.4 * 0.5
    hours = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
    found: list[tuple[int, int]] = []
    for index, page in enumerate(pages):
        per_day = rng.poisson(rate[index], len(day_starts))
        for day, n in zip(day_starts, per_day, strict=True):
            if n == 0:
                continue
            hour = rng.choice(24, size=int(n), p=hours)
            when = day + hour * 3600 + rng.integers(0, 3600, int(n))
            found += [(index, int(t)) for t in when if page.alive_from <= t < page.alive_to]
    found.sort()
    return found


def group_object(page: OkPage, rnd: random.Random) -> dict[str, object]:
    """The ``group.getInfo`` object (all fields the sandbox may answer; no members_count)."""
    has_avatar = rnd.random() < 0.9
    return {
        "uid": str(page.gid),
        "name": page.name,
        "description": f"Официальная группа: {page.name}. Новости и ответы на вопросы жителей.",
        "shortname": "",
        "access_type": "CLOSED" if page.closed else "OPEN",
        "category": rnd.choice(CATEGORIES),
        "city": "Пенза",
        "homepage_url": f"https://gov{page.gid % 1000}.ru" if rnd.random() < 0.7 else "",
        "phone": f"+7 (8412) {rnd.randint(20, 99)}-{rnd.randint(10, 99)}-{rnd.randint(10, 99)}"
        if rnd.random() < 0.6
        else "",
        "pic_avatar": f"https://i.mycdn.me/i?r=ok{page.gid}" if has_avatar else "",
        "created_ms": page.alive_from * 1000,
        "_sandbox_page_id": page.page_id,
        "_sandbox_alive_from": page.alive_from,
        "_sandbox_alive_to": page.alive_to,
    }


FIELD_COLUMNS = ["page_id", "gid", "has_photo", "has_description", "has_contacts_or_links", "page_open"]


def card_fields(group: dict[str, object]) -> list[object]:
    """The truth of a group's compliance fields (docs/networks.md, "Compliance checks per network")."""

    def filled(name: str) -> int:
        return int(bool(str(group.get(name) or "").strip()))

    return [
        filled("pic_avatar"), filled("description"), int(bool(filled("homepage_url") or filled("phone"))),
        int(group["access_type"] == "OPEN"),
    ]  # fmt: skip


def generate_ok(params: Params, out: str) -> dict[str, object]:
    """Write ``out/ok/`` for the data set generated with ``params``; returns its manifest."""
    folder = os.path.join(out, "ok")
    os.makedirs(os.path.join(folder, "truth"), exist_ok=True)
    groups = text_writer(os.path.join(folder, "groups.jsonl"))
    members_csv = CsvAppender(os.path.join(folder, "members_daily.csv"), ["gid", "date", "members_count"])
    subscribers = CsvAppender(
        os.path.join(folder, "truth", "subscribers_daily.csv"), ["page_id", "gid", "date", "members_count"]
    )
    posts_daily = CsvAppender(
        os.path.join(folder, "truth", "posts_daily.csv"), ["page_id", "gid", "date", "posts"]
    )
    pages_csv = CsvAppender(os.path.join(folder, "truth", "pages.csv"), ["page_id", "gid", "readable"])
    fields_csv = CsvAppender(os.path.join(folder, "truth", "page_fields.csv"), FIELD_COLUMNS)
    topics_out = gzip_writer(os.path.join(folder, "topics.jsonl.gz"), params.gzip_level)
    counts = {"ok_pages": 0, "ok_closed_pages": 0, "ok_members_rows": 0, "ok_topics": 0}
    topic_id = TOPIC_ID_START
    for region, pages, start, end in ok_pages(params):
        rng = stream(params.seed, "ok", "world", region)
        rnd = random.Random(int(rng.integers(2**63)))
        # the card's extra variety from a stream of its own, so the world's other draws stay as they were
        card = random.Random(int(stream(params.seed, "ok", "card", region).integers(2**63)))
        day_starts = np.arange(start, end, DAY, dtype=np.int64)
        dates = [dt.datetime.fromtimestamp(int(d) + MOSCOW, dt.UTC).date().isoformat() for d in day_starts]
        matrix = members(pages, day_starts, rng)
        for index, page in enumerate(pages):
            obj = group_object(page, rnd)
            if card.random() < 0.1:  # about one group in ten without a description
                obj["description"] = ""
            fields_csv.row([page.page_id, page.gid, *card_fields(obj)])
            groups.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
            pages_csv.row([page.page_id, page.gid, 0 if page.closed else 1])
            for day, count in zip(dates, matrix[index], strict=True):
                if count >= 0:
                    members_csv.row([page.gid, day, int(count)])
                    subscribers.row([page.page_id, page.gid, day, int(count)])
        per_day: dict[tuple[int, str], int] = {}
        for index, created in topics(pages, day_starts, params.posts_per_page_month, rng):
            topic_id += 1 + rnd.randint(0, 40)
            topics_out.write(_topic_line(pages[index], topic_id, created, rnd))
            day = dt.datetime.fromtimestamp(created + MOSCOW, dt.UTC).date().isoformat()
            per_day[(index, day)] = per_day.get((index, day), 0) + 1
            counts["ok_topics"] += 1
        for (index, day), n in sorted(per_day.items()):
            posts_daily.row([pages[index].page_id, pages[index].gid, day, n])
        counts["ok_pages"] += len(pages)
        counts["ok_closed_pages"] += sum(p.closed for p in pages)
        counts["ok_members_rows"] += int((matrix >= 0).sum())
    for appender in (members_csv, subscribers, posts_daily, pages_csv, fields_csv):
        appender.close()
    groups.close()
    close_gzip(topics_out)
    manifest: dict[str, object] = {
        "generator": "sandbox.generator.ok_pages",
        "seed": params.seed,
        "month": params.month,
        "parameters": params.as_dict(),
        "counts": counts,
    }
    with text_writer(os.path.join(folder, "manifest.json")) as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return manifest


def _topic_line(page: OkPage, topic_id: int, created: int, rnd: random.Random) -> str:
    audience = 40 if page.rated else 8
    topic = {
        "id": str(topic_id),
        "created_ms": created * 1000,
        "media": [{"type": "text", "text": rnd.choice(TEXTS)}]
        + ([{"type": "photo", "list": [{"id": str(topic_id * 10 + 1)}]}] if rnd.random() < 0.6 else []),
        "_gid": str(page.gid),
        "_final": {
            "likes": int(rnd.expovariate(1 / audience)),
            "comments": int(rnd.expovariate(1 / max(audience / 10, 1))),
            "reshares": int(rnd.expovariate(1 / max(audience / 8, 1))),
        },
        "_tau_hours": round(rnd.uniform(4.0, 30.0), 2),
    }
    return json.dumps(topic, ensure_ascii=False, separators=(",", ":")) + "\n"


def params_of(data_dir: str) -> Params:
    """The parameters a data set was generated with (its ``manifest.json``)."""
    with open(os.path.join(data_dir, "manifest.json"), encoding="utf-8") as handle:
        return Params(**json.load(handle)["parameters"])


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``generate-ok`` sub-command."""
    parser = subparsers.add_parser(
        "generate-ok",
        help="add the OK world (groups, members, topics, truth) to a generated data set",
        description="Write DIR/ok/ for the data set in DIR (made by `generate`); see docs/networks.md.",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="a data set made by `generate`")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``generate-ok``."""
    manifest = generate_ok(params_of(args.data), args.data)
    print(f"generated the OK world into {args.data}/ok: {manifest['counts']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sandbox.generator.ok_pages --data DIR``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.generator.ok_pages")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["generate-ok", *(argv or [])])
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
