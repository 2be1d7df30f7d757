"""Type and check a staged export set-wise in DuckDB: the same rows load and the same rows go to
quarantine, with the same reasons, as the cell-by-cell parser (``transforms.incident_parse``) and
the Great Expectations suite on frames gave.

On the staged ``cellsx`` (``transforms.incident_stage``), in order:

1. blank rows are counted and left out; every other row is read;
2. an exact copy of an earlier row (every cell the same) is a duplicate;
3. CSV rows that could not be read as written (too few fields, too many that are not empty,
   bytes not in the file's encoding) and cells that cannot be typed (dates, ratings, whole
   numbers) quarantine their row;
4. executors resolve to bodies (per distinct executor and local day, through
   ``ExecutorResolver``), authors are pseudonymised (per distinct identity);
5. the suite ``expectations/incident_export_<source>.json`` runs as SQL on the typed rows
   (:mod:`transforms.incident_rules`): a failure of severity critical quarantines the row,
   ``executor_known`` only counts; a repeated id keeps its first row that breaks no other rule.

Only the problems (few) and distinct values (executors, labels, authors) come to Python; the rows
stay in DuckDB until they are written as Arrow for staging.

Each statement costs milliseconds of planning whatever the rows, so a file's check runs few
(issue 29: the national month is 528 files of a few thousand rows): one pass over the cells gives
faults, copies and the cells the checks read (``screened``); one query finds the labelled texts of
every labelled field (they enter the typing SQL as ``CASE`` branches, no lookup tables); one query
finds every cell that cannot be typed; a rule's failing rows are read only when the suite's counts
say it has some; small tables that come from Python (bad bytes, bodies, pseudonyms, quarantined
rows) are Arrow tables registered as they are, not copied by a statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from transforms.executor_resolve import ExecutorResolver
from transforms.incident_parse import EXCEL_EPOCH, _human, _name_key
from transforms.incident_read import ReadFault
from transforms.incident_rules import RuleFailure, RuleResult, run_rules
from transforms.incident_spec import ExportSpec, FieldSpec, SourceSpec, header_key
from transforms.incident_stage import StagedCells, sql_text
from transforms.quarantine import Problem

TYPED_ORIGINS = ("datetime", "date", "rating", "int")
WIDE_TEXTS = ("url", "message_text", "answer_text")  # staged from the cells directly, never checked


@dataclass
class CheckedExport:
    """Counts and findings of one checked file; its loading rows are in the ``loaded`` table."""

    read: int = 0
    empty: int = 0
    duplicates: int = 0
    loaded: int = 0
    unresolved: int = 0
    problems: list[Problem] = field(default_factory=list)
    read_faults: list[ReadFault] = field(default_factory=list)
    results: list[RuleResult] = field(default_factory=list)


@dataclass(frozen=True)
class FileContext:
    """What checking a file needs besides its cells."""

    file: str
    spec: ExportSpec
    source: SourceSpec
    mapping: dict[int, str]  # column position → field name
    headers: list[Any]
    timezone: str
    resolver: ExecutorResolver
    pseudonymize: Callable[[str], str]
    suite: dict[str, Any]

    @property
    def header_of(self) -> dict[str, str]:
        return {name: str(self.headers[pos]) for pos, name in sorted(self.mapping.items())}


def check_cells(
    con: Any, staged: StagedCells, ctx: FileContext, raw_text: Callable[[int, int, int], str]
) -> CheckedExport:
    """Check ``cellsx`` in ``con``; leaves the rows that load, typed, in the table ``loaded``.
    ``raw_text(row, line, lines)`` gives an unreadable row's text as written."""
    out = CheckedExport()
    width = staged.width
    cells = [f"w{i}" for i in range(width)] + ([f"d{i}" for i in range(width)] if staged.workbook else [])
    blank = (
        " AND ".join(f"x{i} IS NULL" for i in range(width))
        if not staged.workbook
        else " AND ".join(f"(x{i} IS NULL AND n{i} IS NULL AND d{i} IS NULL)" for i in range(width))
    )
    _faults(con, staged, width)
    # the cells the checks read (long personal texts stay in ``cellsx``: ``text_cells`` below)
    kept = [
        f"{kind}{pos}"
        for pos, name in sorted(ctx.mapping.items())
        if name not in WIDE_TEXTS
        for kind in (("w", "x", "n", "d") if staged.workbook else ("w", "x"))
    ]
    # every row read, with its fault and whether it is an exact copy of an earlier row: every
    # cell the same (a 64-bit hash of them, as the cell-by-cell path had); one pass over the cells
    con.execute(
        f"""
        CREATE OR REPLACE TABLE screened AS
        SELECT {", ".join(["row_number", *kept])}, fault,
               row_number() OVER (PARTITION BY cells_hash ORDER BY row_number) > 1 AS duplicate
        FROM (SELECT {", ".join(["c.row_number", *(f"c.{k}" for k in kept)])}, f.reason AS fault,
                     hash({", ".join(cells)}) AS cells_hash
              FROM cellsx c LEFT JOIN faults f USING (row_number)
              WHERE NOT ({blank}) OR f.reason IS NOT NULL)
        """
    )
    position = {name: pos for pos, name in ctx.mapping.items()}
    texts = ", ".join(
        f"{f'x{position[name]}' if name in position else 'NULL::VARCHAR'} AS {name}" for name in WIDE_TEXTS
    )
    con.execute(f"CREATE OR REPLACE VIEW text_cells AS SELECT row_number, {texts} FROM cellsx")
    total, out.read, out.duplicates = con.execute(
        "SELECT (SELECT count(*) FROM linemap), count(*), count(*) FILTER (duplicate) FROM screened"
    ).fetchall()[0]
    out.empty = total - out.read
    _type_fields(con, ctx, staged)
    out.problems += _parse_problems(con, ctx)
    for row, line, lines, reason in con.execute(
        "SELECT row_number, l.line, l.lines, s.fault FROM screened s JOIN linemap l USING (row_number) "
        "WHERE NOT s.duplicate AND s.fault IS NOT NULL ORDER BY row_number"
    ).fetchall():
        out.problems.append(Problem(ctx.file, int(row), None, reason, None))
        out.read_faults.append(
            ReadFault(int(row), int(line), reason, raw_text(int(row), int(line), int(lines)))
        )
    _rows_table(con, "parse_bad", {p.row for p in out.problems})
    con.execute(
        "CREATE OR REPLACE VIEW candidates_typed AS SELECT * FROM typed WHERE NOT duplicate "
        "AND row_number NOT IN (SELECT row_number FROM parse_bad)"
    )
    _resolve_executors(con, ctx)
    _pseudonymise_authors(con, ctx)
    con.execute(
        "CREATE OR REPLACE TABLE candidates AS SELECT c.*, o.org_id, k.key AS author_key "
        "FROM candidates_typed c "
        "LEFT JOIN orgs o ON o.executor = c.executor "
        "AND o.day IS NOT DISTINCT FROM c.registered_at__local::DATE "
        "LEFT JOIN author_keys k ON k.author = c.author AND k.vk = c.author_on_vk"
    )
    failures, out.results = run_rules(con, "candidates", ctx.suite)
    broken = [f for f, r in zip(failures, out.results, strict=True) if r.unexpected_count]
    _rows_table(con, "rule_bad", _rule_problems(con, ctx, broken, out))
    con.execute(
        "CREATE OR REPLACE VIEW loaded AS SELECT * FROM candidates "
        "WHERE row_number NOT IN (SELECT row_number FROM rule_bad)"
    )
    out.loaded, out.unresolved = con.execute(
        "SELECT count(*), count(*) FILTER (org_id IS NULL) FROM loaded"
    ).fetchall()[0]
    return out


