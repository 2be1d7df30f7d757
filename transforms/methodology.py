"""Rating methodologies as configuration (``config/methodologies/*.yaml``), validated on load.

A methodology names its rating groups (by registry group, by registry kind, by message volume, by
kind then volume, or one for all), its indicators (an expression over the columns of
``mart.rating_base`` in the language of ``transforms.rating_expression``, or a ``measure`` — a time
rule over incident-level timing; a source, a direction, a scoring function, a weight, whether it is
required, the minimum volume and ratings behind it, the networks whose pages it reads), its zones,
the minimum data for a body to be rated and how incident statuses count. ``MethodologyError`` names
the file and the field at fault; docs/rating.md is the reference.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transforms.rating_expression import (
    Binary,
    Call,
    Column,
    ExpressionError,
    Negate,
    Node,
    columns_of,
    parse,
    quote_identifier,
    to_sql,
)

SCORING_TYPES = ("linear", "steps", "percentile")
GROUPING = ("registry", "kind", "volume", "kind_volume", "all")
SOURCES = ("im", "pos", "all", "pages")  # what an indicator reads; its volume: messages or pages
MEASURE_TYPES = ("share_within", "mean", "median", "on_time")
MEASURE_SOURCES = ("im", "pos")
CLOCKS = ("work_hours", "calendar_hours", "work_days")
MEASURE_ENDS = ("answer", "reaction")
STATUS_RULES = ("excluded", "answered", "overdue", "standard")
NOT_RATED = "not_rated"
DEFAULT_STATUSES = {"rejected": "excluded"}  # «Отклонён»: out of every share, never overdue
# inputs every rating reads beside its indicators (groups, rated_when, min_volume, min_ratings)
RESERVED_IDS = (
    "org_id", "rating_group", "incidents", "pages", "kind", "incidents_im", "incidents_pos", "rated",
    "im_rated", "pos_rated",
)  # fmt: skip
# columns of mart.rating_base kept for BI that no indicator may score, and why
UNSCORABLE_COLUMNS = {
    "answer_hours_mean": "it mixes IM hours with ПОС days; score im_answer_hours_mean, "
    "pos_answer_work_days_mean or a measure of one source",
}
# the official pages a page indicator reads: vk (the default: the VK figures of mart.rating_base) or
# all (VK, OK, MAX and Telegram: each VK figure's *_all_networks column, migration 0029)
NETWORKS = ("vk", "all")
ALL_NETWORKS_COLUMNS = {
    "pages": "pages_all_networks",
    "posts_per_week": "posts_per_week_all_networks",
    "engagement_rate_pct": "engagement_rate_pct_all_networks",
    "photo_video_share": "photo_video_share_all_networks",
}
# VK page figures with no all-networks counterpart, and why
VK_ONLY_COLUMNS = {
    "compliance_score": "its checks read a VK community's fields («Светофор»)",
    "replied_share": "comments are read one by one on VK only",
}
# the figures of official pages: an indicator reading one scores pages
PAGE_FIGURES = frozenset(ALL_NETWORKS_COLUMNS) | frozenset(VK_ONLY_COLUMNS)
# the count of official pages of each networks value: what rated_when.pages and an indicator's
# min_volume of source pages compare with
PAGES_COLUMN = {"vk": "pages", "all": ALL_NETWORKS_COLUMNS["pages"]}
# the networks of each value as ЦУР staff read them (not-rated reasons, the published methodology)
NETWORK_NAMES = {"vk": "ВКонтакте", "all": "ВКонтакте, Одноклассники, Telegram, MAX"}
NETWORKS_TEXT = "vk (VK pages, the default) or all (every official page: VK, OK, MAX, Telegram)"
RATED_WHEN_NETWORKS_TEXT = "vk (VK pages) or all (every official page: VK, OK, MAX, Telegram)"
_NOT_AN_ID = (*RESERVED_IDS, PAGES_COLUMN["all"])  # names of inputs: no indicator may take them
_METHODOLOGY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # in snapshot ids and lake paths
_INDICATOR_ID = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # a result column: lower-case ASCII, ≤ 63 chars
_STATUS = re.compile(r"[a-z][a-z0-9_]{0,62}")  # a normalised incident status (core.fct_incident.status)
_KEYS = {
    "": {"id", "version", "title", "description", "groups", "min_group_size", "rated_when", "min_incidents",
         "min_pages", "statuses", "zones", "indicators"},
    "indicator": {"id", "caption", "expression", "column", "measure", "direction", "scoring", "weight",
                  "required", "source", "min_volume", "min_ratings", "unit", "networks"},
    "groups": {"by", "kinds", "unmatched", "volume", "captions"},
    "kind": {"caption", "kinds", "rating_groups"},
    "volume": {"high", "low", "source", "captions"},
    "measure": {"type", "source", "clock", "limit", "to"},
    "rated_when": {"incidents", "pages", "networks"},
}  # fmt: skip
_RENAMED = {"missing": "required (true: missing → 0 points; false: its weight is spread)"}


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
class Measure:
    """A time rule over incident-level timing (``core.fct_incident_timing``), computed in Python.

    ``share_within``: the share of the source's counted incidents answered (or reacted to) within
    ``limit`` of the clock — an incident still unanswered counts as not within; ``mean``/``median``:
    of the answered ones; ``on_time``: the share not overdue against the region's deadline
    (``config/marts.yaml``), with the methodology's statuses (no clock).
    """

    type: str
    source: str
    clock: str
    limit: float | None = None
    to: str = "answer"


@dataclass(frozen=True)
class Indicator:
    id: str
    caption: str
    expression: str  # "" for a measure
    higher_is_better: bool
    scoring: Scoring
    weight: float
    required: bool = False  # missing → 0 points, weight kept; else its weight is spread
    source: str = "all"
    min_volume: int = 0  # fewer messages (pages) of its source → missing
    min_ratings: int = 0  # fewer citizen ratings of its source → missing
    unit: str = ""
    measure: Measure | None = None
    networks: str = "vk"  # vk: the VK page figures; all: every official page (ALL_NETWORKS_COLUMNS)

    @property
    def missing(self) -> str:
        """The former ``missing:`` rule, for readers not yet moved to ``required``."""
        return "zero" if self.required else "reweight"


@dataclass(frozen=True)
class KindGroup:
    """A named group of bodies: registry ``kind`` values and/or ``rating_group`` values it holds
    (a body matches when every list given contains its value)."""

    caption: str
    kinds: tuple[str, ...] = ()
    rating_groups: tuple[str, ...] = ()

    def matches(self, kind: str | None, rating_group: str | None) -> bool:
        return (not self.kinds or kind in self.kinds) and (
            not self.rating_groups or rating_group in self.rating_groups
        )


@dataclass(frozen=True)
class VolumeBands:
    """Message volume bands: more than ``high``, ``low + 1`` to ``high``, at most ``low``, counted
    over ``source`` (im, pos or all)."""

    high: int = 100
    low: int = 30
    source: str = "all"
    captions: tuple[tuple[str, str], ...] = ()  # (band, caption) for band in high, moderate, low

    def caption(self, band: str) -> str:
        default = {
            "high": f"Более {self.high} сообщений",
            "moderate": f"От {self.low + 1} до {self.high} сообщений",
            "low": f"{self.low} сообщений и менее",
        }
        return dict(self.captions).get(band, default[band])

    def band(self, volume: float) -> str:
        return "high" if volume > self.high else "moderate" if volume > self.low else "low"


@dataclass(frozen=True)
class Grouping:
    by: str = "registry"
    kinds: tuple[KindGroup, ...] = ()
    unmatched: str = NOT_RATED  # a body no kind group holds: not rated, or this catch-all caption
    volume: VolumeBands = VolumeBands()


@dataclass(frozen=True)
class RatedWhen:
    """The minimum data for a body to be rated: messages (in all, or per source) and pages — of
    ``networks`` (vk or all; None: the networks the indicators read, ``Methodology.rated_when_networks``)."""

    incidents: int = 0
    incidents_by_source: tuple[tuple[str, int], ...] = ()  # (im|pos, minimum)
    pages: int = 0
    networks: str | None = None


@dataclass(frozen=True)
class Methodology:
    id: str
    version: int
    title: str
    description: str
    grouping: Grouping
    rated_when: RatedWhen
    zones: tuple[float, float]  # green from, yellow from
    indicators: tuple[Indicator, ...]
    content_hash: str
    source: str = ""
    min_group_size: int = 3
    statuses: tuple[tuple[str, str], ...] = tuple(DEFAULT_STATUSES.items())  # (status, rule)

    @property
    def total_weight(self) -> float:
        return sum(i.weight for i in self.indicators)

    @property
    def groups_by(self) -> str:
        return self.grouping.by

    @property
    def volume_bounds(self) -> tuple[int, int]:
        return self.grouping.volume.high, self.grouping.volume.low

    @property
    def min_incidents(self) -> int:
        return self.rated_when.incidents

    @property
    def min_pages(self) -> int:
        return self.rated_when.pages

    @property
    def rated_when_networks(self) -> str:
        """Whose official pages ``rated_when.pages`` counts: as the file says, else every network's
        when an indicator reads every network (a body whose only page is on OK has the page such an
        indicator scores), else VK's."""
        if self.rated_when.networks is not None:
            return self.rated_when.networks
        return "all" if any(i.networks == "all" for i in self.indicators) else "vk"

    def page_inputs(self) -> tuple[str, ...]:
        """The counts of pages beyond ``RESERVED_IDS`` the rating reads: ``pages_all_networks`` when
        rated_when or an indicator's min_volume counts every network's pages. A methodology of VK
        pages reads none, so its inputs (and snapshots' fingerprints) stay as they were."""
        counts_all = self.rated_when_networks == "all" and self.rated_when.pages > 0
        counts_all |= any(
            i.networks == "all" and i.source == "pages" and i.min_volume > 0 for i in self.indicators
        )
        return (PAGES_COLUMN["all"],) if counts_all else ()

    def status_rule(self, status: str) -> str:
        """How incidents of ``status`` count: excluded, answered, overdue or standard."""
        return dict(self.statuses).get(status, "standard")

    def measures(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.measure is not None)

    def group_order(self) -> list[str]:
        """The captions of the groups in publication order (those a month may have)."""
        grouping = self.grouping
        bands = [grouping.volume.caption(b) for b in ("high", "moderate", "low")]
        kinds = [k.caption for k in grouping.kinds]
        if grouping.unmatched != NOT_RATED:
            kinds.append(grouping.unmatched)
        if grouping.by == "kind":
            return kinds
        if grouping.by == "volume":
            return bands
        if grouping.by == "kind_volume":
            return [f"{kind}: {band}" for kind in kinds for band in bands]
        if grouping.by == "all":
            return [ALL_GROUP]
        return []  # registry: the registry's own groups, in the order of their captions


