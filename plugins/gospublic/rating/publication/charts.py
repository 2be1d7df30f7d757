"""Inline SVG charts: a horizontal bar per body with every body of the group shown, an axis from
0 to 100 with ticks, the zone bounds dashed, names wrapped (never cut). A group's bars come as
charts of at most a printed page each (``bar_charts``): a chart is one unbreakable figure in print,
and one taller than the rest of the first page was pushed whole onto the next, leaving page 1 of
the group's PDF with its heading alone. A phone gets the same bars as one narrower chart
(``phone_bar_chart``: each name above its bar), which the page scales to the screen's width."""

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
# CSS px (1/96 in) of charts that fit on a printed A4 page: 1,046 px high within Chromium's print
# margins (0.4 in each) and 717 px wide, where a chart needs 792 (its 760 and the page's padding).
# Chromium shrinks a page wider than the paper to fit (by up to 1/1.33; without that the charts
# would be cut at the right), so a page holds at least 1,046 × 792 / 717 = 1,155 px of a group's
# layout. A chart and its figure's margins and caption (16 and at most 60 px) within that, less
# 25 px to spare; the first below the group's heading, counts and part line (at most about 300 px).
PAGE_HEIGHT = 1050
FIRST_PAGE_HEIGHT = PAGE_HEIGHT - 300
_FRAME = 8 + 4 + 40  # px above the first bar (top) and from the last bar to the chart's foot (axis)
# The phone's chart: drawn PHONE_WIDTH px wide and scaled to the screen's width by the page (a
# screen of 390 px shows it at 1.04×), a name above its bar in lines of at most PHONE_CHARS.
PHONE_WIDTH = 360
PHONE_LEFT = 8
PHONE_CHARS = 50


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    zone: str | None


def _lines(bar: Bar) -> list[str]:
    return textwrap.wrap(bar.label, CHARS_PER_LINE, break_long_words=True) or [""]


def _height(lines: Sequence[str]) -> int:
    """The px of a bar whose name wraps to ``lines``."""
    return max(18, LINE * len(lines) + 4)


def bar_charts(
    bars: Sequence[Bar],
    *,
    title: str,
    bounds: tuple[float, float],
    first_height: int = FIRST_PAGE_HEIGHT,
    height: int = PAGE_HEIGHT,
) -> list[str]:
    """The bars in order as charts of at most ``first_height`` px (the first) and ``height`` px (the
    rest), each with its axis, so that each fits on a printed page; a bar taller than a page alone is
    a chart of its own. One chart when all fit (an empty one for no bars, as ``bar_chart``)."""
    chunks: list[list[tuple[Bar, list[str]]]] = []
    used, budget = 0, first_height - _FRAME
    for bar in bars:
        lines = _lines(bar)  # each name wrapped once: for the split and for the chart
        size = _height(lines)
        if chunks and used + size <= budget:
            chunks[-1].append((bar, lines))
            used += size
            continue
        if chunks:
            budget = height - _FRAME
        chunks.append([(bar, lines)])
        used = size
    if len(chunks) <= 1:
        return [_chart(chunks[0] if chunks else [], title=title, bounds=bounds)]
    return [
        _chart(chunk, title=f"{title} ({k} из {len(chunks)})", bounds=bounds)
        for k, chunk in enumerate(chunks, start=1)
    ]


def bar_chart(bars: Sequence[Bar], *, title: str, bounds: tuple[float, float]) -> str:
    """The chart's ``<svg>``: ``bounds`` are the zones' lower bounds (green, yellow) drawn dashed."""
    return _chart([(bar, _lines(bar)) for bar in bars], title=title, bounds=bounds)


def _chart(bars: Sequence[tuple[Bar, list[str]]], *, title: str, bounds: tuple[float, float]) -> str:
    """``bar_chart`` of bars whose names are already wrapped (each with its lines)."""
    top, left = 8, LABEL_WIDTH + 10
    rows, y = [], top
    for bar, lines in bars:
        height = _height(lines)
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


