"""Read an incident export in chunks: format, encoding and separator are detected from the bytes.

* XLSX/XLS are recognised by their signature and read with python-calamine (first sheet);
* anything else must be CSV: UTF-8 (with or without BOM) or cp1251, ``;`` or ``,`` separated —
  the separator is the one under which the header row names the most known fields.

Chunks are frames of raw cells (strings for CSV, native cells for XLSX) indexed by the
spreadsheet row number (the header is row 1), so every problem can name its row.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.incident_spec import FileRejectedError, SourceSpec, header_key

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SAMPLE_BYTES = 64 * 1024
DEFAULT_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class FileFormat:
    """How a file is written."""

    kind: str  # xlsx / xls / csv
    encoding: str = ""
    separator: str = ""

    def describe(self) -> str:
        if self.kind != "csv":
            return self.kind
        return f"csv ({self.encoding}, separator {self.separator!r})"


def detect_format(
    path: Path, source: SourceSpec, *, encodings: tuple[str, ...], separators: tuple[str, ...]
) -> FileFormat:
    """The format of ``path``; raises ``FileRejectedError`` for empty or non-spreadsheet files."""
    name = path.name
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise FileRejectedError(f"{name}: the file is empty", kind="empty")
    if head.startswith(XLSX_MAGIC):
        return FileFormat("xlsx")
    if head.startswith(XLS_MAGIC):
        return FileFormat("xls")
    if b"\x00" in head:
        raise FileRejectedError(
            f"{name}: not a spreadsheet (binary content; expected XLSX or CSV)", kind="not_a_spreadsheet"
        )
    encoding = _detect_encoding(head, encodings)
    if encoding is None:
        raise FileRejectedError(
            f"{name}: text in none of the encodings {', '.join(encodings)}", kind="bad_encoding"
        )
    text = head.decode(encoding, errors="ignore")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    known = {header_key(n) for f in source.fields for n in f.names}
    best, best_hits = "", 0
    for separator in separators:
        cells = next(csv.reader([first_line], delimiter=separator), [])
        hits = sum(1 for cell in cells if header_key(cell) in known)
        if hits > best_hits:
            best, best_hits = separator, hits
    if not best:
        raise FileRejectedError(
            f"{name}: the first row names no known column of {source.code} exports "
            f"(separators tried: {' '.join(repr(s) for s in separators)})",
            kind="wrong_format",
        )
    return FileFormat("csv", encoding, best)


def _detect_encoding(head: bytes, encodings: tuple[str, ...]) -> str | None:
    if head.startswith(codecs.BOM_UTF8) and "utf-8-sig" in encodings:
        return "utf-8-sig"
    for encoding in encodings:
        if encoding == "utf-8-sig":
            continue
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(head, final=False)  # a sample may end inside a multi-byte character
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def read_chunks(
    path: Path, fmt: FileFormat, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> tuple[list[Any], Iterator[pd.DataFrame]]:
    """The header row and an iterator of raw chunks (columns by position, index = row number)."""
    if fmt.kind == "csv":
        return _csv_chunks(path, fmt, chunk_rows)
    return _workbook_chunks(path, chunk_rows)


def _csv_chunks(path: Path, fmt: FileFormat, chunk_rows: int) -> tuple[list[Any], Iterator[pd.DataFrame]]:
    with open(path, encoding=fmt.encoding, newline="") as handle:
        header = next(csv.reader(handle, delimiter=fmt.separator), [])
    width = len(header)

    def chunks() -> Iterator[pd.DataFrame]:
        reader = pd.read_csv(
            path,
            sep=fmt.separator,
            encoding=fmt.encoding,
            header=None,
            skiprows=1,
            names=list(range(width)),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
            engine="c",
        )
        first_row = 2
        try:
            for chunk in reader:
                chunk.index = pd.RangeIndex(first_row, first_row + len(chunk))
                first_row += len(chunk)
                yield chunk
        except pd.errors.ParserError as exc:
            raise FileRejectedError(f"{path.name}: malformed CSV: {exc}", kind="malformed_csv") from exc
        except UnicodeDecodeError as exc:
            raise FileRejectedError(
                f"{path.name}: not valid {fmt.encoding} at byte {exc.start}", kind="bad_encoding"
            ) from exc

    return header, chunks()


def _workbook_chunks(path: Path, chunk_rows: int) -> tuple[list[Any], Iterator[pd.DataFrame]]:
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        header = next(rows, [])
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise FileRejectedError(
            f"{path.name}: not a readable workbook: {exc}", kind="not_a_spreadsheet"
        ) from exc
    header = [_cell(c) for c in header]
    width = len(header)

    def chunks() -> Iterator[pd.DataFrame]:
        buffer: list[list[Any]] = []
        first_row = 2
        for row in rows:
            cells = [_cell(c) for c in row[:width]]
            buffer.append(cells + [None] * (width - len(cells)))
            if len(buffer) == chunk_rows:
                yield _frame(buffer, width, first_row)
                first_row += len(buffer)
                buffer = []
        if buffer:
            yield _frame(buffer, width, first_row)

    return header, chunks()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.strip() else None
    return value


def _frame(rows: list[list[Any]], width: int, first_row: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(range(width)), dtype=object)
    frame.index = pd.RangeIndex(first_row, first_row + len(rows))
    return frame
