"""The incident export formats (IM and ПОС): canonical fields, headers, aliases and value sets.

This is the single source of ``config/incident_exports.yaml``, which the export parser reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Field:
    """One canonical field of an export."""

    name: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    type: str = "text"  # text / datetime / date / int / rating
    personal: bool = False
    values: str = ""  # name of a value set in VALUE_SETS


STATUSES = {
    "Новый": "new",
    "В работе": "in_progress",
    "Ответ дан": "answered",
    "Закрыт": "closed",
    "Просрочен": "overdue",
    "Отклонён": "rejected",
    "Отклонен": "rejected",
}
STATUS_ORDER = ["Новый", "В работе", "Ответ дан", "Закрыт", "Просрочен", "Отклонён"]
CHANNELS = {
    "ВКонтакте": "vk",
    "Вконтакте": "vk",
    "ВК": "vk",
    "Одноклассники": "ok",
    "ОК": "ok",
    "Telegram": "tg",
    "Телеграм": "tg",
    "Другое": "other",
    "Дзен": "other",
    "RUTUBE": "other",
}
MESSAGE_TYPES = {"пост": "post", "комментарий": "comment", "личное сообщение": "private_message"}
SATISFACTION_WORDS = {"Удовлетворён": 1, "Удовлетворен": 1, "Не удовлетворён": 0, "Не удовлетворен": 0}
VALUE_SETS: dict[str, dict] = {
    "status": STATUSES,
    "channel": CHANNELS,
    "message_type": MESSAGE_TYPES,
}

IM_FIELDS = [
    Field("incident_id", "ID инцидента", ("ID", "Номер инцидента", "Идентификатор"), True, "int"),
    Field(
        "registered_at",
        "Дата регистрации",
        ("Дата создания", "Дата поступления", "Зарегистрирован"),
        True,
        "datetime",
    ),
    Field("channel", "Соцсеть", ("Социальная сеть", "Источник"), True, "text", values="channel"),
    Field("message_type", "Тип сообщения", ("Тип",), False, "text", values="message_type"),
    Field("url", "Ссылка", ("Ссылка на сообщение", "URL"), False, "text", personal=True),
    Field("author", "Автор", ("Автор сообщения", "Пользователь"), False, "text", personal=True),
    Field("message_text", "Текст сообщения", ("Текст инцидента", "Сообщение"), False, "text", personal=True),
    Field("rubric", "Рубрика", ("Тема", "Категория"), False, "text"),
    Field("executor", "Исполнитель", ("Ответственный исполнитель", "Ответственный"), True, "text"),
    Field("status", "Статус", ("Состояние", "Статус инцидента"), True, "text", values="status"),
    Field("first_reaction_at", "Дата первой реакции", ("Первая реакция", "Дата реакции"), False, "datetime"),
    Field("answered_at", "Дата ответа", ("Дата ответа исполнителя",), False, "datetime"),
    Field("answer_text", "Текст ответа", ("Ответ", "Ответ исполнителя"), False, "text", personal=True),
    Field("satisfaction", "Оценка ответа", ("Оценка", "Удовлетворённость"), False, "rating"),
]
POS_FIELDS = [
    Field("incident_id", "Номер обращения", ("№ обращения", "ID обращения"), True, "text"),
    Field("registered_at", "Дата подачи", ("Дата создания", "Дата регистрации"), True, "datetime"),
    Field("category", "Категория", ("Тема",), True, "text"),
    Field("subcategory", "Подкатегория", ("Подтема",), False, "text"),
    Field("executor", "Ответственный", ("Ответственный исполнитель", "Исполнитель"), True, "text"),
    Field("status", "Статус", ("Состояние",), True, "text", values="status"),
    Field("due_at", "Срок ответа", ("Плановая дата ответа", "Срок"), True, "date"),
    Field("answered_at", "Дата ответа", ("Дата фактического ответа",), False, "datetime"),
    Field("message_text", "Текст обращения", ("Обращение", "Текст сообщения"), False, "text", personal=True),
    Field("answer_text", "Текст ответа", ("Ответ",), False, "text", personal=True),
    Field("author", "Заявитель", ("ФИО заявителя", "Автор"), False, "text", personal=True),
    Field("satisfaction", "Оценка заявителя", ("Оценка", "Оценка ответа"), False, "rating"),
]
FIELDS = {"im": IM_FIELDS, "pos": POS_FIELDS}
EXTRA_COLUMNS = {
    "im": ["Регион", "Муниципальное образование", "Тег", "Куратор ЦУР"],
    "pos": ["Регион", "Способ подачи", "Быстрый ответ", "Муниципальное образование"],
}
SOURCE_NAMES = {"im": "Инцидент Менеджмент", "pos": "Платформа обратной связи (Госуслуги «Решаем вместе»)"}


def spec_document() -> dict:
    """The content of ``config/incident_exports.yaml``."""
    sources = {}
    for source, fields in FIELDS.items():
        sources[source] = {
            "name": SOURCE_NAMES[source],
            "fields": {
                f.name: {
                    "header": f.header,
                    "aliases": list(f.aliases),
                    "required": f.required,
                    "type": f.type,
                    "personal": f.personal,
                    **({"values": f.values} if f.values else {}),
                }
                for f in fields
            },
            "extra_columns_seen": EXTRA_COLUMNS[source],
        }
    return {
        "version": 1,
        "description": (
            "Incident export formats of Incident Management (im) and ПОС (pos). A file's header is "
            "matched field by field against `header` and `aliases` in the form executor names match in "
            "(case, ё/е, quotes, spaces) with dashes and punctuation read as spaces; a column no field "
            "reads is reported with the closest known header unless `extra_columns_seen` lists it; "
            "`required` fields must be present and non-empty in every row; `personal` fields are "
            "personal data (152-ФЗ)."
        ),
        "files": {
            "formats": ["xlsx", "csv"],
            "csv_encodings": ["utf-8", "utf-8-sig", "cp1251"],
            "csv_separators": [";", ","],
            "header_row": 1,
        },
        "types": {
            "datetime": {
                "formats": ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"],
                "excel_date_cells": True,
                "timezone": "local time of the region the file belongs to (exports.csv / landing path)",
            },
            "date": {
                "formats": ["%d.%m.%Y"],
                "excel_date_cells": True,
                "meaning": "due at the end of that local day",
            },
            "rating": {"scale": [1, 5], "words": SATISFACTION_WORDS, "satisfied_from": 4},
            "int": {},
            "text": {},
        },
        "value_sets": VALUE_SETS,
        "sources": sources,
    }


def write_yaml(path: str) -> None:
    """Write ``config/incident_exports.yaml``."""
    header = "# Generated by sandbox/generator/export_spec.py; documented in docs/incident-exports.md.\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(header)
        yaml.safe_dump(spec_document(), handle, allow_unicode=True, sort_keys=False, width=110)
