"""Publish a rating snapshot to the lake, in Russian: XLSX, a self-contained HTML page with charts,
CSV and JSON for machines, and a report card per body. No citizens' personal data: scores, counts
and the stock phrases the answer-quality rules matched.

Layout: ``publish/rating/YYYY-MM/<methodology>/rev-N/`` (with ``manifest.json``: every file's
SHA-256) and ``…/<methodology>/latest.json``.

Publication is one atomic step, on a local folder and on S3 alike (S3 renames no folder):

1. every file is written under ``…/<methodology>/_staging/rev-N-<token>/``, its manifest last;
2. the commit point: one statement turns the snapshot ``published`` in the warehouse;
3. the files move to ``rev-N/`` (a file already there is never replaced: the same bytes are
   kept, other bytes stop the run), then ``rev-N/manifest.json``, then ``latest.json``;
4. the staging folder is removed.

A crash before 2 leaves nothing visible: the next run removes the staging and publishes anew. A
crash after 2 leaves a published snapshot whose files are staged: the next run finishes step 3
from the staged bytes (``recover``) before it computes anything, so a change of inputs is refused
as for any published month. Files of a revision are a function of the snapshot and its
publication time, so a recovered revision is byte for byte the one a clean run writes.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gospublic.infra.lake import Lake, LakeError
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.snapshot import RatingSnapshot, mark_published
from transforms.methodology import Methodology
from transforms.rating import ZONE_CAPTIONS
from transforms.spreadsheet import spreadsheet_frame, spreadsheet_value

log = logging.getLogger(__name__)

STAGING = "_staging"
MANIFEST = "manifest.json"
ZONE_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
ZONE_FILLS = {"green": "C8E6C9", "yellow": "FFF59D", "red": "FFCDD2"}
COLUMNS_RU = {
    "rank": "Место",
    "name": "Орган власти",
    "score": "Балл",
    "zone_ru": "Зона",
    "score_change": "Изменение балла",
    "rank_change": "Изменение места",
    "incidents": "Сообщений",
}
FLAG_CAPTIONS = {
    "formal": "формальный ответ",
    "no_specifics": "нет конкретики",
    "impolite": "нет вежливого обращения",
    "redirect": "переадресация",
    "template": "шаблонный ответ",
}
PUBLIC_EVIDENCE = ("formal", "redirect")  # phrases the rules matched; others quote the answer itself


class PublicationError(RuntimeError):
    """A publication cannot be made or completed as the protocol requires."""


class PublicationConflictError(PublicationError):
    """A file is already at a published place with other bytes: it is never replaced."""


@dataclass(frozen=True)
class Publication:
    snapshot_id: str
    path: str
    files: list[str]


def utc_now() -> datetime:
    """The publication time (whole seconds: it is printed in the files and kept in the warehouse)."""
    return datetime.now(UTC).replace(microsecond=0)


def methodology_root(month: date, methodology_id: str) -> str:
    return f"publish/rating/{month:%Y-%m}/{methodology_id}"


def publish_snapshot(
    warehouse: Warehouse, lake: Lake, snapshot: RatingSnapshot, methodology: Methodology
) -> Publication:
    """Stage every file, commit in the warehouse, then move the files to ``rev-N/`` (module doc)."""
    base = methodology_root(snapshot.month, methodology.id)
    root = f"{base}/rev-{snapshot.revision}"
    published_at = utc_now()
    files = render_files(warehouse, snapshot, methodology, published_at)
    manifest = {
        "meta": _meta(snapshot, methodology, published_at),
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }
    _refuse_conflicts(lake, root, manifest["files"])
    staging = f"{base}/{STAGING}/rev-{snapshot.revision}-{secrets.token_hex(6)}"
    for name, data in files.items():
        lake.put_bytes(f"{staging}/{name}", data)
    lake.put_bytes(f"{staging}/{MANIFEST}", _json(manifest))  # last: the staging is complete
    if not mark_published(warehouse, snapshot, root, published_at):  # the commit point
        lake.delete_prefix(staging)
        raise PublicationError(
            f"{snapshot.snapshot_id} was published or replaced by another run meanwhile; nothing written"
        )
    _promote(lake, staging, root, manifest)
    _point_latest(lake, base, root, manifest)
    lake.delete_prefix(staging)
    return Publication(snapshot.snapshot_id, root, sorted(files))


def recover(warehouse: Warehouse, lake: Lake, methodology_id: str, month: date) -> list[str]:
    """Finish what an interrupted publication of the month left: move the staged files of every
    published revision that lacks its manifest, point ``latest.json`` at the newest published
    revision, remove the staging of revisions never committed and temporary files. Returns the
    revisions completed."""
    base = methodology_root(month, methodology_id)
    _adopt_announced_draft(warehouse, lake, base, methodology_id, month)
    published = warehouse.query(
        "SELECT snapshot_id, revision, published_at, publish_path FROM mart.rating_snapshot "
        "WHERE methodology_id = :m AND month = :month AND status = 'published' ORDER BY revision",
        {"m": methodology_id, "month": month},
    )
    staged = _staged_manifests(lake, base)
    completed = []
    for row in published:
        root = row["publish_path"]
        if lake.exists(f"{root}/{MANIFEST}"):
            continue
        at = _utc(row["published_at"]).isoformat(timespec="seconds")
        wanted = {"snapshot_id": row["snapshot_id"], "published_at": at}
        found = [(staging, manifest) for staging, manifest in staged if _matches(manifest["meta"], wanted)]
        if found:
            staging, manifest = found[0]
            _promote(lake, staging, root, manifest)
            completed.append(row["snapshot_id"])
            log.warning(
                "rating %s: publication of %s completed after an interruption", base, row["snapshot_id"]
            )
        elif not any(True for _ in lake.list(f"{root}/")):
            raise PublicationError(
                f"{row['snapshot_id']} is published in the warehouse but its files are neither at {root} "
                "nor staged: restore them from a backup of the lake"
            )
        # else: published by an earlier version, before manifests: complete as it stands
    if published:
        newest = published[-1]["publish_path"]
        if lake.exists(f"{newest}/{MANIFEST}"):
            _point_latest(lake, base, newest, json.loads(lake.get_bytes(f"{newest}/{MANIFEST}")))
    removed = lake.delete_prefix(f"{base}/{STAGING}") + lake.clean_interrupted(base)
    if removed:
        log.info("rating %s: %d leftovers of interrupted publications removed", base, removed)
    return completed


def _adopt_announced_draft(
    warehouse: Warehouse, lake: Lake, base: str, methodology_id: str, month: date
) -> None:
    """A draft that ``latest.json`` already announces was published by an earlier version, which
    wrote every file and ``latest.json`` before it marked the snapshot: killed in between, it left
    the month public but a draft. Such a draft is marked published as its files stand (with a
    manifest of them), so a change of inputs is refused rather than written over it."""
    key = f"{base}/latest.json"
    if not lake.exists(key):
        return
    announced = json.loads(lake.get_bytes(key))
    rows = warehouse.query(
        "SELECT snapshot_id, revision, input_fingerprint FROM mart.rating_snapshot "
        "WHERE methodology_id = :m AND month = :month AND snapshot_id = :s AND status = 'draft'",
        {"m": methodology_id, "month": month, "s": announced.get("snapshot_id")},
    )
    if not rows:
        return
    root = f"{base}/rev-{rows[0]['revision']}"
    if announced.get("path") != root or lake.exists(f"{root}/{MANIFEST}"):
        return
    if announced.get("input_fingerprint") != rows[0]["input_fingerprint"]:
        raise PublicationConflictError(
            f"{key} announces {root} with other inputs than the draft {rows[0]['snapshot_id']}"
        )
    meta = {k: v for k, v in announced.items() if k != "path"}
    snapshot = RatingSnapshot(
        rows[0]["snapshot_id"], month, methodology_id, int(rows[0]["revision"]), "draft",
        rows[0]["input_fingerprint"], created=False,
    )  # fmt: skip
    if mark_published(warehouse, snapshot, root, _utc(meta["published_at"])):
        files = {obj.key[len(root) + 1 :]: _sha256(lake.get_bytes(obj.key)) for obj in lake.list(f"{root}/")}
        lake.put_bytes(f"{root}/{MANIFEST}", _json({"meta": meta, "files": dict(sorted(files.items()))}))
        log.warning(
            "rating %s: %s was announced but left a draft; marked published", base, snapshot.snapshot_id
        )


def render_files(
    warehouse: Warehouse, snapshot: RatingSnapshot, methodology: Methodology, published_at: datetime
) -> dict[str, bytes]:
    """Every file of the revision by name: the same snapshot and time give the same bytes."""
    table = rating_table(warehouse, snapshot.snapshot_id)
    indicators = warehouse.query_df(
        "SELECT org_id, indicator_id, raw_value, points, weight, weighted_points FROM mart.rating_indicator "
        "WHERE snapshot_id = :s ORDER BY org_id, indicator_id",
        {"s": snapshot.snapshot_id},
    )
    meta = _meta(snapshot, methodology, published_at)
    files = {
        "rating.csv": rating_csv(table),
        "rating.json": _json(
            {**meta, "rows": json.loads(table.to_json(orient="records", force_ascii=False))}
        ),
        "rating.xlsx": rating_xlsx(table, methodology, meta, published_at),
        "rating.html": rating_html(table, methodology, meta).encode("utf-8"),
    }
    quality = quality_by_org(warehouse, snapshot.month)
    cards = CardData.of(table, indicators)
    for org_id in table.loc[table["is_rated"], "org_id"]:
        card = report_card(cards, quality=quality, methodology=methodology, meta=meta, org_id=org_id)
        files[f"cards/{org_id}.html"] = card.encode("utf-8")
    return files


def _meta(snapshot: RatingSnapshot, methodology: Methodology, published_at: datetime) -> dict[str, Any]:
    return {
        "snapshot_id": snapshot.snapshot_id,
        "month": f"{snapshot.month:%Y-%m}",
        "revision": snapshot.revision,
        "methodology": {"id": methodology.id, "version": methodology.version, "title": methodology.title},
        "input_fingerprint": snapshot.input_fingerprint,
        "published_at": _utc(published_at).isoformat(timespec="seconds"),
    }


def _refuse_conflicts(lake: Lake, root: str, digests: dict[str, str]) -> None:
    """Stop before the commit when a file of the revision is already in place with other bytes."""
    for obj in lake.list(f"{root}/"):
        name = obj.key[len(root) + 1 :]
        if name != MANIFEST and _sha256(lake.get_bytes(obj.key)) != digests.get(name):
            raise PublicationConflictError(
                f"{obj.key} is already in the lake with other content; a published file is never "
                "replaced (left by an interrupted run of an earlier version? compare it with the "
                "warehouse's snapshot, then move the folder aside)"
            )


def _promote(lake: Lake, staging: str, root: str, manifest: dict[str, Any]) -> None:
    """Move the staged files of a committed revision to ``root``; idempotent, never overwrites."""
    present = {obj.key for obj in lake.list(f"{root}/")}
    for name, digest in manifest["files"].items():
        target = f"{root}/{name}"
        if target in present:  # moved before the interruption (on S3 perhaps not yet deleted)
            if _sha256(lake.get_bytes(target)) != digest:
                raise PublicationConflictError(f"{target} differs from the revision's manifest; not replaced")
            lake.delete(f"{staging}/{name}")
            continue
        try:
            lake.move(f"{staging}/{name}", target)
        except LakeError as exc:
            raise PublicationError(f"{staging}/{name} is missing: the staged revision is incomplete") from exc
    lake.put_bytes(f"{root}/{MANIFEST}", _json(manifest))  # the revision is complete in the lake


def _point_latest(lake: Lake, base: str, root: str, manifest: dict[str, Any]) -> None:
    """``latest.json`` → ``root``, written only when it points elsewhere (it is the one mutable key)."""
    data = _json({**manifest["meta"], "path": root})
    key = f"{base}/latest.json"
    if not lake.exists(key) or lake.get_bytes(key) != data:
        lake.put_bytes(key, data)


def _staged_manifests(lake: Lake, base: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in lake.list(f"{base}/{STAGING}/"):
        if obj.key.endswith(f"/{MANIFEST}"):
            found.append((obj.key[: -len(MANIFEST) - 1], json.loads(lake.get_bytes(obj.key))))
    return found


def _matches(meta: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(meta.get(key) == value for key, value in wanted.items())


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    utc: datetime = stamp.to_pydatetime()
    return utc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rating_table(warehouse: Warehouse, snapshot_id: str) -> pd.DataFrame:
    """The snapshot's rows with the bodies' names, ordered by group and place."""
    frame = warehouse.query_df(
        "SELECT r.*, o.name, o.short_name FROM mart.rating_monthly AS r "
        "LEFT JOIN core.dim_org AS o ON o.org_id = r.org_id AND o.is_current "
        "WHERE r.snapshot_id = :s ORDER BY r.rating_group, r.is_rated DESC, r.rank, r.org_id",
        {"s": snapshot_id},
    )
    frame["name"] = frame["name"].fillna(frame["org_id"])
    for column in ("rank", "ranked_in_group", "rank_change", "incidents"):
        frame[column] = frame[column].astype("Int64")
    frame["zone_ru"] = frame["zone"].map(ZONE_CAPTIONS)
    frame["month"] = frame["month"].astype(str)
    return frame.drop(columns=["short_name"])


def quality_by_org(warehouse: Warehouse, month: Any) -> dict[str, dict[str, Any]]:
    """Counts of answer-quality flags and the stock phrases behind them, per body."""
    counts = warehouse.query_df(
        "SELECT org_id, COUNT(*) AS answers, "
        + ", ".join(f"SUM(CASE WHEN {f} THEN 1 ELSE 0 END) AS {f}" for f in FLAG_CAPTIONS)
        + " FROM core.fct_incident_timing WHERE month = :m AND has_answer_text AND org_id IS NOT NULL "
        "GROUP BY org_id",
        {"m": month},
    )
    phrases = warehouse.query(
        "SELECT org_id, flag, phrase, uses FROM ("
        "  SELECT org_id, flag, phrase, uses, ROW_NUMBER() OVER ("
        "    PARTITION BY org_id, flag ORDER BY uses DESC, phrase) AS n FROM ("
        "    SELECT t.org_id, e.flag, LOWER(e.evidence) AS phrase, COUNT(*) AS uses "
        "    FROM restricted.answer_quality_evidence AS e JOIN core.fct_incident_timing AS t "
        "    ON t.source = e.source AND t.incident_id = e.incident_id "
        "    WHERE e.month = :m AND e.flag IN ('formal', 'redirect')"
        "    GROUP BY t.org_id, e.flag, LOWER(e.evidence)) AS counted"
        ") AS ranked WHERE n <= 5 ORDER BY org_id, flag, n",
        {"m": month},
    )
    result: dict[str, dict[str, Any]] = {}
    for row in counts.to_dict("records"):
        result[row["org_id"]] = {
            "answers": int(row["answers"]),
            **{f: int(row[f] or 0) for f in FLAG_CAPTIONS},
        }
    for row in phrases:  # the top five phrases of each flag, most used first
        by_flag = result.setdefault(str(row["org_id"]), {}).setdefault("phrases", {})
        by_flag.setdefault(str(row["flag"]), []).append((row["phrase"], int(row["uses"])))
    return result


def rating_csv(table: pd.DataFrame) -> bytes:
    """The rating table as CSV (RFC 4180: CRLF line ends, so a field holding a CR or LF is quoted);
    text that a spreadsheet would run as a formula is escaped."""
    text: str = spreadsheet_frame(table).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8")


def rating_xlsx(
    table: pd.DataFrame, methodology: Methodology, meta: dict[str, Any], published_at: datetime
) -> bytes:
    """A sheet per group (rows filled by zone) and the methodology; no cell is a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for group, rows in table.groupby("rating_group", sort=True):
        title = _sheet_title(str(group), used)
        sheet = workbook.create_sheet(title)
        sheet.append(
            [spreadsheet_value(f"{methodology.title} — {meta['month']}, редакция {meta['revision']}")]
        )
        sheet.append(list(COLUMNS_RU.values()))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        fills = {zone: PatternFill("solid", fgColor=colour) for zone, colour in ZONE_FILLS.items()}
        for number, row in enumerate(rows.itertuples(), start=3):  # by number: max_row scans every cell
            sheet.append([_cell(getattr(row, c)) for c in COLUMNS_RU])
            if isinstance(row.zone, str):
                for column in range(1, len(COLUMNS_RU) + 1):
                    sheet.cell(row=number, column=column).fill = fills[row.zone]
        sheet.column_dimensions["B"].width = 60
    sheet = workbook.create_sheet("Методика")
    sheet.append([spreadsheet_value(methodology.title)])
    sheet.append([spreadsheet_value(methodology.description)])
    sheet.append(["Показатель", "Направление", "Вес, %", "Шкала", "Нет данных"])
    for indicator in methodology.indicators:
        sheet.append(
            [
                spreadsheet_value(indicator.caption),
                "больше — лучше" if indicator.higher_is_better else "меньше — лучше",
                round(indicator.weight * 100 / methodology.total_weight, 1),
                _scale_ru(indicator),
                "вес перераспределяется" if indicator.missing == "reweight" else "0 баллов",
            ]
        )
    green, yellow = methodology.zones
    sheet.append([f"Зоны: зелёная — от {green:g}, жёлтая — от {yellow:g}, красная — ниже {yellow:g}"])
    return _workbook_bytes(workbook, published_at)


