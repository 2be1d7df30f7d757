"""The bulk path of the answer assessments (``transforms.answer_quality._assess_bulk``, behind
``assess_distinct`` / ``submit_distinct`` and the workers' chunks) equals the one-text-at-a-time code
it replaced (``tests/answer_quality_reference.py``): the same flags and evidence, in the same order,
for generated sandbox answers, edge texts, phrases cut at every place between two joined texts,
random texts, and rules with patterns that cannot run over joined texts."""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import answer_quality_reference as reference
from tests.test_answer_templates_parity import EDGES, generated_answers, random_texts
from transforms import answer_quality
from transforms.answer_quality import AnswerQualityRules, assess_distinct, load_rules

PHRASES = [
    "Ваше обращение рассмотрено.",
    "обращение не рассмотрено",
    "Информация принята к сведению",
    "Рекомендуем обратиться в министерство здравоохранения",
    "обращаться в УК не нужно",
    "Вопрос не входит в компетенцию администрации",
    "Бригада выехала, яму заделали до 15 мая.",
    "будет выполнен ремонт",
    "Звоните: 8 (8412) 56-78-90, пишите info@adm.ru или https://gov.ru/x",
    "по адресу ул. Ленина, д. 5",
    "в 14:00 во втором квартале 2026 г.",
    "обращение от 12.11.2025 № 4512, ст. 12 Федерального закона № 59-ФЗ",
    "Здравствуйте, Иван! Спасибо, приносим извинения.",
    "Ирина Петровна, понимаем ваше беспокойство",
    "Добрый день, Андрей!",
    "«Здравствуйте, когда уберут снег?»",
]
CONTROL = ["\x00", "x\x00y", "\x01\x02", "\x1c\x1d\x1e\x1f", "\x85", "\xa0", "\u2028", "\r\n", "\t\v\f"]


def _same(texts: list[str | None], rules: AnswerQualityRules) -> None:
    expected = [reference.assess_with_evidence(text, rules) for text in texts]
    got = answer_quality._assess_bulk(texts, rules)
    for text, want, have in zip(texts, expected, got, strict=True):
        assert have == want, repr(text)


def edge_texts() -> list[str | None]:
    texts: list[str | None] = [t if t is None or isinstance(t, str) else str(t) for t in EDGES]
    texts += ["", " ", "  \n\t ", '"', "«", "»", "« »", '""', "„“", "“”", "«Здравствуйте»", *CONTROL]
    texts += [p for phrase in PHRASES for p in (phrase, phrase.lower(), phrase.upper(), f"«{phrase}»")]
    texts += [" ".join(PHRASES) * 40, "а" * 50_000, "1" * 5_000, "Здравствуйте " * 2_000]
    return texts


def cut_phrases() -> list[str | None]:
    """Each phrase cut at every character, its halves as consecutive texts (and the other way round):
    a phrase found across two joined texts would change the evidence of one of them."""
    texts: list[str | None] = []
    for phrase in PHRASES:
        for at in range(len(phrase) + 1):
            texts += [phrase[:at], phrase[at:], phrase[at:] + " " + phrase[:at]]
    return texts


def test_generated_sandbox_answers() -> None:
    answers = generated_answers(6_000, seed=11)["answer_text"].tolist()
    _same([a if a is None or isinstance(a, str) else str(a) for a in answers], load_rules())


def test_edge_texts_and_control_characters() -> None:
    _same(edge_texts(), load_rules())


def test_no_phrase_is_found_across_two_joined_texts() -> None:
    _same(cut_phrases(), load_rules())


def test_random_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answer_quality, "_BULK_TEXTS", 97)  # many batches, cut anywhere
    rnd = random.Random(5)
    words = [*" ".join(PHRASES).split(), "не", "в", "к", "\x00", "«", "»", "İ", "ſ", "ᲀ", "Σ", "K"]
    texts: list[str | None] = [str(t) for t in random_texts(3_000, seed=6)]
    texts += [" ".join(rnd.choices(words, k=rnd.randint(0, 30))) for _ in range(3_000)]
    _same(texts, load_rules())


def test_distinct_texts_in_chunks_as_the_workers_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answer_quality, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(answer_quality, "PARALLEL_CHUNK_TEXTS", 37)
    rules = load_rules()
    texts = edge_texts() + cut_phrases()
    with ThreadPoolExecutor(1) as pool:
        assessed = assess_distinct(texts, rules, executor=pool)
    assert list(assessed) == list(dict.fromkeys(texts))
    assert all(assessed[t] == reference.assess_with_evidence(t, rules) for t in assessed)


LOOSE_RULES = """
formal:
  - '^ваше обращение'
  - 'рассмотрен.'
  - '[^а-я ]принят\\w*'
  - 'сведению$'
  - pattern: 'обратит\\w*(?! в)'
    unless_after: 'нужно'
redirect:
  - '(?<=в )министерств\\w*'
  - 'в (?!нам)\\w+'
politeness:
  greeting: ['здравствуй\\w*', '^добрый']
  thanks: ['спасибо\\b']
first_names: Иван Анна
specifics:
  references: ['№\\s*\\S+']
  date: ['ıke', 'ik\\w+', 'stop\\w*', 'вода\\b', 'Сегодня$', '\\d{1,2} мая']
  time: ['\\d\\d:\\d\\d', '(?<=ъ)\\d*']
  contact: ['\\S+@\\S+', '8 \\(\\d+\\) [\\d-]+']
  place: ['\\bул\\. [А-Я]\\w+', '(?i:по адресу).{3}']
  number: ['\\d+']
  step: ['выехал\\w*', 'заделали$']
  step_blockers: '\\bне\\b'
"""


def test_rules_with_anchors_and_negated_classes(tmp_path: Path) -> None:
    """Patterns a region might write that NUL or a text's edge would change (``^ $ . \\S [^…]``,
    look-arounds, letters with several cases) run on each text alone and still give the same; one
    that matches nothing (``(?<=ъ)\\d*``: at a text's end too) runs joined."""
    path = tmp_path / "loose.yaml"
    path.write_text(LOOSE_RULES, encoding="utf-8")
    rules = load_rules(path)
    texts = edge_texts() + cut_phrases()
    texts += ["İkea", "ikea", "ſtop", "STOP", "ᲀода", "Вода", "СЕГОДНЯ", "сегодня", "Kelvin", "K", "ΑΣ Σ"]
    texts += ["подъ", "съ", "ъ", "ъ1", "", "ъ", "въезд", "ъ"]
    _same(texts, rules)


@pytest.mark.slow
def test_bulk_and_per_text_cpu_benchmark() -> None:
    """A benchmark, not a timed assertion: CPU (``time.process_time``) of the distinct texts of
    generated answers, per text and in bulk (``pytest -s -k cpu_benchmark``; 100k answers with
    ``AQ_BENCH_ANSWERS=100000``)."""
    answers = generated_answers(int(os.environ.get("AQ_BENCH_ANSWERS", "20000")), seed=29)["answer_text"]
    texts = [a if a is None or isinstance(a, str) else str(a) for a in answers.tolist()]
    rules = load_rules()
    answer_quality._assess_bulk(texts[:100], rules)  # the patterns' scans are worked out once
    start = time.process_time()
    expected = [reference.assess_with_evidence(text, rules) for text in dict.fromkeys(texts)]
    per_text = time.process_time() - start
    start = time.process_time()
    assessed = assess_distinct(texts, rules)
    bulk = time.process_time() - start
    print(f"\n{len(texts)} answers, {len(assessed)} distinct: per text {per_text:.2f} s, bulk {bulk:.2f} s")
    assert list(assessed.values()) == expected
