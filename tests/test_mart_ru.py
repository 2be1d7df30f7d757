"""Issue 27: the current-version dimensions (one row per id, joins that keep a fact's rows) and
schema mart_ru (Russian names and values over every mart table, generated from the contract), on
DuckDB and PostgreSQL.

The warehouse holds the sample registry (283 versions of 280 bodies) with one body closed and one
renamed body closed after its rename, built into the marts by the marts step; every fact mart gets
one row per body (or per page) so that a join that multiplies rows shows in its count.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from gospublic.infra.mart_contract import SHARE, ContractError, load_contract, load_mart_ru
from gospublic.infra.mart_ru import MAX_NAME_BYTES, SCHEMA, apply_views, build_views, column_name
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE, rows, write

MONTH = date(2025, 11, 1)
CLOSED = "org-0100"  # one version, closed: no current version
RENAMED_THEN_CLOSED = "org-0051"  # two versions; the second closed too
DIMENSIONS = {"dim_org", "dim_page", "dim_org_current", "dim_page_current"}


def _registry(folder: Path) -> Path:
    """The sample registry with CLOSED and RENAMED_THEN_CLOSED given an end."""
    folder.mkdir()
    orgs = rows(SAMPLE / "orgs.csv")
    for org in orgs:
        if org["org_id"] in (CLOSED, RENAMED_THEN_CLOSED) and not org["valid_to"]:
            org["valid_to"] = "2025-11-25"
    write(folder / "orgs.csv", orgs)
    write(folder / "pages.csv", rows(SAMPLE / "pages.csv"))
    return folder


def _literal_for(data_type: str) -> str:
    """A value of a column's type, for seeding (the catalog's type names of either engine)."""
    kind = data_type.lower()
    if "timestamp" in kind:
        return "CAST('2025-11-05 10:00:00+03' AS TIMESTAMP WITH TIME ZONE)"
    if kind == "date":
        return "DATE '2025-11-01'"
    if "bool" in kind:
        return "TRUE"
    if "int" in kind:
        return "1"
    if any(k in kind for k in ("double", "real", "numeric", "decimal", "float")):
        return "0.5"
    return "'x'"


def _columns(warehouse: Warehouse, schema: str, table: str) -> list[dict]:
    return warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
        {"s": schema, "t": table},
    )


def fact_tables() -> list[str]:
    """Every mart table of bodies but the dimensions: each has org_id, some page_id too."""
    return [
        t.name
        for t in load_contract()
        if t.name not in DIMENSIONS and "org_id" in {c.name for c in t.columns}
    ]


def _seed_facts(warehouse: Warehouse) -> None:
    """One row per body (per page where the table has page_id) in every fact mart."""
    for table in fact_tables():
        columns = _columns(warehouse, "mart", table)
        names = [c["column_name"] for c in columns]
        source = (
            "mart.dim_page AS d" if "page_id" in names else "(SELECT DISTINCT org_id FROM mart.dim_org) AS d"
        )
        values = [
            f"d.{c['column_name']}"
            if c["column_name"] in ("org_id", "page_id")
            else _literal_for(c["data_type"])
            for c in columns
        ]
        warehouse.execute(f"DELETE FROM mart.{table}")  # the build's rows of pages without posts
        warehouse.execute(
            f"INSERT INTO mart.{table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {source}"
        )


@pytest.fixture
def built(migrated: Warehouse, tmp_path: Path) -> Warehouse:
    load_registry(migrated, _registry(tmp_path / "registry"))
    build_month(migrated, MONTH)
    _seed_facts(migrated)
    return migrated


# -- current dimensions ---------------------------------------------------------------------


def test_current_dimensions_one_row_per_id_and_joins_that_keep_the_facts_rows(built: Warehouse) -> None:
    """One row per id, the current version else the last, and every fact mart joined to them keeps
    its row count where a join to mart.dim_org (versions) multiplies it."""
    wh = built
    versions = wh.scalar("SELECT COUNT(*) FROM mart.dim_org")
    orgs = wh.scalar("SELECT COUNT(DISTINCT org_id) FROM mart.dim_org")
    assert versions > orgs, "the sample registry has bodies with several versions"
    assert wh.scalar("SELECT COUNT(*) FROM mart.dim_org_current") == orgs
    assert wh.scalar("SELECT COUNT(DISTINCT org_id) FROM mart.dim_org_current") == orgs
    pages = wh.scalar("SELECT COUNT(DISTINCT page_id) FROM mart.dim_page")
    assert wh.scalar("SELECT COUNT(*) FROM mart.dim_page_current") == pages
    assert wh.scalar("SELECT COUNT(DISTINCT page_id) FROM mart.dim_page_current") == pages

    picked = {r["org_id"]: r for r in wh.query("SELECT * FROM mart.dim_org_current")}
    for org in wh.query("SELECT org_id, version FROM mart.dim_org WHERE is_current"):
        assert picked[org["org_id"]]["version"] == org["version"] and picked[org["org_id"]]["is_current"]
    closed = picked[CLOSED]
    assert closed["is_current"] is False and closed["version"] == 1 and closed["versions"] == 1
    last = picked[RENAMED_THEN_CLOSED]
    assert last["is_current"] is False and last["version"] == 2 and last["versions"] == 2
    assert last["valid_to"] == date(2025, 11, 25)
    renamed = wh.query("SELECT org_id FROM mart.dim_org GROUP BY org_id HAVING COUNT(*) > 1")
    assert {r["org_id"] for r in renamed} == {o for o, r in picked.items() if r["versions"] > 1}
    mismatched = wh.scalar(
        "SELECT COUNT(*) FROM mart.dim_page_current AS p "
        "JOIN mart.dim_org_current AS o ON p.org_id = o.org_id "
        "WHERE p.org_name <> o.name OR p.org_short_name IS DISTINCT FROM o.short_name"
    )
    assert mismatched == 0
    assert wh.scalar("SELECT COUNT(*) FROM mart.dim_page_current WHERE org_name IS NULL") == 0

    for table in fact_tables():
        _join_keeps_rows(wh, table)


def _join_keeps_rows(wh: Warehouse, table: str) -> None:
    facts = wh.scalar(f"SELECT COUNT(*) FROM mart.{table}")
    assert facts > 0
    naive = wh.scalar(f"SELECT COUNT(*) FROM mart.{table} AS f JOIN mart.dim_org AS d ON f.org_id = d.org_id")
    assert naive > facts, "the versions of mart.dim_org multiply a naive join (the fixture has versions)"
    joined = wh.scalar(
        f"SELECT COUNT(*) FROM mart.{table} AS f JOIN mart.dim_org_current AS d ON f.org_id = d.org_id"
    )
    assert joined == facts
    if "page_id" in wh.table_columns(f"mart.{table}"):
        joined = wh.scalar(
            f"SELECT COUNT(*) FROM mart.{table} AS f JOIN mart.dim_page_current AS d ON f.page_id = d.page_id"
        )
        assert joined == facts
    assert wh.scalar(f"SELECT COUNT(*) FROM {SCHEMA}.{table}") == facts, "the mart_ru view keeps them too"


# -- mart_ru ---------------------------------------------------------------------------------


def test_mart_ru_has_one_view_per_mart_table_with_the_contracts_columns(migrated: Warehouse) -> None:
    """The views as the warehouse holds them, against the contract and the mart tables: every mart
    column shown once, by its Russian name, with its own type unless it is a share (a percentage)."""
    wh = migrated
    contract = {t.name: t for t in load_contract()}
    views = {v.table: v for v in build_views()}
    held = wh.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'VIEW'",
        {"s": SCHEMA},
    )
    assert sorted(r["table_name"] for r in held) == sorted(contract)
    settings = load_mart_ru()
    for name, table in contract.items():
        mart_columns = {c["column_name"]: c["data_type"] for c in _columns(wh, "mart", name)}
        view_columns = [(c["column_name"], c["data_type"]) for c in _columns(wh, SCHEMA, name)]
        assert [c for c, _ in view_columns] == [c.name for c in views[name].columns], name
        own = [c for c in views[name].columns if c.source.startswith(f"mart.{name}.")]
        assert [c.source.rsplit(".", 1)[1] for c in own] == list(mart_columns), f"{name}: every column once"
        types = dict(view_columns)
        for column in table.columns:
            ru = column_name(column)
            if column.unit == SHARE:
                assert ru.endswith(", %") or "%" in ru, ru
                assert re.match(r"(?i)(numeric|decimal)", types[ru]), (name, ru, types[ru])
            elif not column.values:
                assert types[ru] == mart_columns[column.name], (name, ru)
        expected_names = [
            ru
            for n in settings.names
            if n.key in mart_columns and name not in n.not_on
            for _, ru in n.columns
        ]
        assert set(expected_names) <= set(types), f"{name}: the names beside its ids"
        for ru in types:
            assert len(ru.encode("utf-8")) <= MAX_NAME_BYTES and "." not in ru


def test_every_share_column_is_declared_a_share() -> None:
    for table in load_contract():
        for column in table.columns:
            if column.name.endswith("_share"):
                assert column.unit == SHARE, f"{table.name}.{column.name}"


def test_mart_ru_values_percentages_and_names(built: Warehouse) -> None:
    wh = built
    wh.execute("UPDATE mart.rating_monthly SET zone = 'green' WHERE org_id = 'org-0001'")
    wh.execute("UPDATE mart.rating_monthly SET zone = 'yellow' WHERE org_id = 'org-0002'")
    wh.execute("UPDATE mart.rating_monthly SET zone = 'red' WHERE org_id = 'org-0003'")
    wh.execute(
        "UPDATE mart.response_metrics_monthly SET answered_share = 0.12345, source = 'pos' "
        "WHERE org_id = 'org-0001'"
    )
    wh.execute(
        "UPDATE mart.response_metrics_monthly SET answered_share = 2.0 / 3, source = 'im' "
        "WHERE org_id = 'org-0002'"
    )
    zones = {
        r["ID органа"]: r["Зона"]
        for r in wh.query(f'SELECT "ID органа", "Зона" FROM {SCHEMA}.rating_monthly')
    }
    assert (zones["org-0001"], zones["org-0002"], zones["org-0003"]) == ("зелёная", "жёлтая", "красная")
    assert zones["org-0004"] == "x", "a code the contract does not list is shown as stored"
    shares = {r["ID органа"]: r for r in wh.query(f"SELECT * FROM {SCHEMA}.response_metrics_monthly")}
    assert float(shares["org-0001"]["Доля отвеченных, %"]) == 12.3
    assert float(shares["org-0002"]["Доля отвеченных, %"]) == 66.7
    assert float(shares["org-0004"]["Доля отвеченных, %"]) == 50.0
    assert (shares["org-0001"]["Источник"], shares["org-0002"]["Источник"]) == ("ПОС", "ИМ")
    assert shares["org-0001"]["Месяц"] == date(2025, 11, 1), "dates stay dates"
    name = wh.scalar(
        "SELECT name FROM mart.dim_org WHERE org_id = :o AND version = 2", {"o": RENAMED_THEN_CLOSED}
    )
    renamed = wh.query(
        f'SELECT "Наименование органа" AS n FROM {SCHEMA}.response_metrics_monthly WHERE "ID органа" = :o',
        {"o": RENAMED_THEN_CLOSED},
    )
    assert [r["n"] for r in renamed] == [name], "the body's last name, once"
    pages = wh.query(
        f'SELECT "ID страницы" AS page, "Короткий адрес госпаблика" AS screen, "Орган" AS org '
        f"FROM {SCHEMA}.subscribers_daily"
    )
    dim = {
        r["page_id"]: r
        for r in wh.query("SELECT page_id, screen_name, org_short_name FROM mart.dim_page_current")
    }
    assert pages and all(
        (p["screen"], p["org"]) == (dim[p["page"]]["screen_name"], dim[p["page"]]["org_short_name"])
        for p in pages
    )
    networks = {r["n"] for r in wh.query(f'SELECT DISTINCT "Соцсеть" AS n FROM {SCHEMA}.dim_page')}
    assert networks == {"ВКонтакте", "Одноклассники", "Telegram"}


def test_comments_are_english_in_mart_and_russian_in_mart_ru(migrated: Warehouse) -> None:
    wh = migrated
    if wh.dialect == "duckdb":
        sql = "SELECT schema_name AS s, table_name AS t, column_name AS c, comment FROM duckdb_columns() "
        sql += f"WHERE schema_name IN ('mart', '{SCHEMA}')"
    else:
        sql = (
            "SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c, col_description("
            "format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position) AS comment "
            f"FROM information_schema.columns AS c WHERE c.table_schema IN ('mart', '{SCHEMA}')"
        )
    comments = {(r["s"], r["t"], r["c"]): r["comment"] for r in wh.query(sql)}
    for table in load_contract():
        for column in table.columns:
            text = comments[("mart", table.name, column.name)]
            assert text == column.description and column.caption not in text
    for view in build_views():
        for column in view.columns:
            text = comments[(SCHEMA, view.table, column.name)]
            assert text == column.comment and re.search("[а-яё]", text), (view.table, column.name)
            assert not re.search(r"\b(the|of|and|or|per)\b", text), text


def test_the_migrator_recreates_a_stale_or_missing_view(migrated: Warehouse) -> None:
    wh = migrated
    wh.execute(f"DROP VIEW {SCHEMA}.rating_monthly")
    wh.execute(f"DROP VIEW {SCHEMA}.dim_org")
    wh.execute(f'CREATE VIEW {SCHEMA}.dim_org AS SELECT org_id AS "Старое имя" FROM mart.dim_org')
    assert migrate(wh) == []
    expected = {v.table: [c.name for c in v.columns] for v in build_views()}
    for table in ("rating_monthly", "dim_org"):
        assert [c["column_name"] for c in _columns(wh, SCHEMA, table)] == expected[table]


def test_a_name_postgresql_would_cut_or_a_dot_is_refused() -> None:
    tables = load_contract()
    long = [
        t
        if t.name != "rating_monthly"
        else type(t)(
            t.name,
            t.grain,
            t.description,
            t.caption,
            tuple(
                type(c)(c.name, c.description, "Итоговый балл органа власти по методике рейтинга за месяц")
                if c.name == "score"
                else c
                for c in t.columns
            ),
            t.grain_ru,
        )
        for t in tables
    ]
    with pytest.raises(ContractError, match="bytes, PostgreSQL keeps 63"):
        build_views(long)
    dotted = [
        t
        if t.name != "rating_monthly"
        else type(t)(
            t.name,
            t.grain,
            t.description,
            t.caption,
            tuple(
                type(c)(c.name, c.description, "Итог. балл") if c.name == "score" else c for c in t.columns
            ),
            t.grain_ru,
        )
        for t in tables
    ]
    with pytest.raises(ContractError, match="no dot"):
        build_views(dotted)
    twice = [
        t
        if t.name != "rating_monthly"
        else type(t)(
            t.name,
            t.grain,
            t.description,
            t.caption,
            tuple(type(c)(c.name, c.description, "место") if c.name == "score" else c for c in t.columns),
            t.grain_ru,
        )
        for t in tables
    ]
    with pytest.raises(ContractError, match="'Место': the same name as 'место'"):
        build_views(twice)


def test_a_share_without_its_unit_is_refused(tmp_path: Path) -> None:
    from gospublic.infra import settings

    text = (settings.project_home() / "config" / "mart_contract.yaml").read_text(encoding="utf-8")
    edited = text.replace('caption: "Доля отвеченных", unit: share}', 'caption: "Доля отвеченных"}', 1)
    assert edited != text
    path = tmp_path / "mart_contract.yaml"
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(ContractError, match="answered_share: a \\*_share column must say `unit: share`"):
        load_contract(path)


HOSTILE_WORDS = [
    "x'); DROP TABLE mart.rating_base; --",
    "O''Reilly '' ' ;",
    "$$ $tag$ /* */ --",
    "доля :month_start, 100 % %s %(x)s ?",
]


def test_contract_words_reach_the_views_as_literals_and_hostile_names_are_refused(
    migrated: Warehouse,
) -> None:
    """A `values:` word is a string literal of the view, whatever it holds; a name is refused unless
    it is letters, digits and plain punctuation (it becomes a quoted identifier)."""
    wh = migrated
    tables = load_contract()
    monthly = next(t for t in tables if t.name == "rating_monthly")
    columns = tuple(
        replace(c, values=tuple(zip(("green", "yellow", "red", "x"), HOSTILE_WORDS, strict=True)))
        if c.name == "zone"
        else c
        for c in monthly.columns
    )
    views = build_views([replace(monthly, columns=columns)])
    assert apply_views(wh, views) == ["rating_monthly"]
    wh.execute(
        "INSERT INTO mart.rating_monthly "
        "(snapshot_id, org_id, month, rating_group, incidents, is_rated, zone) "
        "VALUES ('s', 'o1', DATE '2025-11-01', 'g', 0, TRUE, 'green'), "
        "('s', 'o2', DATE '2025-11-01', 'g', 0, TRUE, 'x')"
    )
    zones = wh.query(f'SELECT "Зона" AS z FROM {SCHEMA}.rating_monthly ORDER BY "ID органа"')
    assert [r["z"] for r in zones] == [HOSTILE_WORDS[0], HOSTILE_WORDS[3]]
    assert wh.table_exists("mart.rating_base")
    for bad in ('Балл"; DROP TABLE mart.rating_base; --', "Балл\\", "Балл:month"):
        named = tuple(replace(c, ru_name=bad) if c.name == "score" else c for c in monthly.columns)
        with pytest.raises(ContractError, match="a mart_ru name is letters"):
            build_views([replace(monthly, columns=named)])
    backslash = tuple(
        replace(c, values=(("green", "a\\'"),)) if c.name == "zone" else c for c in monthly.columns
    )
    with pytest.raises(ContractError, match="no backslash or NUL"):
        build_views([replace(monthly, columns=backslash)])


# -- failed checks and indicators in Russian ----------------------------------------------------


def _contract_column(table: str, column: str):  # type: ignore[no-untyped-def]
    return next(c for t in load_contract() if t.name == table for c in t.columns if c.name == column)


def test_every_check_and_indicator_has_its_russian_words() -> None:
    """Every check the compliance mart can list and every indicator of a methodology is translated
    by mart_ru: a check or an indicator added without its words fails here."""
    sql = (Path(__file__).parents[1] / "sql/mart/040_page_compliance_monthly.sql").read_text()
    checks = set(re.findall(r"THEN '([a-z_]+)' END", sql)) | set(
        re.findall(r"\('(?:ok|max|tg)', '([a-z_]+)', \d+,", sql)
    )
    assert {"verified", "views_share", "page_open", "comments_open"} <= checks
    failed = _contract_column("page_compliance_monthly", "failed_checks")
    assert failed.separator == ", "
    assert checks == {code for code, _ in failed.values}
    captions: dict[str, set[str]] = {}
    for path in sorted((Path(__file__).parents[1] / "config/methodologies").glob("*.yaml")):
        for indicator in yaml.safe_load(path.read_text(encoding="utf-8"))["indicators"]:
            captions.setdefault(indicator["id"], set()).add(indicator["caption"])
    words = dict(_contract_column("rating_indicator", "indicator_id").values)
    assert set(words) == set(captions)
    for indicator, word in words.items():
        assert word in captions[indicator], (
            f"{indicator}: {word!r} is none of its captions {captions[indicator]}"
        )


def test_mart_ru_failed_checks_and_indicators_in_russian(built: Warehouse) -> None:
    wh = built
    pages = [
        r["page_id"] for r in wh.query("SELECT page_id FROM mart.page_compliance_monthly ORDER BY page_id")
    ]
    listed = {
        pages[0]: "has_photo, views_share",
        pages[1]: "",
        pages[2]: "verified, has_photo, has_cover, has_description, has_contacts_or_links, messages_open, "
        "wall_open, posts_per_week, views_share, page_open, comments_open",
        pages[3]: "comments_open, not_a_check",
    }
    for page, checks in listed.items():
        wh.execute(
            "UPDATE mart.page_compliance_monthly SET failed_checks = :c WHERE page_id = :p",
            {"c": checks, "p": page},
        )
    shown = {
        r["p"]: r["f"]
        for r in wh.query(
            f'SELECT "ID страницы" AS p, "Невыполненные требования" AS f '
            f"FROM {SCHEMA}.page_compliance_monthly"
        )
    }
    assert shown[pages[0]] == "нет аватара, мало просмотров относительно числа подписчиков"
    assert shown[pages[1]] == ""
    assert shown[pages[2]] == (
        "нет отметки «официальная страница», нет аватара, нет обложки, нет описания, "
        "нет контактов или ссылок, закрыты сообщения сообществу, закрыта стена, "
        "публикаций в неделю меньше нормы, "
        "мало просмотров относительно числа подписчиков, страница закрыта для посторонних, "
        "закрыты комментарии к публикациям"
    )
    assert shown[pages[3]] == "закрыты комментарии к публикациям, not_a_check", "an unknown code as stored"
    orgs = [
        r["org_id"] for r in wh.query("SELECT DISTINCT org_id FROM mart.rating_indicator ORDER BY org_id")
    ]
    for org, indicator in zip(
        orgs, ("satisfied", "page_compliance", "pos_on_time", "not_an_indicator"), strict=False
    ):
        wh.execute(
            "UPDATE mart.rating_indicator SET indicator_id = :i WHERE org_id = :o", {"i": indicator, "o": org}
        )
    indicators = {
        r["o"]: r["i"]
        for r in wh.query(f'SELECT "ID органа" AS o, "Показатель" AS i FROM {SCHEMA}.rating_indicator')
    }
    assert [indicators[o] for o in orgs[:4]] == [
        "Доля удовлетворённых заявителей",
        "Соответствие госпабликов требованиям",
        "Доля ответов на ПОС в срок",
        "not_an_indicator",
    ]
