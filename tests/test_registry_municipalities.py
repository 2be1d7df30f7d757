"""Bodies' municipalities (issue 25): name and OKTMO code from the registry to core and mart,
validated (digits, length, one name per code and one code per name within a region, ОМСУ need
one) with bad rows quarantined by file, row and column."""

from __future__ import annotations

from pathlib import Path

from gospublic.infra.model_runner import run_models
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE, rows, write


def test_sample_registry_names_the_30_municipalities_of_penza_oblast() -> None:
    orgs = rows(SAMPLE / "orgs.csv")
    municipalities = {(r["municipality"], r["oktmo"]) for r in orgs if r["municipality"]}
    districts = {m for m in municipalities if m[0].endswith("муниципальный район")}
    cities = {m for m in municipalities if m[0].startswith("город ")}
    assert len(districts) == 27 and len(cities) == 3
    assert {name for name, _ in cities} == {"город Пенза", "город Заречный", "город Кузнецк"}
    assert all(code.startswith("566") for _, code in districts)  # OKTMO: 56 Penza oblast, 6 districts
    assert all(code.startswith("567") for _, code in cities)  # 7 city districts
    assert len({code for _, code in municipalities}) == 30
    assert all(r["municipality"] for r in orgs if r["kind"] == "ОМСУ")
    assert not any(r["municipality"] for r in orgs if r["kind"] == "ОИВ")  # bodies of the region


def test_municipality_reaches_core_and_mart(migrated: Warehouse) -> None:
    result = load_registry(migrated, SAMPLE)
    assert result["quarantined"] == 0
    with migrated.begin() as conn:
        run_models(conn, ["mart/010_dim_org.sql"], {})
    expected = {
        (r["org_id"], int(r["version"]), r["municipality"] or None, r["oktmo"] or None)
        for r in rows(SAMPLE / "orgs.csv")
    }
    for table in ("core.dim_org", "mart.dim_org"):
        got = {
            (r["org_id"], r["version"], r["municipality"], r["oktmo"])
            for r in migrated.query(f"SELECT org_id, version, municipality, oktmo FROM {table}")
        }
        assert got == expected, table
    penza = migrated.scalar(
        "SELECT COUNT(*) FROM mart.dim_org WHERE oktmo = '56701000' AND municipality = 'город Пенза'"
    )
    assert penza > 100  # the capital's administration, schools, polyclinics and utilities


def test_bad_municipalities_are_quarantined_by_row_and_column(migrated: Warehouse, tmp_path: Path) -> None:
    orgs = rows(SAMPLE / "orgs.csv")
    (tmp_path / "pages.csv").write_bytes((SAMPLE / "pages.csv").read_bytes())
    by_code: dict[str, list[int]] = {}
    for i, record in enumerate(orgs):
        if record["oktmo"]:
            by_code.setdefault(record["oktmo"], []).append(i)
    shared = next(indices for indices in by_code.values() if len(indices) >= 3)
    omsu = [i for i, r in enumerate(orgs) if r["kind"] == "ОМСУ" and i not in shared]
    cases = {
        omsu[0]: ("oktmo", {"oktmo": "5660300O"}, "8 or 11 digits"),  # a letter O
        omsu[1]: ("oktmo", {"oktmo": "566030000"}, "8 or 11 digits"),  # nine digits
        omsu[2]: ("oktmo", {"oktmo": ""}, "needs its OKTMO code"),
        omsu[3]: ("municipality", {"municipality": "", "oktmo": ""}, "local self-government"),
        shared[-1]: ("municipality", {"municipality": "Неизвестный район"}, "names another municipality"),
    }
    for index, (_, change, _) in cases.items():
        orgs[index].update(change)
    renamed_code = orgs[shared[0]]["oktmo"]
    write(tmp_path / "orgs.csv", orgs)

    result = load_registry(migrated, tmp_path)

    quarantined = {
        (r["row_number"], r["column_name"]): r["reason"]
        for r in migrated.query(
            "SELECT row_number, column_name, reason FROM audit.quarantine WHERE file = 'orgs.csv'"
        )
    }
    for index, (column, _, reason) in cases.items():
        assert reason in quarantined[(index + 2, column)], (index, column, quarantined)
    # the bodies under a quarantined one go too ("unknown parent body"), each by its own row
    rows_out = {row for row, _ in quarantined}
    assert {i + 2 for i in cases} <= rows_out
    assert all(quarantined[k] == "unknown parent body" for k in quarantined if k[0] - 2 not in cases)
    assert result["orgs_loaded"] == len(orgs) - len(rows_out)
    names = migrated.query(
        "SELECT DISTINCT municipality FROM core.dim_org WHERE oktmo = :c", {"c": renamed_code}
    )
    assert len(names) == 1 and names[0]["municipality"] != "Неизвестный район"


def test_eleven_digit_codes_load(migrated: Warehouse, tmp_path: Path) -> None:
    orgs = rows(SAMPLE / "orgs.csv")
    (tmp_path / "pages.csv").write_bytes((SAMPLE / "pages.csv").read_bytes())
    for record in orgs:
        if record["oktmo"]:
            record["oktmo"] += "000"
    write(tmp_path / "orgs.csv", orgs)
    assert load_registry(migrated, tmp_path)["quarantined"] == 0
    assert migrated.scalar("SELECT MIN(LENGTH(oktmo)) FROM core.dim_org") == 11
