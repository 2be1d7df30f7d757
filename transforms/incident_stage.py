"""Stage an incident export's cells, as text, in an in-process DuckDB table (``cellsx``).

CSV is read by DuckDB's ``read_csv`` with an explicit spec: every column ``VARCHAR`` (so that each
bad value can later be quarantined with its row and column), the detected separator, standard
quoting (``"`` doubled inside a quoted text), no null string (an empty field stays ``''``), rows
shorter than the header padded with NULL and ``EXTRA_COLUMNS`` columns beyond the header to see
rows that are too long. DuckDB reads UTF-8 only; a file in another encoding (cp1251, UTF-16), one
with bytes not in its encoding, or one with blank lines (which DuckDB would skip, moving the rows
after them) is first transcoded to UTF-8 by streaming blocks of bytes — never row by row: bad bytes
become U+FFFD and are remembered with their offset and line, a blank line becomes a line holding
one separator (a row of empty fields, as Python's reader sees it).

XLSX and XLS are read with python-calamine and turned into Arrow column by column: per column
the cells as written (``w<i>``), their stripped text (``x<i>``), numbers (``n<i>``) and Excel
date cells (``d<i>``).

``cellsx`` has ``row_number`` (the spreadsheet's, header = 1), ``lines`` (the physical lines of a
CSV record), ``fields`` (how many fields the record had), ``extra_filled`` (a field past the
header holds text) and per column position ``i`` of the header ``w<i>`` and ``x<i>`` (plus
``n<i>``, ``d<i>`` for workbooks); the narrow table ``linemap`` gives each row's first physical
``line``. For CSV, the table DuckDB read (``raw``) stays, for the fields of unreadable rows
(:func:`record_cells`). Both are tables, made by one statement each: a view is bound again by
every statement that reads it, and binding these wide expressions cost more CPU than computing
them on a file's rows (issue 29).
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from transforms.incident_read import FileFormat

EXTRA_COLUMNS = 16  # columns read past the header's width; doubled while a row fills them all
BLOCK_BYTES = 32 * 1024 * 1024
# Python's str.strip() whitespace, for DuckDB's trim()
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_UNDECODABLE = "gospublic-incident-stage"


def sql_text(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def stripped(expression: str) -> str:
    """SQL of ``expression`` stripped as Python strips text, NULL when nothing is left. DuckDB's
    ``trim`` with a set of characters costs several times a plain one per cell, so it runs only
    on a text that begins or ends with one of them (most cells neither: taken as they are)."""
    spaces = sql_text(WHITESPACE)
    ends = f"contains({spaces}, left({expression}, 1)) OR contains({spaces}, right({expression}, 1))"
    return f"nullif(CASE WHEN {ends} THEN trim({expression}, {spaces}) ELSE {expression} END, '')"


@dataclass(frozen=True)
class BadBytes:
    """The first bytes of a line that are not in the file's encoding."""

    offset: int  # in the file
    line: int  # 1-based physical line
    found: bytes  # up to 4 bytes from there


@dataclass
class StagedCells:
    """What staging a file left besides ``cellsx``."""

    width: int
    workbook: bool
    header_lines: int = 1
    bad_bytes: dict[int, BadBytes] = field(default_factory=dict)  # line → its first bad bytes
    line_starts: np.ndarray | None = None  # byte offset of each line's start (only with bad bytes)
    separator: str = ""
    fault_cells: dict[int, tuple[int, list[Any]]] | None = None  # unreadable rows' fields, when asked
    uniform: bool = False  # known: every CSV record has the header's width
    columns: int = 0  # columns DuckDB read from a CSV file (the header's and those beyond)


