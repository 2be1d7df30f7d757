"""Every file of a revision by name, from the snapshot in the warehouse and the publication time:

* ``index.html`` — the month's summary; ``groups/<group>.html`` — a group's chart and table;
  ``rating.html`` — every group on one page; ``methodology.html``; ``cards/<name>--<id>.html`` —
  a card per rated body (``cards/<id>.html`` redirects to it, the name earlier revisions used);
* ``rating.xlsx``; ``rating-excel.csv`` (Russian Excel); ``rating.csv`` and ``rating.json``
  (machines, unchanged); ``pdf/summary.pdf`` and ``pdf/<group>.pdf`` (when Chromium prints), or
  for a group of more than ``PRINT_ROWS`` rated bodies ``pdf/<group>-part-<k>.pdf``, its table in
  parts of at most ``PRINT_ROWS`` rows (one Chromium laying out 5,800 rows took 6 GB).

The same snapshot and time give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from markupsafe import Markup

from gospublic.infra.warehouse import Warehouse
from gospublic.rating.snapshot import RatingSnapshot
from transforms import ru_format as ru
from transforms.methodology import NETWORK_NAMES, Indicator, Methodology

from . import hooks, model, queries
from .cards import CardData, card_context
from .charts import Bar, Move, bar_charts, movement_chart, phone_bar_chart, phone_movement_chart
from .config import PublicationConfig, load_config
from .csv_files import excel_csv, machine_csv
from .html import render
from .pdf import pdf_planned, print_pages
from .slugs import card_name, unique_slugs
from .xlsx import rating_xlsx

# Rows of a group's table per PDF: a group page of 5,800 bodies (national) printed as one PDF
# took Chromium's process tree to 5,975 MB and 75 s; in parts of 1,000 rows, 880 MB with the
# Python process (docs/publication.md, «Big groups»).
PRINT_ROWS = 1000
FILE_CAPTIONS = {
    "rating.xlsx": "таблица Excel: группы, не оценённые органы, показатели, методика, диаграммы",
    "rating-excel.csv": "CSV для Excel (разделитель «;», UTF-8)",
    "rating.csv": "CSV для программ (разделитель «,», английские названия столбцов)",
    "rating.json": "JSON для программ",
    "rating.html": "все группы на одной странице",
    "pdf/summary.pdf": "эта сводка в PDF",
}


def publication_meta(
    snapshot: RatingSnapshot, methodology: Methodology, published_at: datetime
) -> dict[str, Any]:
    stamp = pd.Timestamp(published_at)
    at = (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)).to_pydatetime()
    return {
        "snapshot_id": snapshot.snapshot_id,
        "month": f"{snapshot.month:%Y-%m}",
        "revision": snapshot.revision,
        "methodology": {"id": methodology.id, "version": methodology.version, "title": methodology.title},
        "input_fingerprint": snapshot.input_fingerprint,
        "published_at": at.isoformat(timespec="seconds"),
    }


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def scale_text(indicator: Indicator) -> str:
    scoring = indicator.scoring
    if scoring.type == "linear":
        return f"линейно: 0 баллов при {_plain(scoring.worst)}, 100 при {_plain(scoring.best)}"
    if scoring.type == "steps":
        sign = "≥" if scoring.higher_is_better else "≤"
        return (
            "; ".join(f"{sign} {_plain(at)}: {_plain(points)}" for at, points in scoring.steps) + "; иначе 0"
        )
    return "по месту в группе: 0 худшему, 100 лучшему"


def _plain(value: float | None) -> str:
    return ru.number(value, 0) if value is not None and float(value).is_integer() else ru.number(value, 2)


def methodology_rows(methodology: Methodology) -> list[dict[str, str]]:
    return [
        {
            "caption": i.caption,
            "direction": "больше — лучше" if i.higher_is_better else "меньше — лучше",
            "weight": ru.percent(i.weight * 100 / methodology.total_weight),
            "scale": scale_text(i),
            "missing": "0 баллов" if getattr(i, "required", False) else "вес переходит к другим показателям",
            "networks": model.networks_text(i),
        }
        for i in methodology.indicators
    ]


def rated_when_text(methodology: Methodology) -> str:
    parts = []
    if methodology.min_incidents:
        parts.append(f"не меньше {ru.count(methodology.min_incidents)} сообщений за месяц")
    for source, minimum in getattr(getattr(methodology, "rated_when", None), "incidents_by_source", ()):
        parts.append(f"не меньше {ru.count(minimum)} сообщений {'ИМ' if source == 'im' else 'ПОС'}")
    if pages := methodology.min_pages:
        every = getattr(methodology, "rated_when_networks", "vk") == "all"
        if pages == 1:
            where = f"хотя бы в одной из соцсетей: {NETWORK_NAMES['all']}" if every else "во ВКонтакте"
            parts.append(f"есть официальная страница (госпаблик) {where}")
        else:
            where = f"в соцсетях: {NETWORK_NAMES['all']}" if every else "во ВКонтакте"
            noun = ru.plural(pages, "официальной страницы (госпаблика)", "официальных страниц (госпабликов)",
                             "официальных страниц (госпабликов)")  # fmt: skip
            parts.append(f"не меньше {ru.count(pages)} {noun} {where}")
    return ", ".join(parts)


def _benchmarks(
    config: PublicationConfig, measures: dict[str, tuple[float | None, int]]
) -> list[dict[str, str]]:
    out = []
    bases = {"im_reaction_hours_mean": "сообщений ИМ с реакцией", "pos_answer_days_median": "ответов ПОС",
             "pos_high_ratings_share": "оценок ПОС"}  # fmt: skip
    for b in config.benchmarks:
        value, basis = measures.get(b.measure, (None, 0))
        if b.unit == "hours":
            region = ru.hours(value)
        elif b.unit == "days":
            region = "—" if value is None else f"{ru.number(value)} дн."
        else:
            region = ru.share(value)
        if value is None:
            verdict = "нет данных"
        elif (value <= b.target) if b.lower_is_better else (value >= b.target):
            verdict = "ориентир достигнут"
        else:
            verdict = "хуже ориентира"
        out.append({"caption": b.caption, "region": region, "basis": f"{bases[b.measure]}: {ru.count(basis)}",
                    "text": b.text, "verdict": verdict, "source": b.source})  # fmt: skip
    return out


@dataclass(frozen=True)
class _Run:
    """What the pages of one revision are rendered from."""

    warehouse: Warehouse
    snapshot: RatingSnapshot
    methodology: Methodology
    config: PublicationConfig
    shown: pd.DataFrame
    groups: list[dict[str, Any]]
    common: dict[str, Any]
    indicators: pd.DataFrame
    municipalities: list[Any] | None
    topics: Any | None


def render_files(
    warehouse: Warehouse, snapshot: RatingSnapshot, methodology: Methodology, published_at: datetime
) -> dict[str, bytes]:
    """Every file of the revision by name (module doc)."""
    config = load_config()
    meta = publication_meta(snapshot, methodology, published_at)
    table = queries.rating_table(warehouse, snapshot.snapshot_id)
    indicators = queries.indicator_rows(warehouse, snapshot.snapshot_id)
    files: dict[str, bytes] = {
        "rating.csv": machine_csv(table),
        "rating.json": json_bytes(
            {**meta, "rows": json.loads(table.to_json(orient="records", force_ascii=False))}
        ),
    }
    rule = model.ranking_rule(methodology, config)
    shown = model.with_places(table, queries.previous_places(warehouse, methodology.id, snapshot.month), rule)
    shown["card"] = [card_name(str(n), str(o)) for n, o in zip(shown["name"], shown["org_id"], strict=True)]
    points = {(r["org_id"], r["indicator_id"]): r["points"] for r in indicators.to_dict("records")}
    shown["scores"] = [{i.id: points.get((o, i.id)) for i in methodology.indicators} for o in shown["org_id"]]
    kinds = queries.org_kinds(warehouse)
    name_column = model.name_column(kinds, [str(o) for o in shown["org_id"]], config)
    order = model.group_order(methodology, shown)
    slugs = unique_slugs(order, "group")
    planned_pdf = pdf_planned()
    has_previous = bool(shown["score_change"].notna().any())
    green, yellow = methodology.zones
    zones = {"green": green, "yellow": yellow}
    groups = []
    for caption in order:
        rows = shown[shown["rating_group"].astype(str) == caption]
        rated = rows[rows["is_rated"]].sort_values(["place", "name"], kind="stable")
        bars = [Bar(str(r.name), float(r.score), r.zone) for r in rated.itertuples()]
        title = f"Баллы группы «{caption}»"
        groups.append(
            {
                "caption": caption,
                "slug": slugs[caption],
                "page": f"groups/{slugs[caption]}.html",
                "pdf": f"pdf/{slugs[caption]}.pdf" if planned_pdf else None,
                "pdfs": [],
                "part": None,
                "counts": model.zone_counts(rows),
                "rows": rated.to_dict("records"),
                "unrated": rows[~rows["is_rated"]].sort_values("name").to_dict("records"),
                "charts": [Markup(chart) for chart in bar_charts(bars, title=title, bounds=(green, yellow))],
                "phone_chart": Markup(phone_bar_chart(bars, title=title, bounds=(green, yellow))),
            }
        )
    for group in groups:
        places = int(max((r["place"] for r in group["rows"]), default=0))
        for row in group["rows"]:
            row["places"] = places
        group["movement"], group["phone_movement"] = (
            _movement(group, snapshot.month) if has_previous else (None, None)
        )
        group["prints"] = _prints(group, bounds=(green, yellow)) if planned_pdf else []
        group["pdfs"] = [{"href": part["pdf"], "part": part["part"]} for part in group["prints"]]
        group["pdf"] = group["pdfs"][0]["href"] if group["pdfs"] else None
    common = {
        "methodology": methodology, "meta": meta, "zones": zones, "name_column": name_column,
        "rule_text": model.RULE_TEXT[rule], "indicators": methodology_rows(methodology),
        "networks_column": model.networks_column(methodology_rows(methodology)),
        "rated_when": rated_when_text(methodology),
        "degeneracies": hooks.degeneracies(warehouse, snapshot.snapshot_id),
        "changes": hooks.revision_changes(warehouse, snapshot.snapshot_id),
    }  # fmt: skip
    topics = hooks.region_topics(warehouse, snapshot.month)
    run = _Run(
        warehouse, snapshot, methodology, config, shown, groups, common, indicators,
        hooks.municipalities(warehouse, snapshot.month), topics,
    )  # fmt: skip
    # printed before the other pages are rendered: the process holds no cards while Chromium runs
    sources = _print_sources(run) if planned_pdf else {}
    printed = print_pages(sources, _utc(published_at)) if planned_pdf else {}
    # the summary printed is index.html itself (both list the PDFs): rendered once
    summary = sources["pdf/summary.pdf"] if printed else None
    del sources
    if planned_pdf and not printed:  # Chromium failed (auto): the pages must not link to absent PDFs
        for group in groups:
            group["pdf"], group["pdfs"] = None, []
    for group in groups:
        del group["prints"]  # the parts' charts: printed, no longer needed
    pages = _pages(run, with_pdf=bool(printed), index=summary)
    files.update(pages)
    files.update(printed)
    listed = [row for group in groups for row in group["rows"]]
    unrated = shown[~shown["is_rated"]].sort_values(["rating_group", "name"]).to_dict("records")
    files["rating-excel.csv"] = excel_csv(listed + unrated, name_column)
    files["rating.xlsx"] = rating_xlsx(
        groups, unrated, _indicator_rows(shown, indicators, methodology), methodology=methodology, meta=meta,
        name_column=name_column, published_at=published_at, methodology_rows=methodology_rows(methodology),
    )  # fmt: skip
    return files


def _prints(group: dict[str, Any], bounds: tuple[float, float]) -> list[dict[str, Any]]:
    """What the group's PDFs print: the group itself, or parts of at most ``PRINT_ROWS`` rows in
    place order, each with the chart and table of its rows (the last with the unrated bodies, none
    with the movement chart of the whole group, which its page shows)."""
    rows = group["rows"]
    if len(rows) <= PRINT_ROWS:
        return [
            {**group, "pdf": f"pdf/{group['slug']}.pdf", "part": None, "phone_chart": None,
             "phone_movement": None}
        ]  # fmt: skip
    count = -(-len(rows) // PRINT_ROWS)
    out = []
    for k in range(count):
        chunk = rows[k * PRINT_ROWS : (k + 1) * PRINT_ROWS]
        part = {"number": k + 1, "of": count, "first": chunk[0]["place"], "last": chunk[-1]["place"],
                "rows": len(chunk)}  # fmt: skip
        out.append(
            {
                **group,
                "pdf": f"pdf/{group['slug']}-part-{k + 1}.pdf",
                "part": part,
                "rows": chunk,
                "unrated": group["unrated"] if k == count - 1 else [],
                "movement": None,
                "phone_movement": None,
                "phone_chart": None,  # print shows the page-sized charts only
                "charts": [
                    Markup(chart)
                    for chart in bar_charts(
                        [Bar(str(r["name"]), float(r["score"]), r["zone"]) for r in chunk],
                        title=f"Баллы группы «{group['caption']}», часть {k + 1} из {count}",
                        bounds=bounds,
                    )
                ],
            }
        )
    return out


def _print_sources(run: _Run) -> dict[str, bytes]:
    """``{pdf name: html}``: the summary and every group's page, or its parts."""
    pages = {"pdf/summary.pdf": _index(run, with_pdf=True)}
    for group in run.groups:
        for printed in group["prints"]:
            pages[printed["pdf"]] = render(
                run.config.templates, "group.html", **run.common, root="../", group=printed
            )
    return pages


