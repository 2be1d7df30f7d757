"""The naive baseline: what a competent analyst writes without this project.

pandas reads every export (``read_excel`` / ``read_csv``), renames the headers through the same
aliases, parses the dates, keeps each incident's row of the latest export and loads the lot with
``DataFrame.to_sql``; pandas reads the month's posts and loads them the same way; then ``groupby``
computes the monthly response metrics (per body and source: incidents, answered, overdue,
average satisfaction) and the posts per page. The numbers are compared with gospublic's marts.

    .venv/bin/python -m bench.baseline --data var/bench/region-2025-11 --warehouse-url URL

Run by ``bench/pipeline.py`` against the same warehouse after gospublic's stages.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml

from bench.incidents import peak_rss_mb

PROJECT = Path(__file__).resolve().parents[1]
MONTH_START, MONTH_END = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-12-01")
FORMATS = ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"]


def aliases() -> dict[str, dict[str, str]]:
    """Header → field for each source, from the same configuration the project reads."""
    config = yaml.safe_load((PROJECT / "config" / "incident_exports.yaml").read_text(encoding="utf-8"))
    return {
        source: {
            name.strip().casefold(): field
            for field, spec in sources["fields"].items()
            for name in [spec["header"], *spec.get("aliases", [])]
        }
        for source, sources in config["sources"].items()
    }


def read_export(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=object, engine="openpyxl")
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return pd.read_csv(path, sep=None, engine="python", encoding=encoding, dtype=str)
        except UnicodeDecodeError:
            continue
    raise ValueError(path)


def to_time(column: pd.Series, tz: str = "Europe/Moscow") -> pd.Series:
    text = column.astype(str).str.strip()
    parsed = pd.to_datetime(text, format=FORMATS[0], errors="coerce")
    parsed = parsed.fillna(pd.to_datetime(text, format=FORMATS[1], errors="coerce"))
    cells = pd.to_datetime(column.where(column.map(lambda v: hasattr(v, "year"))), errors="coerce")
    return parsed.fillna(cells).dt.round("s").dt.tz_localize(tz).dt.tz_convert("UTC")


def region_zones(registry: Path) -> dict[str, str]:
    """Each region's time zone: the one most of its bodies have (exports are in local time)."""
    orgs = pd.read_csv(registry / "orgs.csv", dtype=str, keep_default_na=False)
    return orgs.groupby("region_code")["timezone"].agg(lambda zones: zones.mode().iloc[0]).to_dict()


def load_incidents(data: Path, engine: sa.Engine) -> pd.DataFrame:
    names = aliases()
    zones = region_zones(data / "registry")
    frames = []
    for path in sorted((data / "exports").rglob("*_*_*.*")):
        source = path.parent.name
        frame = read_export(path)
        frame.columns = [names[source].get(str(c).strip().casefold(), f"extra:{c}") for c in frame.columns]
        frame = frame[[c for c in frame.columns if not c.startswith("extra:")]]
        region, day = re.search(r"_(\d+)_(\d{8})\.", path.name).groups()
        frame["source"], frame["file"], frame["export_day"] = source, path.name, day
        frame["region_code"] = region.zfill(2)
        for column in ("registered_at", "answered_at"):  # the region's local time
            frame[column] = to_time(frame[column], zones.get(region.zfill(2), "Europe/Moscow"))
        frames.append(frame)
    incidents = pd.concat(frames, ignore_index=True)
    incidents["incident_id"] = incidents["incident_id"].astype(str).str.replace(r"\.0$", "", regex=True)
    satisfaction = pd.to_numeric(incidents["satisfaction"], errors="coerce")
    incidents["satisfaction"] = satisfaction.where(satisfaction.between(1, 5))
    valid = incidents["registered_at"].notna() & incidents["status"].notna() & incidents["executor"].notna()
    valid &= ~(incidents["answered_at"] < incidents["registered_at"])
    valid &= ~(satisfaction.notna() & ~satisfaction.between(1, 5))
    incidents = incidents[valid & incidents["incident_id"].ne("nan")]
    incidents = incidents.sort_values(["export_day"]).drop_duplicates(["source", "incident_id"], keep="last")
    _drop(engine, "baseline_incidents")
    incidents.to_sql("baseline_incidents", engine, index=False)
    return incidents


