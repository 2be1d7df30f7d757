"""The registry of bodies and pages (docs/registry-format.md): read, check, shape for loading.

Pure pandas. Frames are indexed by the row number in their file (header = 1, first data row = 2),
so every problem can name file, row and column. Column-level rules live in the Great Expectations
suites ``registry_orgs`` and ``registry_pages``; the rules that need several rows (overlapping
versions, unknown parents, pages of unknown bodies, municipalities and their OKTMO codes) are here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from transforms.names import normalize_alias
from transforms.quarantine import Problem

ORG_COLUMNS = (
    "org_id", "version", "name", "short_name", "kind", "rating_group", "parent_org_id",
    "region_code", "region_name", "municipality", "oktmo", "timezone", "domain", "aliases", "valid_from",
    "valid_to",
)  # fmt: skip
PAGE_COLUMNS = (
    "page_id", "org_id", "network", "vk_group_id", "screen_name", "previous_screen_name", "url",
    "status", "valid_from", "valid_to", "replaced_by",
)  # fmt: skip
ORGS_FILE = "orgs.csv"
PAGES_FILE = "pages.csv"


class RegistryFormatError(ValueError):
    """The file is not a registry file at all (missing columns, unreadable)."""


def read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read one registry file as text, indexed by file row number; fail on missing columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise RegistryFormatError(f"{path}: cannot read the registry file: {error}") from error
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RegistryFormatError(f"{path}: missing columns {missing} (row 1, the header)")
    frame = frame.loc[:, list(columns)].apply(lambda col: col.str.strip())
    frame = frame.replace("", None)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame


def cross_row_problems(orgs: pd.DataFrame, pages: pd.DataFrame) -> list[Problem]:
    """Problems that need more than one row: duplicates, overlaps, dangling references."""
    problems: list[Problem] = []
    dup = orgs.duplicated(["org_id", "version"], keep="first")
    problems += [
        Problem(ORGS_FILE, row, "version", "duplicate (org_id, version)", orgs.at[row, "version"])
        for row in orgs.index[dup]
    ]
    # A version overlaps when it starts before the previous version (by valid_from) of its body ends.
    ordered = orgs[~dup].sort_values(["org_id", "valid_from"], kind="stable")
    previous_end = ordered.groupby("org_id", sort=False)["valid_to"].shift(1)
    has_previous = ordered["org_id"].eq(ordered["org_id"].shift(1))
    start = ordered["valid_from"]
    overlap = (
        has_previous
        & start.notna()
        & (start < previous_end.astype(object).where(previous_end.notna(), "9999-12-31"))
    )
    for row in ordered.index[overlap.fillna(False).astype(bool)].sort_values():
        problems.append(
            Problem(
                ORGS_FILE, row, "valid_from", f"overlaps the previous version of {orgs.at[row, 'org_id']}",
                orgs.at[row, "valid_from"],
            )
        )  # fmt: skip
    known_orgs = set(orgs["org_id"].dropna())
    parents = orgs["parent_org_id"]
    for row in orgs.index[parents.notna() & ~parents.isin(known_orgs)]:
        problems.append(Problem(ORGS_FILE, row, "parent_org_id", "unknown parent body", parents[row]))
    for row in pages.index[pages["org_id"].notna() & ~pages["org_id"].isin(known_orgs)]:
        problems.append(
            Problem(PAGES_FILE, row, "org_id", "page of an unknown body", pages.at[row, "org_id"])
        )
    dup_pages = pages.duplicated(["page_id"], keep="first")
    problems += [
        Problem(PAGES_FILE, row, "page_id", "duplicate page_id", pages.at[row, "page_id"])
        for row in pages.index[dup_pages]
    ]
    vk = pages[(pages["network"] == "vk") & ~dup_pages]
    for row in vk.index[vk["vk_group_id"].isna()]:
        problems.append(Problem(PAGES_FILE, row, "vk_group_id", "a VK page needs vk_group_id", None))
    known_pages = set(pages["page_id"].dropna())
    replaced = pages["replaced_by"]
    for row in pages.index[replaced.notna() & ~replaced.isin(known_pages)]:
        problems.append(Problem(PAGES_FILE, row, "replaced_by", "unknown replacing page", replaced[row]))
    if {"kind", "region_code", "municipality", "oktmo"} <= set(orgs.columns):  # a file's frame has them
        problems += municipality_problems(orgs)
    return problems


def municipality_problems(orgs: pd.DataFrame) -> list[Problem]:
    """Municipality rules: name and OKTMO code come together, every ОМСУ has them, and within a
    region one code names one municipality and one municipality has one code (the spelling most
    rows use wins; the rows that disagree are named)."""
    problems: list[Problem] = []
    name, code = orgs["municipality"], orgs["oktmo"]
    for row in orgs.index[name.notna() & code.isna()]:
        problems.append(Problem(ORGS_FILE, row, "oktmo", "a municipality needs its OKTMO code", None))
    for row in orgs.index[name.isna() & code.notna()]:
        problems.append(
            Problem(ORGS_FILE, row, "municipality", "an OKTMO code needs its municipality", code[row])
        )
    for row in orgs.index[orgs["kind"].eq("ОМСУ") & name.isna() & code.isna()]:
        problems.append(
            Problem(
                ORGS_FILE, row, "municipality", "a body of local self-government needs its municipality", None
            )
        )
    both = orgs[name.notna() & code.notna()]
    for key, other, reason in (
        ("oktmo", "municipality", "OKTMO code {key} names another municipality here: «{usual}»"),
        ("municipality", "oktmo", "municipality «{key}» has another OKTMO code here: {usual}"),
    ):
        for (_region, key_value), group in both.groupby(["region_code", key], sort=True):
            counts = group[other].value_counts(sort=False)
            usual = max(
                counts.index, key=lambda value: (counts[value], -group.index[group[other] == value][0])
            )
            for row in group.index[group[other] != usual]:
                problems.append(
                    Problem(
                        ORGS_FILE, row, other, reason.format(key=key_value, usual=usual), group.at[row, other]
                    )
                )
    return problems


def dim_org_frame(orgs: pd.DataFrame) -> pd.DataFrame:
    """Typed rows for ``staging.registry_org`` (aliases stay a ``|`` list)."""
    frame = orgs.copy()
    frame["version"] = frame["version"].astype("int64")
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d").dt.date
    return frame.reset_index(names="source_row")


def alias_frame(orgs: pd.DataFrame) -> pd.DataFrame:
    """One row per (body version, alias) with the alias's matching key."""
    rows = []
    for record in orgs.itertuples(index=False):
        seen: set[str] = set()
        for alias in str(record.aliases or record.name).split("|"):
            if not alias.strip() or alias in seen:
                continue
            seen.add(alias)
            rows.append(
                {
                    "org_id": record.org_id,
                    "version": int(record.version),
                    "region_code": record.region_code,
                    "alias": alias,
                    "alias_key": normalize_alias(alias),
                }
            )
    return pd.DataFrame(rows, columns=["org_id", "version", "region_code", "alias", "alias_key"])


def dim_page_frame(pages: pd.DataFrame) -> pd.DataFrame:
    """Typed rows for ``staging.registry_page``."""
    frame = pages.copy()
    frame["vk_group_id"] = pd.to_numeric(frame["vk_group_id"]).astype("Int64")
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d").dt.date
    return frame.reset_index(names="source_row")