def _pages(run: _Run, with_pdf: bool, index: bytes | None = None) -> dict[str, bytes]:
    """Every page but the PDFs' sources; ``index``: the summary when already rendered."""
    groups, common = run.groups, run.common
    templates = run.config.templates
    pages: dict[str, bytes] = {}
    top = {**common, "root": "", "groups": groups}
    for group in groups:
        pages[group["page"]] = render(templates, "group.html", **common, root="../", group=group)
    pages["rating.html"] = render(templates, "rating.html", **top)
    pages["methodology.html"] = render(templates, "methodology.html", **top)
    pages["index.html"] = _index(run, with_pdf) if index is None else index
    pages.update(_cards(run))
    pages.update(_municipalities(run))
    return pages


def _index(run: _Run, with_pdf: bool) -> bytes:
    warehouse, snapshot, config, shown, groups, common = (
        run.warehouse, run.snapshot, run.config, run.shown, run.groups, run.common,
    )  # fmt: skip
    top = {**common, "root": "", "groups": groups}
    up, down = model.movers(shown, config.movers)
    file_list = [{"href": name, "caption": caption} for name, caption in FILE_CAPTIONS.items()
                 if with_pdf or not name.startswith("pdf/")]  # fmt: skip
    file_list += [
        {"href": pdf["href"], "caption": f"таблица группы «{g['caption']}» в PDF{_part_text(pdf['part'])}"}
        for g in groups
        for pdf in g["pdfs"]
    ]
    rated = int(shown["is_rated"].sum())
    return render(
        config.templates, "index.html", **top, totals=queries.month_totals(warehouse, snapshot.month),
        benchmarks=_benchmarks(config, queries.region_measures(warehouse, snapshot.month)),
        movers_up=up, movers_down=down, has_previous=bool(shown["score_change"].notna().any()),
        not_rated=model.not_rated(shown), files=file_list, rated=rated, listed=len(shown),
        municipalities=run.municipalities,
        topics=run.topics,
    )  # fmt: skip


