"""Answer-quality flags: precision and recall on the hand-labelled set, tricky cases, templates.

The labelled set (tests/data/answer_quality_labeled.csv) has a ``dev`` split, used while the
rules were written, and a ``holdout`` split written after the first rules were frozen — its misses
then led to the second revision of the rules, so it is no longer blind. The blind set is now
tests/data/answer_quality_holdout2.csv, written by someone who never saw the rules. The 0.85 floor
is asserted on ``dev``; holdout numbers are printed (``pytest -s``) and recorded in
docs/answer-quality.md — asserting them would invite tuning the rules on them.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from transforms import answer_quality
from transforms.answer_quality import (
    FLAGS,
    assess,
    assess_distinct,
    assess_with_evidence,
    explain,
    flag_templates,
    flag_templates_frame,
    load_rules,
    normalize_for_template,
    template_groups,
)

LABELED = Path(__file__).parent / "data" / "answer_quality_labeled.csv"
BLIND = Path(__file__).parent / "data" / "answer_quality_holdout2.csv"
FLOOR = 0.85
COLUMNS = ["id", "text", "formal", "no_specifics", "impolite", "redirect", "template_group", "note", "split"]


@pytest.fixture(scope="module")
def labeled() -> pd.DataFrame:
    frame = pd.read_csv(LABELED, dtype={"template_group": str}, keep_default_na=False, encoding="utf-8")
    for flag in FLAGS:
        frame[flag] = frame[flag].astype(int).astype(bool)
    return frame


def _precision_recall(predicted: list[bool], gold: list[bool]) -> tuple[float, float, int, int, int]:
    tp = sum(p and g for p, g in zip(predicted, gold, strict=True))
    fp = sum(p and not g for p, g in zip(predicted, gold, strict=True))
    fn = sum(g and not p for p, g in zip(predicted, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, tp, fp, fn


def _flag_metrics(frame: pd.DataFrame) -> dict[str, tuple[float, float, int, int, int]]:
    predictions = [assess(text) for text in frame["text"]]
    metrics = {
        flag: _precision_recall([p[flag] for p in predictions], frame[flag].tolist()) for flag in FLAGS
    }
    gold_templates = [g != "" for g in frame["template_group"]]
    metrics["template"] = _precision_recall(flag_templates(frame["text"].tolist()), gold_templates)
    return metrics


def _print_metrics(title: str, metrics: dict[str, tuple[float, float, int, int, int]]) -> None:
    print(f"\n{title}")
    for flag, (precision, recall, tp, fp, fn) in metrics.items():
        print(f"  {flag:13s} precision={precision:.3f} recall={recall:.3f}  (tp={tp} fp={fp} fn={fn})")


# --- the labelled set itself


def test_labeled_set_is_well_formed(labeled: pd.DataFrame) -> None:
    assert list(labeled.columns) == COLUMNS
    assert len(labeled) >= 150
    assert labeled["id"].is_unique
    assert set(labeled["split"]) == {"dev", "holdout"}
    assert (labeled["split"] == "holdout").sum() >= 40
    assert labeled["text"].str.strip().ne("").all()
    for split, part in labeled.groupby("split"):
        for flag in FLAGS:  # both classes present, or precision and recall mean nothing
            assert part[flag].any() and not part[flag].all(), (split, flag)
        sizes = part.loc[part["template_group"] != "", "template_group"].value_counts()
        assert len(sizes) >= 2 and (sizes >= 3).all(), (split, sizes.to_dict())


# --- precision and recall


def test_dev_precision_and_recall_per_flag(labeled: pd.DataFrame) -> None:
    metrics = _flag_metrics(labeled[labeled["split"] == "dev"])
    _print_metrics("answer quality, dev split", metrics)
    for flag, (precision, recall, *_counts) in metrics.items():
        assert precision >= FLOOR, f"{flag}: precision {precision:.3f}"
        assert recall >= FLOOR, f"{flag}: recall {recall:.3f}"


def test_holdout_precision_and_recall_are_reported(labeled: pd.DataFrame) -> None:
    """Generalisation numbers: printed, not asserted (see the module docstring)."""
    metrics = _flag_metrics(labeled[labeled["split"] == "holdout"])
    _print_metrics("answer quality, holdout split (written after rules v1; rules v2 saw it)", metrics)
    assert set(metrics) == {*FLAGS, "template"}


def test_blind_holdout_precision_and_recall_are_reported() -> None:
    """60 answers labelled by someone who never saw the rules (no template groups in it)."""
    frame = pd.read_csv(BLIND, keep_default_na=False, encoding="utf-8")
    assert list(frame.columns) == ["id", "text", *FLAGS, "note"] and len(frame) == 60
    predictions = [assess(text) for text in frame["text"]]
    metrics = {
        flag: _precision_recall([p[flag] for p in predictions], frame[flag].astype(bool).tolist())
        for flag in FLAGS
    }
    _print_metrics("answer quality, blind holdout (answer_quality_holdout2.csv, rules v2)", metrics)
    for flag in FLAGS:
        assert frame[flag].isin([0, 1]).all() and 0 < frame[flag].sum() < len(frame), flag


def test_templates_found_across_the_whole_labeled_set(labeled: pd.DataFrame) -> None:
    """Both splits as one body-month: every labelled template group, and nothing else, is found."""
    groups = template_groups(labeled["text"].tolist())
    gold = labeled["template_group"].tolist()
    precision, recall, *_ = _precision_recall([g >= 0 for g in groups], [g != "" for g in gold])
    print(f"\ntemplates, whole labelled set: precision={precision:.3f} recall={recall:.3f}")
    assert precision >= FLOOR and recall >= FLOOR
    found_per_gold: dict[str, set[int]] = {}
    for found, label in zip(groups, gold, strict=True):
        if label:
            found_per_gold.setdefault(label, set()).add(found)
    assert all(len(found) == 1 for found in found_per_gold.values()), found_per_gold


# --- tricky cases of the definitions


@pytest.mark.parametrize(
    ("text", "flag", "expected"),
    [
        ("Здравствуйте. Ваше обращение не рассмотрено: не указан адрес.", "formal", False),
        ("Здравствуйте. Ваше обращение рассмотрено, информация принята к сведению.", "formal", True),
        ("ВАШЕ ОБРАЩЕНИЕ  РАССМОТРЕНО!!! Принято   к сведению.", "formal", True),
        ("Ваше обращение рассмотрено. Яму заделают до 15 мая.", "formal", False),
        ("Ваше обращение от 12.11.2025 № 4512 рассмотрено, вопрос на контроле.", "formal", True),
        ("Ваше обращение от 12.11.2025 № 4512 рассмотрено, вопрос на контроле.", "no_specifics", True),
        ("Рассмотрено в соответствии с Федеральным законом от 02.05.2006 № 59-ФЗ.", "no_specifics", True),
        ("Снег уберут в течение двух недель.", "no_specifics", False),
        ("Работы запланированы во втором квартале.", "no_specifics", False),
        ("Бригада выехала.", "no_specifics", False),
        ("Светильник будет заменён в ближайшее время.", "no_specifics", True),
        ("Ремонт не выполнен из-за погоды.", "no_specifics", True),
        ("Заменили 3 светильника.", "no_specifics", False),
        ("На ремонт выделено 500 тыс. рублей.", "no_specifics", False),
        ("Вопрос решим, звоните диспетчеру: 52-11-00.", "no_specifics", False),
        ("Адрес пункта: ул. Ленина, 5.", "no_specifics", False),
        ("Администрация Октябрьского района держит вопрос на контроле.", "no_specifics", True),
        ("Вы написали: «Здравствуйте, когда уберут снег?» Снег уберут до пятницы.", "impolite", True),
        ("Благодаря подрядчику свет восстановлен 2 ноября.", "impolite", True),
        ("С уважением, администрация. Свет восстановлен 2 ноября.", "impolite", True),
        ("Иван, свет восстановлен 2 ноября.", "impolite", False),
        ("Ирина Петровна, свет восстановлен 2 ноября.", "impolite", False),
        ("Сообщаем, что свет восстановлен 2 ноября.", "impolite", True),
        ("Добрый день! Свет восстановлен.", "impolite", False),
        ("Приносим извинения за задержку.", "impolite", False),
        ("Обратитесь к нам по телефону 52-11-00.", "redirect", False),
        ("Если не решится, обратитесь повторно.", "redirect", False),
        ("Обратите внимание на график вывоза.", "redirect", False),
        ("Обращаться в управляющую компанию не нужно: предписание уже выдано.", "redirect", False),
        ("Вопрос входит в компетенцию администрации, ремонт 5 мая.", "redirect", False),
        ("Вопрос не входит в компетенцию администрации.", "redirect", True),
        ("Рекомендуем обратиться в управляющую компанию.", "redirect", True),
        ("Ваше обращение направлено по принадлежности.", "redirect", True),
        ("Данный вопрос находится в ведении Минздрава области.", "redirect", True),
        ("Вам необходимо обратиться, пожалуйста, в МФЦ.", "redirect", True),
        ("Заявка передана подрядчику, ремонт до 20 мая.", "redirect", False),
    ],
)
def test_tricky_cases(text: str, flag: str, expected: bool) -> None:
    assert assess(text)[flag] is expected, explain(text)


def test_evidence_names_the_phrases() -> None:
    result = assess_with_evidence(
        "Ваше обращение рассмотрено. Вопрос не входит в компетенцию, рекомендуем обратиться в суд."
    )
    assert result.flags == {"formal": True, "no_specifics": True, "impolite": True, "redirect": True}
    assert "обращение рассмотрено" in result.evidence["formal"]
    assert "рекомендуем обратиться" in result.evidence["redirect"]
    assert result.evidence["no_specifics"] == [] and result.evidence["impolite"] == []

    concrete = assess_with_evidence("Здравствуйте! Ваше обращение рассмотрено, яму заделают до 15 мая.")
    assert not concrete.flags["formal"]
    assert concrete.stock_phrases == ["обращение рассмотрено"]
    assert "date: 15 мая" in concrete.evidence["no_specifics"]
    assert concrete.evidence["impolite"] == ["greeting: здравствуйте"]


@pytest.mark.parametrize("text", [None, "", "   ", "12345", "!!!"])
def test_degenerate_input_does_not_fail(text: str | None) -> None:
    flags = assess(text)
    assert set(flags) == set(FLAGS)
    assert flags["impolite"] and not flags["redirect"]


def test_rules_are_data_and_reloaded_when_edited(tmp_path: Path) -> None:
    default = load_rules()
    assert load_rules() is default  # compiled once, cached
    text = "Ваша заявка закрыта."
    assert not assess(text)["formal"]
    edited = tmp_path / "answer_quality.yaml"
    source = Path(default.source).read_text(encoding="utf-8")
    edited.write_text(source.replace("formal:\n", "formal:\n  - 'заявк\\w* закрыт\\w*'\n", 1), "utf-8")
    assert assess(text, load_rules(edited))["formal"]


def test_bad_pattern_is_reported_with_its_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("formal: ['(unclosed']\nredirect: []\npoliteness: {}\nspecifics: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\(unclosed"):
        load_rules(bad)


# --- templates


def test_normalization_hides_names_numbers_dates_and_addresses() -> None:
    a = normalize_for_template("Уважаемая Ирина Петровна! Заявка по адресу ул. Ленина, д. 5 — до 20.11.2025.")
    b = normalize_for_template("Уважаемый Олег! Заявка по адресу пр. Мира, д. 17а — до 3 декабря.")
    assert a == b
    assert "ирина" not in a and "20" not in a
    assert normalize_for_template("Ёлка убрана.") == normalize_for_template("елка убрана")


def test_template_groups_need_min_group_and_similarity() -> None:
    template = "Уважаемый {}! Ваше обращение рассмотрено, информация принята к сведению и передана в работу."
    answers = [
        template.format("Иван Петрович"),
        template.format("Анна"),
        "Здравствуйте! Яму на ул. Ленина заделали 3 мая, спасибо за сигнал.",
        template.format("Олег Викторович").replace("передана в работу", "передана в работу специалистам"),
        "Добрый день! Автобус № 5 пойдёт по новому расписанию с понедельника.",
    ]
    assert flag_templates(answers) == [True, True, False, True, False]
    assert flag_templates(answers[:2]) == [False, False]  # two copies are not yet a template
    assert flag_templates(answers, min_group=2) == [True, True, False, True, False]
    assert flag_templates(answers, threshold=1.0) == [False, False, False, False, False]


def test_flag_templates_frame_works_per_body_and_month() -> None:
    text = "Ваше обращение рассмотрено. Вопрос находится на контроле."
    frame = pd.DataFrame(
        {
            "body_id": [1, 1, 1, 2, 2, 1],
            "month": ["2025-11", "2025-11", "2025-11", "2025-11", "2025-11", "2025-12"],
            "answer_text": [text, text, text, text, text, text],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    flags = flag_templates_frame(frame)
    assert flags.index.tolist() == frame.index.tolist()
    assert flags.tolist() == [True, True, True, False, False, False]
    with pytest.raises(KeyError, match="answer_text"):
        flag_templates_frame(frame.drop(columns="answer_text"))


def test_frame_flags_equal_each_group_flagged_alone(labeled: pd.DataFrame) -> None:
    """All groups clustered in one pass give exactly the flags of one group at a time."""
    rng = random.Random(11)
    texts = labeled["text"].tolist() * 3 + [None, ""] * 5
    rng.shuffle(texts)
    frame = pd.DataFrame(
        {"body_id": [rng.randrange(6) for _ in texts], "month": "2025-11", "answer_text": texts}
    )
    flags = flag_templates_frame(frame)
    for _, group in frame.groupby("body_id"):
        alone = flag_templates(group["answer_text"].tolist())
        assert flags.loc[group.index].tolist() == alone
    assert flags.any() and not flags.all()


def test_distinct_texts_assessed_once_alike_in_worker_processes(
    labeled: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = labeled["text"].tolist() * 2 + [None]
    alone = {text: assess_with_evidence(text) for text in texts}
    assert assess_distinct(texts) == alone
    monkeypatch.setattr(answer_quality, "PARALLEL_MIN_TEXTS", 1)
    monkeypatch.setattr(answer_quality, "PARALLEL_CHUNK_TEXTS", 7)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        shared = assess_distinct(texts, executor=pool)
    assert list(shared) == list(alone) and shared == alone


@pytest.mark.slow
def test_template_detection_on_a_50k_group_benchmark() -> None:
    """A benchmark, not a timed assertion: 50,000 answers of one body-month, half of them templates."""
    rng = random.Random(7)
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
        "площадка",
        "автобус",
        "остановка",
        "парковка",
        "школа",
        "врач",
        "запись",
        "срок",
        "бригада",
        "подрядчик",
        "выполнить",
        "проверить",
        "заменить",
    ]
    templates = [
        f"Уважаемый {{}}! Ваше обращение рассмотрено. Шаблон {k}: " + " ".join(rng.choices(words, k=12))
        for k in range(200)
    ]
    names = ["Иван Петрович", "Анна Сергеевна", "Олег", "Мария Ивановна"]
    answers = []
    for i in range(50_000):
        if i % 2:
            answers.append(
                rng.choice(templates).format(rng.choice(names))
                + f" Срок до {rng.randint(1, 28)}.{rng.randint(1, 12)}.2026, дом {rng.randint(1, 200)}."
            )
        else:
            answers.append(
                "Здравствуйте! " + " ".join(rng.choices(words, k=rng.randint(8, 30))) + f" ул. Ленина, {i}."
            )
    started = time.perf_counter()
    flags = flag_templates(answers)
    print(f"\n50,000 answers: template detection took {time.perf_counter() - started:.1f} s")
    assert all(flags[1::2])
    assert sum(flags[0::2]) < 50  # random texts rarely look alike


def test_templates_do_not_depend_on_the_order_of_the_rows() -> None:
    """The warehouse reads a month's answers in no particular order (PostgreSQL and DuckDB return
    them differently): shuffled rows get the same template flags. Star-shaped LSH buckets whose
    representative was the first row flagged 1-12 of 240 answers differently per order."""
    from transforms.answer_quality_templates import flag_templates_frame

    rng = random.Random(0)
    letters = "абвгдежзиклмнопрстуфхцчшэюя"
    vocab = ["".join(rng.choice(letters) for _ in range(7)) for _ in range(300)]
    rows = []
    for group in range(20):  # near-duplicates of one answer per body: chains of similarity
        base = [rng.choice(vocab) for _ in range(24)]
        for _ in range(12):
            text = base[:]
            for i in rng.sample(range(24), rng.randint(0, 5)):
                text[i] = rng.choice(vocab)
            rows.append((f"org-{group}", " ".join(text)))
    frame = pd.DataFrame(rows, columns=["org_id", "answer_text"])
    flags = flag_templates_frame(frame, group_columns=("org_id",))
    assert 0 < flags.sum() < len(frame)
    for seed in range(6):
        shuffled = frame.sample(frac=1, random_state=seed)
        again = flag_templates_frame(shuffled, group_columns=("org_id",)).reindex(frame.index)
        differ = int((again != flags).sum())
        assert not differ, f"order {seed}: {differ} answers flagged differently"
