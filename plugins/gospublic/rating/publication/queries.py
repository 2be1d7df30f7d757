"""What a publication reads from the warehouse: the snapshot's rows, its indicators and, for the
month, the counts behind the shares, page checks, identifiers of late or formal answers, the
region's figures and the previous month's places. No citizens' data: identifiers, dates, counts,
and the answer-quality rules' stock phrases with the words their free spans matched (a name, a
street) left out."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from gospublic.infra.warehouse import Warehouse
from transforms.answer_quality import load_rules, public_phrase
from transforms.methodology import Methodology
from transforms.months import previous_month
from transforms.rating import ZONE_CAPTIONS

FLAGS = ("formal", "no_specifics", "impolite", "redirect", "template")
LISTED_KINDS = ("overdue", "formal", "redirect")  # answers a card lists by identifier
PHRASES_SHOWN = 5  # stock phrases a card lists per flag


def rating_table(warehouse: Warehouse, snapshot_id: str) -> pd.DataFrame:
    """The snapshot's rows with the bodies' names, ordered by group and place (the machine files'
    columns: kept as they are for the programs that read rating.csv and rating.json)."""
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


def indicator_rows(warehouse: Warehouse, snapshot_id: str) -> pd.DataFrame:
    return warehouse.query_df(
        "SELECT org_id, indicator_id, raw_value, points, weight, weighted_points FROM mart.rating_indicator "
        "WHERE snapshot_id = :s ORDER BY org_id, indicator_id",
        {"s": snapshot_id},
    )


def org_kinds(warehouse: Warehouse) -> dict[str, str]:
    rows = warehouse.query("SELECT org_id, kind FROM core.dim_org WHERE is_current")
    return {str(row["org_id"]): str(row["kind"]) for row in rows}


def quality_by_org(warehouse: Warehouse, month: Any) -> dict[str, dict[str, Any]]:
    """Counts of answer-quality flags and the stock phrases the rules matched, per body: of each
    flag, the ``PHRASES_SHOWN`` most used in their public form (``public_phrases``)."""
    counts = warehouse.query_df(
        "SELECT org_id, COUNT(*) AS answers, "
        + ", ".join(f"SUM(CASE WHEN {f} THEN 1 ELSE 0 END) AS {f}" for f in FLAGS)
        + " FROM core.fct_incident_timing WHERE month = :m AND has_answer_text AND org_id IS NOT NULL "
        "GROUP BY org_id",
        {"m": month},
    )
    phrases = warehouse.query(
        "SELECT t.org_id, e.flag, LOWER(e.evidence) AS phrase, COUNT(*) AS uses "
        "FROM restricted.answer_quality_evidence AS e JOIN core.fct_incident_timing AS t "
        "ON t.source = e.source AND t.incident_id = e.incident_id "
        "WHERE e.month = :m AND e.flag IN ('formal', 'redirect') "
        "GROUP BY t.org_id, e.flag, LOWER(e.evidence)",
        {"m": month},
    )
    result: dict[str, dict[str, Any]] = {}
    for row in counts.to_dict("records"):
        result[row["org_id"]] = {"answers": int(row["answers"]), **{f: int(row[f] or 0) for f in FLAGS}}
    for (org_id, flag), shown in public_phrases(phrases).items():
        result.setdefault(org_id, {}).setdefault("phrases", {})[flag] = shown
    return result


def public_phrases(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Per body and flag (in that order), its most used phrases as a card may print them, most used
    first: the matched words of a rule's free spans (a citizen's name, a street) shown as «…»
    (``answer_quality.public_phrase``), so phrases that differ only there count as one. The
    evidence itself is restricted: it quotes the answers."""
    rules = load_rules()
    forms: dict[tuple[str, str], str | None] = {}
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        flag, phrase = str(row["flag"]), str(row["phrase"])
        if (flag, phrase) not in forms:  # bodies share phrases: each is worked out once
            forms[(flag, phrase)] = public_phrase(phrase, flag, rules)
        form = forms[(flag, phrase)]
        if form is not None:
            uses = totals.setdefault((str(row["org_id"]), flag), {})
            uses[form] = uses.get(form, 0) + int(row["uses"])
    return {
        key: sorted(totals[key].items(), key=lambda item: (-item[1], item[0]))[:PHRASES_SHOWN]
        for key in sorted(totals)
    }


