"""Read an incident export in chunks: format, encoding and separator are detected from the bytes.

* XLSX/XLS are recognised by their signature and read with python-calamine (first sheet);
* HTML pages and Excel 2003 XML saved under a spreadsheet's name are named as such and rejected;
* anything else must be CSV: UTF-8 (with or without BOM), cp1251 or UTF-16 (with a BOM or
  recognised by its zero bytes), ``;`` or ``,`` separated — the separator is the one under which
  the header row names the most known fields.

Chunks are frames of raw cells (strings for CSV, native cells for XLSX) indexed by the
spreadsheet row number (the header is row 1), so every problem can name its row. A CSV row whose
fields do not fit the header (too few, or too many that are not empty) or whose bytes are not in
the file's encoding stays in its chunk, padded or cut to the header's width, and is listed in the
chunk's ``attrs[READ_FAULTS]`` (:class:`ReadFault`: row, line, reason, the row as written) so that
it is quarantined alone while the rest of the file loads.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from transforms.incident_spec import FileRejectedError, SourceSpec, header_key, unreadable_workbook

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SAMPLE_BYTES = 64 * 1024
DEFAULT_CHUNK_ROWS = 100_000
READ_FAULTS = "read_faults"  # a chunk's attrs key: its rows that could not be read as written
FIELD_SIZE_LIMIT = 1 << 30  # csv's default (128 KiB) is below a long message text
UTF16_PROBE_BYTES = 4096
_HTML = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|table|meta)\b", re.I | re.S)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_XML_SPREADSHEET = "urn:schemas-microsoft-com:office:spreadsheet"
_REDROP = "fix the file and drop it into incoming/ again"
_REDROP_RU = "исправьте файл и положите его в incoming/ снова"


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


@dataclass(frozen=True)
class ReadFault:
    """A CSV row that cannot be read as written: its row, first line, why, and its text."""

    row: int  # spreadsheet row (header = 1)
    line: int  # first physical line of the row in the file
    reason: str
    raw: str  # the row as written (undecodable bytes shown in the encoding they look like)


def detect_format(
    path: Path, source: SourceSpec, *, encodings: tuple[str, ...], separators: tuple[str, ...]
) -> FileFormat:
    """The format of ``path``; raises ``FileRejectedError`` for empty or non-spreadsheet files,
    naming what the file is when it can tell (an HTML page, Excel 2003 XML)."""
    name = path.name
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise FileRejectedError(f"{name}: the file is empty", kind="empty", reason_ru="файл пуст")
    if head.startswith(XLSX_MAGIC):
        return FileFormat("xlsx")
    if head.startswith(XLS_MAGIC):
        return FileFormat("xls")
    utf16 = _utf16(head)
    if utf16 is None and b"\x00" in head:
        raise FileRejectedError(
            f"{name}: not a spreadsheet (binary content; expected XLSX or CSV)",
            kind="not_a_spreadsheet",
            reason_ru="не таблица (двоичное содержимое; ожидается XLSX или CSV)",
        )
    encoding = utf16 or _detect_encoding(head, encodings)
    if encoding is None:
        raise FileRejectedError(
            f"{name}: text in none of the encodings {', '.join(encodings)}",
            kind="bad_encoding",
            reason_ru=f"текст ни в одной из кодировок {', '.join(encodings)}",
        )
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    _reject_markup(name, text)
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.splitlines() else ""
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
            reason_ru=f"в первой строке нет ни одного известного столбца выгрузки {source.code}",
        )
    return FileFormat("csv", encoding, best)


def _reject_markup(name: str, text: str) -> None:
    """Reject a web page or an Excel 2003 XML file saved under a spreadsheet's name, saying so."""
    suffix = Path(name).suffix
    if _HTML.match(text.lstrip("\ufeff")):
        title = _TITLE.search(text)
        shown = f" titled {' '.join(title.group(1).split())[:100]!r}" if title else ""
        raise FileRejectedError(
            f"{name}: an HTML page{shown}, not a spreadsheet (a web page or an HTML report saved "
            f"under a {suffix} name); open it in Excel, save it as XLSX or CSV, then drop it again",
            kind="html",
            reason_ru=(
                f"файл — HTML-страница{shown}, а не таблица (веб-страница или HTML-отчёт, сохранённый "
                f"с расширением {suffix}); откройте его в Excel, сохраните как XLSX или CSV и "
                "загрузите снова"
            ),
        )
    if text.lstrip("\ufeff").startswith("<?xml") and _XML_SPREADSHEET in text:
        raise FileRejectedError(
            f"{name}: an Excel 2003 XML spreadsheet, not XLSX or CSV; open it in Excel, save it as "
            "XLSX, then drop it again",
            kind="xml_spreadsheet",
            reason_ru="файл — таблица XML Excel 2003, а не XLSX или CSV; сохраните его в Excel как XLSX",
        )


