"""The generator gives every body its municipality (issue 25): Penza oblast's real districts and
city districts, synthetic codes elsewhere, one name per code and one code per name in a region."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sandbox.generator import municipalities, params
from sandbox.generator.pipeline import generate
from sandbox.generator.regions import PENZA_DISTRICTS


def consistent(orgs: pd.DataFrame) -> bool:
    named = orgs[orgs["oktmo"] != ""]
    per_code = named.groupby(["region_code", "oktmo"])["municipality"].nunique()
    per_name = named.groupby(["region_code", "municipality"])["oktmo"].nunique()
    return bool((per_code == 1).all() and (per_name == 1).all())


def test_penza_has_a_code_for_each_of_its_27_districts_and_3_cities() -> None:
    codes = list(municipalities.PENZA_DISTRICT_OKTMO.values()) + list(
        municipalities.PENZA_CITY_OKTMO.values()
    )
    assert list(municipalities.PENZA_DISTRICT_OKTMO) == PENZA_DISTRICTS
    assert len(set(codes)) == 30 and all(len(c) == 8 and c.isdigit() and c.startswith("56") for c in codes)
    assert set(codes) >= municipalities.CHECKED


def test_national_registry_has_consistent_municipalities(tmp_path: Path) -> None:
    overrides = {"regions": 3, "pages": 90, "incidents": 300, "bodies": 12, "start_days_before": 1}
    generate(params.build("national", "2025-11", 42, **overrides), str(tmp_path))
    orgs = pd.read_csv(tmp_path / "registry" / "orgs.csv", dtype=str, keep_default_na=False)
    assert consistent(orgs)
    assert (orgs.loc[orgs["kind"] == "ОМСУ", "municipality"] != "").all()
    assert (orgs.loc[orgs["kind"] == "ОИВ", "municipality"] == "").all()
    assert orgs["oktmo"].str.fullmatch(r"(\d{8})?").all()
    for region, group in orgs[orgs["oktmo"] != ""].groupby("region_code"):
        assert group["oktmo"].str[:2].nunique() == 1, region
