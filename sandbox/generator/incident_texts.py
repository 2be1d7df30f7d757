"""Citizens' messages and the bodies' answers of incidents, with the answers' true quality labels.

An answer is composed from parts whose presence defines its labels: a greeting or thanks
(politeness), bureaucratic stock phrases (``formal``), concrete terms — dates, places, amounts,
steps (else ``no_specifics``), sending the citizen elsewhere (``redirect``), or one of a few fixed
templates pasted verbatim (``template``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.generator.texts import STREETS

RUBRICS = {
    "Дороги": ["яма на дороге", "не чистят снег на дороге", "не работает светофор", "разбит тротуар"],
    "Благоустройство": [
        "не горят фонари во дворе",
        "сломана детская площадка",
        "не убирают листву",
        "упало дерево",
    ],
    "ЖКХ": ["нет горячей воды", "холодные батареи", "течёт крыша", "не вывозят мусор", "не работает лифт"],
    "Транспорт": [
        "автобус не ходит по расписанию",
        "переполненные автобусы",
        "нет остановки",
        "грубый водитель",
    ],
    "Здравоохранение": [
        "не дозвониться в регистратуру",
        "нет записи к врачу",
        "долгое ожидание скорой",
        "нет лекарств в аптеке",
    ],
    "Образование": [
        "нет мест в детском саду",
        "холодно в школе",
        "плохое питание в столовой",
        "не ходит школьный автобус",
    ],
    "Социальная защита": ["не пришло пособие", "отказ в субсидии", "нужна помощь пожилому человеку"],
    "Экология": ["свалка в лесу", "загрязнение реки", "неприятный запах от предприятия"],
    "Безопасность": ["бродячие собаки", "открытый люк", "шумят соседи ночью"],
    "Связь и интернет": ["нет мобильной связи в селе", "не работает интернет в школе"],
    "Культура и спорт": ["закрыт спортзал", "нет кружков для детей", "не работает каток"],
    "Прочее": ["вопрос по работе администрации", "прошу разъяснить порядок действий"],
}
DOMAIN_RUBRICS = {
    "roads": ["Дороги"],
    "transport": ["Транспорт"],
    "utilities": ["ЖКХ", "Благоустройство"],
    "health": ["Здравоохранение"],
    "education": ["Образование"],
    "social": ["Социальная защита"],
    "ecology": ["Экология"],
    "digital": ["Связь и интернет"],
    "culture": ["Культура и спорт"],
    "sport": ["Культура и спорт"],
    "construction": ["Благоустройство", "ЖКХ"],
    "agriculture": ["Прочее"],
    "general": ["Благоустройство", "Дороги", "ЖКХ", "Безопасность", "Прочее"],
}
RUBRIC_LIST = list(RUBRICS)
POS_CATEGORIES = {
    "Дороги": ("Дороги", ["Ямы на дорогах", "Уборка снега", "Светофоры и знаки"]),
    "Благоустройство": ("Благоустройство", ["Освещение", "Детские площадки", "Озеленение"]),
    "ЖКХ": ("ЖКХ", ["Отопление", "Водоснабжение", "Вывоз мусора", "Капитальный ремонт"]),
    "Транспорт": ("Общественный транспорт", ["Расписание", "Маршруты", "Качество обслуживания"]),
    "Здравоохранение": ("Здравоохранение", ["Запись к врачу", "Скорая помощь", "Лекарственное обеспечение"]),
    "Образование": ("Образование", ["Детские сады", "Школы", "Питание"]),
    "Социальная защита": ("Социальное обслуживание", ["Пособия и выплаты", "Помощь пожилым"]),
    "Экология": ("Экология", ["Свалки", "Загрязнение"]),
    "Безопасность": ("Безопасность", ["Бездомные животные", "Общественный порядок"]),
    "Связь и интернет": ("Связь и интернет", ["Мобильная связь", "Интернет"]),
    "Культура и спорт": ("Культура и спорт", ["Спортивные объекты", "Досуг"]),
    "Прочее": ("Иное", ["Работа органов власти"]),
}

OPENERS = [
    "Здравствуйте!",
    "Добрый день.",
    "",
    "",
    "Уважаемые сотрудники,",
    "Помогите, пожалуйста!",
    "Сколько можно?",
]
ASKS = [
    "Прошу принять меры.",
    "Когда это исправят?",
    "Разберитесь, пожалуйста.",
    "Жду ответа.",
    "Обращаюсь уже не первый раз.",
    "",
]

GREETINGS = [
    "Здравствуйте, {name}!",
    "Добрый день, {name}!",
    "Здравствуйте!",
    "Уважаемый заявитель!",
    "Добрый день!",
]
THANKS = [
    "Благодарим за обращение.",
    "Спасибо, что сообщили о проблеме.",
    "Приносим извинения за доставленные неудобства.",
    "Понимаем ваше беспокойство.",
]
FORMAL = [
    "Ваше обращение рассмотрено.",
    "Информация принята к сведению.",
    "Вопрос будет решён в рамках компетенции.",
    "Обращение рассмотрено в установленном порядке.",
    "Вопрос находится на контроле.",
]
SPECIFIC = [
    "Работы по устранению проблемы на {street}, д. {house} будут выполнены до {date}.",
    "Бригада выйдет на место {date} с 9:00 до 17:00.",
    "На ремонт выделено {amount} тыс. рублей, подрядчик приступит к работам {date}.",
    "Заявка № {number} передана в аварийную службу, срок устранения — до {date}.",
    "Специалист свяжется с вами {date} по указанному телефону и согласует время визита.",
    "Объект включён в план работ на {date}: сначала проведут обследование, затем ремонт.",
]
VAGUE = [
    "Работы будут проведены в ближайшее время.",
    "Проблема будет решена.",
    "Соответствующие службы проинформированы.",
    "Меры будут приняты.",
]
REDIRECT = [
    "По данному вопросу рекомендуем обратиться в {other}.",
    "Данный вопрос не входит в компетенцию нашего ведомства, обратитесь в {other}.",
    "Ваше обращение перенаправлено в {other}.",
]
OTHERS = [
    "управляющую компанию",
    "Роспотребнадзор",
    "Госавтоинспекцию",
    "администрацию района",
    "ресурсоснабжающую организацию",
    "прокуратуру",
]
TEMPLATES = [  # pasted verbatim again and again: (text, formal, no_specifics, impolite, redirect)
    ("Ваше обращение рассмотрено. Информация принята к сведению. Вопрос находится на контроле.", 1, 1, 1, 0),
    (
        "Здравствуйте! Ваше обращение рассмотрено в установленном порядке. Благодарим за обращение.",
        1,
        1,
        0,
        0,
    ),
    ("Данный вопрос не входит в компетенцию. Рекомендуем обратиться в управляющую компанию.", 0, 1, 1, 1),
]


@dataclass(frozen=True)
class Answer:
    """An answer text and its true labels."""

    text: str
    formal: int
    no_specifics: int
    impolite: int
    redirect: int
    template: int


def message(rnd: random.Random, rubric: str, place: str) -> str:
    """A citizen's message about a problem of ``rubric``."""
    problem = rnd.choice(RUBRICS[rubric])
    where = f"{place}, {rnd.choice(STREETS)}, д. {rnd.randint(1, 150)}"
    opener = rnd.choice(OPENERS)
    sentence = f"По адресу {where} {problem}." if rnd.random() < 0.5 else f"{problem.capitalize()}: {where}."
    if rnd.random() < 0.3:
        sentence += f" Проблема уже {rnd.randint(2, 20)} дней."
    if opener.endswith(","):
        sentence = sentence[0].lower() + sentence[1:]
    return " ".join(part for part in (opener, sentence, rnd.choice(ASKS)) if part)