def phone_bar_chart(bars: Sequence[Bar], *, title: str, bounds: tuple[float, float]) -> str:
    """The bars as a phone shows them: each name above its bar, the bar and its score across the
    chart's ``PHONE_WIDTH`` px, which the page scales to the screen's width (``svg.phone`` in
    style.css; 1.04× at 390 px, so the text stays about 11 px), the scale 0..100 above and below.
    Pages show it instead of ``bar_chart`` on narrow screens; print never does."""
    left, plot = PHONE_LEFT, PHONE_WIDTH - PHONE_LEFT - 52
    top = 22  # under the scale's numbers

    def x(value: float) -> float:
        return left + plot * value / 100

    rows, grid, zones, y = [], [], [], top
    green, yellow = bounds
    for bar in bars:
        lines = textwrap.wrap(bar.label, PHONE_CHARS, break_long_words=True) or [""]
        text = "".join(
            f"<tspan x='{left}' dy='{LINE if n else 0}'>{html.escape(line)}</tspan>"
            for n, line in enumerate(lines)
        )
        bar_y = y + LINE * len(lines) + 2
        width = max(1.0, plot * min(100.0, max(0.0, bar.value)) / 100)
        rows.append(
            f"<text class='label' y='{y + 11}'>{text}</text>"
            f"<rect x='{left}' y='{bar_y}' width='{width:.1f}' height='14' "
            f"fill='{ZONE_COLOURS.get(bar.zone or '', '#999')}'/>"
            f"<text class='score' x='{left + width + 4:.1f}' y='{bar_y + 11}'>{ru.number(bar.value)}</text>"
        )
        grid += [f"M{x(t):.0f} {bar_y - 2}v18" for t in range(0, 101, 20)]
        zones += [f"M{x(b):.1f} {bar_y - 2}v18" for b in (yellow, green)]
        y = bar_y + 14 + 8
    axis_y = y + 2

    def scale(at: int) -> str:
        ticks = range(0, 101, 20)
        return "".join(f"<text x='{x(t):.0f}' y='{at}' text-anchor='middle'>{t}</text>" for t in ticks)

    width, height = PHONE_WIDTH, axis_y + 36
    caption = html.escape(title)
    return (
        f"<svg class='chart phone' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{caption}'><title>{caption}</title>{scale(12)}"
        f"<line x1='{left}' y1='{top - 4}' x2='{left + plot}' y2='{top - 4}' class='axis'/>"
        f"<path class='grid' d='{''.join(grid)}'/><path class='bound' d='{''.join(zones)}'/>{''.join(rows)}"
        f"<line x1='{left}' y1='{axis_y}' x2='{left + plot}' y2='{axis_y}' class='axis'/>{scale(axis_y + 14)}"
        f"<text x='{left + plot / 2:.0f}' y='{axis_y + 30}' text-anchor='middle'>Балл, из 100</text></svg>"
    )


@dataclass(frozen=True)
class Move:
    label: str
    place: int
    previous_place: int | None  # None: not ranked in this group the month before
    note: str = ""  # why there is no line («из группы …», «новый в группе»)