def share_counts(warehouse: Warehouse, month: date) -> dict[str, dict[str, int]]:
    """Per body, the counts behind mart.rating_base's shares (names as in ``cards.COUNTED``)."""
    rows = warehouse.query(
        "SELECT org_id, source, incidents, answered, overdue, rated, satisfied_share, answers_assessed, "
        + ", ".join(f"{f}_share" for f in FLAGS)
        + " FROM mart.response_metrics_monthly WHERE month = :m",
        {"m": month},
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(str(row["org_id"]), {})
        source = str(row["source"])
        satisfied = round(float(row["satisfied_share"] or 0) * int(row["rated"]))
        assessed = int(row["answers_assessed"])
        own = {"incidents": int(row["incidents"]), "answered": int(row["answered"]),
               "overdue": int(row["overdue"]), "rated": int(row["rated"]), "satisfied": satisfied,
               "answers_assessed": assessed,
               **{f: round(float(row[f"{f}_share"] or 0) * assessed) for f in FLAGS}}  # fmt: skip
        for name, value in own.items():
            counts[name] = counts.get(name, 0) + value
            counts[f"{source}_{name}"] = counts.get(f"{source}_{name}", 0) + value
    for row in warehouse.query(
        "SELECT org_id, SUM(citizen_comments) AS comments, SUM(replied_comments) AS replied "
        "FROM mart.page_activity_monthly WHERE month = :m AND network = 'vk' GROUP BY org_id",
        {"m": month},
    ):
        counts = out.setdefault(str(row["org_id"]), {})
        counts["citizen_comments"], counts["replied_comments"] = int(row["comments"]), int(row["replied"])
    return out


def page_checks(warehouse: Warehouse, month: date) -> dict[str, list[dict[str, Any]]]:
    """Per body, its pages' compliance score and failed checks (mart.page_compliance_monthly)."""
    rows = warehouse.query(
        "SELECT c.org_id, c.page_id, c.network, c.observed_on, c.score, c.failed_checks, p.vk_group_id "
        "FROM mart.page_compliance_monthly AS c "
        "LEFT JOIN mart.page_activity_monthly AS p ON p.page_id = c.page_id AND p.month = c.month "
        "WHERE c.month = :m ORDER BY c.org_id, c.page_id",
        {"m": month},
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        failed = [check.strip() for check in str(row["failed_checks"] or "").split(",") if check.strip()]
        out.setdefault(str(row["org_id"]), []).append(
            {
                "page_id": str(row["page_id"]),
                "network": str(row["network"]),
                "vk_group_id": row["vk_group_id"],
                "observed_on": row["observed_on"],
                "score": float(row["score"]),
                "failed": failed,
            }
        )
    return out


def listed_answers(warehouse: Warehouse, month: date, limit: int) -> dict[str, dict[str, Any]]:
    """Per body and kind (overdue, formal, redirect): how many, and the first ``limit`` by
    registration as source, incident identifier, registration and deadline — identifiers only."""
    rows = warehouse.query(
        "SELECT org_id, source, incident_id, registered_at, deadline_at, is_overdue, "
        "COALESCE(formal, FALSE) AS formal, COALESCE(redirect, FALSE) AS redirect "
        "FROM core.fct_incident_timing WHERE month = :m AND org_id IS NOT NULL "
        "AND (is_overdue OR formal OR redirect) ORDER BY org_id, registered_at, source, incident_id",
        {"m": month},
    )
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        body = out.setdefault(str(row["org_id"]), {kind: {"count": 0, "rows": []} for kind in LISTED_KINDS})
        flags = {"overdue": row["is_overdue"], "formal": row["formal"], "redirect": row["redirect"]}
        for kind, flagged in flags.items():
            if flagged:
                body[kind]["count"] += 1
                if len(body[kind]["rows"]) < limit:
                    body[kind]["rows"].append(
                        {
                            "source": row["source"],
                            "incident_id": str(row["incident_id"]),
                            "registered_at": row["registered_at"],
                            "deadline_at": row["deadline_at"],
                        }
                    )
    return out


def month_totals(warehouse: Warehouse, month: date) -> dict[str, int]:
    """The month's messages by source and official pages, over the bodies of mart.rating_base."""
    (row,) = warehouse.query(
        "SELECT COUNT(*) AS bodies, COALESCE(SUM(incidents_im), 0) AS im, "
        "COALESCE(SUM(incidents_pos), 0) AS pos, COALESCE(SUM(incidents), 0) AS incidents, "
        "COALESCE(SUM(pages), 0) AS pages "
        "FROM mart.rating_base WHERE month = :m",
        {"m": month},
    )
    return {key: int(value or 0) for key, value in row.items()}


def region_measures(warehouse: Warehouse, month: date) -> dict[str, tuple[float | None, int]]:
    """The region's figures set against the national benchmarks: each with the count behind it."""
    frame = warehouse.query_df(
        "SELECT source, reaction_hours, answer_hours, satisfaction FROM core.fct_incident_timing "
        "WHERE month = :m",
        {"m": month},
    )
    im = frame.loc[frame["source"] == "im", "reaction_hours"].dropna().astype(float)
    pos_answers = frame.loc[frame["source"] == "pos", "answer_hours"].dropna().astype(float)
    ratings = frame.loc[frame["source"] == "pos", "satisfaction"].dropna().astype(float)
    return {
        "im_reaction_hours_mean": (float(im.mean()) if len(im) else None, len(im)),
        "pos_answer_days_median": (
            float(pos_answers.median()) / 24 if len(pos_answers) else None,
            len(pos_answers),
        ),
        "pos_high_ratings_share": (float((ratings >= 4).mean()) if len(ratings) else None, len(ratings)),
    }


def previous_places(warehouse: Warehouse, methodology_id: str, month: date) -> pd.DataFrame:
    """The rows of the newest published revision of the month before (org_id, rating_group, rank,
    score, zone); empty when there is none."""
    frame = warehouse.query_df(
        "SELECT r.org_id, r.rating_group, r.rank, r.score, r.zone FROM mart.rating_monthly AS r "
        "WHERE r.snapshot_id = (SELECT s.snapshot_id FROM mart.rating_snapshot AS s "
        "  WHERE s.methodology_id = :m AND s.month = :month AND s.status = 'published' "
        "  ORDER BY s.revision DESC LIMIT 1) AND r.is_rated",
        {"m": methodology_id, "month": previous_month(month)},
    )
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def topics_by_org(
    warehouse: Warehouse, month: date, top: int = 5
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per body, its ``top`` rubrics and channels of the month by messages (with answered and
    overdue), from mart.incident_topics_monthly (one query for every card)."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for dimension in ("rubric", "channel"):  # fixed column names, never configuration
        rows = warehouse.query(
            f"SELECT org_id, {dimension} AS label, SUM(incidents) AS incidents, SUM(answered) AS answered, "
            "SUM(overdue) AS overdue FROM mart.incident_topics_monthly "
            "WHERE month = :m AND org_id IS NOT NULL "
            f"GROUP BY org_id, {dimension}",
            {"m": month},
        )
        for row in sorted(rows, key=lambda r: (str(r["org_id"]), -int(r["incidents"]), str(r["label"]))):
            listed = out.setdefault(str(row["org_id"]), {"rubric": [], "channel": []})[dimension]
            if len(listed) < top:
                listed.append({"label": str(row["label"]), "incidents": int(row["incidents"]),
                               "answered": int(row["answered"]), "overdue": int(row["overdue"])})  # fmt: skip
    return out


def measure_counts(warehouse: Warehouse, month: date, methodology: Methodology) -> dict[str, dict[str, int]]:
    """Per body, the counts behind each share measure of ``methodology`` (share_within, on_time):
    ``{<indicator id>__ok: answered within / on time, <indicator id>__all: incidents counted}``,
    by the same status rule the rating applies (``transforms.measures``)."""
    shares = [
        i
        for i in methodology.indicators
        if i.measure is not None and i.measure.type in ("share_within", "on_time")
    ]
    if not shares:
        return {}
    from transforms.measures import NEEDED_COLUMNS, TIMING_COLUMNS

    timing = warehouse.query_df(
        f"SELECT {', '.join(NEEDED_COLUMNS)} FROM core.fct_incident_timing "
        "WHERE month = :m AND org_id IS NOT NULL",
        {"m": month},
    )
    statuses = dict(methodology.statuses)
    out: dict[str, dict[str, int]] = {}
    for indicator in shares:
        measure = indicator.measure
        assert measure is not None
        rows = timing[timing["source"] == measure.source]
        rule = rows["status"].map(lambda s: statuses.get(str(s), "standard"))
        kept = (rule != "excluded").to_numpy()
        rows, rule = rows[kept], rule[kept]
        if measure.type == "on_time":
            good = ~rows["is_overdue"].astype(bool)
        else:
            elapsed = pd.to_numeric(rows[TIMING_COLUMNS[(measure.to, measure.clock)]], errors="coerce")
            good = (elapsed <= float(measure.limit or 0)).fillna(False).astype(bool)
        good = good.mask((rule == "answered").to_numpy(), True).mask((rule == "overdue").to_numpy(), False)
        for org_id, part in good.groupby(rows["org_id"]):
            counts = out.setdefault(str(org_id), {})
            counts[f"{indicator.id}__ok"], counts[f"{indicator.id}__all"] = int(part.sum()), len(part)
    return out
