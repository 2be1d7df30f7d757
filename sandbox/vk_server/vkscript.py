"""A small, safe interpreter for the VKScript that ``execute`` receives (no ``eval``).

It covers what ``vk_api`` sends (``VkRequestsPool``, ``vk_request_one_param_pool`` and simple
``VkFunction`` code): ``var`` declarations, assignments (also ``obj.key = ...``), ``while``
loops, ``return``, array and object literals (JSON, keys may be bare words), ``+ - * / %``,
comparisons, ``&& || !``, ``.length``, indexing, ``array.push(x)`` and ``API.section.method(args)``.
Anything else is a compile error (VK's error 12); runaway loops stop at a step budget (error 13).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.vk_server.errors import VkError

ApiCall = Callable[[str, dict[str, Any]], Any]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>=!{}\[\]().,;:])
    )""",
    re.VERBOSE | re.DOTALL,
)
MAX_STEPS = 10_000


class _Return(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, value: Any) -> None:
        self.value = value


def tokenize(code: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    code = code.rstrip()
    while pos < len(code):
        match = _TOKEN.match(code, pos)
        if match is None or match.end() == pos:
            raise VkError(12, f"unexpected symbol at position {pos}")
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "num":
            tokens.append(("value", float(text) if any(c in text for c in ".eE") else int(text)))
        elif kind == "str":
            if text[0] == "'":
                text = '"' + text[1:-1].replace('\\"', '"').replace('"', '\\"') + '"'
            try:
                tokens.append(("value", json.loads(text)))
            except json.JSONDecodeError:
                raise VkError(12, "bad string literal") from None
        elif kind == "name" and text in ("true", "false", "null"):
            tokens.append(("value", {"true": True, "false": False, "null": None}[text]))
        else:
            tokens.append((kind, text))
    tokens.append(("end", None))
    return tokens


class Interpreter:
    """Runs one program; ``api(method, params)`` performs an ``API.*`` call."""

    def __init__(self, code: str, api: ApiCall) -> None:
        self.tokens = tokenize(code)
        self.pos = 0
        self.api = api
        self.steps = 0
        self.env: dict[str, Any] = {}
        self.program = self._block_until("end")

    # -- parsing into closures ----------------------------------------------------------------

    def _peek(self, offset: int = 0) -> tuple[str, Any]:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def _next(self) -> tuple[str, Any]:
        token = self._peek()
        self.pos += 1
        return token

    def _expect(self, text: str) -> None:
        kind, value = self._next()
        if value != text or kind not in ("op", "name"):
            raise VkError(12, f"expected {text!r}, got {value!r}")

    def _accept(self, text: str) -> bool:
        kind, value = self._peek()
        if kind in ("op", "name") and value == text:
            self.pos += 1
            return True
        return False

    def _block_until(self, end: str) -> list[Callable[[], None]]:
        statements = []
        while not (self._peek()[0] == end or self._peek()[1] == end):
            statement = self._statement()
            if statement is not None:
                statements.append(statement)
        return statements

    def _statement(self) -> Callable[[], None] | None:
        if self._accept(";"):
            return None
        if self._accept("var"):
            decls = []
            while True:
                kind, name = self._next()
                if kind != "name":
                    raise VkError(12, "expected a variable name")
                expr = self._expr() if self._accept("=") else (lambda: None)
                decls.append((name, expr))
                if not self._accept(","):
                    break
            self._accept(";")

            def run_var() -> None:
                for var_name, var_expr in decls:
                    self.env[var_name] = var_expr()

            return run_var
        if self._accept("return"):
            expr = self._expr()
            self._accept(";")

            def run_return() -> None:
                raise _Return(expr())

            return run_return
        if self._accept("while"):
            self._expect("(")
            cond = self._expr()
            self._expect(")")
            self._expect("{")
            body = self._block_until("}")
            self._expect("}")

            def run_while() -> None:
                while cond():
                    self._tick()
                    for statement in body:
                        statement()

            return run_while
        target = self._postfix()
        if self._accept("="):
            value = self._expr()
            self._accept(";")
            return self._assign(target, value)
        self._accept(";")
        return lambda: (self._tick(), target.get())[0]

    def _assign(self, target: _Ref, value: Callable[[], Any]) -> Callable[[], None]:
        if target.kind not in ("var", "member", "index"):
            raise VkError(12, "invalid assignment target")

        def run_assign() -> None:
            target.set(value())

        return run_assign

    def _expr(self) -> Callable[[], Any]:
        return self._binary(0)

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def _binary(self, level: int) -> Callable[[], Any]:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek()[0] == "op" and self._peek()[1] in self._LEVELS[level]:
            op = self._next()[1]
            right = self._binary(level + 1)
            left = self._combine(op, left, right)
        return left

    @staticmethod
    def _combine(op: str, left: Callable[[], Any], right: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            a = left()
            if op == "&&":
                return a and right()
            if op == "||":
                return a or right()
            b = right()
            try:
                if op == "+" and (isinstance(a, str) or isinstance(b, str)):
                    return f"{a}{b}"
                return {
                    "==": lambda: a == b,
                    "!=": lambda: a != b,
                    "<": lambda: a < b,
                    ">": lambda: a > b,
                    "<=": lambda: a <= b,
                    ">=": lambda: a >= b,
                    "+": lambda: a + b,
                    "-": lambda: a - b,
                    "*": lambda: a * b,
                    "/": lambda: a / b,
                    "%": lambda: a % b,
                }[op]()
            except (TypeError, ZeroDivisionError) as exc:
                raise VkError(13, f"bad operands for {op}") from exc

        return run

    def _unary(self) -> Callable[[], Any]:
        if self._accept("!"):
            inner = self._unary()
            return lambda: not inner()
        if self._accept("-"):
            inner = self._unary()
            return lambda: -inner()
        return self._postfix().get

    def _primary(self) -> _Ref:
        kind, value = self._next()
        if kind == "value":
            return _Ref(self, "const", const=value)
        if kind == "name":
            return self._api_call() if value == "API" else _Ref(self, "var", name=value)
        literals = {"[": self._array, "{": self._object, "(": self._parenthesized}
        if kind == "op" and value in literals:
            return _Ref(self, "expr", base=literals[value]())
        raise VkError(12, f"unexpected {value!r}")

    def _parenthesized(self) -> Callable[[], Any]:
        inner = self._expr()
        self._expect(")")
        return inner

    def _postfix(self) -> _Ref:
        ref = self._primary()
        while True:
            if self._accept("."):
                kind, name = self._next()
                if kind != "name":
                    raise VkError(12, "expected a property name")
                if self._accept("("):
                    args = self._args()
                    ref = _Ref(self, "call", base=ref.get, name=name, args=args)
                else:
                    ref = _Ref(self, "member", base=ref.get, name=name)
            elif self._accept("["):
                index = self._expr()
                self._expect("]")
                ref = _Ref(self, "index", base=ref.get, index=index)
            else:
                return ref

    def _args(self) -> list[Callable[[], Any]]:
        args = []
        if not self._accept(")"):
            args.append(self._expr())
            while self._accept(","):
                args.append(self._expr())
            self._expect(")")
        return args

    def _array(self) -> Callable[[], list[Any]]:
        items = []
        if not self._accept("]"):
            items.append(self._expr())
            while self._accept(","):
                items.append(self._expr())
            self._expect("]")
        return lambda: [item() for item in items]

    def _object(self) -> Callable[[], dict[str, Any]]:
        pairs = []
        if not self._accept("}"):
            while True:
                kind, key = self._next()
                if kind not in ("name", "value") or not isinstance(key, str | int):
                    raise VkError(12, "expected an object key")
                self._expect(":")
                pairs.append((str(key), self._expr()))
                if not self._accept(","):
                    break
            self._expect("}")
        return lambda: {key: expr() for key, expr in pairs}

    def _api_call(self) -> _Ref:
        parts = []
        while self._accept("."):
            kind, name = self._next()
            if kind != "name":
                raise VkError(12, "expected a method name after API")
            parts.append(name)
        if len(parts) != 2 or not self._accept("("):
            raise VkError(12, "API calls look like API.section.method({...})")
        args = self._args()
        if len(args) > 1:
            raise VkError(12, "API methods take one object of parameters")
        method = ".".join(parts)

        def call() -> Any:
            params = args[0]() if args else {}
            if not isinstance(params, dict):
                raise VkError(13, f"{method}: parameters must be an object")
            self._tick()
            return self.api(method, params)

        return _Ref(self, "expr", base=call)

    # -- running ------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise VkError(13, "too many operations")

    def run(self) -> Any:
        try:
            for statement in self.program:
                statement()
        except _Return as ret:
            return ret.value
        return None


class _Ref:
    """An expression that may also be assigned to (variable, member or index)."""

    def __init__(self, interp: Interpreter, kind: str, **parts: Any) -> None:
        self.interp = interp
        self.kind = kind
        self.parts = parts

    def get(self) -> Any:
        parts = self.parts
        if self.kind == "const":
            return parts["const"]
        if self.kind == "expr":
            return parts["base"]()
        if self.kind == "var":
            if parts["name"] not in self.interp.env:
                raise VkError(13, f"{parts['name']} is not defined")
            return self.interp.env[parts["name"]]
        base = parts["base"]()
        if self.kind == "member":
            return self._member(base, parts["name"])
        if self.kind == "index":
            return self._index(base, parts["index"]())
        return self._call(base)

    @staticmethod
    def _member(base: Any, name: str) -> Any:
        if name == "length" and isinstance(base, list | str):
            return len(base)
        if isinstance(base, dict):
            return base.get(name)
        if isinstance(base, list):  # VKScript maps a property over an array of objects
            return [item.get(name) if isinstance(item, dict) else None for item in base]
        raise VkError(13, f"cannot read {name!r}")

    @staticmethod
    def _index(base: Any, index: Any) -> Any:
        try:
            return base[index] if isinstance(base, list | dict) else None
        except (IndexError, KeyError, TypeError):
            return None

    def _call(self, base: Any) -> Any:
        name, args = self.parts["name"], [arg() for arg in self.parts["args"]]
        if isinstance(base, list) and name == "push":
            base.extend(args)
            return len(base)
        if isinstance(base, list) and name == "pop":
            return base.pop() if base else None
        if isinstance(base, list) and name == "slice":
            return base[slice(*args[:2])]
        if isinstance(base, str) and name == "split" and args:
            return base.split(str(args[0]))
        raise VkError(13, f"unknown function {name}")

    def set(self, value: Any) -> None:
        parts = self.parts
        if self.kind == "var":
            self.interp.env[parts["name"]] = value
            return
        base = parts["base"]()
        if self.kind == "member" and isinstance(base, dict):
            base[parts["name"]] = value
        elif self.kind == "index" and isinstance(base, list | dict):
            index = parts["index"]()
            try:
                base[index] = value
            except (IndexError, TypeError):
                raise VkError(13, "bad index") from None
        else:
            raise VkError(13, "invalid assignment")


def run_script(code: str, api: ApiCall) -> Any:
    """Compile and run ``code``; ``api`` performs each ``API.*`` call and returns its result."""
    if not code.strip():
        raise VkError(100, "code is undefined")
    return Interpreter(code, api).run()