def stage_cells(
    con: Any, path: Path, fmt: FileFormat, width: int, work: Path, *, rows: list[list[Any]] | None = None
) -> StagedCells:
    """Create ``cellsx`` in the DuckDB connection ``con`` from ``path`` (format ``fmt``, a header
    of ``width`` columns); ``work`` holds transcoded copies. ``rows``: a workbook's rows as
    :func:`workbook_rows` read them."""
    if fmt.kind == "csv":
        return _stage_csv(con, path, fmt, width, work)
    return _stage_workbook(con, rows if rows is not None else workbook_rows(path), width)


# --- CSV ---------------------------------------------------------------------------------------


def _stage_csv(con: Any, path: Path, fmt: FileFormat, width: int, work: Path) -> StagedCells:
    staged = StagedCells(width, workbook=False, separator=fmt.separator)
    source = _utf8_source(path, fmt, work, staged)
    extra = EXTRA_COLUMNS
    while True:
        _read_csv(con, source, fmt, width + extra, staged.header_lines)
        present = "list_count(list_value(" + ", ".join(f"c{i}" for i in range(width + extra)) + "))"
        filled, other_widths = con.execute(
            f"SELECT count(*) FILTER (WHERE c{width + extra - 1} IS NOT NULL), "
            f"count(*) FILTER (WHERE {present} <> {width}) FROM raw"
        ).fetchall()[0]
        if not filled:
            break
        extra *= 2  # a row filled every column read: read wider to count its fields
    staged.uniform = other_widths == 0
    staged.columns = width + extra
    _cells_from_raw(con, width, width + extra, staged.header_lines)
    return staged


def _read_csv(con: Any, source: Path, fmt: FileFormat, columns: int, header_lines: int) -> None:
    spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(columns))
    options = (
        f"delim={sql_text(fmt.separator)}, quote='\"', escape='\"', header=false, "
        f"skip={header_lines}, columns={{{spec}}}, null_padding=true, nullstr='\x01', "
        "auto_detect=false, strict_mode=false, max_line_size=1073741824"
    )
    query = f"CREATE OR REPLACE TABLE raw AS SELECT * FROM read_csv({sql_text(str(source))}, {options}"
    try:
        con.execute(query + ")")
    except Exception as exc:  # DuckDB's parallel reader refuses padding with quoted new lines
        if "parallel" not in str(exc):
            raise
        con.execute(query + ", parallel=false)")


def _cells_from_raw(con: Any, width: int, columns: int, header_lines: int) -> None:
    """The table ``cellsx`` from ``raw`` (insertion order = the file's: ``rowid`` numbers the
    rows): each record's row, physical lines, fields, whether a field past the header holds text,
    its cells as written and their stripped text; and the narrow table ``linemap`` (row, physical
    lines, first line). One statement binds the cells' expressions: a view of them was bound
    again by every statement reading it, which cost more than the rows (issue 29)."""
    every = ", ".join(f"c{i}" for i in range(columns))
    beyond = ", ".join(f"c{i}" for i in range(width, columns))
    # small expressions over the whole record rather than one per column: binding and optimising
    # a statement grows with its expressions, and cost more than running it on a file's rows
    newlines = (
        "CASE WHEN contains(record, chr(10)) "
        "THEN strlen(record) - strlen(replace(record, chr(10), '')) ELSE 0 END"
    )
    extras = f"trim(concat({beyond}), {sql_text(WHITESPACE)}) <> ''" if beyond else "false"
    cells = ", ".join(f"c{i} AS w{i}" for i in range(width))
    stripped_cells = ", ".join(f"{stripped(f'c{i}')} AS x{i}" for i in range(width))
    con.execute(
        f"""
        CREATE OR REPLACE TABLE cellsx AS
        SELECT rowid + 2 AS row_number, list_count(list_value({every})) AS fields, 1 + {newlines} AS lines,
               {extras} AS extra_filled, {cells}, {stripped_cells}
        FROM (SELECT rowid, *, concat({every}) AS record FROM raw)
        """
    )
    _linemap(con, header_lines)


