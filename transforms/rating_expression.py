"""The expression language of methodology indicators: parsed into a tree, rendered to SQL by us.

An indicator's ``expression`` is never pasted into SQL. It is tokenized and parsed here into a tree
of allow-listed nodes, and :func:`to_sql` writes the SQL from that tree alone — quoted column names
from :data:`RATING_BASE_COLUMNS`, numbers printed by Python, function names from :data:`FUNCTIONS`.

Grammar (whitespace between tokens is free)::

    expression := term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*
    factor     := "-" factor | primary
    primary    := NUMBER | COLUMN | FUNCTION "(" expression ("," expression)* ")" | "(" expression ")"
    NUMBER     := digits with an optional fraction (0.5, 12, .25), at most 15 digits, no exponent
    COLUMN     := a numeric column of mart.rating_base, in lower case (satisfied_share)
    FUNCTION   := abs | coalesce | greatest | least | nullif

Semantics, the same on DuckDB and PostgreSQL: every value is DOUBLE PRECISION (integer columns
such as ``incidents`` are cast, so ``incidents / pages`` never divides integers); ``a / b`` is NULL
when ``b`` is 0 or NULL (``a / NULLIF(b, 0)``: PostgreSQL would fail, DuckDB would give infinity);
NULL in arithmetic gives NULL — the indicator is then missing (``required`` decides what follows);
``least`` and ``greatest`` ignore NULLs (NULL only when all are); ``coalesce`` takes the first non-NULL.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# The numeric columns of mart.rating_base (sql/migrations/0009_rating.sql, 0019, 0029,
# config/mart_contract.yaml);
# tests/test_methodology_expression.py checks this list against both and against the warehouse, and
# gospublic.rating.snapshot checks the columns an expression uses against the warehouse before its SQL.
RATING_BASE_COLUMNS: tuple[str, ...] = (
    "incidents",
    "incidents_im",
    "incidents_pos",
    "answered_share",
    "overdue_share",
    "im_overdue_share",
    "pos_overdue_share",
    "answer_hours_mean",
    "im_answer_work_hours_median",
    "im_reaction_work_hours_median",
    "pos_answer_hours_mean",
    "satisfaction_avg",
    "satisfied_share",
    "pos_satisfaction_avg",
    "pos_satisfied_share",
    "answers_assessed",
    "formal_share",
    "no_specifics_share",
    "impolite_share",
    "redirect_share",
    "template_share",
    "pages",
    "posts_per_week",
    "compliance_score",
    "engagement_rate_pct",
    "replied_share",
    "photo_video_share",
    "im_answered_share",
    "pos_answered_share",
    "im_answer_hours_median",
    "im_answer_hours_mean",
    "im_answer_work_hours_mean",
    "pos_answer_hours_median",
    "pos_answer_work_days_median",
    "pos_answer_work_days_mean",
    "im_satisfaction_avg",
    "im_satisfied_share",
    "rated",
    "im_rated",
    "pos_rated",
    "pages_all_networks",
    "posts_per_week_all_networks",
    "engagement_rate_pct_all_networks",
    "photo_video_share_all_networks",
)
# name → (fewest, most) arguments
FUNCTIONS: dict[str, tuple[int, int]] = {
    "abs": (1, 1),
    "coalesce": (2, 8),
    "greatest": (2, 8),
    "least": (2, 8),
    "nullif": (2, 2),
}
MAX_LENGTH = 500  # characters of an expression
MAX_NODES = 100  # numbers, columns, operators and calls of one expression
MAX_DEPTH = 20  # nesting of parentheses, calls and unary minus
MAX_DIGITS = 15  # digits of a number: exact in a double, printed without an exponent

_DOUBLE = "DOUBLE PRECISION"
_SPACE = re.compile(r"[ \t\r\n]+")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?![0-9A-Za-z_.])")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = "+-*/(),"
_HINT = (
    "an expression must be a column of mart.rating_base, a number, + - * /, parentheses "
    f"or one of the functions {', '.join(sorted(FUNCTIONS))}"
)


class ExpressionError(ValueError):
    """An expression outside the language; ``position`` is 1-based (0: the expression as a whole)."""

    def __init__(self, reason: str, position: int = 0, detail: str = "") -> None:
        self.reason = reason
        self.position = position
        where = f" at position {position}" if position else ""
        super().__init__(f"{reason}{where}; {detail or _HINT}")


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # one of + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Number | Column | Negate | Binary | Call


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | op | end | error
    text: str
    position: int  # 1-based
    error: ExpressionError | None = None


def parse(text: str, columns: tuple[str, ...] | frozenset[str] = RATING_BASE_COLUMNS) -> Node:
    """The tree of ``text``; ``ExpressionError`` names the position and token at fault."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    return _Parser(_tokens(text), frozenset(columns)).parse()


