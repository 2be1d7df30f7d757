"""Turn raw export cells into typed incident rows; cells that cannot be typed become problems.

Vectorised with pandas so that a million-row export parses in seconds. Value sets (status,
channel, message type) map known labels to codes and keep unknown labels as written, so that the
Great Expectations suite names them. Dates are the region's local time and come out in UTC.

Each typed field also keeps its cells as written in the file (column ``<field>#written``), so that
a row quarantined later, by the suite, shows what the file said rather than the typed value. CSV
rows that could not be read as written (``transforms.incident_read.ReadFault``: wrong number of
fields, bytes not in the file's encoding) become problems of their whole row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.incident_read import READ_FAULTS, ReadFault
from transforms.incident_spec import ExportSpec, FieldSpec, SourceSpec, header_key
from transforms.quarantine import Problem

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
PROFILE_ID = r"^id(\d+)$"
WRITTEN = "#written"  # suffix of a typed field's column of cells as written in the file


def written_column(field_name: str) -> str:
    """The column of ``field_name``'s cells as written (typed fields only)."""
    return f"{field_name}{WRITTEN}"


@dataclass
class ParsedChunk:
    """Typed rows of one chunk, their raw-row hashes, and the cells that could not be typed."""

    rows: pd.DataFrame  # one column per field (+ satisfied, author_key), index = row number
    row_hash: pd.Series
    problems: list[Problem] = field(default_factory=list)
    empty_rows: int = 0
    read_faults: list[ReadFault] = field(default_factory=list)  # rows unreadable as written


def parse_chunk(
    raw: pd.DataFrame,
    mapping: dict[int, str],
    headers: list[str],
    *,
    spec: ExportSpec,
    source: SourceSpec,
    timezone: str,
    file: str,
    pseudonymize: Callable[[str], str],
) -> ParsedChunk:
    """Type the cells of ``raw`` (columns by position) for the fields in ``mapping``."""
    faults: list[ReadFault] = list(raw.attrs.get(READ_FAULTS, []))
    blank = raw.astype(str).apply(lambda col: col.str.strip().eq("")).astype(bool)
    empty = raw.isna().astype(bool) | blank
    blank_rows = empty.all(axis=1) & ~raw.index.isin([f.row for f in faults])
    raw = raw[~blank_rows]
    row_hash = pd.Series(pd.util.hash_pandas_object(raw.astype(str), index=False).to_numpy(), index=raw.index)
    header_of = {name: str(headers[pos]) for pos, name in mapping.items()}
    out = pd.DataFrame(index=raw.index)
    problems: list[Problem] = []
    position = {name: pos for pos, name in mapping.items()}
    for spec_field in source.fields:
        column = raw[position[spec_field.name]] if spec_field.name in position else None
        cells = column if column is not None else pd.Series(None, index=raw.index, dtype=object)
        header = header_of.get(spec_field.name, spec_field.header)
        typed, bad = _typed(cells, spec_field, spec, timezone)
        if spec_field.type == "rating":
            out[spec_field.name], out["satisfied"] = typed
        else:
            out[spec_field.name] = typed
        if spec_field.type != "text" or spec_field.values:
            out[written_column(spec_field.name)] = _written(cells)
        problems += [
            Problem(file, int(row), header, reason, _shown(cells.at[row])) for row, reason in bad.items()
        ]
    if "author" in out:
        out["author_key"] = author_keys(out["author"], out.get("channel"), source.code, pseudonymize)
    problems += [Problem(file, fault.row, None, fault.reason, None) for fault in faults]
    return ParsedChunk(out, row_hash, problems, int(blank_rows.sum()), faults)


def _written(cells: pd.Series) -> pd.Series:
    """Cells as written: text as it is, Excel cells as their text (dates ``ДД.ММ.ГГГГ ЧЧ:ММ:СС``)."""
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        return cells.astype(object).where(cells.notna(), None)
    return cells.map(_shown).astype(object)


def _typed(
    cells: pd.Series, spec_field: FieldSpec, spec: ExportSpec, timezone: str
) -> tuple[pd.Series | tuple[pd.Series, pd.Series], pd.Series]:
    """The typed column and a Series row → reason for the cells that could not be typed."""
    if spec_field.type == "datetime":
        return _datetimes(cells, spec.datetime_formats, timezone)
    if spec_field.type == "date":
        return _end_of_day(cells, spec.date_formats, timezone)
    if spec_field.type == "rating":
        return _ratings(cells, spec)
    if spec_field.type == "int":
        return _whole_numbers(cells)
    text = _texts(cells)
    if spec_field.values:
        labels = spec.value_keys[spec_field.values]
        return _per_value(text, lambda v: labels.get(header_key(v), v)), _none(cells)
    return text, _none(cells)


def _per_value(values: pd.Series, func: Callable[[str], object]) -> pd.Series:
    """``func`` of every non-null value, called once per distinct value (exports repeat a few
    labels and names over many rows); nulls stay None."""
    present = values.notna()
    distinct = pd.unique(values[present])
    lookup = dict(zip(distinct, map(func, distinct), strict=True))
    out = pd.Series(None, index=values.index, dtype=object)
    out[present] = values[present].map(lookup)
    return out