ALL_GROUP = "Все органы"


def load_methodology(path: Path | str) -> Methodology:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top")
    _known_keys(path, raw, "", "")

    def need(mapping: dict[str, Any], key: str, where: str) -> Any:
        if key not in mapping or mapping[key] in (None, ""):
            raise MethodologyError(f"{path}: {where}{key} is required")
        return mapping[key]

    methodology_id = str(need(raw, "id", ""))
    if not _METHODOLOGY_ID.fullmatch(methodology_id):
        raise MethodologyError(
            f"{path}: id {methodology_id!r} must be lower-case ASCII letters, digits, - and _ (at most 63)"
        )
    zones = _mapping(path, "zones", raw.get("zones") or {"green": 80, "yellow": 60})
    green, yellow = (
        _number(path, "zones.green", zones.get("green", 80)),
        _number(path, "zones.yellow", zones.get("yellow", 60)),
    )
    if not 0 <= yellow <= green <= 100:
        raise MethodologyError(f"{path}: zones need 0 <= yellow ({yellow}) <= green ({green}) <= 100")
    items = need(raw, "indicators", "")
    if not isinstance(items, list):
        raise MethodologyError(f"{path}: indicators must be a list")
    indicators = []
    seen: set[str] = set()
    for n, entry in enumerate(items, start=1):
        where = f"indicators[{n}]."
        item = _mapping(path, where.rstrip("."), entry)
        _known_keys(path, item, "indicator", where)
        ident = str(need(item, "id", where))
        if ident in seen:
            raise MethodologyError(f"{path}: {where}id {ident!r} is repeated")
        if ident in _NOT_AN_ID or not _INDICATOR_ID.fullmatch(ident):
            raise MethodologyError(
                f"{path}: {where}id {ident!r} must be a name other than {_NOT_AN_ID} "
                "(lower-case ASCII letters, digits and _, at most 63 characters)"
            )
        seen.add(ident)
        indicators.append(_indicator(path, where, item, ident, need))
    statuses = dict(DEFAULT_STATUSES)
    for status, rule in _mapping(path, "statuses", raw.get("statuses") or {}).items():
        if not _STATUS.fullmatch(str(status)):
            raise MethodologyError(
                f"{path}: statuses: {status!r} is not a status name (lower-case, as in exports)"
            )
        statuses[str(status)] = _choice(path, f"statuses.{status}", str(rule), STATUS_RULES)
    min_group_size = _count(path, "min_group_size", raw.get("min_group_size", 3))
    if min_group_size < 1:
        raise MethodologyError(f"{path}: min_group_size must be at least 1, not {min_group_size}")
    return Methodology(
        id=methodology_id,
        version=int(_number(path, "version", need(raw, "version", ""))),
        title=str(need(raw, "title", "")),
        description=str(raw.get("description", "")),
        grouping=_grouping(path, raw.get("groups") or {"by": "registry"}),
        rated_when=_rated_when(path, raw),
        zones=(green, yellow),
        indicators=tuple(indicators),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        source=str(path),
        min_group_size=min_group_size,
        statuses=tuple(sorted(statuses.items())),
    )