def _sheet_title(group: str, used: set[str]) -> str:
    title = "".join(ch for ch in group if ch not in "[]:*?/\\")[:28] or "Группа"
    base, n = title, 2
    while title in used:
        title = f"{base[:25]} {n}"
        n += 1
    used.add(title)
    return title


def _cell(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return spreadsheet_value(value.item() if hasattr(value, "item") else value)


def _workbook_bytes(workbook: Any, at: datetime) -> bytes:
    """The workbook saved with ``at`` as its creation and modification time and as the time of every
    part of its zip archive (``Workbook.save`` stamps the wall clock): reproducible bytes."""
    from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

    from openpyxl.writer.excel import ExcelWriter

    stamp = _utc(at).replace(tzinfo=None)
    workbook.properties.created = workbook.properties.modified = stamp

    class StampedZip(ZipFile):
        def writestr(self, zinfo_or_arcname: str | ZipInfo, data: Any, *args: Any, **kwargs: Any) -> None:
            name = zinfo_or_arcname
            if isinstance(name, str):
                name = ZipInfo(name, date_time=stamp.timetuple()[:6])
                name.compress_type = ZIP_DEFLATED
                name.external_attr = 0o600 << 16
            super().writestr(name, data, *args, **kwargs)

        def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
            with open(filename, "rb") as part:  # a worksheet spooled to a file: stamped as the rest
                self.writestr(str(arcname or filename), part.read())

    buffer = io.BytesIO()
    archive = StampedZip(buffer, "w", ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()  # closes the archive
    return buffer.getvalue()


def _scale_ru(indicator: Any) -> str:
    scoring = indicator.scoring
    if scoring.type == "linear":
        return f"линейно: 0 баллов при {scoring.worst:g}, 100 при {scoring.best:g}"
    if scoring.type == "steps":
        sign = "≥" if scoring.higher_is_better else "≤"
        return "; ".join(f"{sign} {at:g}: {points:g}" for at, points in scoring.steps) + "; иначе 0"
    return "место в группе: 0 худшему, 100 лучшему"


_CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}th{background:#eee}
td.num{text-align:right}.zone{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
.up{color:#2e7d32}.down{color:#c62828}.muted{color:#777}svg text{font-size:11px}
"""


def rating_html(table: pd.DataFrame, methodology: Methodology, meta: dict[str, Any]) -> str:
    parts = [
        "<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'>",
        f"<title>{_e(methodology.title)} — {meta['month']}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(methodology.title)}</h1>",
        f"<p>Месяц: <b>{meta['month']}</b>. Редакция {meta['revision']}."
        f" Опубликовано {meta['published_at']}.</p>",
    ]
    for group, rows in table.groupby("rating_group", sort=True):
        rated = rows[rows["is_rated"]]
        parts.append(f"<h2>{_e(str(group))}</h2>")
        parts.append(_bar_chart(rated))
        parts.append(
            "<table class='rating'><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS_RU.values()) + "</tr>"
        )
        for row in rated.itertuples():
            colour = ZONE_COLOURS.get(row.zone, "#999")
            parts.append(
                f"<tr><td class='num'>{row.rank}</td><td>{_e(row.name)}"
                f"</td><td class='num'>{row.score:.1f}</td>"
                f"<td><span class='zone' style='background:{colour}'></span>{_e(row.zone_ru)}</td>"
                f"<td class='num'>{_change(row.score_change, 1)}</td>"
                f"<td class='num'>{_change(row.rank_change, 0)}</td>"
                f"<td class='num'>{row.incidents}</td></tr>"
            )
        parts.append("</table>")
        unrated = rows[~rows["is_rated"]]
        if len(unrated):
            parts.append(
                f"<p class='muted'>Не оценивались ({len(unrated)}): недостаточно данных за месяц.</p>"
            )
    parts.append(_methodology_html(methodology))
    parts.append("</body></html>")
    return "\n".join(parts)


def _bar_chart(rated: pd.DataFrame) -> str:
    """An inline SVG of horizontal bars: score by body, coloured by zone."""
    rows = rated.head(40)
    height = 18 * len(rows) + 10
    bars = []
    for n, row in enumerate(rows.itertuples()):
        y = 5 + n * 18
        width = max(1.0, 4.0 * float(row.score))
        label = _e(str(row.name)[:40] + ("…" if len(str(row.name)) > 40 else ""))
        bars.append(
            f"<text x='0' y='{y + 12}'>{label}</text>"
            f"<rect x='330' y='{y}' width='{width:.1f}' height='14'"
            f" fill='{ZONE_COLOURS.get(row.zone, '#999')}'/>"
            f"<text x='{335 + width:.1f}' y='{y + 12}'>{row.score:.1f}</text>"
        )
    return f"<svg class='chart' width='800' height='{height}' role='img' xmlns='http://www.w3.org/2000/svg'>{''.join(bars)}</svg>"


def _methodology_html(methodology: Methodology) -> str:
    rows = "".join(
        f"<tr><td>{_e(i.caption)}</td><td>{'больше — лучше' if i.higher_is_better else 'меньше — лучше'}</td>"
        f"<td class='num'>{i.weight * 100 / methodology.total_weight:.1f}"
        f"</td><td>{_e(_scale_ru(i))}</td></tr>"
        for i in methodology.indicators
    )
    green, yellow = methodology.zones
    return (
        f"<h2>Методика</h2><p>{_e(methodology.description)}</p>"
        "<table><tr><th>Показатель</th><th>Направление</th>"
        f"<th>Вес, %</th><th>Шкала</th></tr>{rows}</table><p>Зоны:"
        f" зелёная — от {green:g} баллов, жёлтая — от "
        f"{yellow:g}, красная — ниже {yellow:g}. Места в группе: равный балл — равное место.</p>"
    )


@dataclass(frozen=True)
class CardData:
    """What the report cards read, indexed once for all of them in plain dicts (a national month
    has tens of thousands of cards: filtering or indexing pandas objects per card is too slow)."""

    bodies: dict[str, dict[str, Any]]  # org_id → the body's row of the rating table
    own: dict[str, list[dict[str, Any]]]  # org_id → its indicator rows, in indicator order
    group_stats: dict[tuple[str, str], dict[str, float]]  # (rating_group, indicator_id) → median, max, min

    @classmethod
    def of(cls, table: pd.DataFrame, indicators: pd.DataFrame) -> CardData:
        rated = table[table["is_rated"]]
        group_of = dict(zip(rated["org_id"], rated["rating_group"], strict=True))
        values = indicators.assign(rating_group=indicators["org_id"].map(group_of)).dropna(
            subset=["raw_value", "rating_group"]
        )
        stats = values.groupby(["rating_group", "indicator_id"])["raw_value"].agg(["median", "max", "min"])
        own: dict[str, list[dict[str, Any]]] = {}
        for row in indicators.to_dict("records"):
            own.setdefault(row["org_id"], []).append(row)
        return cls(
            bodies={row["org_id"]: row for row in table.drop_duplicates("org_id").to_dict("records")},
            own=own,
            group_stats=dict(zip(stats.index, stats.to_dict("records"), strict=True)),
        )


def report_card(
    cards: CardData, *, quality: dict[str, dict[str, Any]], methodology: Methodology, meta: dict[str, Any],
    org_id: str,
) -> str:  # fmt: skip
    """One body's card: score and place, indicators against the group, quality flags and phrases."""
    body = cards.bodies[org_id]
    captions = {i.id: i for i in methodology.indicators}
    order = {indicator_id: n for n, indicator_id in enumerate(captions)}
    rows, losses = [], []
    for item in sorted(cards.own.get(org_id, []), key=lambda i: order[i["indicator_id"]]):
        spec = captions[item["indicator_id"]]
        stats = cards.group_stats.get((body["rating_group"], item["indicator_id"]))
        median = stats["median"] if stats is not None else None
        best = (stats["max"] if spec.higher_is_better else stats["min"]) if stats is not None else None
        lost = item["weight"] * (100 - item["points"]) / 100
        losses.append((lost, spec.caption))
        rows.append(
            f"<tr><td>{_e(spec.caption)}</td><td class='num'>{_num(item['raw_value'])}</td>"
            f"<td class='num'>{_num(median)}"
            f"</td><td class='num'>{_num(best)}</td>"
            f"<td class='num'>{item['points']:.1f}</td><td class='num'>{item['weight']:.1f}</td>"
            f"<td class='num'>{item['weighted_points']:.1f}</td></tr>"
        )
    lost, worst = max(losses) if losses else (0.0, "—")
    q = quality.get(org_id, {})
    flags = "".join(
        f"<tr><td>{caption}</td><td class='num'>{q.get(flag, 0)}</td></tr>"
        for flag, caption in FLAG_CAPTIONS.items()
    )
    phrases = "".join(
        f"<li>{FLAG_CAPTIONS[flag]}: " + "; ".join(f"«{_e(p)}» ({n})" for p, n in items) + "</li>"
        for flag, items in (q.get("phrases") or {}).items()
        if flag in PUBLIC_EVIDENCE
    )
    colour = ZONE_COLOURS.get(body["zone"], "#999")
    return (
        f"<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'><title>{_e(body['name'])}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(body['name'])}</h1>"
        f"<p>{_e(methodology.title)}, {meta['month']} (редакция {meta['revision']}).</p>"
        f"<p>Балл: <b>{body['score']:.1f}</b> из 100, место "
        f"<b>{body['rank']}</b> из {body['ranked_in_group']} "
        f"в группе «{_e(body['rating_group'])}», зона: <span class='zone' style='background:{colour}'></span>"
        f"{_e(body['zone_ru'])}.</p>"
        f"<p>Больше всего баллов потеряно на показателе «{_e(worst)}»: {lost:.1f} из 100.</p>"
        "<table><tr><th>Показатель</th><th>Значение</th><th>Медиана группы</th><th>Лучшее в группе</th>"
        f"<th>Баллы</th><th>Вес, %</th><th>Взвешенные баллы</th></tr>{''.join(rows)}</table>"
        f"<h2>Качество ответов</h2><p>Оценено ответов: {q.get('answers', 0)}.</p>"
        f"<table><tr><th>Признак</th><th>Ответов</th></tr>{flags}</table>"
        + (
            f"<p>Фразы, по которым ответы признаны формальными или переадресующими:</p><ul>{phrases}</ul>"
            if phrases
            else ""
        )
        + "</body></html>"
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.2f}"


def _change(value: Any, digits: int) -> str:
    if value is None or pd.isna(value):
        return "<span class='muted'>—</span>"
    number = float(value)
    if number == 0:
        return "0"
    css, sign = ("up", "+") if number > 0 else ("down", "−")
    return f"<span class='{css}'>{sign}{abs(number):.{digits}f}</span>"