def movement_chart(moves: Sequence[Move], *, title: str, before: str, after: str) -> str:
    """A slope chart of places in a group: the month before on the left, this month on the right,
    a line per body ranked in the group both months (green up, red down, grey kept), a dot for the
    others with the reason beside its name."""
    row, top, left, right = 18, 30, 40, 220
    deepest = max([m.place for m in moves] + [m.previous_place or 0 for m in moves] + [1])
    label_x = right + 12
    widest = max((len(f"{m.place}. {m.label} {m.note}") for m in moves), default=10)
    width, height = label_x + 7 * widest + 20, top + deepest * row + 10

    def y(place: int) -> int:
        return top + (place - 1) * row + row // 2

    parts = [
        f"<text x='{left}' y='16' text-anchor='middle'>{html.escape(before)}</text>",
        f"<text x='{right}' y='16' text-anchor='middle'>{html.escape(after)}</text>",
        f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + deepest * row}' class='axis'/>",
        f"<line x1='{right}' y1='{top}' x2='{right}' y2='{top + deepest * row}' class='axis'/>",
    ]
    for place in range(1, deepest + 1):
        parts.append(f"<text x='{left - 6}' y='{y(place) + 4}' text-anchor='end'>{place}</text>")
    for move in moves:
        if move.previous_place is not None:
            colour = (
                "#2e7d32"
                if move.previous_place > move.place
                else "#c62828"
                if move.previous_place < move.place
                else "#888"
            )
            y1, y2 = y(move.previous_place), y(move.place)
            parts.append(
                f"<line x1='{left}' y1='{y1}' x2='{right}' y2='{y2}' stroke='{colour}' stroke-width='2'/>"
                f"<circle cx='{left}' cy='{y1}' r='3' fill='{colour}'/>"
                f"<circle cx='{right}' cy='{y2}' r='3' fill='{colour}'/>"
            )
        else:
            parts.append(f"<circle cx='{right}' cy='{y(move.place)}' r='3' fill='#fff' stroke='#555'/>")
        label = html.escape(move.label + (f" — {move.note}" if move.note else ""))
        parts.append(f"<text x='{label_x}' y='{y(move.place) + 4}'>{move.place}. {label}</text>")
    caption = html.escape(title)
    return (
        f"<svg class='chart movement' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{caption}'><title>{caption}</title>{''.join(parts)}</svg>"
    )


def phone_movement_chart(moves: Sequence[Move], *, title: str, before: str, after: str) -> str:
    """The places as a phone shows them: a row per body in the order given, its place and name
    above (wrapped), under them a short line from the place the month before to this month's
    (green up, red down, grey kept; a dot and the reason for a body not ranked in the group then)
    and the two places in words, across ``PHONE_WIDTH`` px that the page scales to the screen's
    width, as ``phone_bar_chart``. Pages show it instead of ``movement_chart`` on narrow screens;
    print never does."""
    left, rows, y = PHONE_LEFT, [], 4
    for move in moves:
        lines = textwrap.wrap(f"{move.place}. {move.label}", PHONE_CHARS, break_long_words=True) or [""]
        text = "".join(
            f"<tspan x='{left}' dy='{LINE if n else 0}'>{html.escape(line)}</tspan>"
            for n, line in enumerate(lines)
        )
        rows.append(f"<text class='label' y='{y + 11}'>{text}</text>")
        mid = y + LINE * len(lines) + 9  # the middle of the movement's line
        if move.previous_place is not None:
            rise = move.previous_place - move.place
            colour = "#2e7d32" if rise > 0 else "#c62828" if rise < 0 else "#888"
            dy = -5 if rise > 0 else 5 if rise < 0 else 0
            words = f"{before}: {move.previous_place} → {after}: {move.place}"
            rows.append(
                f"<line x1='{left + 3}' y1='{mid - dy}' x2='{left + 27}' y2='{mid + dy}' stroke='{colour}' "
                f"stroke-width='2'/><circle cx='{left + 3}' cy='{mid - dy}' r='3' fill='{colour}'/>"
                f"<circle cx='{left + 27}' cy='{mid + dy}' r='3' fill='{colour}'/>"
            )
        else:
            words = f"{after}: {move.place} — {move.note}" if move.note else f"{after}: {move.place}"
            rows.append(f"<circle cx='{left + 27}' cy='{mid}' r='3' fill='#fff' stroke='#555'/>")
        said = textwrap.wrap(words, PHONE_CHARS - 6) or [""]  # beside the line, in from the left
        for n, line in enumerate(said):
            rows.append(
                f"<text class='move' x='{left + 38}' y='{mid + 4 + n * LINE}'>{html.escape(line)}</text>"
            )
        y = mid + 4 + LINE * (len(said) - 1) + 12
    width, height = PHONE_WIDTH, y + 4
    caption = html.escape(title)
    return (
        f"<svg class='chart movement phone' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{caption}'><title>{caption}</title>"
        f"{''.join(rows)}</svg>"
    )