def _indicator(path: Path, where: str, item: dict[str, Any], ident: str, need: Any) -> Indicator:
    direction = str(item.get("direction", "higher"))
    if direction not in ("higher", "lower"):
        raise MethodologyError(f"{path}: {where}direction must be higher or lower, not {direction!r}")
    higher = direction == "higher"
    expression = str(item.get("expression") or item.get("column") or "")
    measure = None
    if "measure" in item:
        if expression:
            raise MethodologyError(f"{path}: {where}has both expression and measure: give one")
        measure = _measure(path, f"{where}measure.", item["measure"])
    else:
        try:
            tree = parse(expression)
        except ExpressionError as exc:
            raise MethodologyError(f"{path}: {where}expression: {exc}") from exc
        _scorable(f"{path}: {where}", tree)
    networks = item.get("networks", "vk")
    if networks not in NETWORKS:
        raise MethodologyError(
            f"{path}: {where}networks of indicator {ident!r} must be {NETWORKS_TEXT}, not {networks!r}"
        )
    if measure is not None and "networks" in item:
        raise MethodologyError(
            f"{path}: {where}networks of indicator {ident!r} is for page figures, not a measure of messages"
        )
    if measure is None:
        _over_networks(f"{path}: {where}", tree, networks)
    default_source = measure.source if measure else "all"
    source = _choice(path, f"{where}source", str(item.get("source", default_source)), SOURCES)
    if measure and source != measure.source:
        raise MethodologyError(
            f"{path}: {where}source ({source}) differs from measure.source ({measure.source}): give one"
        )
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise MethodologyError(f"{path}: {where}required must be true or false, not {required!r}")
    min_ratings = _count(path, f"{where}min_ratings", item.get("min_ratings", 0))
    min_volume = _count(path, f"{where}min_volume", item.get("min_volume", 0))
    if min_ratings and source == "pages":
        raise MethodologyError(
            f"{path}: {where}min_ratings needs a message source (im, pos or all), not pages"
        )
    return Indicator(
        id=ident,
        caption=str(need(item, "caption", where)),
        expression=expression,
        higher_is_better=higher,
        scoring=_scoring(
            path, where, _mapping(path, f"{where}scoring", need(item, "scoring", where)), higher
        ),
        weight=_positive(path, f"{where}weight", need(item, "weight", where)),
        required=required,
        source=source,
        min_volume=min_volume,
        min_ratings=min_ratings,
        unit=str(item.get("unit", "")),
        measure=measure,
        networks=networks,
    )