def _none(cells: pd.Series) -> pd.Series:
    return pd.Series(dtype=object, index=cells.index[:0])


def _texts(cells: pd.Series) -> pd.Series:
    """Stripped text of every cell, None when empty; whole floats (Excel) lose their ``.0``."""
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):  # CSV: vectorised
        stripped = cells.astype(object).where(cells.notna(), None).str.strip()
        return stripped.where(stripped.notna() & stripped.ne(""), None).astype(object)

    def text(value: object) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        stripped = str(value).strip()
        return stripped or None

    return cells.map(text).astype(object)


def _whole_numbers(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _texts(cells)
    ok = text.isna() | text.str.fullmatch(r"\d+").fillna(False).astype(bool)
    return text.where(ok, None), text[~ok].map(lambda _: "not a whole number")


def _local_naive(cells: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """Naive local timestamps from text (``formats``), Excel date cells or Excel serial numbers."""
    result = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[us]")
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):  # CSV: text only
        return _parse_text_dates(_texts(cells), formats, result)
    is_cell = cells.map(lambda v: isinstance(v, dt.datetime | dt.date)).astype(bool)
    if is_cell.any():
        stamps = pd.to_datetime(cells[is_cell].map(pd.Timestamp), errors="coerce")
        result[is_cell] = stamps.dt.round("s").astype("datetime64[us]")
    is_number = cells.map(
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and not pd.isna(v)
    ).astype(bool)
    if is_number.any():
        days = pd.to_numeric(cells[is_number])
        result[is_number] = (
            (EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).dt.round("s").astype("datetime64[us]")
        )
    return _parse_text_dates(_texts(cells.where(~(is_cell | is_number), None)), formats, result)


def _parse_text_dates(
    text: pd.Series, formats: tuple[str, ...], result: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Fill ``result`` from the first of ``formats`` each text parses with; the rest are bad."""
    pending = text.notna()
    for fmt in formats:
        if not pending.any():
            break
        parsed = pd.to_datetime(text[pending], format=fmt, errors="coerce")
        hit = parsed.notna()
        result[hit[hit].index] = parsed[hit].astype("datetime64[us]")
        pending[hit[hit].index] = False
    bad = text[pending].map(lambda v: "not a date-time")
    return result, bad


def _datetimes(cells: pd.Series, formats: tuple[str, ...], timezone: str) -> tuple[pd.Series, pd.Series]:
    local, bad = _local_naive(cells, formats)
    expected = " or ".join(_human(f) for f in formats)
    bad = bad.map(lambda _: f"not a date-time (expected {expected})")
    return _to_utc(local, timezone), bad


def _end_of_day(cells: pd.Series, formats: tuple[str, ...], timezone: str) -> tuple[pd.Series, pd.Series]:
    local, bad = _local_naive(cells, formats)
    expected = " or ".join(_human(f) for f in formats)
    bad = bad.map(lambda _: f"not a date (expected {expected})")
    return _to_utc(local.dt.normalize() + pd.Timedelta(days=1), timezone), bad


def _to_utc(local: pd.Series, timezone: str) -> pd.Series:
    return local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")


def _human(fmt: str) -> str:
    return (
        fmt.replace("%d", "ДД")
        .replace("%m", "ММ")
        .replace("%Y", "ГГГГ")
        .replace("%H", "ЧЧ")
        .replace("%M", "ММ")
        .replace("%S", "СС")
    )


def _ratings(cells: pd.Series, spec: ExportSpec) -> tuple[tuple[pd.Series, pd.Series], pd.Series]:
    """(satisfaction on the scale, satisfied 0/1) and the cells that are neither number nor word."""
    text = _texts(cells)
    words = {header_key(k): v for k, v in spec.rating_words.items()}
    number = pd.to_numeric(text, errors="coerce")
    word = _per_value(text, lambda v: words.get(header_key(v)))
    whole = number.notna() & (number % 1 == 0)
    satisfaction = number.where(whole).astype("Int64")
    satisfied = pd.Series(pd.NA, index=cells.index, dtype="Int64")
    satisfied[whole] = (number[whole] >= spec.satisfied_from).astype("Int64")
    has_word = word.notna() & ~whole
    satisfied[has_word] = word[has_word].astype("Int64")
    low, high = spec.rating_scale
    bad = text[text.notna() & ~whole & ~has_word].map(
        lambda _: f"not a rating (expected a whole number {low}–{high} or {', '.join(spec.rating_words)})"
    )
    return (satisfaction, satisfied), bad


def author_keys(
    authors: pd.Series, channels: pd.Series | None, source: str, pseudonymize: Callable[[str], str]
) -> pd.Series:
    """Keyed pseudonyms of authors: a VK profile id (``id123`` on channel vk) as ``vk:123``, else the name."""
    profile = authors.str.extract(PROFILE_ID, expand=False)
    on_vk = channels.eq("vk") if channels is not None else pd.Series(False, index=authors.index)
    identity = ("vk:" + profile).where(profile.notna() & on_vk, f"{source}:" + _per_value(authors, _name_key))
    return _per_value(identity.where(authors.notna(), None), pseudonymize)


def _name_key(name: str) -> str:
    return " ".join(str(name).casefold().replace("ё", "е").split())


def _shown(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M:%S")
    return str(value)
