"""The health as compact text tables, threshold crossings flagged (``python -m gospublic.cli health``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gospublic.ops.health import NETWORK_TITLES, Finding, Health
from gospublic.ops.thresholds import Thresholds

FLAG = "!!"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [f"== {title}", line(headers)]
    out += [line(r) for r in cells] or ["(none)"]
    return [*out, ""]


def render(health: Health, thresholds: Thresholds, found: Sequence[Finding]) -> str:
    """The health report; ``!!`` marks a row beyond its threshold."""
    flagged = {f.section for f in found}
    out = [f"Health on {health.today} (Moscow)", ""]
    out += _table(
        f"VK days, last 7 (tolerated missing: {thresholds.vk_missing_days})",
        ["", "dt", "loaded", "complete", "failed_pages"],
        [
            [
                FLAG if not d["complete"] and "vk_days" in flagged else "",
                d["dt"],
                d["loaded"],
                d["complete"],
                d["failed_pages"],
            ]
            for d in health.vk_days
        ],
    )
    never = sum(1 for p in health.pages if p["last_loaded_dt"] is None)
    out += _table(
        f"VK pages with errors (failing {thresholds.page_failing_days}+ loaded days in a row flagged; "
        f"never loaded: {never} of {len(health.pages)})",
        ["", "page_id", "vk_group_id", "last_loaded_dt", "last_ok_dt", "failing_days"],
        [
            [FLAG if p["failing_days"] >= thresholds.page_failing_days else "", p["page_id"],
             p["vk_group_id"], p["last_loaded_dt"], p["last_ok_dt"], p["failing_days"]]
            for p in health.pages
            if p["failing_days"]
        ],
    )  # fmt: skip
    out += _table(
        "OK, MAX and Telegram pages with errors (flagged: failing their network's loaded days in a row: "
        + ", ".join(f"{n} {thresholds.network_page_limit(n)}" for n in NETWORK_TITLES)
        + ")",
        ["", "network", "page_id", "page_key", "last_loaded_dt", "last_ok_dt", "failing_days"],
        [
            [FLAG if p["failing_days"] >= thresholds.network_page_limit(p["network"]) else "", p["network"],
             p["page_id"], p["page_key"], p["last_loaded_dt"], p["last_ok_dt"], p["failing_days"]]
            for p in health.network_pages
            if p["failing_days"]
        ],
    )  # fmt: skip
    rows = []
    for e in health.exports:
        limit = thresholds.export_limit(e["source"], e["region_code"])
        age = (health.today - e["last_export_date"]).days
        rows.append([FLAG if limit is not None and age > limit else "", e["source"], e["region_code"],
                     e["last_export_date"], age, limit, e["files"], e["rows_quarantined"]])  # fmt: skip
    out += _table(
        "Exports per source and region",
        ["", "source", "region", "last_export", "age_days", "max_days", "files", "quarantined"],
        rows,
    )
    out += _table(
        "Bodies that stopped appearing",
        ["", "source", "region", "org_id", "last_export"],
        [
            [FLAG, b["source"], b["region_code"], b["org_id"], b["last_export_date"]]
            for b in health.silent_bodies
        ],
    )
    out += _table(
        "Quarantine per load and file (latest)",
        ["source", "file", "rows", "run_id"],
        [[q["source"], q["file"], q["rows_quarantined"], q["run_id"]] for q in health.quarantine],
    )
    out += _table(
        "Extraction errors per run and network (latest)",
        ["dt", "run_id", "network", "kind", "errors", "pages"],
        [
            [e["dt"], e["run_id"], e["network"], e["kind"], e["errors"], e["pages"]]
            for e in health.extract_errors
        ],
    )
    out.append(f"{len(found)} threshold(s) crossed" if found else "No threshold crossed")
    out += [f"{FLAG} {f.en}" for f in found]
    return "\n".join(out)
