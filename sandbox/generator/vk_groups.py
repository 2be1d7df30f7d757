"""``vk/groups.jsonl``: VK 5.199 ``groups.getById`` group objects of the region's VK pages."""

from __future__ import annotations

import hashlib
import random

from sandbox.generator.registry import Page
from sandbox.generator.vkpages import VkPages

ACTIVITIES = {
    "ОИВ": "Государственная организация",
    "ОМСУ": "Органы власти",
    "учреждение": "Образование",
    "РСО-УК": "Жилищно-коммунальное хозяйство",
}
ACTIVITY_BY_DOMAIN = {
    "health": "Медицина",
    "culture": "Культура и искусство",
    "sport": "Спорт",
    "social": "Общество",
}


DESCRIPTION_TAIL = "Новости, объявления и ответы на вопросы жителей."


def _phone(rnd: random.Random) -> str:
    return f"+7 (8412) {rnd.randint(20, 99)}-{rnd.randint(10, 99)}-{rnd.randint(10, 99)}"


def _photo(group_id: int, size: int) -> str:
    digest = hashlib.sha1(f"{group_id}:{size}".encode()).hexdigest()[:20]
    return f"https://sun9-{group_id % 80 + 1}.userapi.com/impg/{digest}/group_{group_id}_{size}.jpg"


def group_object(page: Page, kind: str, index: int, pages: VkPages, rnd: random.Random) -> dict:
    """The group object of one page, with ``_sandbox_*`` keys for the VK sandbox server."""
    group_id = int(pages.group_id[index])
    status = page.status
    obj: dict = {
        "id": group_id,
        "name": page.org_name if rnd.random() < 0.6 else f"{page.org_name} | официальная страница",
        "screen_name": page.screen_name,
        "is_closed": {"closed": 1, "private": 2}.get(status, 0),
        "type": "page" if rnd.random() < 0.75 else "group",
    }
    has_photo = int(rnd.random() < 0.93)
    photos = {
        f"photo_{size}": _photo(group_id, size)
        if has_photo
        else f"https://vk.com/images/community_{size}.png"
        for size in (50, 100, 200)
    }
    if status == "deleted":
        obj["deactivated"] = "deleted"
        obj.update(photos)
    else:
        obj.update(photos)
        cover = int(rnd.random() < 0.7)
        obj.update(
            {
                "has_photo": has_photo,
                "verified": int(page.rating_group != "" and rnd.random() < 0.8),
                "description": f"Официальная страница: {page.org_name}. {DESCRIPTION_TAIL}",
                "cover": {
                    "enabled": cover,
                    "images": [
                        {"url": _photo(group_id, width), "width": width, "height": width // 4}
                        for width in (795, 1590)
                    ]
                    if cover
                    else [],
                },
                "links": [
                    {
                        "id": 1,
                        "url": "https://www.gosuslugi.ru/",
                        "name": "Госуслуги",
                        "desc": "Решаем вместе",
                    }
                ]
                if rnd.random() < 0.6
                else [],
                "contacts": [
                    {
                        "user_id": rnd.randint(1_000_000, 800_000_000),
                        "desc": "Пресс-служба",
                        "phone": _phone(rnd),
                    }
                ]
                if rnd.random() < 0.7
                else [],
                "site": f"https://{page.screen_name.replace('_', '-')}.ru" if rnd.random() < 0.8 else "",
                "can_message": int(rnd.random() < 0.8),
                "wall": rnd.choices([1, 2, 3], weights=[80, 15, 5])[0],
                "activity": ACTIVITY_BY_DOMAIN.get(page.domain, ACTIVITIES.get(kind, "Органы власти")),
                "counters": {
                    "photos": rnd.randint(0, 3000),
                    "albums": rnd.randint(0, 40),
                    "videos": rnd.randint(0, 300),
                    "topics": rnd.randint(0, 10),
                    "docs": rnd.randint(0, 20),
                    "articles": rnd.randint(0, 15),
                },
            }
        )
    obj["_sandbox_page_id"] = page.page_id
    if page.previous_screen_name:
        obj["_sandbox_old_screen_name"] = page.previous_screen_name
    if pages.error[index]:
        obj["_sandbox_error"] = int(pages.error[index])
    if page.valid_to:
        obj["_sandbox_deactivated_at"] = int(pages.alive_to[index])
    if pages.created_in_window[index]:
        obj["_sandbox_created_at"] = int(pages.alive_from[index])
    return obj