def _rows_table(con: Any, table: str, rows: set[int]) -> None:
    """``table``: the row numbers ``rows`` (an Arrow table registered as a view, no statement)."""
    con.register(table, pa.table({"row_number": pa.array(sorted(rows), pa.int64())}))


def _parse_problems(con: Any, ctx: FileContext) -> list[Problem]:
    """The cells that could not be typed, field by field in the order of the source's fields
    and row by row (one query for every typed field)."""
    checks = _parse_checks(ctx)
    if not checks:
        return []
    columns = ", ".join(f"{flag}, {origin}" for _, flag, origin in checks)
    any_bad = " OR ".join(flag for _, flag, _ in checks)
    found = con.execute(
        f"SELECT row_number, {columns} FROM typed WHERE NOT duplicate AND ({any_bad}) ORDER BY row_number"
    ).fetchall()
    header_of = ctx.header_of
    problems = []
    for index, (name, _, _) in enumerate(checks):
        header = header_of.get(name, _field(ctx, name).header)
        reason = _parse_reason(ctx, _field(ctx, name))
        problems += [
            Problem(ctx.file, int(row[0]), header, reason, row[2 + 2 * index])
            for row in found
            if row[1 + 2 * index]
        ]
    return problems


def _field(ctx: FileContext, name: str) -> FieldSpec:
    return next(f for f in ctx.source.fields if f.name == name)


