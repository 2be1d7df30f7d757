"""Registry load: GE-validated, bad rows quarantined with file/row/column, history kept, idempotent."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE, rows, write
from transforms.names import normalize_alias
from transforms.registry import RegistryFormatError


def test_sample_registry_loads_completely(migrated: Warehouse) -> None:
    result = load_registry(migrated, SAMPLE)
    orgs, pages = rows(SAMPLE / "orgs.csv"), rows(SAMPLE / "pages.csv")
    assert result["quarantined"] == 0
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_org") == len(orgs)
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_page") == len(pages)
    aliases = {(r["org_id"], a) for r in orgs for a in r["aliases"].split("|")}
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_org_alias") == len(aliases)
    vk_pages = sum(1 for p in pages if p["network"] == "vk")
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_page WHERE vk_group_id IS NOT NULL") == vk_pages
    runs = migrated.query(
        "SELECT rows_read, rows_written, rows_rejected FROM audit.load_runs WHERE source LIKE 'registry/%'"
    )
    assert sorted(r["rows_read"] for r in runs) == sorted([len(orgs), len(pages)])
    assert all(r["rows_read"] == r["rows_written"] + r["rows_rejected"] for r in runs)


def test_renamed_body_resolves_by_date(migrated: Warehouse) -> None:
    load_registry(migrated, SAMPLE)
    renamed = migrated.query(
        "SELECT org_id, MIN(valid_to) AS switch FROM core.dim_org GROUP BY org_id HAVING COUNT(*) > 1"
    )
    assert renamed, "the sample registry has renamed bodies"
    org_id, switch = renamed[0]["org_id"], renamed[0]["switch"]
    as_of = """
        SELECT name FROM core.dim_org
        WHERE org_id = :org AND valid_from <= :day AND (valid_to IS NULL OR :day < valid_to)
    """
    day_before = switch - timedelta(days=1)
    before = migrated.query(as_of, {"org": org_id, "day": day_before})
    after = migrated.query(as_of, {"org": org_id, "day": switch})
    assert len(after) == 1 and len(before) == 1
    assert before[0]["name"] != after[0]["name"]
    current = migrated.scalar(
        "SELECT name FROM core.dim_org WHERE org_id = :org AND is_current", {"org": org_id}
    )
    assert current == after[0]["name"]


def test_bad_rows_are_quarantined_with_file_row_column(migrated: Warehouse, tmp_path: Path) -> None:
    orgs, pages = rows(SAMPLE / "orgs.csv"), rows(SAMPLE / "pages.csv")
    orgs[3]["kind"] = "министерство"  # file row 5
    orgs[4]["org_id"] = ""  # file row 6
    orgs[5]["valid_from"] = "31.12.2024"  # file row 7
    duplicate = dict(orgs[6], valid_from="2020-01-01")
    orgs.append(duplicate)  # file row len+1: duplicate (org_id, version)
    pages[0]["org_id"] = "org-9999"  # file row 2
    pages[1]["network"] = "facebook"  # file row 3
    vk_row = next(i for i, p in enumerate(pages) if p["network"] == "vk" and i > 2)
    pages[vk_row]["vk_group_id"] = ""
    write(tmp_path / "orgs.csv", orgs)
    write(tmp_path / "pages.csv", pages)

    result = load_registry(migrated, tmp_path)

    found = {
        (r["file"], r["row_number"], r["column_name"])
        for r in migrated.query("SELECT file, row_number, column_name FROM audit.quarantine")
    }
    assert {
        ("orgs.csv", 5, "kind"),
        ("orgs.csv", 6, "org_id"),
        ("orgs.csv", 7, "valid_from"),
        ("orgs.csv", len(orgs) + 1, "version"),
        ("pages.csv", 2, "org_id"),
        ("pages.csv", 3, "network"),
        ("pages.csv", vk_row + 2, "vk_group_id"),
    } <= found
    reasons = migrated.query("SELECT reason FROM audit.quarantine WHERE row_number = 5 AND file = 'orgs.csv'")
    assert "kind must be" in reasons[0]["reason"]
    assert result["orgs_loaded"] + len({r for f, r, _ in found if f == "orgs.csv"}) == len(orgs)
    pages_rejected = {r for f, r, _ in found if f == "pages.csv"}
    assert result["pages_loaded"] + len(pages_rejected) == len(pages)
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_page") == result["pages_loaded"]
    runs = migrated.query("SELECT * FROM audit.load_runs WHERE source LIKE 'registry/%'")
    assert all(r["rows_read"] == r["rows_written"] + r["rows_rejected"] for r in runs)
    rejected = len(pages) - result["pages_loaded"] + len(orgs) - result["orgs_loaded"]
    assert sum(r["rows_rejected"] for r in runs) == rejected


def test_missing_column_fails_naming_the_file(migrated: Warehouse, tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "pages.csv", tmp_path / "pages.csv")
    records = rows(SAMPLE / "orgs.csv")
    write(tmp_path / "orgs.csv", [{k: v for k, v in r.items() if k != "timezone"} for r in records])
    with pytest.raises(RegistryFormatError, match=r"orgs\.csv: missing columns \['timezone'\]"):
        load_registry(migrated, tmp_path)


def test_reload_gives_identical_tables(migrated: Warehouse) -> None:
    def snapshot() -> list:
        return [
            sorted(map(repr, migrated.query(f"SELECT * FROM {table}")))
            for table in ("core.dim_org", "core.dim_org_alias", "core.dim_page", "audit.quarantine")
        ]

    load_registry(migrated, SAMPLE)
    first = snapshot()
    load_registry(migrated, SAMPLE)
    assert snapshot() == first
    assert migrated.scalar("SELECT COUNT(*) FROM audit.load_runs WHERE source LIKE 'registry/%'") == 2


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (
            "Министерство  здравоохранения «Пензенской» области ",
            "министерство здравоохранения пензенской области",
        ),
        ("МЗПО", "мзпо"),
        ("Управление ЖКХ “Зелёный город”", "управление жкх зеленый город"),
    ],
)
def test_normalize_alias(raw: str, key: str) -> None:
    assert normalize_alias(raw) == key


def test_overlapping_versions_of_a_body_are_problems_of_the_later_one() -> None:
    from transforms.registry import cross_row_problems

    orgs = pd.DataFrame(
        {
            "org_id": ["a", "a", "b", "b", "a"],
            "version": ["1", "2", "1", "2", "3"],
            "valid_from": ["2025-01-01", "2025-06-01", "2025-01-01", "2025-03-01", "2025-05-01"],
            "valid_to": [None, None, "2025-03-01", None, "2025-06-01"],
            "parent_org_id": [None] * 5,
        }
    )
    pages = pd.DataFrame(columns=["page_id", "org_id", "network", "vk_group_id", "replaced_by"])
    problems = [p for p in cross_row_problems(orgs, pages) if p.column == "valid_from"]
    # a: 2025-01-01..open overlaps 2025-05-01 (row 4); row 4 ends 2025-06-01, row 1 starts then: fine.
    assert [(p.row, p.reason) for p in problems] == [(4, "overlaps the previous version of a")]
