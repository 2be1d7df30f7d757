"""The incident export formats (``config/incident_exports.yaml``) and header matching.

A file's header row is matched column by column against each field's ``header`` and ``aliases``
after trimming, collapsing spaces and case-folding. Unknown columns are ignored; a missing required
field rejects the file with the names that were tried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES = ("im", "pos")
_SPACES = re.compile(r"\s+")


class FileRejectedError(ValueError):
    """The whole file cannot be used; ``reason`` is recorded with the file in ``rejected/``."""

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from worker processes intact
        return (_file_rejected, (self.reason, self.kind))


def _file_rejected(reason: str, kind: str) -> FileRejectedError:
    return FileRejectedError(reason, kind=kind)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a source's export."""

    name: str
    header: str
    aliases: tuple[str, ...]
    required: bool
    type: str
    personal: bool
    values: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


@dataclass(frozen=True)
class SourceSpec:
    """The export of one source (``im`` or ``pos``)."""

    code: str
    name: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class ExportSpec:
    """All of ``config/incident_exports.yaml``."""

    sources: dict[str, SourceSpec]
    value_sets: dict[str, dict[str, str]]
    datetime_formats: tuple[str, ...]
    date_formats: tuple[str, ...]
    rating_scale: tuple[int, int]
    rating_words: dict[str, int]
    satisfied_from: int
    csv_encodings: tuple[str, ...] = ("utf-8", "utf-8-sig", "cp1251")
    csv_separators: tuple[str, ...] = (";", ",")
    value_keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def codes(self, value_set: str) -> list[str]:
        """The codes a value set maps to, sorted."""
        return sorted(set(self.value_sets[value_set].values()))


def header_key(text: str) -> str:
    """The matching form of a header or a value label: trimmed, spaces collapsed, case-folded."""
    return _SPACES.sub(" ", str(text)).strip().casefold()


def load_spec(path: Path | str) -> ExportSpec:
    """Read and check the export configuration."""
    raw: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    types = raw["types"]
    value_sets = {
        name: {str(k): str(v) for k, v in labels.items()} for name, labels in raw["value_sets"].items()
    }
    sources = {}
    for code, source in raw["sources"].items():
        fields = tuple(
            FieldSpec(
                name=name,
                header=str(spec["header"]),
                aliases=tuple(str(a) for a in spec.get("aliases", [])),
                required=bool(spec.get("required", False)),
                type=str(spec.get("type", "text")),
                personal=bool(spec.get("personal", False)),
                values=spec.get("values"),
            )
            for name, spec in source["fields"].items()
        )
        unknown_sets = {f.values for f in fields if f.values and f.values not in value_sets}
        if unknown_sets:
            raise ValueError(f"{path}: source {code} names unknown value sets {sorted(unknown_sets)}")
        if "incident_id" not in {f.name for f in fields}:
            raise ValueError(f"{path}: source {code} has no incident_id field")
        sources[code] = SourceSpec(code=code, name=str(source.get("name", code)), fields=fields)
    return ExportSpec(
        sources=sources,
        value_sets=value_sets,
        datetime_formats=tuple(types["datetime"]["formats"]),
        date_formats=tuple(types["date"]["formats"]),
        rating_scale=tuple(types["rating"]["scale"]),
        rating_words={str(k): int(v) for k, v in types["rating"].get("words", {}).items()},
        satisfied_from=int(types["rating"].get("satisfied_from", 4)),
        csv_encodings=tuple(raw["files"].get("csv_encodings", ("utf-8", "utf-8-sig", "cp1251"))),
        csv_separators=tuple(raw["files"].get("csv_separators", (";", ","))),
        value_keys={
            name: {header_key(k): v for k, v in labels.items()} for name, labels in value_sets.items()
        },
    )


def match_headers(headers: list[Any], source: SourceSpec, file: str) -> dict[int, str]:
    """Column position → field name; rejects a file that lacks a required field or repeats one."""
    wanted = {header_key(name): f.name for f in source.fields for name in f.names}
    mapping: dict[int, str] = {}
    for position, header in enumerate(headers):
        name = wanted.get(header_key(header)) if header is not None else None
        if name is None:
            continue
        if name in mapping.values():
            first = next(p for p, n in mapping.items() if n == name)
            raise FileRejectedError(
                f"{file}: columns {first + 1} ({headers[first]!r}) and {position + 1} ({header!r}) "
                f"both map to field {name}",
                kind="ambiguous_header",
            )
        mapping[position] = name
    for spec in source.fields:
        if spec.required and spec.name not in mapping.values():
            tried = ", ".join(repr(n) for n in spec.names)
            raise FileRejectedError(
                f"{file}: required column {spec.header!r} is missing (tried {tried})",
                kind="missing_column",
            )
    return mapping