def _faults(con: Any, staged: StagedCells, width: int) -> None:
    """The table ``faults``: the reason each unreadable CSV row is quarantined for (none in a
    workbook, and none in a CSV file whose records all have the header's width and no bad bytes)."""
    if staged.workbook or (not staged.bad_bytes and staged.uniform):
        con.register(
            "faults",
            pa.table({"row_number": pa.array([], pa.int64()), "reason": pa.array([], pa.string())}),
        )
        return
    con.execute(_faults_sql(staged, width))


def _faults_sql(staged: StagedCells, width: int) -> str:
    """SQL of the table ``faults`` of a CSV file."""
    where = (
        "CASE WHEN l.lines = 1 THEN 'line ' || l.line "
        "ELSE 'lines ' || l.line || '–' || (l.line + l.lines - 1) END"
    )
    blank = " AND ".join(f"c.x{i} IS NULL" for i in range(width))
    short = (
        f"c.fields || ' fields where the header has {width} (' || {where} || '): the row is cut short'"
        " || CASE WHEN l.lines > 1 THEN ' or a quote is not closed' ELSE '' END"
    )
    long = (
        f"c.fields || ' fields where the header has {width} (' || {where} || '): a ' || "
        f"{sql_text(repr(staged.separator))} || ' inside a text that is not quoted?'"
    )
    return f"""
        CREATE OR REPLACE TABLE faults AS
        SELECT row_number, concat_ws('; ', b.reason, counts) AS reason
        FROM (
            SELECT c.row_number,
                   CASE WHEN c.fields < {width} AND NOT ({blank}) THEN {short}
                        WHEN c.fields > {width} AND c.extra_filled THEN {long} END AS counts
            FROM cellsx c JOIN linemap l USING (row_number)
            WHERE c.fields <> {width}
        ) FULL OUTER JOIN bad_bytes b USING (row_number)
        WHERE b.reason IS NOT NULL OR counts IS NOT NULL
    """


def register_bad_bytes(con: Any, reasons: list[tuple[int, str]]) -> None:
    """The table ``bad_bytes`` (row_number, reason) of a CSV file's first bad bytes per record."""
    con.register(
        "bad_bytes",
        pa.table(
            {
                "row_number": pa.array([row for row, _ in reasons], pa.int64()),
                "reason": pa.array([reason for _, reason in reasons], pa.string()),
            }
        ),
    )


# --- typing ------------------------------------------------------------------------------------