def answer(rnd: random.Random, first_name: str, date_text: str) -> Answer:
    """A body's answer with its labels drawn at realistic rates."""
    if rnd.random() < 0.12:
        text, formal, no_specifics, impolite, redirect = TEMPLATES[
            rnd.choices(range(3), weights=[5, 4, 2])[0]
        ]
        return Answer(text, formal, no_specifics, impolite, redirect, 1)
    polite = rnd.random() < 0.8
    formal = rnd.random() < 0.25
    redirect = rnd.random() < 0.1
    specific = not redirect and rnd.random() < 0.7
    parts: list[str] = []
    if polite:
        if rnd.random() < 0.85:
            parts.append(rnd.choice(GREETINGS).format(name=first_name))
        if rnd.random() < 0.6 or len(parts) == 0:
            parts.append(rnd.choice(THANKS))
    if formal:
        parts.extend(rnd.sample(FORMAL, rnd.randint(1, 2)))
    if redirect:
        parts.append(rnd.choice(REDIRECT).format(other=rnd.choice(OTHERS)))
    if specific:
        parts.append(
            rnd.choice(SPECIFIC).format(
                street=rnd.choice(STREETS),
                house=rnd.randint(1, 150),
                date=date_text,
                amount=rnd.randint(50, 5000),
                number=rnd.randint(1000, 99999),
            )
        )
    elif not redirect and not formal:
        parts.append(rnd.choice(VAGUE))
    return Answer(" ".join(parts), int(formal), int(not specific), int(not polite), int(redirect), 0)


def pos_category(rnd: random.Random, rubric: str) -> tuple[str, str]:
    """ПОС category and subcategory for a rubric."""
    category, subs = POS_CATEGORIES[rubric]
    return category, rnd.choice(subs)
