"""Hostile configuration (issue 20, finding 3): methodology expressions cannot reach beyond the
language of ``transforms.rating_expression``.

Every hostile expression is refused when its methodology is loaded, with the file, the indicator
and the position; and ``rating_inputs`` refuses it again when handed an indicator that never went
through the loader, on both engines, before any SQL runs — a citizen's message in ``restricted``
never reaches ``mart.rating_indicator``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from gospublic.infra.migrations import migrate
from gospublic.rating.snapshot import rating_inputs
from transforms.methodology import Methodology, MethodologyError, load_methodology

SECRET = "Секретный текст обращения гражданина 4815162342"
MONTH = date(2025, 11, 1)

METHODOLOGY = """
id: hostile
version: 1
title: Тест
groups: {by: all}
indicators:
  - {id: probe, caption: "Проба", expression: satisfied_share, direction: higher,
     scoring: {type: linear, worst: 0, best: 1}, weight: 1, required: false}
"""

# (expression, what the refusal says). Each is a way SQL or another table could be reached, a way
# the old filter was fooled, or input that must fail clearly rather than deep in the engine.
HOSTILE: list[tuple[str, str]] = [
    # the finding: text of restricted read through query_to_xml, the filter split by concat
    (
        "query_to_xml(concat('sel','ect message_text fr','om restricted.incident_text'), true, true, '')",
        "unknown function 'query_to_xml'",
    ),
    (
        "length(CAST(query_to_xml(concat('sel', 'ect 1'), true, true, '') AS text))",
        "unknown function 'length'",
    ),
    ("pg_sleep(0.05)", "unknown function 'pg_sleep'"),
    ("satisfied_share + pg_sleep(0.05)", "unknown function 'pg_sleep' at position 19"),
    ("PG_SLEEP(1)", "unknown function 'PG_SLEEP'"),
    ("current_setting('is_superuser')", "unknown function 'current_setting'"),
    ("version()", "unknown function 'version'"),
    # comments and statements
    ("satisfied_share -- the rest is a comment", "'--' is not allowed"),
    ("1 --1", "'--' is not allowed at position 3"),
    ("satisfied_share -- \n + 1", "'--' is not allowed"),
    ("satisfied_share /* hidden */", "'/*' is not allowed"),
    ("satisfied_share */", "'*/' is not allowed"),
    ("1; DROP TABLE core.dim_org", "';' at position 2; one expression, not statements"),
    ("satisfied_share;", "one expression, not statements"),
    ("satisfied_share; SELECT message_text FROM restricted.incident_text", "one expression, not statements"),
    # literals, quoting and parameters
    ("'1'", "position 1; string literals are not allowed"),
    ("satisfied_share + '0'", "string literals are not allowed"),
    ("e'\\x27'", "string literals are not allowed"),
    ("$$1$$", "unexpected character '$'"),
    ('"satisfied_share"', "quoted identifiers are not allowed"),
    ('"restricted"."incident_text"', "quoted identifiers are not allowed"),
    ('U&"\\0061"', "unexpected character '&'"),
    (":month", "unexpected character ':'"),
    ("satisfied_share::text", "unexpected character ':'"),
    # other tables, schema-qualified names, columns that are not numbers of rating_base
    ("restricted.incident_text", "qualified name 'restricted.incident_text' is not allowed"),
    ("mart.rating_base.satisfied_share", "qualified name"),
    ("rating_base.satisfied_share", "qualified name"),
    ("message_text", "unknown column 'message_text' at position 1"),
    ("satisfied_share + message_text", "unknown column 'message_text' at position 19"),
    ("org_id", "unknown column 'org_id'"),
    ("region_code", "unknown column 'region_code'"),
    ("month", "unknown column 'month'"),
    ("(select 1)", "unknown column 'select'"),
    ("CASE WHEN 1 = 1 THEN 1 END", "unknown column 'CASE'"),
    ("Satisfied_Share", "did you mean 'satisfied_share'?"),
    # operators outside the language
    ("satisfied_share || 'x'", "unexpected character '|'"),
    ("satisfied_share > 0.5", "unexpected character '>'"),
    ("satisfied_share = 1", "unexpected character '='"),
    ("2 ^ 10", "unexpected character '^'"),
    ("7 % 2", "unexpected character '%'"),
    ("+satisfied_share", "expected a number, a column, a function or '('"),
    # Unicode lookalikes and invisible characters
    ("сatisfied_share", "U+0441 CYRILLIC SMALL LETTER ES"),  # Cyrillic с
    ("satisfied_sharе", "U+0435 CYRILLIC SMALL LETTER IE"),  # Cyrillic е at the end
    ("１ - formal_share", "U+FF11 FULLWIDTH DIGIT ONE"),
    ("1\u00a0- formal_share", "U+00A0 NO-BREAK SPACE"),
    ("satisfied_share\u200b", "U+200B ZERO WIDTH SPACE"),
    ("satisfied_share\u037e 1", "U+037E GREEK QUESTION MARK"),  # looks like ';'
    ("1 \u2212 formal_share", "U+2212 MINUS SIGN"),
    ("satisfied_share\x00", "U+0000"),
    # sizes: recursion, length, numbers
    ("(" * 200 + "satisfied_share" + ")" * 200, "nesting deeper than 20 levels"),
    ("- " * 50 + "1", "nesting deeper than 20 levels"),
    ("abs(" * 30 + "1" + ")" * 30, "nesting deeper than 20 levels"),
    (" + ".join(["satisfied_share"] * 40), "longer than 500 characters"),
    (" + ".join(["1"] * 120), "more than 100 parts"),
    ("99999999999999999999999", "more than 15 digits"),
    ("1e309", "malformed number '1e309'"),
    ("1e5", "malformed number"),
    ("0x10", "malformed number"),
    ("1.2.3", "malformed number"),
    # broken structure
    ("abs(1, 2)", "abs takes 1 argument, not 2"),
    ("least()", "expected a number, a column, a function or '(', found ')'"),
    ("(satisfied_share", "expected ')' closing the '(' at position 1"),
    ("satisfied_share)", "expected an operator or the end, found ')'"),
    ("satisfied_share formal_share", "expected an operator or the end, found 'formal_share'"),
    ("", "the expression is empty"),
]


def write(tmp_path: Path, expression: str) -> Path:
    text = METHODOLOGY.replace("expression: satisfied_share", f"expression: {_yaml(expression)}")
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _yaml(text: str) -> str:
    """``text`` as a double-quoted YAML scalar, every character escaped as YAML reads it back."""
    return '"' + "".join(c if c.isalnum() or c in " _" else f"\\U{ord(c):08x}" for c in text) + '"'


def test_the_hostile_list_is_long_and_distinct() -> None:
    assert len(HOSTILE) >= 30
    assert len({e for e, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(("expression", "reason"), HOSTILE, ids=[f"h{n:02d}" for n in range(len(HOSTILE))])
def test_hostile_expression_is_refused_on_load_naming_file_indicator_and_place(
    tmp_path: Path, expression: str, reason: str
) -> None:
    path = write(tmp_path, expression)
    with pytest.raises(MethodologyError) as caught:
        load_methodology(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: indicators[1].")
    assert reason in message


VALID: list[tuple[str, list[float | None]]] = [
    # rows a and b of the seeded month (see seed_month) → the expected value of each
    ("satisfied_share", [0.8, None]),
    ("1 - formal_share", [0.75, 0.5]),
    ("incidents / pages", [2.5, None]),  # no integer division; ÷ 0 → NULL
    ("incidents / 4", [2.5, 1.25]),
    ("1 / im_answer_hours_mean", [0.2, None]),  # ÷ 0.0 → NULL (not an error, not infinity)
    ("1 / overdue_share", [None, 10.0]),  # ÷ NULL → NULL
    ("-formal_share * 2", [-0.5, -1.0]),
    ("- -formal_share", [0.25, 0.5]),
    ("least(satisfied_share, 0.5)", [0.5, 0.5]),  # NULL ignored, as on both engines
    ("greatest(overdue_share, formal_share)", [0.25, 0.5]),
    ("coalesce(overdue_share, 0)", [0.0, 0.1]),
    ("abs(formal_share - 1)", [0.75, 0.5]),
    ("nullif(pages, 0)", [4.0, None]),
    ("(incidents + pages) * 0.5", [7.0, 2.5]),
    ("incidents - pages", [6.0, 5.0]),
    ("2 * 3 - 4 / 8", [5.5, 5.5]),
    ("1 - 2 - 3", [-4.0, -4.0]),
    ("8 / 4 / 2", [1.0, 1.0]),
    (".5 + 0.25", [0.75, 0.75]),
    ("  satisfied_share\n + 0 ", [0.8, None]),
    ("((((((((((1))))))))))", [1.0, 1.0]),
    ("123456789012345 - 123456789012344", [1.0, 1.0]),
]


def seed_month(warehouse) -> None:
    migrate(warehouse)
    base = pd.DataFrame(
        {
            "org_id": ["a", "b"],
            "month": [MONTH, MONTH],
            "region_code": ["58", "58"],
            "rating_group": ["G", "G"],
            "incidents": [10, 5],
            "incidents_im": [10, 5],
            "incidents_pos": [0, 0],
            "answers_assessed": [10, 5],
            "pages": [4, 0],
            "satisfied_share": [0.8, None],
            "formal_share": [0.25, 0.5],
            "overdue_share": [None, 0.1],
            "im_answer_hours_mean": [5.0, 0.0],
        }
    )
    warehouse.bulk_load("mart.rating_base", base)
    warehouse.bulk_load(
        "restricted.incident_text",
        pd.DataFrame(
            {
                "source": ["im"],
                "incident_id": ["1"],
                "load_id": ["x"],
                "url": [None],
                "message_text": [SECRET],
            }
        ),
    )


def probing(methodology: Methodology, expression: str) -> Methodology:
    """``methodology`` with its indicator's expression replaced, as if the loader had been bypassed."""
    (indicator,) = methodology.indicators
    return dataclasses.replace(
        methodology, indicators=(dataclasses.replace(indicator, expression=expression),)
    )