def _linemap(con: Any, header_lines: int) -> None:
    """The narrow table ``linemap``: each row of ``cellsx`` with its physical lines and first line."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE linemap AS
        SELECT row_number, lines,
               ({header_lines} + 1 - lines + sum(lines) OVER (ORDER BY row_number ROWS UNBOUNDED PRECEDING))
               AS line
        FROM (SELECT row_number, lines FROM cellsx)
        """
    )


def record_cells(con: Any, staged: StagedCells, rows: str) -> dict[int, tuple[int, list[Any]]]:
    """Per CSV row of the query ``rows`` (row numbers): its count of fields and every field read
    (the header's columns, then those beyond), as DuckDB read them."""
    values = ", ".join(f"r.c{i}" for i in range(staged.columns))
    return {
        int(number): (int(count), list(fields))
        for number, count, fields in con.execute(
            f"SELECT c.row_number, c.fields, list_value({values}) FROM cellsx c "
            f"JOIN raw r ON r.rowid + 2 = c.row_number WHERE c.row_number IN ({rows})"
        ).fetchall()
    }


def _utf8_source(path: Path, fmt: FileFormat, work: Path, staged: StagedCells) -> Path:
    """``path`` itself when DuckDB can read it as it is, else a UTF-8 copy written in ``work``."""
    if fmt.encoding in ("utf-8", "utf-8-sig") and _plain_utf8(path):
        _count_header_lines(path, staged)
        return path
    target = work / f"{path.stem}.utf8.csv"
    _transcode(path, fmt, target, staged)
    return target


def _plain_utf8(path: Path) -> bool:
    """Whether the file is valid UTF-8 without blank lines (read block by block)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError:
                return False
            if _has_blank_line(last + block):
                return False
            last = block[-2:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_BLANK = re.compile(rb"\n(\r?\n)")


def _has_blank_line(data: bytes) -> bool:
    return _BLANK.search(data) is not None


def _count_header_lines(path: Path, staged: StagedCells) -> None:
    """The physical lines of the header record (a quoted header cell may hold a new line)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    quotes, lines = 0, 1
    for byte in head:
        if byte == 0x22:
            quotes += 1
        elif byte == 0x0A:
            if quotes % 2 == 0:
                break
            lines += 1
    staged.header_lines = lines


def _record_error(exc: UnicodeError) -> tuple[str, int]:
    found = _Transcoder.current
    assert found is not None and isinstance(exc, UnicodeDecodeError)
    found.bad(exc)
    return "\ufffd", exc.end


codecs.register_error(_UNDECODABLE, _record_error)


class _Transcoder:
    """Decodes one block of whole lines, remembering the first bad bytes of each line."""

    current: _Transcoder | None = None

    def __init__(self, staged: StagedCells) -> None:
        self.staged = staged
        self.block = b""
        self.base = 0  # offset of the block in the file
        self.line = 1  # line of the block's first byte

    def bad(self, exc: UnicodeDecodeError) -> None:
        line = self.line + self.block.count(b"\n", 0, exc.start)
        if line not in self.staged.bad_bytes:
            self.staged.bad_bytes[line] = BadBytes(
                self.base + exc.start, line, exc.object[exc.start : exc.start + 4]
            )


