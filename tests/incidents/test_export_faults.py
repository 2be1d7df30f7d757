"""Issue 23 at the file level, without a warehouse: headers that differ from the aliases only in
the way they are written, unrecognised columns, CSV rows with the wrong number of fields, and
formats and encodings named for what they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.incident_spec import (
    FileRejectedError,
    header_key,
    load_spec,
    match_headers,
    unrecognised_columns,
)

SPEC = load_spec(Path(__file__).resolve().parents[2] / "config" / "incident_exports.yaml")
IM = SPEC.sources["im"]
POS = SPEC.sources["pos"]


# -- 1. headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("Удовлетворенность", "satisfaction"),  # ё written as е
        ("УДОВЛЕТВОРЁННОСТЬ", "satisfaction"),
        ("Оценка\u00a0ответа", "satisfaction"),  # a non-breaking space
        ("  Оценка   ответа: ", "satisfaction"),  # spaces and punctuation around
        ("«Оценка ответа»", "satisfaction"),  # quotes
        ("Дата первой реакции", "first_reaction_at"),
        ("Дата\u2011первой\u2011реакции", "first_reaction_at"),  # non-breaking hyphens vs spaces
        ("Ответ исполнителя", "answer_text"),
        ("Ответ\u00a0исполнителя.", "answer_text"),
    ],
)
def test_headers_match_whatever_their_case_yo_spaces_dashes_quotes_and_punctuation(
    written: str, field: str
) -> None:
    headers = ["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус", written]

    mapping = match_headers(headers, IM, "im_58_20251110.csv")

    assert mapping.get(5) == field, mapping


def test_dashes_of_every_kind_are_one_dash() -> None:
    assert header_key("Плановая дата ответа — срок") == header_key("плановая  дата ответа - срок")
    assert header_key("Плановая дата ответа – срок") == header_key("Плановая дата ответа ‐ срок")
    assert header_key("№ обращения") != header_key("обращения")  # № is a sign, kept


def test_unrecognised_columns_are_reported_with_the_closest_known_header() -> None:
    headers = [
        "ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель", "Статус",
        "Оценка отвта",  # misspelt: reported, closest known header named
        "Регион",  # a known extra column: not reported
        "Примечание",  # nothing close
        None,  # a column without a header
    ]  # fmt: skip

    mapping = match_headers(headers, IM, "im_58_20251110.csv")
    report = unrecognised_columns(headers, IM, mapping)

    assert 5 not in mapping
    assert [(c.position, c.header, c.closest) for c in report] == [
        (6, "Оценка отвта", "Оценка ответа"),
        (8, "Примечание", None),
        (9, "", None),
    ]
    assert report[0].describe() == "column 6 'Оценка отвта' (closest known: 'Оценка ответа')"
    assert report[1].describe() == "column 8 'Примечание'"
    assert report[2].describe() == "column 9 (no header)"


def test_pos_header_aliases_that_differ_in_yo_match_too() -> None:
    headers = ["№ обращения", "Дата подачи", "Категория", "Ответственный", "Статус", "Срок ответа", "Оценка"]

    mapping = match_headers(headers, POS, "pos_58_20251110.csv")

    assert mapping[6] == "satisfaction"
    assert unrecognised_columns(headers, POS, mapping) == []


def test_a_missing_required_column_still_rejects_the_file() -> None:
    with pytest.raises(FileRejectedError) as caught:
        match_headers(["ID инцидента", "Дата регистрации", "Соцсеть", "Исполнитель"], IM, "f.csv")
    assert caught.value.kind == "missing_column"
