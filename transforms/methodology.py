"""Rating methodologies as configuration (``config/methodologies/*.yaml``), validated on load.

A methodology names its rating groups, its indicators (an expression over the columns of
``mart.rating_base`` in the language of ``transforms.rating_expression``, a direction, a scoring
function, a weight, a missing-data rule), its zones and the minimum data for a body to be rated.
``MethodologyError`` names the file and the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transforms.rating_expression import ExpressionError, columns_of, parse, quote_identifier, to_sql

SCORING_TYPES = ("linear", "steps", "percentile")
MISSING_RULES = ("reweight", "zero")
GROUPING = ("registry", "volume", "all")
RESERVED_IDS = ("org_id", "rating_group", "incidents", "pages")  # inputs every rating reads
_METHODOLOGY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # in snapshot ids and lake paths
_INDICATOR_ID = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # a result column: lower-case ASCII, ≤ 63 chars


class MethodologyError(ValueError):
    """A methodology file is invalid."""


@dataclass(frozen=True)
class Scoring:
    """How a raw value becomes 0–100 points."""

    type: str
    worst: float | None = None  # linear: 0 points at or beyond worst, 100 at or beyond best
    best: float | None = None
    steps: tuple[tuple[float, float], ...] = ()  # steps: (threshold, points), first match wins
    higher_is_better: bool = True

    def points(self, value: float) -> float:
        if self.type == "linear":
            assert self.worst is not None and self.best is not None
            share = (value - self.worst) / (self.best - self.worst)
            return 100.0 * min(1.0, max(0.0, share))
        if self.type == "steps":
            for threshold, points in self.steps:
                if (value >= threshold) if self.higher_is_better else (value <= threshold):
                    return float(points)
            return 0.0
        raise ValueError("percentile points need the whole group: see transforms.rating")


@dataclass(frozen=True)
class Indicator:
    id: str
    caption: str
    expression: str
    higher_is_better: bool
    scoring: Scoring
    weight: float
    missing: str
    unit: str = ""


@dataclass(frozen=True)
class Methodology:
    id: str
    version: int
    title: str
    description: str
    groups_by: str
    volume_bounds: tuple[int, int]  # (more than → "high", at most → "low")
    group_captions: dict[str, str]
    min_incidents: int
    min_pages: int
    zones: tuple[float, float]  # green from, yellow from
    indicators: tuple[Indicator, ...]
    content_hash: str
    source: str = ""

    @property
    def total_weight(self) -> float:
        return sum(i.weight for i in self.indicators)


def load_methodology(path: Path | str) -> Methodology:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top")

    def need(mapping: dict[str, Any], key: str, where: str) -> Any:
        if key not in mapping or mapping[key] in (None, ""):
            raise MethodologyError(f"{path}: {where}{key} is required")
        return mapping[key]

    methodology_id = str(need(raw, "id", ""))
    if not _METHODOLOGY_ID.fullmatch(methodology_id):
        raise MethodologyError(
            f"{path}: id {methodology_id!r} must be lower-case ASCII letters, digits, - and _ (at most 63)"
        )
    groups = raw.get("groups") or {"by": "registry"}
    groups_by = str(groups.get("by", "registry"))
    if groups_by not in GROUPING:
        raise MethodologyError(f"{path}: groups.by must be one of {GROUPING}, not {groups_by!r}")
    volume = groups.get("volume") or {}
    high, low = int(volume.get("high", 100)), int(volume.get("low", 30))
    if groups_by == "volume" and not low < high:
        raise MethodologyError(f"{path}: groups.volume.low ({low}) must be below groups.volume.high ({high})")
    zones = raw.get("zones") or {"green": 80, "yellow": 60}
    green, yellow = float(zones.get("green", 80)), float(zones.get("yellow", 60))
    if not 0 <= yellow <= green <= 100:
        raise MethodologyError(f"{path}: zones need 0 <= yellow ({yellow}) <= green ({green}) <= 100")
    indicators = []
    seen: set[str] = set()
    for n, item in enumerate(need(raw, "indicators", ""), start=1):
        where = f"indicators[{n}]."
        ident = str(need(item, "id", where))
        if ident in seen:
            raise MethodologyError(f"{path}: {where}id {ident!r} is repeated")
        if ident in RESERVED_IDS or not _INDICATOR_ID.fullmatch(ident):
            raise MethodologyError(
                f"{path}: {where}id {ident!r} must be a name other than {RESERVED_IDS} "
                "(lower-case ASCII letters, digits and _, at most 63 characters)"
            )
        seen.add(ident)
        expression = str(item.get("expression") or item.get("column") or "")
        try:
            parse(expression)
        except ExpressionError as exc:
            raise MethodologyError(f"{path}: {where}expression: {exc}") from exc
        direction = str(item.get("direction", "higher"))
        if direction not in ("higher", "lower"):
            raise MethodologyError(f"{path}: {where}direction must be higher or lower, not {direction!r}")
        higher = direction == "higher"
        indicators.append(
            Indicator(
                id=ident,
                caption=str(need(item, "caption", where)),
                expression=expression,
                higher_is_better=higher,
                scoring=_scoring(path, where, need(item, "scoring", where), higher),
                weight=_positive(path, f"{where}weight", need(item, "weight", where)),
                missing=_choice(path, f"{where}missing", str(item.get("missing", "reweight")), MISSING_RULES),
                unit=str(item.get("unit", "")),
            )
        )
    return Methodology(
        id=methodology_id,
        version=int(need(raw, "version", "")),
        title=str(need(raw, "title", "")),
        description=str(raw.get("description", "")),
        groups_by=groups_by,
        volume_bounds=(high, low),
        group_captions={str(k): str(v) for k, v in (groups.get("captions") or {}).items()},
        min_incidents=int(raw.get("min_incidents", 0)),
        min_pages=int(raw.get("min_pages", 0)),
        zones=(green, yellow),
        indicators=tuple(indicators),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        source=str(path),
    )


def _scoring(path: Path, where: str, raw: dict[str, Any], higher: bool) -> Scoring:
    kind = _choice(path, f"{where}scoring.type", str(raw.get("type", "")), SCORING_TYPES)
    if kind == "linear":
        worst, best = raw.get("worst"), raw.get("best")
        if worst is None or best is None or float(worst) == float(best):
            raise MethodologyError(f"{path}: {where}scoring needs different worst and best for linear")
        if (float(best) > float(worst)) != higher:
            raise MethodologyError(f"{path}: {where}scoring best/worst contradict the direction")
        return Scoring(kind, worst=float(worst), best=float(best), higher_is_better=higher)
    if kind == "steps":
        steps = tuple((float(s["at"]), float(s["points"])) for s in raw.get("steps") or [])
        if not steps or any(not 0 <= p <= 100 for _, p in steps):
            raise MethodologyError(f"{path}: {where}scoring.steps need at/points pairs with points 0..100")
        return Scoring(kind, steps=steps, higher_is_better=higher)
    return Scoring(kind, higher_is_better=higher)


def _positive(path: Path, where: str, value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise MethodologyError(f"{path}: {where} must be positive, not {value!r}")
    return number


def _choice(path: Path, where: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise MethodologyError(f"{path}: {where} must be one of {options}, not {value!r}")
    return value


@dataclass(frozen=True)
class CompiledIndicator:
    """An indicator's SQL, written by ``transforms.rating_expression`` from its parsed expression."""

    name: str  # the result column, quoted
    sql: str
    columns: frozenset[str]  # columns of mart.rating_base it reads