def _utf16(head: bytes) -> str | None:
    """``utf-16`` for a file with a UTF-16 BOM; ``utf-16-le``/``-be`` for one without, told by
    its high bytes (0x00 for Latin, digits and separators, 0x04 for Cyrillic) on one side."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[: UTF16_PROBE_BYTES - UTF16_PROBE_BYTES % 2]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        high_share = sum(1 for b in high if b in (0, 4)) / len(high)
        if high_share > 0.9 and high.count(0) > len(high) / 4 and low.count(0) < len(low) / 10:
            return encoding
    return None


def _detect_encoding(head: bytes, encodings: tuple[str, ...]) -> str | None:
    """The first of ``encodings`` the header line decodes in (the whole sample when the header is
    ASCII): a row further down in another encoding is that row's fault, not the file's."""
    if head.startswith(codecs.BOM_UTF8) and "utf-8-sig" in encodings:
        return "utf-8-sig"
    first_line = head.split(b"\n", 1)[0]
    probe = head if first_line.isascii() else first_line
    for encoding in encodings:
        if encoding == "utf-8-sig":
            continue
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(probe, final=False)  # a sample may end inside a multi-byte character
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


@dataclass
class _Record:
    """One CSV record with where it was and what it looked like."""

    fields: list[str]
    line: int
    lines: int
    raw: bytes
    bad_at: tuple[int, int, bytes] | None  # first undecodable bytes: file offset, line, the bytes


class _Lines:
    """The decoded physical lines of a CSV file, for ``csv.reader``; remembers the lines (bytes)
    of the record being read and the first bytes that are not in the file's encoding."""

    def __init__(self, handle: IO[bytes], encoding: str) -> None:
        self._handle = handle
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self._first = "utf-8-sig" if encoding == "utf-8-sig" else encoding
        self.offset = 0
        self.line = 0
        self._raw: list[bytes] = []
        self._start = 1
        self._bad: tuple[int, int, bytes] | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self._handle.readline()
        if not data:
            raise StopIteration
        start, self.offset, self.line = self.offset, self.offset + len(data), self.line + 1
        self._raw.append(data)
        encoding = self._first if self.line == 1 else self._encoding
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            if self._bad is None:
                self._bad = (start + exc.start, self.line, data[exc.start : exc.start + 4])
            return data.decode(encoding, errors="replace")

    def record(self, fields: list[str]) -> _Record:
        found = _Record(fields, self._start, self.line - self._start + 1, b"".join(self._raw), self._bad)
        self._raw, self._bad, self._start = [], None, self.line + 1
        return found


def _records(path: Path, fmt: FileFormat) -> Generator[_Record]:
    """Every record of a CSV file, the header first."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    if fmt.encoding.startswith("utf-16"):  # two-byte lines: decoded whole, as a stream
        yield from _utf16_records(path, fmt)
        return
    with open(path, "rb") as handle:
        lines = _Lines(handle, fmt.encoding)
        reader = csv.reader(lines, delimiter=fmt.separator)
        try:
            for fields in reader:
                yield lines.record(fields)
        except csv.Error as exc:
            raise _malformed(path, lines.line, exc) from exc


def _utf16_records(path: Path, fmt: FileFormat) -> Generator[_Record]:
    with open(path, encoding=fmt.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=fmt.separator)
        line = 1
        try:
            for fields in reader:
                yield _Record(fields, line, reader.line_num - line + 1, b"", None)
                line = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise FileRejectedError(
                f"{path.name}: not valid {fmt.encoding} after line {reader.line_num}: {exc.reason}",
                kind="bad_encoding",
                reason_ru=f"после строки {reader.line_num} текст не в кодировке {fmt.encoding}",
            ) from exc
        except csv.Error as exc:
            raise _malformed(path, reader.line_num, exc) from exc


def _malformed(path: Path, line: int, exc: csv.Error) -> FileRejectedError:
    return FileRejectedError(
        f"{path.name}: malformed CSV at line {line}: {exc}; {_REDROP}",
        kind="malformed_csv",
        reason_ru=f"CSV не читается как таблица в строке {line}: {exc}; {_REDROP_RU}",
    )


def _csv_chunks(path: Path, fmt: FileFormat, chunk_rows: int) -> tuple[list[Any], Iterator[pd.DataFrame]]:
    records = _records(path, fmt)
    first = next(records, None)
    records.close()
    header: list[Any] = first.fields if first is not None else []
    width = len(header)

    def chunks() -> Iterator[pd.DataFrame]:
        done = 0  # data rows handed out before a row turned out not to be in the file's encoding
        try:
            for frame in _text_chunks(path, fmt, width, chunk_rows):
                done += len(frame)
                yield frame
            return
        except UnicodeDecodeError:
            pass
        yield from _line_chunks(path, fmt, width, chunk_rows, skip=done)

    return header, chunks()


def _text_chunks(path: Path, fmt: FileFormat, width: int, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Chunks read from the decoded text (fast); raises ``UnicodeDecodeError`` at the first bytes
    not in the file's encoding, for :func:`_line_chunks` to go on from the rows handed out."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    with open(path, encoding=fmt.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=fmt.separator)
        try:
            next(reader, None)  # the header
            buffer: list[list[Any]] = []
            faults: list[ReadFault] = []
            first_row = row = 2
            last_line = reader.line_num
            for fields in reader:
                if len(fields) == width:  # the common case, kept cheap
                    buffer.append(fields)
                else:
                    record = _Record(fields, last_line + 1, reader.line_num - last_line, b"", None)
                    fault = _fault(record, row, width, fmt)
                    if fault is not None:
                        faults.append(fault)
                    buffer.append(fields[:width] + [None] * (width - len(fields)))
                last_line, row = reader.line_num, row + 1
                if len(buffer) == chunk_rows:
                    yield _frame(buffer, width, first_row, faults)
                    first_row, buffer, faults = row, [], []
            if buffer:
                yield _frame(buffer, width, first_row, faults)
        except csv.Error as exc:
            raise _malformed(path, reader.line_num, exc) from exc


def _line_chunks(
    path: Path, fmt: FileFormat, width: int, chunk_rows: int, *, skip: int
) -> Iterator[pd.DataFrame]:
    """Chunks read line by line, each line decoded alone, so that a row whose bytes are not in
    the file's encoding is a fault of that row; the first ``skip`` data rows are passed over."""
    rows = _records(path, fmt)
    next(rows, None)  # the header
    buffer: list[list[Any]] = []
    faults: list[ReadFault] = []
    first_row = 2 + skip
    for row, record in enumerate(rows, start=2):
        if row < first_row:
            continue
        fields = record.fields
        if len(fields) == width and record.bad_at is None:
            buffer.append(fields)
        else:
            fault = _fault(record, row, width, fmt)
            if fault is not None:
                faults.append(fault)
            buffer.append(fields[:width] + [None] * (width - len(fields)))
        if len(buffer) == chunk_rows:
            yield _frame(buffer, width, first_row, faults)
            first_row, buffer, faults = row + 1, [], []
    if buffer:
        yield _frame(buffer, width, first_row, faults)


