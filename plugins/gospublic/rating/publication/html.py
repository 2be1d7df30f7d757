"""The HTML pages, rendered from the Jinja2 templates of ``config/publication/templates/`` (staff
restyle them there: ``style.css`` is the one stylesheet, inlined in every page so a page is one
self-contained file; no page loads anything from elsewhere)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from transforms import ru_format as ru

from .charts import ZONE_COLOURS


def _change(value: Any, digits: int = 1) -> Markup:
    text = ru.change(value, digits)
    if text in ("—", "0"):
        return Markup("<span class='muted'>{}</span>").format(text)
    css = "up" if text.startswith("+") else "down"
    return Markup("<span class='{}'>{}</span>").format(css, text)


def points_word(value: float) -> str:
    """«балла» after a fraction (5,5 балла), else by the count (1 балл, 2 балла, 5 баллов)."""
    rounded = round(float(value), 1)
    if rounded != int(rounded):
        return "балла"
    return ru.plural(int(rounded), "балл", "балла", "баллов")


@cache
def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=jinja2.select_autoescape(("html",), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=ru.number, count=ru.count, share=ru.share, percent=ru.percent, hours=ru.hours,
        month=ru.month, day=ru.day, moscow=ru.moscow_time, change=_change,
    )  # fmt: skip
    env.globals.update(
        zone_colour=lambda zone: ZONE_COLOURS.get(zone or "", "#999"),
        plural=ru.plural,
        plural_points=points_word,
    )
    return env


def render(templates: Path, template: str, **context: Any) -> bytes:
    """The page of ``template`` rendered with ``context``, as UTF-8."""
    return environment(templates).get_template(template).render(**context).encode("utf-8")
