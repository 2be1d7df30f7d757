"""The expression language of methodology indicators: parser, SQL renderer, the column allow-list."""

from __future__ import annotations

import random
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml

from gospublic.infra import settings
from gospublic.infra.migrations import migrate
from gospublic.rating.snapshot import fingerprint, rating_inputs
from transforms.methodology import RESERVED_IDS, MethodologyError, compile_indicators, load_all
from transforms.rating_expression import (
    FUNCTIONS,
    MAX_DEPTH,
    RATING_BASE_COLUMNS,
    Binary,
    Call,
    Column,
    ExpressionError,
    Negate,
    Number,
    columns_of,
    parse,
    quote_identifier,
    to_sql,
)

NOT_SCORED = ("org_id", "month", "region_code", "rating_group", "kind")  # keys and text: never in arithmetic
MONTH = date(2025, 11, 1)


def test_columns_are_the_numeric_columns_of_the_contract() -> None:
    contract = yaml.safe_load((settings.project_home() / "config" / "mart_contract.yaml").read_text("utf-8"))
    columns = list(contract["tables"]["rating_base"]["columns"])
    assert [c for c in columns if c not in NOT_SCORED] == list(RATING_BASE_COLUMNS)


def test_columns_are_the_numeric_columns_of_the_warehouse(warehouse) -> None:
    migrate(warehouse)
    rows = warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'mart' AND table_name = 'rating_base' ORDER BY ordinal_position"
    )
    numeric = [r["column_name"] for r in rows if re.match(r"(?i)integer|double|bigint", r["data_type"])]
    assert numeric == list(RATING_BASE_COLUMNS)
    assert {r["column_name"] for r in rows} - set(numeric) == set(NOT_SCORED)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("satisfied_share", Column("satisfied_share")),
        ("1 - formal_share", Binary("-", Number(1.0), Column("formal_share"))),
        ("1 - 2 - 3", Binary("-", Binary("-", Number(1.0), Number(2.0)), Number(3.0))),  # left to right
        ("1 + 2 * 3", Binary("+", Number(1.0), Binary("*", Number(2.0), Number(3.0)))),  # * before +
        ("(1 + 2) * 3", Binary("*", Binary("+", Number(1.0), Number(2.0)), Number(3.0))),
        ("-pages / 2", Binary("/", Negate(Column("pages")), Number(2.0))),
        ("- -pages", Negate(Negate(Column("pages")))),
        ("least(pages, .5)", Call("least", (Column("pages"), Number(0.5)))),
        ("abs(coalesce(pages, 0))", Call("abs", (Call("coalesce", (Column("pages"), Number(0.0))),))),
    ],
)
def test_parse_builds_the_tree(text: str, tree) -> None:
    assert parse(text) == tree


def test_sql_is_written_from_the_tree() -> None:
    assert to_sql(parse("1 - im_overdue_share")) == (
        '(CAST(1.0 AS DOUBLE PRECISION) - CAST("im_overdue_share" AS DOUBLE PRECISION))'
    )
    assert to_sql(parse("incidents / pages")) == (
        '(CAST("incidents" AS DOUBLE PRECISION) / NULLIF(CAST("pages" AS DOUBLE PRECISION), 0))'
    )
    assert to_sql(parse("greatest(-pages, 0.000001)")) == (
        'GREATEST((- CAST("pages" AS DOUBLE PRECISION)), CAST(1e-06 AS DOUBLE PRECISION))'
    )
    assert columns_of(parse("least(pages, incidents) / pages")) == {"pages", "incidents"}


def test_sql_refuses_trees_the_parser_would_never_build() -> None:
    for node in (
        Column('x" FROM restricted.incident_text --'),
        Number(float("inf")),
        Number(-1.0),
        Call("pg_sleep", (Number(1.0),)),
        Binary("||", Number(1.0), Number(2.0)),
    ):
        with pytest.raises((ExpressionError, ValueError)):
            to_sql(node)
    with pytest.raises(ValueError):
        quote_identifier('a"b')


def test_nesting_is_bounded_exactly() -> None:
    assert parse("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == Number(1.0)
    with pytest.raises(
        ExpressionError, match=f"nesting deeper than {MAX_DEPTH} levels at position {MAX_DEPTH + 1}"
    ):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))


