"""The stock phrases a report card prints hold no citizen's words (review finding B1, 152-ФЗ).

The answer-quality rules have free spans of words (``обращени\\w*(?: \\w+){0,6}? рассмотрен…``):
the evidence they keep in ``restricted.answer_quality_evidence`` is the whole match, and a name
or an address the answer put inside a span is part of it. A card prints each phrase in its public
form: the words the rule's fixed alternatives supply, each run of words a free span matched as
«…». The restricted evidence stays as it is."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pandas as pd
import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from tests import test_publication
from tests.publication_region import publish_region, seed_publication_region

# Words of citizens that answers put inside the rules' free spans (a name, a patronymic, a street).
CITIZENS = ("анна петровна", "петровна", "иван иванович", "иванович", "садовой")


@pytest.mark.parametrize(
    ("answer", "flag", "shown"),
    [
        ("Ваше обращение, Анна Петровна, рассмотрено.", "formal", "обращение … рассмотрено"),
        ("Ваше обращение по улице садовой рассмотрено.", "formal", "обращение … рассмотрено"),
        (
            "Переслали ваше обращение, Иван Иванович, в управляющую компанию.",
            "redirect",
            "переслали … в управляющую",
        ),
        ("Ваше обращение рассмотрено.", "formal", "обращение рассмотрено"),
        ("Информация принята к сведению.", "formal", "принята к сведению"),
        ("Вопрос не входит в компетенцию, обратитесь в управляющую компанию.", "redirect", "обратитесь в"),
    ],
)
def test_a_phrase_is_published_with_the_rules_words_only(answer: str, flag: str, shown: str) -> None:
    from transforms.answer_quality import assess_with_evidence, public_phrase

    evidence = assess_with_evidence(answer).evidence[flag]
    assert evidence, answer
    public = [public_phrase(phrase, flag) for phrase in evidence]
    assert shown in public, public
    printed = " ".join(p for p in public if p)
    assert not [word for word in CITIZENS if word in printed], printed


def test_the_restricted_evidence_keeps_the_whole_match() -> None:
    """What the marts keep for staff with access is unchanged: only the card's form is cut."""
    from transforms.answer_quality import assess_with_evidence

    assessment = assess_with_evidence("Ваше обращение, Анна Петровна, рассмотрено.")
    assert assessment.evidence["formal"] == ["обращение анна петровна рассмотрено"]


def test_a_phrase_no_rule_matches_whole_is_not_published() -> None:
    """Evidence the present rules do not match from end to end (rules edited since the month was
    built) is left out rather than printed as it stands."""
    from transforms.answer_quality import public_phrase

    assert public_phrase("анна петровна", "formal") is None
    assert public_phrase("обращение анна петровна", "formal") is None


# -- the published revision (both engines) --------------------------------------------------------


publication_lake = test_publication.local_lake  # a local lake, a frozen clock


@pytest.fixture
def local_lake(publication_lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> LocalLake:
    """The publication tests' lake; no PDFs (the cards are what is read)."""
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")
    return publication_lake


def published_texts(lake: LocalLake, root: str) -> dict[str, str]:
    """Every file of the revision as text; the XLSX's parts one by one."""
    texts: dict[str, str] = {}
    for obj in lake.list(f"{root}/"):
        name, data = obj.key[len(root) + 1 :], lake.get_bytes(obj.key)
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for part in archive.namelist():
                    texts[f"{name}:{part}"] = archive.read(part).decode("utf-8", "replace")
        else:
            texts[name] = data.decode("utf-8-sig", "replace")
    return texts


def test_no_published_file_holds_a_citizens_words(warehouse: Warehouse, local_lake: LocalLake) -> None:
    seed_publication_region(warehouse)
    answers = warehouse.query(
        "SELECT source, incident_id FROM core.fct_incident_timing "
        "WHERE org_id = 'org-00' AND NOT formal AND NOT redirect ORDER BY source, incident_id"
    )
    matched = [  # what the rules keep when an answer names the citizen or the street
        ("formal", "обращение анна петровна рассмотрено"),
        ("formal", "обращение иван иванович рассмотрено"),
        ("formal", "обращение по улице садовой рассмотрено"),
        ("redirect", "переслали ваше обращение иван иванович в управляющую"),
    ]
    evidence = pd.DataFrame(
        [
            {
                "source": a["source"],
                "incident_id": a["incident_id"],
                "month": date(2025, 11, 1),
                "flag": flag,
                "evidence": text,
            }
            for a, (flag, text) in zip(answers, matched, strict=False)
        ]
    )
    assert len(evidence) == len(matched)
    warehouse.bulk_load("restricted.answer_quality_evidence", evidence)

    result = publish_region()
    texts = published_texts(local_lake, result["path"])
    leaks = [(name, word) for name, text in texts.items() for word in CITIZENS if word in text.lower()]
    assert not leaks, leaks

    (card_name,) = [name for name in texts if name.startswith("cards/") and name.endswith("--org-00.html")]
    card = " ".join(re.sub(r"<[^>]+>", " ", texts[card_name]).split())
    assert "«обращение … рассмотрено» (3)" in card  # three answers, one phrase: not counted apart by name
    assert "«переслали … в управляющую» (1)" in card
    assert "на месте слов из текста ответа" in card  # what «…» stands for
    kept = {r["evidence"] for r in warehouse.query("SELECT evidence FROM restricted.answer_quality_evidence")}
    assert {text for _, text in matched} <= kept  # the restricted evidence as it was