def _transcode(path: Path, fmt: FileFormat, target: Path, staged: StagedCells) -> None:
    """Write ``path`` as UTF-8 to ``target``: blocks of whole lines decoded in the file's
    encoding (bad bytes → U+FFFD, remembered), blank lines outside quotes → one separator."""
    encoding = fmt.encoding
    if encoding.startswith("utf-16"):
        _transcode_utf16(path, encoding, target, staged)
        return
    plain = "utf-8" if encoding == "utf-8-sig" else encoding
    transcoder = _Transcoder(staged)
    quotes = 0  # quote characters so far: odd inside a quoted text
    starts: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
    with open(path, "rb") as handle, open(target, "w", encoding="utf-8", newline="") as out:
        carry = b""
        first = True
        while True:
            data = handle.read(BLOCK_BYTES)
            block = carry + data
            if not block:
                break
            cut = block.rfind(b"\n") + 1 if data else len(block)
            if cut == 0:
                carry = block
                continue
            block, carry = block[:cut], block[cut:]
            if first and block.startswith(codecs.BOM_UTF8) and encoding == "utf-8-sig":
                transcoder.base += len(codecs.BOM_UTF8)
                block = block[len(codecs.BOM_UTF8) :]
            transcoder.block = block
            _Transcoder.current = transcoder
            try:
                text = block.decode(plain, _UNDECODABLE)
            finally:
                _Transcoder.current = None
            newline_at = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A)
            starts.append(newline_at.astype(np.int64) + 1 + transcoder.base)
            if _has_blank_line(b"\n" + block if first else block) or (
                not first and block[:1] in (b"\n", b"\r")
            ):
                text, quotes = _fill_blank_lines(text, fmt.separator, quotes, at_line_start=True)
            else:
                quotes += text.count('"')
            if first:
                staged.header_lines = _header_lines(text)
            out.write(text)
            transcoder.line += block.count(b"\n")
            transcoder.base += len(block)
            first = False
            if not data:
                break
    if staged.bad_bytes:
        staged.line_starts = np.concatenate(starts)


def _header_lines(text: str) -> int:
    quotes, lines = 0, 1
    for char in text[: 1 << 20]:
        if char == '"':
            quotes += 1
        elif char == "\n":
            if quotes % 2 == 0:
                return lines
            lines += 1
    return lines


def _fill_blank_lines(text: str, separator: str, quotes: int, *, at_line_start: bool) -> tuple[str, int]:
    """``text`` with every blank line outside quoted texts holding one ``separator``."""
    parts = text.split("\n")
    out = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        blank = not last and part.strip("\r") == "" and quotes % 2 == 0 and (index > 0 or at_line_start)
        filled = separator + part if blank else part
        quotes += filled.count('"')
        out.append(filled)
    return "\n".join(out), quotes