def test_the_leftmost_fault_is_named_with_its_position() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("satisfied_share + message_text ; '")
    assert str(caught.value).startswith("unknown column 'message_text' at position 19; ")
    assert "columns of mart.rating_base are " in str(caught.value)


_SAFE_SQL = re.compile(
    r'(?:\s+|CAST\(|AS DOUBLE PRECISION\)|NULLIF\(|, 0\)|[0-9.e+-]+|"[a-z_][a-z0-9_]*"|[()*/,]|'
    + "|".join(f"{f.upper()}\\(" for f in FUNCTIONS)
    + r")+"
)


def test_seeded_fuzz_either_refuses_or_writes_only_allowed_sql() -> None:
    """3,000 random strings of language and SQL fragments: refused, or SQL of allowed tokens only."""
    pieces = [
        "satisfied_share", "pages", "1", "0.5", "(", ")", "+", "-", "*", "/", ",", " ", "least(", "abs(",
        "--", "/*", ";", "'", '"', ".", "select", "restricted", "pg_sleep(", "e", "\u0441", "\n", ":", "$",
    ]  # fmt: skip
    rng = random.Random(20)
    accepted = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        try:
            sql = to_sql(parse(text))
        except ExpressionError:
            continue
        accepted += 1
        assert _SAFE_SQL.fullmatch(sql), (text, sql)
        assert not any(bad in sql for bad in ("--", "/*", ";", "'")), (text, sql)
    assert accepted > 50  # the fuzz reaches valid expressions too


def _random_base(rng: np.random.Generator, n: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "org_id": [f"org{i:03d}" for i in range(n)],
            "month": [MONTH] * n,
            "region_code": ["58"] * n,
            "rating_group": rng.choice(["A", "B"], n),
            "kind": rng.choice(["ОИВ", "ОМСУ"], n),
        }
    )
    counts = ("incidents", "incidents_im", "incidents_pos", "answers_assessed", "pages")
    counts += ("rated", "im_rated", "pos_rated", "pages_all_networks")
    for column in RATING_BASE_COLUMNS:
        if column in counts:
            frame[column] = rng.integers(0, 200, n)
        else:
            values = rng.random(n) * rng.choice([1, 100, 1000])
            frame[column] = np.where(rng.random(n) < 0.2, np.nan, values)
    return frame


def test_presets_give_the_values_of_their_former_sql(warehouse) -> None:
    """Each preset's expression inputs equal those of its expression pasted as SQL, as before
    the language existed (done here only, with the project's own trusted presets)."""
    migrate(warehouse)
    warehouse.bulk_load("mart.rating_base", _random_base(np.random.default_rng(7), 60))
    for methodology in load_all(settings.project_home()).values():
        expressions = [i for i in methodology.indicators if i.measure is None]
        values = ", ".join(f"({i.expression}) AS {i.id}" for i in expressions)
        former = warehouse.query_df(
            f"SELECT {', '.join(RESERVED_IDS)}, {values} FROM mart.rating_base "
            "WHERE month = :month ORDER BY org_id",
            {"month": MONTH},
        )
        inputs = rating_inputs(warehouse, methodology, MONTH)
        # the expressions' values as their former SQL gave them; measures join from the timing
        pd.testing.assert_frame_equal(inputs[former.columns], former, check_exact=True)
        assert list(inputs.columns) == [*former.columns, *(i.id for i in methodology.measures())]
        again = rating_inputs(warehouse, methodology, MONTH)
        assert fingerprint(methodology, again) == fingerprint(methodology, inputs)
        assert inputs[former.columns].drop(columns=["org_id", "rating_group"]).notna().any().all()


def test_a_column_missing_from_the_warehouse_is_named_before_any_sql(warehouse) -> None:
    migrate(warehouse)
    warehouse.execute("DROP VIEW mart_ru.rating_base")  # it reads the column (PostgreSQL refuses the drop)
    warehouse.execute("ALTER TABLE mart.rating_base DROP COLUMN photo_video_share")
    samara = load_all(settings.project_home())["samara-2022"]
    with pytest.raises(
        MethodologyError, match=re.escape("indicators[2].expression reads ['photo_video_share']")
    ):
        rating_inputs(warehouse, samara, MONTH)
    assert [c.name for c in compile_indicators(samara)] == [
        '"regularity"',
        '"visuals"',
        '"engagement"',
        '"comments"',
    ]
