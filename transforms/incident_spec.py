"""The incident export formats (``config/incident_exports.yaml``) and header matching.

A file's header row is matched column by column against each field's ``header`` and ``aliases``
in the matching form of executor names (case, ё/е, quotes, spaces including non-breaking ones)
with dashes and other punctuation read as spaces. A missing required field rejects the file with
the names that were tried; every other column that matches no field and is not one of the source's
known extra columns is reported (:func:`unrecognised_columns`) with the closest known header.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from transforms.names import normalize_alias

SOURCES = ("im", "pos")
_SEPARATORS = re.compile(r"[^\w№]+|_")  # spaces, dashes, quotes, punctuation: all one space
CLOSEST_CUTOFF = 0.8  # difflib's ratio above which a known header is named as the likely intent


class FileRejectedError(ValueError):
    """The whole file cannot be used; ``reason`` is recorded with the file in ``rejected/``,
    ``reason_ru`` (when given) tells ЦУР staff the same in Russian in the file's report."""

    def __init__(self, reason: str, *, kind: str, reason_ru: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.reason_ru = reason_ru

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from worker processes intact
        return (_file_rejected, (self.reason, self.kind, self.reason_ru))


def _file_rejected(reason: str, kind: str, reason_ru: str | None = None) -> FileRejectedError:
    return FileRejectedError(reason, kind=kind, reason_ru=reason_ru)


def unreadable_workbook(name: str, exc: Exception) -> FileRejectedError:
    """The rejection of a file with a workbook's signature that its reader cannot open."""
    return FileRejectedError(
        f"{name}: not a readable workbook: {exc}",
        kind="not_a_spreadsheet",
        reason_ru=(
            f"{name}: книга Excel не открывается (файл повреждён или записан не до конца); выгрузите "
            "файл заново или откройте его в Excel и сохраните как XLSX, затем положите его снова"
        ),
    )


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
    extras: tuple[str, ...] = ()  # columns known to appear that no field reads (extra_columns_seen)


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
    """The matching form of a header or a value label: executor names' form
    (``normalize_alias``: case-folded, ё→е, quotes dropped, spaces collapsed) with every run of
    dashes, punctuation and other separators read as one space (``№`` is kept)."""
    return _SEPARATORS.sub(" ", normalize_alias(str(text))).strip()


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
        extras = tuple(str(e) for e in source.get("extra_columns_seen", []))
        name = str(source.get("name", code))
        sources[code] = SourceSpec(code=code, name=name, fields=fields, extras=extras)
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
            field_header = next(f.header for f in source.fields if f.name == name)
            raise FileRejectedError(
                f"{file}: columns {first + 1} ({headers[first]!r}) and {position + 1} ({header!r}) "
                f"both map to field {name}",
                kind="ambiguous_header",
                reason_ru=(
                    f"{file}: столбцы {first + 1} («{headers[first]}») и {position + 1} («{header}») "
                    f"означают одно поле «{field_header}»; оставьте в выгрузке один из них и положите "
                    "файл снова"
                ),
            )
        mapping[position] = name
    for spec in source.fields:
        if spec.required and spec.name not in mapping.values():
            tried = ", ".join(repr(n) for n in spec.names)
            tried_ru = ", ".join(f"«{n}»" for n in spec.names)
            raise FileRejectedError(
                f"{file}: required column {spec.header!r} is missing (tried {tried})",
                kind="missing_column",
                reason_ru=(
                    f"{file}: в первой строке нет обязательного столбца «{spec.header}» (подходят названия "
                    f"{tried_ru}); добавьте столбец в выгрузку и положите файл снова"
                ),
            )
    return mapping


@dataclass(frozen=True)
class UnrecognisedColumn:
    """A column of a file that no field reads and the source does not list as a known extra."""

    position: int  # 1-based, as a spreadsheet counts columns
    header: str
    closest: str | None  # the known header it is nearest to, when one is near

    def describe(self) -> str:
        if not self.header:
            return f"column {self.position} (no header)"
        near = f" (closest known: {self.closest!r})" if self.closest else ""
        return f"column {self.position} {self.header!r}{near}"


def unrecognised_columns(
    headers: list[Any], source: SourceSpec, mapping: dict[int, str]
) -> list[UnrecognisedColumn]:
    """The columns of ``headers`` that ``mapping`` (from :func:`match_headers`) leaves unread,
    known extras excepted, each with the closest header or alias of ``source`` when one is near."""
    known = {header_key(name): name for f in source.fields for name in f.names}
    extras = {header_key(name) for name in source.extras}
    found = []
    for position, header in enumerate(headers):
        if position in mapping:
            continue
        text = "" if header is None else str(header).strip()
        key = header_key(text)
        if key and key in extras:
            continue
        near = difflib.get_close_matches(key, list(known), n=1, cutoff=CLOSEST_CUTOFF) if key else []
        found.append(UnrecognisedColumn(position + 1, text, known[near[0]] if near else None))
    return found