def _fault(record: _Record, row: int, width: int, fmt: FileFormat) -> ReadFault | None:
    """What is wrong with ``record`` as row ``row`` of a file whose header has ``width`` fields."""
    fields, count = record.fields, len(record.fields)
    where = (
        f"line {record.line}"
        if record.lines == 1
        else f"lines {record.line}–{record.line + record.lines - 1}"
    )
    reasons = []
    if record.bad_at is not None:
        offset, line, found = record.bad_at
        guess = _guess_encoding(record.raw, fmt.encoding)
        looks = f"; the row looks {guess}-encoded" if guess else ""
        shown = found.hex(" ")
        reasons.append(
            f"bytes not valid {fmt.encoding} at byte {offset} (row {row}, line {line}: {shown}){looks}"
        )
    blank = not any(f.strip() for f in fields)
    if count < width and not blank:
        reasons.append(
            f"{count} fields where the header has {width} ({where}): the row is cut short"
            + (" or a quote is not closed" if record.lines > 1 else "")
        )
    elif count > width and any(f.strip() for f in fields[width:]):
        reasons.append(
            f"{count} fields where the header has {width} ({where}): "
            f"a {fmt.separator!r} inside a text that is not quoted?"
        )
    if not reasons:
        return None
    guess = _guess_encoding(record.raw, fmt.encoding) if record.bad_at else None
    raw = (
        record.raw.decode(guess or _plain(fmt.encoding), errors="replace")
        if record.raw
        else _as_csv(fields, fmt.separator)
    )
    return ReadFault(row, record.line, "; ".join(reasons), raw.rstrip("\r\n"))


def _as_csv(fields: list[str], separator: str) -> str:
    """A record written back as CSV: its text when the fast path did not keep the bytes."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _plain(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _guess_encoding(raw: bytes, encoding: str) -> str | None:
    """Another encoding the row decodes in (a cp1251 row in a UTF-8 file and the reverse)."""
    for other in ("utf-8", "cp1251"):
        if other == _plain(encoding):
            continue
        try:
            raw.decode(other)
        except UnicodeDecodeError:
            continue
        return other
    return None


def _workbook_chunks(path: Path, chunk_rows: int) -> tuple[list[Any], Iterator[pd.DataFrame]]:
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        header = next(rows, [])
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise unreadable_workbook(path.name, exc) from exc
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


def _frame(
    rows: list[list[Any]], width: int, first_row: int, faults: list[ReadFault] | None = None
) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(range(width)), dtype=object)
    frame.index = pd.RangeIndex(first_row, first_row + len(rows))
    frame.attrs[READ_FAULTS] = faults or []
    return frame
