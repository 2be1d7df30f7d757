"""``--set path=value`` overrides of a methodology file, for what-if ratings.

An override names a field the methodology language knows — ``<indicator id>.weight``,
``indicators.<indicator id>.scoring.best``, ``groups.volume.high``, ``zones.green`` … — and a value,
parsed to the field's type (the type of the value the file holds there, else the language's); a
field of a few words (an indicator's ``networks``, ``rated_when.networks``) takes only those, and a
bad word is refused naming the override and the indicator. Paths outside the allow-list, lists and
unparsable values are refused with the override named. The result
is validated by the same loader as a file (``load_methodology``); an error it finds names the
overrides that touched the field at fault.
"""

from __future__ import annotations

import copy
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from transforms.methodology import (
    NETWORKS,
    NETWORKS_TEXT,
    RATED_WHEN_NETWORKS_TEXT,
    Methodology,
    MethodologyError,
    load_methodology,
)

# the scalar fields --set may change, by path (an indicator's fields after its id), with their type
TOP_FIELDS: dict[str, type] = {
    "version": int,
    "title": str,
    "description": str,
    "min_incidents": int,
    "min_pages": int,
    "min_group_size": int,
    "zones.green": float,
    "zones.yellow": float,
    "groups.by": str,
    "groups.unmatched": str,
    "groups.volume.high": int,
    "groups.volume.low": int,
    "groups.volume.source": str,
    "rated_when.incidents": int,
    "rated_when.incidents.im": int,
    "rated_when.incidents.pos": int,
    "rated_when.incidents.all": int,
    "rated_when.pages": int,
    "rated_when.networks": str,
    "statuses.rejected": str,
    "statuses.forwarded": str,
    "statuses.interim": str,
}
INDICATOR_FIELDS: dict[str, type] = {
    "caption": str,
    "expression": str,
    "direction": str,
    "weight": float,
    "required": bool,
    "source": str,
    "min_volume": int,
    "min_ratings": int,
    "unit": str,
    "networks": str,
    "scoring.type": str,
    "scoring.worst": float,
    "scoring.best": float,
    "measure.type": str,
    "measure.source": str,
    "measure.clock": str,
    "measure.limit": float,
    "measure.to": str,
}
# fields whose value is one of a few words, checked when parsed (the loader checks them again), with
# what the error says they may be
INDICATOR_CHOICES: dict[str, tuple[tuple[str, ...], str]] = {"networks": (NETWORKS, NETWORKS_TEXT)}
TOP_CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "rated_when.networks": (NETWORKS, RATED_WHEN_NETWORKS_TEXT)
}
_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
_TRUE, _FALSE = ("true", "yes", "да", "1"), ("false", "no", "нет", "0")


@dataclass(frozen=True)
class Override:
    text: str  # as given: path=value
    path: tuple[str, ...]  # into the YAML mapping; an indicator's path starts ("indicators", id)
    field: str  # the loader's name of the field: groups.volume.high, indicators[3].weight
    value: Any


def parse_overrides(raw: dict[str, Any], texts: list[str]) -> list[Override]:
    """Each ``path=value`` checked against ``raw`` (the methodology file's mapping) and the allow-list."""
    return [_parse(raw, text) for text in texts]


def apply_overrides(raw: dict[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """A copy of ``raw`` with the overrides set."""
    result = copy.deepcopy(raw)
    for override in overrides:
        if override.path[0] == "indicators":
            target = next(i for i in result["indicators"] if str(i.get("id")) == override.path[1])
            rest = override.path[2:]
        else:
            target, rest = result, override.path
        for key in rest[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[rest[-1]] = override.value
    return result


def load_with_overrides(path: Path | str, texts: list[str]) -> Methodology:
    """The methodology of ``path`` with ``texts`` (``path=value``) applied, validated as a file."""
    path = Path(path)
    if not texts:
        return load_methodology(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top")
    overrides = parse_overrides(raw, texts)
    changed = apply_overrides(raw, overrides)
    with tempfile.TemporaryDirectory(prefix="gospublic-methodology-") as folder:
        draft = Path(folder) / path.name
        draft.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False), encoding="utf-8")
        try:
            methodology = load_methodology(draft)
        except MethodologyError as exc:
            message = str(exc).replace(str(draft), str(path))
            named = [o.text for o in overrides if o.field in message] or [o.text for o in overrides]
            raise MethodologyError(f"--set {', '.join(named)}: {message}") from exc
    return replace(methodology, source=f"{path} (--set {', '.join(texts)})")


def _parse(raw: dict[str, Any], text: str) -> Override:
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not _PATH.fullmatch(name):
        raise MethodologyError(f"--set {text}: expected path=value, e.g. on_time.weight=25")
    parts = tuple(name.split("."))
    ids = [str(i.get("id")) for i in raw.get("indicators") or [] if isinstance(i, dict)]
    if parts[0] == "indicators" and len(parts) > 2:
        parts = parts[1:]
        if parts[0] not in ids:
            raise MethodologyError(f"--set {text}: no indicator {parts[0]!r}; the methodology has {ids}")
    if parts[0] in ids and len(parts) > 1:
        if ".".join(parts) in TOP_FIELDS or parts[0] in raw:
            raise MethodologyError(f"--set {text}: ambiguous; write indicators.{name}")
        field = ".".join(parts[1:])
        if field not in INDICATOR_FIELDS:
            raise MethodologyError(
                f"--set {text}: an indicator's {field!r} cannot be set; settable: {sorted(INDICATOR_FIELDS)}"
            )
        item = raw["indicators"][ids.index(parts[0])]
        kind = _scalar(text, _lookup(item, parts[1:]), INDICATOR_FIELDS[field])
        if field in INDICATOR_CHOICES:
            _one_of(text, f"{field} of indicator {parts[0]!r}", value, *INDICATOR_CHOICES[field])
        return Override(
            text,
            ("indicators", *parts),
            f"indicators[{ids.index(parts[0]) + 1}].{field}",
            _value(text, value, kind),
        )
    if name not in TOP_FIELDS:
        raise MethodologyError(
            f"--set {text}: {name!r} is neither a settable field {sorted(TOP_FIELDS)} nor "
            f"<indicator>.<field> of the indicators {ids}"
        )
    kind = _scalar(text, _lookup(raw, parts), TOP_FIELDS[name])
    if name in TOP_CHOICES:
        _one_of(text, name, value, *TOP_CHOICES[name])
    return Override(text, parts, name, _value(text, value, kind))


def _one_of(text: str, what: str, value: str, options: tuple[str, ...], described: str) -> None:
    if value not in options:
        raise MethodologyError(f"--set {text}: {what} must be {described}, not {value!r}")


def _lookup(mapping: dict[str, Any], parts: tuple[str, ...]) -> Any:
    node: Any = mapping
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _scalar(text: str, current: Any, kind: type) -> type:
    """``kind``, unless the file holds a list or mapping there (set its fields instead)."""
    if isinstance(current, (list, dict)):
        raise MethodologyError(f"--set {text}: the file holds a list or mapping there; set one of its fields")
    return kind


def _value(text: str, value: str, kind: type) -> Any:
    if value == "":
        raise MethodologyError(f"--set {text}: the value is empty")
    try:
        if kind is bool:
            lowered = value.lower()
            if lowered not in _TRUE + _FALSE:
                raise ValueError(value)
            return lowered in _TRUE
        if kind is int:
            number = float(value.replace(",", "."))
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind is float:
            return float(value.replace(",", "."))
    except ValueError:
        raise MethodologyError(f"--set {text}: {value!r} is not a {kind.__name__}") from None
    return value