def _type_fields(con: Any, ctx: FileContext, staged: StagedCells) -> None:
    """The table ``typed``: per field its typed value (``<field>``), its cells as written
    (``<field>__w``), its local time (``<field>__local``) and whether it could not be typed
    (``<field>__bad``). A table, typed once for the statements that read it; without the staged
    cells, which nothing after it reads (every later table would copy them)."""
    position = {name: pos for pos, name in ctx.mapping.items()}
    texts = {
        f.name: f"x{position[f.name]}" if f.name in position and f.name not in WIDE_TEXTS else "NULL::VARCHAR"
        for f in ctx.source.fields
    }
    found = _label_texts(con, ctx, texts)
    selects = []
    for spec_field in ctx.source.fields:
        pos = position.get(spec_field.name) if spec_field.name not in WIDE_TEXTS else None
        written = f"w{pos}" if pos is not None else "NULL::VARCHAR"
        text = texts[spec_field.name]
        number = f"n{pos}" if pos is not None and staged.workbook else "NULL::DOUBLE"
        stamp = f"d{pos}" if pos is not None and staged.workbook else "NULL::TIMESTAMP"
        selects.append(f"{written} AS {spec_field.name}__w")
        selects += _typed_columns(
            ctx, spec_field, text=text, number=number, stamp=stamp, labels=found.get(spec_field.name, {})
        )
    names = {f.name for f in ctx.source.fields}
    if "author" not in names:
        selects.append("NULL::VARCHAR AS author")
    on_vk = "channel = 'vk'" if "channel" in names else "false"
    con.execute(
        f"CREATE OR REPLACE TABLE typed AS SELECT *, "
        f"coalesce({on_vk} AND regexp_extract(author, '^id(\\d+)$', 1) <> '', false) AS author_on_vk "
        f"FROM (SELECT s.row_number, s.fault, s.duplicate, {', '.join(selects)} FROM screened s)"
    )


def _typed_columns(
    ctx: FileContext, spec_field: FieldSpec, *, text: str, number: str, stamp: str, labels: dict[str, str]
) -> list[str]:
    name, spec = spec_field.name, ctx.spec
    if spec_field.type in ("datetime", "date"):
        formats = spec.datetime_formats if spec_field.type == "datetime" else spec.date_formats
        parsed = "coalesce(" + ", ".join(f"try_strptime({text}, {sql_text(f)})" for f in formats) + ")"
        # Excel cells are rounded to the second, as are serial numbers counted from 1899-12-30
        cell = f"to_timestamp(round(epoch_us({stamp}) / 1e6))::TIMESTAMP"
        serial = (
            f"to_timestamp(round((epoch_us(TIMESTAMP '{EXCEL_EPOCH:%Y-%m-%d}') + {number} * 86400e6) / 1e6))"
            "::TIMESTAMP"
        )
        local = (
            f"CASE WHEN {stamp} IS NOT NULL THEN {cell} WHEN {number} IS NOT NULL THEN {serial} "
            f"ELSE {parsed} END"
        )
        zone = sql_text(ctx.timezone)
        if spec_field.type == "date":
            value = f"timezone({zone}, date_trunc('day', {local}) + INTERVAL 1 DAY)"
        else:
            value = f"timezone({zone}, {local})"
        bad = f"({stamp} IS NULL AND {number} IS NULL AND {text} IS NOT NULL AND {parsed} IS NULL)"
        return [f"{local} AS {name}__local", f"{value} AS {name}", f"{bad} AS {name}__bad"]
    if spec_field.type == "rating":
        numeric = f"try_cast({text} AS DOUBLE)"
        whole = f"(isfinite({numeric}) AND {numeric} = floor({numeric}))"
        word = f"({_label_case(text, labels)})::INTEGER"
        return [
            f"CASE WHEN {whole} THEN {numeric}::BIGINT END AS {name}",
            f"CASE WHEN {whole} THEN ({numeric} >= {spec.satisfied_from})::INTEGER "
            f"ELSE {word} END AS satisfied",
            f"({text} IS NOT NULL AND NOT coalesce({whole}, false) AND {word} IS NULL) AS {name}__bad",
        ]
    if spec_field.type == "int":
        ok = f"regexp_full_match({text}, '\\d+')"
        return [
            f"CASE WHEN {ok} THEN {text} END AS {name}",
            f"({text} IS NOT NULL AND NOT {ok}) AS {name}__bad",
        ]
    if spec_field.values:
        return [f"coalesce({_label_case(text, labels)}, {text}) AS {name}"]
    return [f"{text} AS {name}"]