def columns_of(node: Node) -> set[str]:
    """The columns ``node`` reads."""
    if isinstance(node, Column):
        return {node.name}
    if isinstance(node, Negate):
        return columns_of(node.operand)
    if isinstance(node, Binary):
        return columns_of(node.left) | columns_of(node.right)
    if isinstance(node, Call):
        return set().union(*(columns_of(a) for a in node.args))
    return set()


def to_sql(node: Node) -> str:
    """SQL for ``node``, valid on DuckDB and PostgreSQL; written from the tree alone."""
    if isinstance(node, Number):
        return f"CAST({_number_sql(node.value)} AS {_DOUBLE})"
    if isinstance(node, Column):
        return f"CAST({quote_identifier(node.name)} AS {_DOUBLE})"
    if isinstance(node, Negate):
        return f"(- {to_sql(node.operand)})"
    if isinstance(node, Binary):
        if node.op not in "+-*/" or len(node.op) != 1:
            raise ExpressionError(f"unknown operator {node.op!r}")
        left, right = to_sql(node.left), to_sql(node.right)
        if node.op == "/":
            return f"({left} / NULLIF({right}, 0))"
        return f"({left} {node.op} {right})"
    if isinstance(node, Call):
        if node.function not in FUNCTIONS:
            raise ExpressionError(f"unknown function {node.function!r}")
        return f"{node.function.upper()}({', '.join(to_sql(a) for a in node.args)})"
    raise ExpressionError(f"not an expression node: {node!r}")


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def quote_identifier(name: str) -> str:
    """``"name"`` for a lower-case ASCII SQL name of at most 63 characters; else ``ValueError``."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a lower-case name of letters, digits and _ (at most 63)")
    return f'"{name}"'


def _number_sql(value: float) -> str:
    text = repr(float(value))
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?", text):
        raise ExpressionError(f"number {value!r} cannot be written to SQL")
    return text


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of ``text``, read as the parser asks for them: the leftmost fault is reported."""
    try:
        yield from _scan(text)
    except ExpressionError as exc:  # handed to the parser, which raises it when it gets there
        yield _Token("error", "", exc.position, exc)


def _scan(text: str) -> Iterator[_Token]:
    i = 0
    while i < len(text):
        ch, pair = text[i], text[i : i + 2]
        if (m := _SPACE.match(text, i)) is not None:
            i = m.end()
        elif pair in ("--", "/*", "*/"):
            raise ExpressionError(
                f"{pair!r} is not allowed", i + 1, f"SQL comments are not expressions; {_HINT}"
            )
        elif (m := _NUMBER.match(text, i)) is not None:
            digits = sum(c.isdigit() for c in m.group())
            if digits > MAX_DIGITS:
                raise ExpressionError(f"number {m.group()[:20]!r} has more than {MAX_DIGITS} digits", i + 1)
            yield _Token("number", m.group(), i + 1)
            i = m.end()
        elif ch.isascii() and (ch.isdigit() or ch == "."):
            raise ExpressionError(f"malformed number {_word(text, i)!r}", i + 1)
        elif (m := _NAME.match(text, i)) is not None:
            if text.startswith(".", m.end()):
                raise ExpressionError(
                    f"qualified name {_word(text, i)!r} is not allowed",
                    i + 1,
                    "name a column of mart.rating_base",
                )
            glued = text[m.end() : m.end() + 1]
            if glued and not _SPACE.match(glued) and glued not in _OPERATORS:  # 'satisfied_sharе', e'…'
                raise ExpressionError(f"unexpected character {_describe(glued)}", m.end() + 1, _why(glued))
            yield _Token("name", m.group(), i + 1)
            i = m.end()
        elif ch in _OPERATORS:
            yield _Token("op", ch, i + 1)
            i += 1
        else:
            raise ExpressionError(f"unexpected character {_describe(ch)}", i + 1, _why(ch))
    yield _Token("end", "", len(text) + 1)