def load_posts(data: Path, engine: sa.Engine) -> pd.DataFrame:
    # In chunks: a national month's posts read whole as objects would not fit in memory.
    reader = pd.read_json(data / "vk" / "posts.jsonl.gz", lines=True, compression="gzip", chunksize=500_000)
    posts = pd.concat(chunk[["owner_id", "id", "date"]] for chunk in reader)
    posts = posts.assign(group_id=lambda f: -f["owner_id"])
    posts["published_at"] = pd.to_datetime(posts["date"], unit="s", utc=True)
    _drop(engine, "baseline_posts")
    posts.to_sql("baseline_posts", engine, index=False)
    return posts


def _drop(engine: sa.Engine, table: str) -> None:
    """Drop a previous run's table (``if_exists="replace"`` reflects it, which DuckDB's dialect
    cannot: a second run on the same warehouse failed)."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


def metrics(incidents: pd.DataFrame, registry: Path) -> pd.DataFrame:
    """Response metrics per body and source for November (each region's local time)."""
    orgs = pd.read_csv(registry / "orgs.csv", dtype=str, keep_default_na=False)
    alias_to_org = {  # executor names repeat across regions: a name means a body within its region
        (region, alias.strip().casefold().replace("ё", "е")): org
        for org, region, names in zip(orgs["org_id"], orgs["region_code"], orgs["aliases"], strict=True)
        for alias in names.split("|")
    }
    frame = incidents.copy()
    names = frame["executor"].astype(str).str.strip().str.casefold().str.replace("ё", "е")
    frame["org_id"] = [alias_to_org.get(key) for key in zip(frame["region_code"], names, strict=True)]
    zones = region_zones(registry)
    local = pd.concat(
        rows["registered_at"].dt.tz_convert(zones.get(region, "Europe/Moscow")).dt.tz_localize(None)
        for region, rows in frame.groupby("region_code")
    ).reindex(frame.index)
    frame = frame[(local >= MONTH_START) & (local < MONTH_END) & frame["org_id"].notna()]
    return frame.groupby(["org_id", "source"]).agg(
        incidents=("incident_id", "size"),
        answered=("answered_at", "count"),
        satisfaction_avg=("satisfaction", "mean"),
    )


def agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict[str, Any]:
    joined = ours.add_suffix("_gospublic").join(theirs.add_suffix("_baseline"), how="outer")
    result = {"rows_gospublic": len(ours), "rows_baseline": len(theirs)}
    for column in ("incidents", "answered", "satisfaction_avg"):
        a, b = joined[f"{column}_gospublic"].astype(float), joined[f"{column}_baseline"].astype(float)
        same = ((a - b).abs() < 1e-6) | (a.isna() & b.isna())
        result[f"{column}_equal_share"] = round(float(same.mean()), 4)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--warehouse-url", required=True, help="SQLAlchemy URL of the warehouse gospublic built"
    )
    args = parser.parse_args(argv)
    engine = sa.create_engine(args.warehouse_url)
    timings: dict[str, float] = {}
    started = time.monotonic()
    incidents = load_incidents(args.data, engine)
    timings["incidents"] = time.monotonic() - started
    started = time.monotonic()
    posts = load_posts(args.data, engine)
    timings["posts"] = time.monotonic() - started
    started = time.monotonic()
    theirs = metrics(incidents, args.data / "registry")
    timings["metrics"] = time.monotonic() - started
    ours = pd.read_sql(
        sa.text(
            "SELECT org_id, source, incidents, answered, satisfaction_avg FROM mart.response_metrics_monthly "
            "WHERE month = :m"
        ),
        engine,
        params={"m": date(2025, 11, 1)},
    ).set_index(["org_id", "source"])
    print(
        json.dumps(
            {
                "seconds": {k: round(v, 2) for k, v in timings.items()},
                "rows": {"incidents": len(incidents), "posts": len(posts)},
                "agreement": agreement(ours, theirs),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