def _measure(path: Path, where: str, raw: Any) -> Measure:
    raw = _mapping(path, where.rstrip("."), raw)
    _known_keys(path, raw, "measure", where)
    kind = _choice(path, f"{where}type", str(raw.get("type", "")), MEASURE_TYPES)
    source = _choice(path, f"{where}source", str(raw.get("source", "")), MEASURE_SOURCES)
    if kind == "on_time":  # the region's deadline decides (core.fct_incident_timing.is_overdue)
        if unused := sorted({"clock", "limit", "to"} & set(raw)):
            raise MethodologyError(
                f"{path}: {where}{unused[0]} is not used by on_time (the deadline decides)"
            )
        return Measure(kind, source, "")
    clock = _choice(path, f"{where}clock", str(raw.get("clock", "")), CLOCKS)
    to = _choice(path, f"{where}to", str(raw.get("to", "answer")), MEASURE_ENDS)
    limit = raw.get("limit")
    if kind == "share_within":
        if limit is None:
            raise MethodologyError(f"{path}: {where}limit is required for share_within")
        limit = _positive(path, f"{where}limit", limit)
    elif limit is not None:
        raise MethodologyError(f"{path}: {where}limit is for share_within only, not {kind}")
    return Measure(kind, source, clock, limit, to)


def _grouping(path: Path, raw: Any) -> Grouping:
    raw = _mapping(path, "groups", raw)
    _known_keys(path, raw, "groups", "groups.")
    by = _choice(path, "groups.by", str(raw.get("by", "registry")), GROUPING)
    kinds: list[KindGroup] = []
    for n, entry in enumerate(_list(path, "groups.kinds", raw.get("kinds") or []), start=1):
        where = f"groups.kinds[{n}]."
        item = _mapping(path, where.rstrip("."), entry)
        _known_keys(path, item, "kind", where)
        caption = str(item.get("caption") or "")
        if not caption:
            raise MethodologyError(f"{path}: {where}caption is required")
        names = tuple(str(k) for k in _list(path, f"{where}kinds", item.get("kinds") or []))
        groups = tuple(str(g) for g in _list(path, f"{where}rating_groups", item.get("rating_groups") or []))
        if not names and not groups:
            raise MethodologyError(f"{path}: {where}needs kinds or rating_groups (registry values it holds)")
        if caption in {k.caption for k in kinds}:
            raise MethodologyError(f"{path}: {where}caption {caption!r} is repeated")
        kinds.append(KindGroup(caption, names, groups))
    if by in ("kind", "kind_volume") and not kinds:
        raise MethodologyError(f"{path}: groups.kinds is required when groups.by is {by}")
    if by not in ("kind", "kind_volume") and kinds:
        raise MethodologyError(f"{path}: groups.kinds is used only when groups.by is kind or kind_volume")
    unmatched = str(raw.get("unmatched") or NOT_RATED)
    if unmatched in {k.caption for k in kinds}:
        raise MethodologyError(f"{path}: groups.unmatched {unmatched!r} is also a kind group's caption")
    volume_raw = _mapping(path, "groups.volume", raw.get("volume") or {})
    _known_keys(path, volume_raw, "volume", "groups.volume.")
    captions = {**(raw.get("captions") or {}), **(volume_raw.get("captions") or {})}
    for band in captions:
        _choice(path, "groups.volume.captions", str(band), ("high", "moderate", "low"))
    volume = VolumeBands(
        high=_count(path, "groups.volume.high", volume_raw.get("high", 100)),
        low=_count(path, "groups.volume.low", volume_raw.get("low", 30)),
        source=_choice(
            path, "groups.volume.source", str(volume_raw.get("source", "all")), ("im", "pos", "all")
        ),
        captions=tuple((str(k), str(v)) for k, v in captions.items()),
    )
    if by in ("volume", "kind_volume") and not volume.low < volume.high:
        raise MethodologyError(
            f"{path}: groups.volume.low ({volume.low}) must be below groups.volume.high ({volume.high})"
        )
    return Grouping(by, tuple(kinds), unmatched, volume)