def compile_indicators(methodology: Methodology) -> list[CompiledIndicator]:
    """The SQL of every indicator, parsed again from its text (a ``Methodology`` may not have come
    through ``load_methodology``); ``MethodologyError`` names the file, the indicator and the place."""
    compiled, seen = [], set()
    for n, indicator in enumerate(methodology.indicators, start=1):
        where = f"{methodology.source or methodology.id}: indicators[{n}]."
        if indicator.id in RESERVED_IDS or indicator.id in seen or not _INDICATOR_ID.fullmatch(indicator.id):
            raise MethodologyError(f"{where}id {indicator.id!r} must be a new name other than {RESERVED_IDS}")
        seen.add(indicator.id)
        try:
            tree = parse(indicator.expression)
        except ExpressionError as exc:
            raise MethodologyError(f"{where}expression: {exc}") from exc
        compiled.append(
            CompiledIndicator(quote_identifier(indicator.id), to_sql(tree), frozenset(columns_of(tree)))
        )
    return compiled


def methodology_dir(home: Path) -> Path:
    return home / "config" / "methodologies"


def load_all(home: Path) -> dict[str, Methodology]:
    found: dict[str, Methodology] = {}
    for path in sorted(methodology_dir(home).glob("*.yaml")):
        methodology = load_methodology(path)
        if methodology.id in found:
            raise MethodologyError(f"{path}: id {methodology.id!r} also in {found[methodology.id].source}")
        found[methodology.id] = methodology
    return found
