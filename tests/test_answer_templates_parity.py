"""The vectorised template detection equals the one it replaced (tests/answer_templates_reference.py):
the same normalized texts, the same clusters, the same flags, on a generated month of answers and on
texts made to hit every pattern's edge (joined texts must not leak into each other)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from sandbox.generator.incident_texts import answer
from sandbox.generator.texts import FIRST_NAMES, STREETS
from tests.answer_templates_reference import template_roots as reference_roots
from transforms import answer_quality_templates as templates
from transforms.answer_quality_templates import flag_templates_frame, normalize_for_template

EDGES = [
    None, float("nan"), "", " ", "\t\n", "Да.", "Ок", "5", "ул.", "Ул.Ленина", "с. Ивановка", "пос.Лесной",
    "д.5 кв.12", "г.Пенза, корп.2, стр.1", "ст. Ленина", "прим. к ул. Мира", "на ул.", " Иван ответил",
    "Иван  Петров", "…  Анна", "сказал: Анна", "Ответ. Анна Петрова", "«Управление ЖКХ»",
    "\"ЖКХ\" и «Горсвет»",
    "„Дом“", "«" + "а" * 90 + "»", "info@adm.ru", "Пишите: https://gov.ru/x?y=1 и www.penza.рф", "site.com.",
    "адрес obl.su/а", "a.RU", "ΑΣ Σ", "İstanbul", "Ёлка, ёмкость", "5а 5аб 10-й 2025г.", "1 января, в мае",
    "Уважаемая Анна!", "уважаемые", "x\x00y", 42, "xname xq xnum", "ул. ул. ул.", "д. 5, д. 6, кв. 7",
    "Δ Kelvin \u212a", "Ⅻ век", "¹²³ ²", "e-mail: a-b.c+d@x-y.org", "http://", "://", "@", ".ru", "т.е. так",
]  # fmt: skip
ALPHABET = (
    list(" .,!?…:;-–\"«»“”„'@/")
    + list("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
    + list("АБВЕЁИКЛМНОПРСТУЯABCXYZabcxyz0123456789")
    + ["ул.", "Ул. ", "д.", "С.", "пр.", " Иван", "\n", ".ru", ".рф", "://", "https://", "@", "январь", "ё"]
)


def generated_answers(n: int, seed: int) -> pd.DataFrame:
    """Answers of a month as the sandbox writes them, with free texts and edge cases, in groups."""
    rnd = random.Random(seed)
    words = [
        "дорога",
        "ремонт",
        "двор",
        "снег",
        "уборка",
        "свет",
        "фонарь",
        "подъезд",
        "вода",
        "отопление",
        "мусор",
        "автобус",
    ]
    texts: list[object] = []
    for i in range(n):
        draw = rnd.random()
        if draw < 0.75:
            date = f"{rnd.randint(1, 28)}.{rnd.randint(1, 12)}.2025"
            texts.append(answer(rnd, rnd.choice(FIRST_NAMES), date).text)
        elif draw < 0.9:
            body = " ".join(rnd.choices(words, k=rnd.randint(3, 25)))
            texts.append(f"Здравствуйте! {body} {rnd.choice(STREETS)}, {i}.")
        else:
            texts.append(rnd.choice(EDGES))
    return pd.DataFrame(
        {
            "org_id": [f"org-{rnd.randrange(max(1, n // 150))}" for _ in texts],
            "source": [rnd.choice(["im", "pos"]) for _ in texts],
            "answer_text": texts,
        }
    )


def random_texts(n: int, seed: int) -> list[object]:
    rnd = random.Random(seed)
    return ["".join(rnd.choices(ALPHABET, k=rnd.randint(0, 40))) for _ in range(n)] + EDGES


def test_many_texts_normalize_as_each_alone() -> None:
    texts = random_texts(5_000, seed=3) + generated_answers(2_000, seed=4)["answer_text"].tolist()
    words = templates._normalize_many(texts)
    assert words.texts().tolist() == [normalize_for_template(text) for text in texts]  # type: ignore[arg-type]


def test_joined_batches_do_not_leak_into_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches: texts of one batch and of the next, web hints in some of them only."""
    monkeypatch.setattr(templates, "_JOIN_CHARS", 50)
    texts = random_texts(600, seed=5)
    assert templates._normalize_many(texts).texts().tolist() == [
        normalize_for_template(text)  # type: ignore[arg-type]
        for text in texts
    ]


@pytest.mark.parametrize(("seed", "threshold", "min_group"), [(1, 0.6, 3), (2, 0.4, 2), (3, 0.9, 3)])
def test_template_clusters_equal_the_reference(seed: int, threshold: float, min_group: int) -> None:
    frame = generated_answers(12_000, seed)
    groups = frame.groupby(["org_id", "source"], sort=False).ngroup().to_numpy(dtype=np.int64)
    expected = reference_roots(frame["answer_text"].tolist(), groups, min_group, threshold)
    roots = templates._template_roots(frame["answer_text"], groups, min_group, threshold)
    assert (expected >= 0).sum() > 1_000 and (expected < 0).sum() > 1_000  # both kinds are there
    assert np.array_equal(roots, expected)
    flags = flag_templates_frame(
        frame, group_columns=("org_id", "source"), min_group=min_group, threshold=threshold
    )
    assert flags.tolist() == (expected >= 0).tolist()


def test_near_duplicate_chains_cluster_as_the_reference() -> None:
    """Chains of similar answers (A~B~C, A≁C) join through union-find: components, not pairs."""
    rng = random.Random(0)
    vocab = ["".join(rng.choice("абвгдежзиклмнопрстуфхцчшэюя") for _ in range(7)) for _ in range(300)]
    rows = []
    for group in range(30):
        base = [rng.choice(vocab) for _ in range(24)]
        for _ in range(15):
            text = base[:]
            for i in rng.sample(range(24), rng.randint(0, 8)):
                text[i] = rng.choice(vocab)
            rows.append((group % 7, " ".join(text)))
    frame = pd.DataFrame(rows, columns=["group", "answer_text"])
    groups = frame["group"].to_numpy(dtype=np.int64)
    for threshold in (0.3, 0.5, 0.6, 0.8, 1.0, 1.5):
        expected = reference_roots(frame["answer_text"].tolist(), groups, 2, threshold)
        assert np.array_equal(templates._template_roots(frame["answer_text"], groups, 2, threshold), expected)


def test_no_answers_and_one_group_of_one() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert templates._template_roots([], empty, 3, 0.6).tolist() == []
    one = np.zeros(1, dtype=np.int64)
    assert (
        templates._template_roots(["Ответ"], one, 1, 0.6).tolist()
        == reference_roots(["Ответ"], one, 1, 0.6).tolist()
    )