def _label_texts(con: Any, ctx: FileContext, texts: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per field read through labels (a rating's words, a field of values), the distinct texts
    of its cells that name a label (matched in the form of headers) → the label's code; one
    query for every such field. Only distinct values come to Python."""
    spec = ctx.spec
    labelled: dict[str, dict[str, str]] = {}
    for spec_field in ctx.source.fields:
        if spec_field.type == "rating":
            labelled[spec_field.name] = {header_key(k): str(v) for k, v in spec.rating_words.items()}
        elif spec_field.type not in TYPED_ORIGINS and spec_field.values:
            labelled[spec_field.name] = spec.value_keys[spec_field.values]
    read = [name for name in labelled if not texts[name].startswith("NULL")]
    found: dict[str, dict[str, str]] = {name: {} for name in labelled}
    if not read:
        return found
    union = " UNION ALL ".join(
        f"SELECT DISTINCT {index}, {texts[name]} FROM screened WHERE {texts[name]} IS NOT NULL"
        for index, name in enumerate(read)
    )
    for index, value in con.execute(union).fetchall():
        labels = labelled[read[index]]
        if header_key(value) in labels:
            found[read[index]][value] = labels[header_key(value)]
    return found


def _label_case(text: str, labels: dict[str, str]) -> str:
    """SQL of the code of the label ``text`` names (``labels``: text → code), else NULL."""
    if not labels:
        return "NULL::VARCHAR"
    branches = " ".join(f"WHEN {sql_text(value)} THEN {sql_text(code)}" for value, code in labels.items())
    return f"CASE {text} {branches} END"


def _parse_checks(ctx: FileContext) -> list[tuple[str, str, str]]:
    """(field, its "could not be typed" flag, its cells as written) of each typed field, in the
    order of the source's fields."""
    return [(f.name, f"{f.name}__bad", f"{f.name}__w") for f in ctx.source.fields if f.type in TYPED_ORIGINS]


def _parse_reason(ctx: FileContext, spec_field: FieldSpec) -> str:
    spec = ctx.spec
    if spec_field.type == "datetime":
        return f"not a date-time (expected {' or '.join(_human(f) for f in spec.datetime_formats)})"
    if spec_field.type == "date":
        return f"not a date (expected {' or '.join(_human(f) for f in spec.date_formats)})"
    if spec_field.type == "rating":
        low, high = spec.rating_scale
        return f"not a rating (expected a whole number {low}–{high} or {', '.join(spec.rating_words)})"
    return "not a whole number"


# --- bodies and authors ------------------------------------------------------------------------


def _resolve_executors(con: Any, ctx: FileContext) -> None:
    """The table ``orgs``: ``org_id`` per distinct executor and local day of the candidate rows."""
    pairs = con.execute(
        "SELECT DISTINCT executor, registered_at__local::DATE FROM candidates_typed "
        "WHERE executor IS NOT NULL"
    ).fetchall()
    found = [(e, d, ctx.resolver.resolve_one(e, d if isinstance(d, dt.date) else None)) for e, d in pairs]
    con.register(
        "orgs",
        pa.table(
            {
                "executor": pa.array([e for e, _, _ in found], pa.string()),
                "day": pa.array([d for _, d, _ in found], pa.date32()),
                "org_id": pa.array([o for _, _, o in found], pa.string()),
            }
        ),
    )


def _pseudonymise_authors(con: Any, ctx: FileContext) -> None:
    """The table ``author_keys``: a VK profile id (``id123`` on channel vk) as ``vk:123``, else the
    name, keyed by the pseudonymiser once per distinct identity."""
    rows = con.execute(
        "SELECT DISTINCT author, author_on_vk FROM candidates_typed WHERE author IS NOT NULL"
    ).fetchall()
    source = ctx.source.code
    keys: dict[str, str] = {}
    authors, vk, identities = [], [], []
    for author, is_profile in rows:
        identity = f"vk:{author[2:]}" if is_profile else f"{source}:{_name_key(author)}"
        if identity not in keys:
            keys[identity] = ctx.pseudonymize(identity)
        authors.append(author)
        vk.append(bool(is_profile))
        identities.append(keys[identity])
    con.register(
        "author_keys",
        pa.table(
            {
                "author": pa.array(authors, pa.string()),
                "vk": pa.array(vk, pa.bool_()),
                "key": pa.array(identities, pa.string()),
            }
        ),
    )


# --- rules -------------------------------------------------------------------------------------


def _rule_problems(con: Any, ctx: FileContext, failures: list[RuleFailure], out: CheckedExport) -> set[int]:
    """Problems of the rules' critical failures; the rows they quarantine. A repeated id is judged
    last: its first row that breaks no other rule loads, and its other rows that break none are
    quarantined as repeats naming that row (a row that breaks another rule is quarantined for it)."""
    header_of = ctx.header_of
    order = list(header_of)
    typed_names = {f.name for f in ctx.source.fields if f.type != "text" or f.values}
    critical = [f for f in failures if f.rule != "executor_known" and f.severity != "warning"]
    bad: set[int] = set()
    for failure in sorted(critical, key=lambda f: f.rule == "unique_id"):
        eligible = "true"
        if failure.rule == "unique_id":
            _rows_table(con, "other_rules_bad", set(bad))
            eligible = "row_number NOT IN (SELECT row_number FROM other_rules_bad)"
        columns = [c for c in failure.columns if c is not None]
        shown_columns = ["executor" if c == "org_id" else c for c in columns]
        shown_columns = sorted(shown_columns, key=lambda c: order.index(c) if c in order else len(order))
        value_sql = [f"{c}__w" if c in typed_names else c for c in shown_columns]
        select = ", ".join(f"CAST({v} AS VARCHAR) AS v{i}" for i, v in enumerate(value_sql)) or "NULL AS v0"
        first_sql = failure.first_row_sql(eligible)
        rows = con.execute(
            f"SELECT * EXCLUDE (hit) FROM (SELECT row_number, {first_sql} AS first_row, {select}, "
            f"({failure.where}) AND {eligible} AS hit FROM candidates) WHERE hit ORDER BY row_number"
        ).fetchall()
        column = "executor" if failure.column == "org_id" else failure.column
        header = None if column is None else header_of.get(column, column)
        for row, first, *values in rows:
            reason = failure.reason
            if failure.rule == "unique_id":
                if first == row:
                    continue
                reason = f"incident id repeated within the file with other values (row {first} wins)"
            if len(values) == 1:
                value = values[0]
            else:
                value = (
                    "; ".join(
                        f"{header_of.get(c, c)}={'' if v is None else v}"
                        for c, v in zip(shown_columns, values, strict=True)
                    )
                    or None
                )
            out.problems.append(Problem(ctx.file, int(row), header, reason, value))
            bad.add(int(row))
    return bad


def staging_queries(source: str) -> tuple[str, str]:
    """SQL of the rows of ``staging.incident_export`` and ``staging.incident_text`` from ``loaded``
    (``$``-parameters: load_id, file, export_date, exported_at, processed_at, region_code)."""
    fields = {
        "im": {
            "rubric": "rubric", "subcategory": "NULL::VARCHAR", "due_at": "registered_at + INTERVAL 24 HOUR",
        },
        "pos": {"rubric": "category", "subcategory": "subcategory", "due_at": "due_at",
                "channel": "NULL::VARCHAR", "message_type": "NULL::VARCHAR",
                "first_reaction_at": "NULL::TIMESTAMPTZ",
                "url": "NULL::VARCHAR"},
    }[source]  # fmt: skip

    def pick(column: str, default: str = "NULL::VARCHAR") -> str:
        return fields.get(column, column if column not in ("rubric", "subcategory") else default)

    events = f"""
        SELECT '{source}' AS source, incident_id, $region_code AS region_code, org_id, executor, status,
               {pick("channel")} AS channel, {pick("message_type")} AS message_type,
               {pick("rubric")} AS rubric, {pick("subcategory")} AS subcategory,
               registered_at, {pick("first_reaction_at")} AS first_reaction_at, answered_at,
               {pick("due_at")} AS due_at,
               satisfaction::INTEGER AS satisfaction, satisfied::INTEGER AS satisfied, author_key,
               $load_id AS load_id, $file AS file, row_number::BIGINT AS row_number,
               $export_date::DATE AS export_date, $exported_at::TIMESTAMPTZ AS exported_at,
               $processed_at::TIMESTAMPTZ AS processed_at
        FROM loaded
    """
    texts = f"""
        SELECT '{source}' AS source, l.incident_id, t.url, t.message_text, t.answer_text,
               $load_id AS load_id
        FROM loaded l JOIN text_cells t USING (row_number)
    """
    return events, texts