def _part_text(part: dict[str, Any] | None) -> str:
    if part is None:
        return ""
    return f", часть {part['number']} из {part['of']} (места {part['first']}–{part['last']})"


def _municipalities(run: _Run) -> dict[str, bytes]:
    """A page per municipality: its administration, schools, hospitals and utilities, each with
    its score and place where rated, or why not."""
    bodies = run.shown.set_index("org_id")
    records = dict(zip(bodies.index, bodies.to_dict("records"), strict=True))  # not .loc per body: slow
    page_of = {row["org_id"]: group["page"] for group in run.groups for row in group["rows"]}
    out: dict[str, bytes] = {}
    for municipality in run.municipalities or []:
        rows = []
        for body in municipality.bodies:
            row = records.get(body.org_id)
            rows.append({"name": body.name, "kind": body.kind, "incidents": body.incidents, "row": row,
                         "group_page": page_of.get(body.org_id)})  # fmt: skip
        out[municipality.page] = render(
            run.config.templates, "municipality.html", **run.common, root="../", municipality=municipality,
            rows=rows,
        )  # fmt: skip
    return out


def _cards(run: _Run) -> dict[str, bytes]:
    warehouse, snapshot, methodology, config, shown, groups, common, indicators = (
        run.warehouse, run.snapshot, run.methodology, run.config, run.shown, run.groups, run.common,
        run.indicators,
    )  # fmt: skip
    month = snapshot.month
    quality = queries.quality_by_org(warehouse, month)
    counts = queries.share_counts(warehouse, month)
    for org_id, measured in queries.measure_counts(warehouse, month, methodology).items():
        counts.setdefault(org_id, {}).update(measured)
    checks = queries.page_checks(warehouse, month)
    answers = queries.listed_answers(warehouse, month, config.listed_answers)
    rows = [row for group in groups for row in group["rows"]]
    trends = hooks.card_trends(warehouse, methodology.id, month, [str(r["org_id"]) for r in rows]) or {}
    topics = queries.topics_by_org(warehouse, month) if run.topics is not None else {}
    data = CardData.of(shown, indicators)
    page_of = {row["org_id"]: group["page"] for group in groups for row in group["rows"]}
    out: dict[str, bytes] = {}
    for row in rows:
        org_id = str(row["org_id"])
        data.bodies[org_id].update(place=row["place"], places=row["places"])
        context = card_context(
            data, org_id, methodology=methodology, config=config, counts=counts.get(org_id, {}),
            quality=quality.get(org_id, {}), checks=checks.get(org_id, []), answers=answers.get(org_id),
        )  # fmt: skip
        out[row["card"]] = render(
            config.templates, "card.html", **common, **context, root="../", group_page=page_of[org_id],
            trend=trends.get(org_id),
            topics=topics.get(org_id),
        )  # fmt: skip
        old = f"cards/{org_id}.html"
        if old != row["card"]:
            out[old] = render(
                config.templates, "redirect.html", target=row["card"].split("/", 1)[1], name=row["name"]
            )
    return out