def _rated_when(path: Path, raw: dict[str, Any]) -> RatedWhen:
    """``rated_when: {incidents: N | {im: N, pos: N}, pages: N, networks: vk | all}``; top-level
    ``min_incidents`` and ``min_pages`` are the short form of incidents and pages (not both forms;
    ``networks``, which has no short form, may stand beside it)."""
    block = _mapping(path, "rated_when", raw.get("rated_when") or {})
    if ({"incidents", "pages"} & set(block)) and ({"min_incidents", "min_pages"} & set(raw)):
        raise MethodologyError(f"{path}: rated_when and min_incidents/min_pages: give rated_when only")
    _known_keys(path, block, "rated_when", "rated_when.")
    incidents = block.get("incidents", raw.get("min_incidents", 0))
    by_source: tuple[tuple[str, int], ...] = ()
    total = 0
    if isinstance(incidents, dict):
        for source, minimum in incidents.items():
            where = f"rated_when.incidents.{source}"
            _choice(path, where, str(source), ("im", "pos", "all"))
            by_source += ((str(source), _count(path, where, minimum)),)
        total = dict(by_source).pop("all", 0)
        by_source = tuple((s, m) for s, m in by_source if s != "all")
    else:
        total = _count(path, "rated_when.incidents", incidents)
    pages = _count(path, "rated_when.pages", block.get("pages", raw.get("min_pages", 0)))
    networks = block.get("networks")
    if networks is not None and networks not in NETWORKS:
        raise MethodologyError(
            f"{path}: rated_when.networks must be {RATED_WHEN_NETWORKS_TEXT}, not {networks!r} "
            "(left out: all when an indicator reads every network, else vk)"
        )
    return RatedWhen(total, by_source, pages, networks)