def _word(text: str, start: int) -> str:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in "(),+*/-" and end - start < 40:
        end += 1
    return text[start:end]


def _describe(ch: str) -> str:
    if ch.isascii() and ch.isprintable():
        return repr(ch)
    name = unicodedata.name(ch, "")
    return f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''})"


def _why(ch: str) -> str:
    if ch == "'":
        return f"string literals are not allowed; {_HINT}"
    if ch in '"`[':
        return f"quoted identifiers are not allowed; {_HINT}"
    if ch == ";":
        return f"one expression, not statements; {_HINT}"
    if not ch.isascii():
        return f"names and numbers are plain ASCII; {_HINT}"
    return _HINT


class _Parser:
    def __init__(self, tokens: Iterator[_Token], columns: frozenset[str]) -> None:
        self.tokens = tokens
        self.columns = columns
        self.current = next(tokens)
        self.depth = 0
        self.nodes = 0

    def parse(self) -> Node:
        node = self.expression()
        if self.current.kind != "end":
            raise self.unexpected("an operator or the end")
        return node

    def advance(self) -> _Token:
        token = self.current
        if token.kind not in ("end", "error"):
            self.current = next(self.tokens)
        return token

    def unexpected(self, wanted: str) -> ExpressionError:
        token = self.current
        if token.error is not None:  # a fault of the text itself at this place
            return token.error
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return ExpressionError(f"expected {wanted}, found {found}", token.position)

    def count(self, token: _Token) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts", token.position)

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nesting deeper than {MAX_DEPTH} levels", token.position)

    def expression(self) -> Node:
        node = self.term()
        while self.current.kind == "op" and self.current.text in "+-":
            op = self.advance()
            self.count(op)
            node = Binary(op.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.current.kind == "op" and self.current.text in "*/":
            op = self.advance()
            self.count(op)
            node = Binary(op.text, node, self.factor())
        return node

    def factor(self) -> Node:
        token = self.current
        if token.kind == "op" and token.text == "-":
            self.advance()
            self.count(token)
            self.nest(token)
            node: Node = Negate(self.factor())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            self.count(token)
            return Number(float(token.text))
        if token.kind == "name":
            self.advance()
            self.count(token)
            if self.current.kind == "op" and self.current.text == "(":
                return self.call(token)
            return self.column(token)
        if token.kind == "op" and token.text == "(":
            self.advance()
            self.nest(token)
            node = self.expression()
            self.close(token)
            self.depth -= 1
            return node
        raise self.unexpected("a number, a column, a function or '('")

    def close(self, opening: _Token) -> None:
        if not (self.current.kind == "op" and self.current.text == ")"):
            raise self.unexpected(f"')' closing the '(' at position {opening.position}")
        self.advance()

    def column(self, token: _Token) -> Column:
        if token.text not in self.columns:
            near = difflib.get_close_matches(token.text.lower(), sorted(self.columns), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ExpressionError(
                f"unknown column {token.text!r}",
                token.position,
                f"{hint}columns of mart.rating_base are {', '.join(sorted(self.columns))}",
            )
        return Column(token.text)

    def call(self, name: _Token) -> Call:
        if name.text not in FUNCTIONS:
            near = difflib.get_close_matches(name.text.lower(), sorted(FUNCTIONS), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ExpressionError(
                f"unknown function {name.text!r}",
                name.position,
                f"{hint}functions are {', '.join(sorted(FUNCTIONS))} (nothing else reaches SQL)",
            )
        opening = self.advance()
        self.nest(opening)
        args = [self.expression()]
        while self.current.kind == "op" and self.current.text == ",":
            self.advance()
            args.append(self.expression())
        self.close(opening)
        self.depth -= 1
        fewest, most = FUNCTIONS[name.text]
        if not fewest <= len(args) <= most:
            wanted = (str(fewest) if fewest == most else f"{fewest} to {most}") + (
                " argument" if most == 1 else " arguments"
            )
            raise ExpressionError(f"{name.text} takes {wanted}, not {len(args)}", name.position)
        return Call(name.text, tuple(args))