def _indicator_rows(
    shown: pd.DataFrame, indicators: pd.DataFrame, methodology: Methodology
) -> list[dict[str, Any]]:
    bodies = dict(zip(shown["org_id"], shown[["name", "rating_group"]].to_dict("records"), strict=True))
    captions = {i.id: i.caption for i in methodology.indicators}
    order = {i.id: n for n, i in enumerate(methodology.indicators)}
    out = []
    for row in indicators.to_dict("records"):
        body = bodies.get(row["org_id"])
        if body is None:
            continue
        out.append({**row, "name": body["name"], "rating_group": body["rating_group"],
                    "caption": captions.get(row["indicator_id"], row["indicator_id"]),
                    "lost": float(row["weight"]) * (100 - float(row["points"])) / 100})  # fmt: skip
    group_rank = {caption: n for n, caption in enumerate(model.group_order(methodology, shown))}
    return sorted(
        out,
        key=lambda r: (
            group_rank.get(str(r["rating_group"]), 0),
            str(r["name"]),
            order.get(r["indicator_id"], 0),
        ),
    )


def _movement(group: dict[str, Any], month: Any) -> tuple[Markup, Markup]:
    """The group's places this month against the month before (same group only): the slope chart
    of wide screens and print, and the phone's (``phone_movement_chart``)."""
    moves = []
    for row in group["rows"]:
        change = row["place_change"]
        if row["previous_group"]:
            previous, note = None, f"в прошлом месяце в группе «{row['previous_group']}»"
        elif change is None or pd.isna(change):
            previous, note = None, "не было в группе в прошлом месяце"
        else:
            previous, note = int(row["place"]) + int(change), ""
        moves.append(Move(str(row["name"]), int(row["place"]), previous, note))
    before = ru.month(_previous(month))
    title = f"Места группы «{group['caption']}»: {before} и {ru.month(month)}"
    after = ru.month(month)
    return (
        Markup(movement_chart(moves, title=title, before=before, after=after)),
        Markup(phone_movement_chart(moves, title=title, before=before, after=after)),
    )


def _previous(month: Any) -> Any:
    from transforms.months import previous_month

    return previous_month(month)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