def _scorable(where: str, tree: Any) -> None:
    """Refuse an expression reading a column no indicator may score (``UNSCORABLE_COLUMNS``)."""
    if unscorable := sorted(set(columns_of(tree)) & set(UNSCORABLE_COLUMNS)):
        column = unscorable[0]
        raise MethodologyError(
            f"{where}expression reads {column}, which cannot be scored: {UNSCORABLE_COLUMNS[column]}"
        )


def _over_networks(where: str, tree: Node, networks: str) -> Node:
    """``tree`` reading the figures of ``networks``: for ``all`` each VK page figure becomes its
    all-networks column. Refused: an expression naming an all-networks column itself (say
    ``networks: all``), and under ``all`` a VK-only figure or no page figure at all."""
    read = columns_of(tree)
    by_name = {v: k for k, v in ALL_NETWORKS_COLUMNS.items()}
    if named := sorted(read & set(by_name)):
        raise MethodologyError(
            f"{where}expression reads {named[0]}: write {by_name[named[0]]} with networks: all"
        )
    if networks == "vk":
        return tree
    if vk_only := sorted(read & set(VK_ONLY_COLUMNS)):
        raise MethodologyError(
            f"{where}networks: all, but {vk_only[0]} has VK pages only: {VK_ONLY_COLUMNS[vk_only[0]]}"
        )
    if not read & set(ALL_NETWORKS_COLUMNS):
        raise MethodologyError(
            f"{where}networks: all changes nothing: the expression reads none of the page figures "
            f"{', '.join(ALL_NETWORKS_COLUMNS)}"
        )
    return _renamed(tree, ALL_NETWORKS_COLUMNS)