def _transcode_utf16(path: Path, encoding: str, target: Path, staged: StagedCells) -> None:
    """UTF-16 decoded strictly as a stream (a bad byte rejects the file, as before)."""
    from transforms.incident_spec import FileRejectedError

    quotes, line, first = 0, 0, True
    with (
        open(path, encoding=encoding, newline="") as handle,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        while True:
            try:
                text = handle.read(BLOCK_BYTES // 2)
            except UnicodeDecodeError as exc:
                raise FileRejectedError(
                    f"{path.name}: not valid {encoding} after line {line}: {exc.reason}",
                    kind="bad_encoding",
                    reason_ru=f"после строки {line} текст не в кодировке {encoding}",
                ) from exc
            if not text:
                break
            text = text.lstrip("\ufeff") if first else text
            if first:
                staged.header_lines = _header_lines(text)
            text, quotes = _fill_blank_lines(text, staged.separator, quotes, at_line_start=first)
            line += text.count("\n")
            out.write(text)
            first = False


def record_bytes(path: Path, staged: StagedCells, line: int, lines: int) -> bytes:
    """The bytes of physical lines ``line`` … ``line + lines - 1`` of the file (with bad bytes)."""
    assert staged.line_starts is not None
    starts = staged.line_starts
    begin = int(starts[line - 1])
    end = int(starts[line - 1 + lines]) if line - 1 + lines < len(starts) else os.path.getsize(path)
    with open(path, "rb") as handle:
        handle.seek(begin)
        return handle.read(end - begin)


# --- workbooks ---------------------------------------------------------------------------------


def workbook_rows(path: Path) -> list[list[Any]]:
    """The rows of a workbook's first sheet as calamine gives them (the header first)."""
    import python_calamine

    from transforms.incident_spec import unreadable_workbook

    try:
        sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        return list(sheet.iter_rows())
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise unreadable_workbook(path.name, exc) from exc


def workbook_header(rows: list[list[Any]]) -> list[Any]:
    """The header row of a workbook's rows (blank cells as None)."""
    return [
        value if not isinstance(value, str) or value.strip() else None for value in (rows[0] if rows else [])
    ]


def _stage_workbook(con: Any, rows: list[list[Any]], width: int) -> StagedCells:
    body = rows[1:]
    count = len(body)
    arrays: dict[str, pa.Array] = {
        "row_number": pa.array(np.arange(2, count + 2, dtype=np.int64)),
        "fields": pa.array(np.full(count, width, dtype=np.int32)),
        "lines": pa.array(np.ones(count, dtype=np.int64)),
        "line": pa.array(np.arange(2, count + 2, dtype=np.int64)),
        "extra_filled": pa.array(np.zeros(count, dtype=bool)),
    }
    for position in range(width):
        column = [row[position] if position < len(row) else "" for row in body]
        arrays.update(_workbook_column(column, position))
    table = pa.table(arrays)
    con.register("workbook_cells", table)
    con.execute("CREATE OR REPLACE TABLE cellsx AS SELECT * FROM workbook_cells")
    con.unregister("workbook_cells")
    con.execute("CREATE OR REPLACE TABLE linemap AS SELECT row_number, lines, line FROM cellsx")
    return StagedCells(width, workbook=True)


def _workbook_column(column: list[Any], position: int) -> dict[str, pa.Array]:
    """A workbook column as written (``w``), as stripped text (``x``), numbers (``n``), date cells (``d``)."""
    try:
        strings = pa.array(column, type=pa.string())  # the common case: a column of texts
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        strings = None
    if strings is not None:
        written = _blank_as_null(strings)
        return {
            f"w{position}": written,
            f"x{position}": _stripped_text(written),
            f"n{position}": pa.nulls(len(column), pa.float64()),
            f"d{position}": pa.nulls(len(column), pa.timestamp("us")),
        }
    texts = [v if isinstance(v, str) else None for v in column]
    numbers = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in column]
    stamps = [
        v
        if isinstance(v, dt.datetime)
        else dt.datetime.combine(v, dt.time())
        if isinstance(v, dt.date)
        else None
        for v in column
    ]
    others = [
        None if isinstance(v, str | int | float | dt.date) and not isinstance(v, bool) else str(v)
        for v in column
    ]
    shown_numbers = [
        str(v) if isinstance(v, int | float) and not isinstance(v, bool) else None for v in column
    ]
    shown_stamps = [
        v.strftime("%d.%m.%Y %H:%M:%S")
        if isinstance(v, dt.datetime)
        else str(v)
        if isinstance(v, dt.date)
        else None
        for v in column
    ]
    text_stamps = [str(v) if isinstance(v, dt.date) else None for v in column]
    text_numbers = [
        (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        if isinstance(v, int | float) and not isinstance(v, bool)
        else None
        for v in column
    ]
    text = _blank_as_null(pa.array(texts, type=pa.string()))
    written = _coalesce(
        text,
        pa.array(shown_numbers, pa.string()),
        pa.array(shown_stamps, pa.string()),
        pa.array(others, pa.string()),
    )
    stripped_text = _coalesce(
        _stripped_text(text), pa.array(text_numbers, pa.string()), pa.array(text_stamps, pa.string()),
        _stripped_text(pa.array(others, pa.string())),
    )  # fmt: skip
    return {
        f"w{position}": written,
        f"x{position}": stripped_text,
        f"n{position}": pa.array(numbers, pa.float64()),
        f"d{position}": pa.array(stamps, pa.timestamp("us")),
    }


def _blank_as_null(strings: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    blank = pc.equal(pc.utf8_trim(strings, WHITESPACE), "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), strings)


def _stripped_text(strings: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim(strings, WHITESPACE)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _coalesce(*arrays: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.coalesce(*arrays)