def test_rating_inputs_refuse_hostile_expressions_before_any_sql(warehouse, tmp_path: Path) -> None:
    seed_month(warehouse)
    methodology = load_methodology(write(tmp_path, "satisfied_share"))
    started = time.monotonic()
    leaked, accepted = [], []
    for expression, _reason in HOSTILE:
        try:
            frame = rating_inputs(warehouse, probing(methodology, expression), MONTH)
        except MethodologyError as exc:
            assert re.search(r"indicators\[1\]\.expression: ", str(exc)), exc
            continue
        accepted.append(expression)
        if SECRET in frame.to_csv():
            leaked.append(expression)
    assert not leaked and not accepted
    assert time.monotonic() - started < 30  # no pg_sleep ran (loose: only a gross delay fails)


@pytest.mark.parametrize("bad_id", ["Probe", "select", "probe; drop", 'probe"', "проба", "p" * 64])
def test_indicator_ids_are_plain_lower_case_names(tmp_path: Path, bad_id: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(METHODOLOGY.replace("id: probe", f"id: {_yaml(bad_id)}"), encoding="utf-8")
    if bad_id == "select":  # a reserved word is fine: the result column is quoted
        assert load_methodology(path).indicators[0].id == "select"
        return
    with pytest.raises(MethodologyError, match=re.escape("indicators[1].id")):
        load_methodology(path)


def test_valid_expressions_give_the_same_values_on_both_engines(warehouse, tmp_path: Path) -> None:
    seed_month(warehouse)
    methodology = load_methodology(write(tmp_path, "satisfied_share"))
    indicators = tuple(
        dataclasses.replace(methodology.indicators[0], id=f"v{n}", expression=expression)
        for n, (expression, _) in enumerate(VALID)
    )
    for expression, _ in VALID:  # each also loads
        assert load_methodology(write(tmp_path, expression)).indicators[0].expression == expression
    # one indicator named like a reserved word: its result column is quoted
    indicators += (dataclasses.replace(methodology.indicators[0], id="select", expression="pages"),)
    frame = rating_inputs(warehouse, dataclasses.replace(methodology, indicators=indicators), MONTH)
    assert frame["org_id"].tolist() == ["a", "b"]
    assert frame["select"].tolist() == [4.0, 0.0]
    for n, (expression, expected) in enumerate(VALID):
        column = frame[f"v{n}"]
        assert column.dtype == "float64", expression
        got = [None if v is None or math.isnan(v) else v for v in column.tolist()]
        assert got == pytest.approx(expected, abs=1e-12), expression


HOSTILE_METHODOLOGY_IDS = [
    "../../publish/x",
    "x'; DROP TABLE mart.rating_snapshot; --",
    "Penza-2025",
    "пенза",
    "a" * 64,
]


@pytest.mark.parametrize(
    "bad_id", HOSTILE_METHODOLOGY_IDS, ids=[f"m{n}" for n in range(len(HOSTILE_METHODOLOGY_IDS))]
)
def test_methodology_ids_are_plain_names(tmp_path: Path, bad_id: str) -> None:
    """The id goes into snapshot ids (bound, never pasted) and into lake paths of the publication."""
    path = tmp_path / "hostile.yaml"
    path.write_text(METHODOLOGY.replace("id: hostile", f"id: {_yaml(bad_id)}"), encoding="utf-8")
    with pytest.raises(MethodologyError, match=r"hostile\.yaml: id .* must be lower-case ASCII"):
        load_methodology(path)


HOSTILE_CONTRACT_NAMES = [
    ("rating_base:", "rating_base; DROP TABLE mart.rating_monthly; --:"),
    ("rating_base:", "'rating_base\" IS NULL; --':"),
    ('      org_id: {description: "body id"', "      'org_id IS NULL; --': {description: \"body id\""),
    ('      org_id: {description: "body id"', '      ORG_ID: {description: "body id"'),
]


@pytest.mark.parametrize(
    ("old", "new"), HOSTILE_CONTRACT_NAMES, ids=[f"c{n}" for n in range(len(HOSTILE_CONTRACT_NAMES))]
)
def test_contract_names_reaching_comment_on_are_plain_names(tmp_path: Path, old: str, new: str) -> None:
    from gospublic.infra import settings
    from gospublic.infra.mart_contract import ContractError, load_contract

    text = (settings.project_home() / "config" / "mart_contract.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mart_contract.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ContractError, match="must be a lower-case name"):
        load_contract(path)


HOSTILE_CAPTIONS = [
    "x'); DROP TABLE mart.rating_base; --",
    "O''Reilly '' ' ;",
    "$$ $tag$ /* */ --",
    "доля :month_start, 100 % %s %(x)s ?",  # parameter markers of SQLAlchemy and the drivers
]


def test_contract_texts_are_literals_on_both_engines(warehouse) -> None:
    """Captions with quotes, comments and dollar signs end up as the comment's text, nothing more."""
    from gospublic.infra.mart_contract import Column, ContractError, Table, apply_comments, comment_statements

    migrate(warehouse)
    for caption in HOSTILE_CAPTIONS:
        # the mart comments are the English meanings (captions are mart_ru's names, issue 27)
        table = Table("rating_base", "g", caption, "c", (Column("org_id", caption, "c"),))
        assert apply_comments(warehouse, [table]) == 2
        if warehouse.dialect == "duckdb":
            comment = warehouse.scalar(
                "SELECT comment FROM duckdb_columns() WHERE schema_name = 'mart' "
                "AND table_name = 'rating_base' AND column_name = 'org_id'"
            )
        else:
            comment = warehouse.scalar("SELECT col_description('mart.rating_base'::regclass, 1)")
        assert comment == caption
        assert warehouse.table_exists("mart.rating_base")
    for bad in ("a\\'; DROP TABLE mart.rating_base; --", "nul\x00"):
        with pytest.raises(ContractError, match="no backslash or NUL"):
            comment_statements([Table("rating_base", "g", bad, "c", ())])


def test_summary_counts_a_table_whatever_its_name(warehouse, lake, capsys) -> None:
    """``gospublic.cli summary`` reads table names from the catalog: they are quoted, not pasted."""
    from gospublic.cli import summary

    migrate(warehouse)
    hostile = "x; DROP TABLE mart.rating_base; --"
    warehouse.execute(f'CREATE TABLE mart."{hostile}" (n INTEGER)')
    warehouse.execute(f'INSERT INTO mart."{hostile}" VALUES (1), (2)')
    warehouse.close()  # DuckDB: one process holds the file; summary opens its own
    assert summary() == 0
    out = capsys.readouterr().out
    assert re.search(rf"mart\.{re.escape(hostile)}\s+2 rows", out), out
    assert re.search(r"mart\.rating_base\s+0 rows", out), out
    # mart_ru holds views only (generated from the contract): counted and listed as views
    views = re.search(r"schema mart_ru: 0 tables, (\d+) views", out)
    assert views and int(views.group(1)) > 0, out
    assert re.search(r"mart_ru\.rating_base \(view\)\s+0 rows", out), out
