"""Inline SVG charts: a horizontal bar per body with every body of the group shown, an axis from
0 to 100 with ticks, the zone bounds dashed, names wrapped (never cut)."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from transforms import ru_format as ru

ZONE_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
LABEL_WIDTH = 300  # px of names
PLOT_WIDTH = 400  # px of 0..100
LINE = 14  # px per line of a name
CHARS_PER_LINE = 44


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    zone: str | None


def bar_chart(bars: Sequence[Bar], *, title: str, bounds: tuple[float, float]) -> str:
    """The chart's ``<svg>``: ``bounds`` are the zones' lower bounds (green, yellow) drawn dashed."""
    top, left = 8, LABEL_WIDTH + 10
    rows, y = [], top
    for bar in bars:
        lines = textwrap.wrap(bar.label, CHARS_PER_LINE, break_long_words=True) or [""]
        height = max(18, LINE * len(lines) + 4)
        text = "".join(
            f"<tspan x='{LABEL_WIDTH}' dy='{LINE if n else 0}'>{html.escape(line)}</tspan>"
            for n, line in enumerate(lines)
        )
        width = max(1.0, PLOT_WIDTH * min(100.0, max(0.0, bar.value)) / 100)
        first_line = y + 12 + (height - 4 - LINE * len(lines)) // 2
        bar_y = y + (height - 14) // 2
        rows.append(
            f"<text class='label' text-anchor='end' y='{first_line}'>{text}</text>"
            f"<rect x='{left}' y='{bar_y}' width='{width:.1f}' height='14' "
            f"fill='{ZONE_COLOURS.get(bar.zone or '', '#999')}'/>"
            f"<text x='{left + width + 4:.1f}' y='{bar_y + 11}'>{ru.number(bar.value)}</text>"
        )
        y += height
    axis_y = y + 4
    ticks = "".join(
        f"<line x1='{left + PLOT_WIDTH * t / 100:.0f}' y1='{top}' x2='{left + PLOT_WIDTH * t / 100:.0f}' "
        f"y2='{axis_y + 4}' class='grid'/><text x='{left + PLOT_WIDTH * t / 100:.0f}' y='{axis_y + 16}' "
        f"text-anchor='middle'>{t}</text>"
        for t in range(0, 101, 20)
    )
    green, yellow = bounds
    zones = "".join(
        f"<line x1='{left + PLOT_WIDTH * b / 100:.1f}' y1='{top}' x2='{left + PLOT_WIDTH * b / 100:.1f}' "
        f"y2='{axis_y}' class='bound'/>"
        for b in (yellow, green)
    )
    axis = (
        f"<line x1='{left}' y1='{axis_y}' x2='{left + PLOT_WIDTH}' y2='{axis_y}' class='axis'/>"
        f"<text x='{left + PLOT_WIDTH / 2:.0f}' y='{axis_y + 32}' text-anchor='middle'>Балл, из 100</text>"
    )
    width, height = left + PLOT_WIDTH + 50, axis_y + 40
    return (
        f"<svg class='chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{html.escape(title)}'><title>{html.escape(title)}</title>"
        f"{ticks}{zones}{''.join(rows)}{axis}</svg>"
    )