def reads_pages(indicator: Indicator) -> bool:
    """Whether ``indicator`` scores official pages: its expression reads a page figure
    (``PAGE_FIGURES``) or its volume is the pages' (``source: pages``); a measure reads messages."""
    if indicator.measure is not None:
        return False
    if indicator.source == "pages":
        return True
    try:
        return bool(columns_of(parse(indicator.expression)) & PAGE_FIGURES)
    except ExpressionError:
        return False


def _renamed(node: Node, names: dict[str, str]) -> Node:
    if isinstance(node, Column):
        return Column(names.get(node.name, node.name))
    if isinstance(node, Negate):
        return Negate(_renamed(node.operand, names))
    if isinstance(node, Binary):
        return Binary(node.op, _renamed(node.left, names), _renamed(node.right, names))
    if isinstance(node, Call):
        return Call(node.function, tuple(_renamed(a, names) for a in node.args))
    return node


def _known_keys(path: Path, mapping: dict[str, Any], kind: str, where: str) -> None:
    for key in mapping:
        if key in _RENAMED and kind == "indicator":
            raise MethodologyError(f"{path}: {where}{key} is no longer a key: use {_RENAMED[key]}")
        if key not in _KEYS[kind]:
            raise MethodologyError(
                f"{path}: {where}{key} is not a key here; known: {', '.join(sorted(_KEYS[kind]))}"
            )


def _mapping(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MethodologyError(f"{path}: {where} must be a mapping, not {value!r}")
    return value


def _list(path: Path, where: str, value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, list):
        raise MethodologyError(f"{path}: {where} must be a list, not {value!r}")
    return value


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MethodologyError(f"{path}: {where} must be a number, not {value!r}")
    return float(value)


def _count(path: Path, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MethodologyError(f"{path}: {where} must be a whole number 0 or more, not {value!r}")
    return value


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
    number = _number(path, where, value)
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
    """The SQL of every expression indicator, parsed again from its text (a ``Methodology`` may not have come
    through ``load_methodology``); ``MethodologyError`` names the file, the indicator and the place."""
    compiled, seen = [], set()
    for n, indicator in enumerate(methodology.indicators, start=1):
        where = f"{methodology.source or methodology.id}: indicators[{n}]."
        if indicator.id in _NOT_AN_ID or indicator.id in seen or not _INDICATOR_ID.fullmatch(indicator.id):
            raise MethodologyError(f"{where}id {indicator.id!r} must be a new name other than {_NOT_AN_ID}")
        seen.add(indicator.id)
        if indicator.measure is not None:
            continue  # a time rule over incident timing: computed in Python (transforms.measures)
        try:
            tree = parse(indicator.expression)
        except ExpressionError as exc:
            raise MethodologyError(f"{where}expression: {exc}") from exc
        _scorable(where, tree)
        if indicator.networks not in NETWORKS:
            raise MethodologyError(f"{where}networks must be one of {NETWORKS}, not {indicator.networks!r}")
        tree = _over_networks(where, tree, indicator.networks)
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
