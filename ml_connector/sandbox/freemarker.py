"""A small FreeMarker renderer: the subset of the language that export templates sent to the sandbox use.

Expensify renders the `template` form field of an export job with Apache FreeMarker; the sandbox does the
same with this module, so a client's own template is exercised end to end. What is supported:

- `${expr}` interpolation; `<#-- comments -->`; FreeMarker's white-space stripping of lines holding only
  directives or comments, and `<#t>`, `<#lt>`, `<#rt>`.
- `<#if>` / `<#elseif>` / `<#else>`, `<#list seq as x>` with `<#sep>`, `<#assign name = expr>`.
- Expressions: string, number, boolean and sequence (`[a, b]`) literals; `a.b`, `a["b"]`; `expr!default`,
  `(expr)!default`, `expr??`; `== = != < <= > >= lt lte gt gte`, `&& || !`; `+ - * / %` (numbers as Decimal,
  `+` also joins strings); parentheses.
- Built-ins: `?json_string ?c ?has_content ?string ?length ?size ?upper_case ?lower_case ?trim ?is_number
  ?is_string ?replace(a, b) ?contains(a)`; on loop variables `?has_next ?index ?counter ?is_first ?is_last`.

Anything else raises `TemplateError` naming the line, so a template that would need more fails loudly
instead of rendering something FreeMarker would not. tests/sandbox/test_freemarker_parity.py renders the
same templates with the real FreeMarker and compares the output byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any


class TemplateError(Exception):
    """The template uses something this renderer does not support, or failed while rendering."""


class _Missing:
    """A value that is not there: FreeMarker's null/undefined."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class _EmptyDefault:
    """The value of `x!` without a default: an empty string, sequence and hash at once."""


EMPTY_DEFAULT = _EmptyDefault()


# ---------------------------------------------------------------- template tokens


@dataclass
class _Token:
    kind: str  # text | interp | tag | end | comment
    value: str  # text, expression source, or directive name
    args: str = ""
    line: int = 0


_DIRECTIVES = {"if", "elseif", "else", "list", "sep", "assign", "t", "lt", "rt"}


def _scan_until(source: str, start: int, closer: str, line: int) -> int:
    """Index of `closer` after `start`, skipping string literals and bracketed parts."""
    depth = 0
    index = start
    while index < len(source):
        char = source[index]
        if char in "\"'":
            end = index + 1
            while end < len(source) and source[end] != char:
                end += 2 if source[end] == "\\" else 1
            index = end + 1
            continue
        if char in "([{":
            depth += 1
        elif char in ")]" or (char == "}" and depth > 0):
            depth -= 1
        elif char == closer and depth == 0:
            return index
        index += 1
    raise TemplateError(f"line {line}: unclosed {'interpolation' if closer == '}' else 'directive'}")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    pattern = re.compile(r"<#--|</#|<#|\$\{")
    while index < len(source):
        line = source.count("\n", 0, index) + 1
        match = pattern.search(source, index)
        if match is None:
            tokens.append(_Token("text", source[index:], line=line))
            break
        if match.start() > index:
            tokens.append(_Token("text", source[index : match.start()], line=line))
        line = source.count("\n", 0, match.start()) + 1
        opener = match.group()
        if opener == "<#--":
            end = source.find("-->", match.end())
            if end < 0:
                raise TemplateError(f"line {line}: unclosed comment")
            tokens.append(_Token("comment", source[match.end() : end], line=line))
            index = end + 3
        elif opener == "${":
            end = _scan_until(source, match.end(), "}", line)
            tokens.append(_Token("interp", source[match.end() : end], line=line))
            index = end + 1
        else:
            end = _scan_until(source, match.end(), ">", line)
            body = source[match.end() : end].rstrip()
            if body.endswith("/"):
                body = body[:-1]
            name, _, args = body.strip().partition(" ")
            name = name.strip()
            if name not in _DIRECTIVES:
                raise TemplateError(
                    f"line {line}: directive <#{name}> is not supported by the sandbox renderer"
                )
            tokens.append(_Token("end" if opener == "</#" else "tag", name, args.strip(), line))
            index = end + 1
        if "\n" in tokens[-1].value + tokens[-1].args and tokens[-1].kind != "text":
            raise TemplateError(f"line {line}: directives, comments and interpolations must fit on one line")
    return tokens


def _strip_white_space(tokens: list[_Token]) -> list[_Token]:
    """Apply FreeMarker's white-space stripping line by line, and the <#t>/<#lt>/<#rt> directives."""
    lines: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind != "text":
            lines[-1].append(token)
            continue
        parts = token.value.split("\n")
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            text = part if last else part + "\n"
            if text:
                lines[-1].append(_Token("text", text, line=token.line + position))
            if not last:
                lines.append([])
    out: list[_Token] = []
    for line in lines:
        texts = [t for t in line if t.kind == "text"]
        others = [t for t in line if t.kind != "text"]
        trims = {t.value for t in others if t.kind == "tag" and t.value in ("t", "lt", "rt")}
        kept = [t for t in line if not (t.kind == "tag" and t.value in ("t", "lt", "rt"))]
        only_tags = (
            others and all(t.kind != "interp" for t in others) and all(not t.value.strip() for t in texts)
        )
        if only_tags:
            out.extend(t for t in kept if t.kind != "text")
            continue
        if trims & {"t", "lt"}:
            kept = _trim_edge(kept, leading=True)
        if trims & {"t", "rt"}:
            kept = _trim_edge(kept, leading=False)
        out.extend(kept)
    return out


def _trim_edge(line: list[_Token], leading: bool) -> list[_Token]:
    # FreeMarker trims the line's leading white-space, or its trailing white-space and line break.
    line = list(line)
    order = range(len(line)) if leading else range(len(line) - 1, -1, -1)
    for index in order:
        token = line[index]
        if token.kind != "text":
            if token.kind == "interp":
                break
            continue
        stripped = token.value.lstrip(" \t") if leading else token.value.rstrip(" \t\r\n")
        line[index] = _Token("text", stripped, line=token.line)
        if stripped:
            break
    return [t for t in line if t.kind != "text" or t.value]


# ---------------------------------------------------------------- expressions

_EXPR_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op>\?\?|==|!=|<=|>=|&&|\|\||[?!=<>+\-*/%().,\[\]])
""",
    re.VERBOSE,
)

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "f": "\f",
    "b": "\b",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "l": "<",
    "g": ">",
    "a": "&",
    "{": "{",
    "=": "=",
}


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            code = body[index + 1]
            if code == "x":
                digits = re.match(r"[0-9a-fA-F]{1,4}", body[index + 2 :]).group()
                out.append(chr(int(digits, 16)))
                index += 2 + len(digits)
                continue
            if code not in _ESCAPES:
                raise TemplateError(f"unknown escape \\{code} in string literal {literal}")
            out.append(_ESCAPES[code])
            index += 2
            continue
        if char == "$" and body[index + 1 : index + 2] == "{":
            raise TemplateError(f"interpolation inside string literal {literal} is not supported")
        out.append(char)
        index += 1
    return "".join(out)


def _expr_tokens(source: str, line: int) -> list[tuple[str, str]]:
    tokens = []
    index = 0
    while index < len(source):
        match = _EXPR_TOKEN.match(source, index)
        if match is None:
            raise TemplateError(f"line {line}: cannot read expression {source!r} at {source[index:]!r}")
        index = match.end()
        kind = match.lastgroup
        if kind != "ws":
            tokens.append((kind, match.group()))
    return tokens


_COMPARISONS = {
    "==": "==",
    "=": "==",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
}


class _ExprParser:
    """Recursive descent over FreeMarker's precedence: || , &&, equality, relational, + -, * / %, unary."""

    def __init__(self, source: str, line: int) -> None:
        self.tokens = _expr_tokens(source, line)
        self.pos = 0
        self.line = line
        self.source = source

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise TemplateError(f"line {self.line}: expected {value or 'more'} in expression {self.source!r}")
        self.pos += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[1] in values and token[0] in ("op", "name")

    def parse_all(self) -> tuple:
        node = self.parse_or()
        if self.peek() is not None:
            raise TemplateError(
                f"line {self.line}: unexpected {self.peek()[1]!r} in expression {self.source!r}"
            )
        return node

    def parse_or(self) -> tuple:
        node = self.parse_and()
        while self.at("||"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> tuple:
        node = self.parse_equality()
        while self.at("&&"):
            self.take()
            node = ("and", node, self.parse_equality())
        return node

    def parse_equality(self) -> tuple:
        node = self.parse_relational()
        while self.at("==", "=", "!="):
            op = _COMPARISONS[self.take()[1]]
            node = ("cmp", op, node, self.parse_relational())
        return node

    def parse_relational(self) -> tuple:
        node = self.parse_additive()
        while self.at("<", "<=", ">", ">=", "lt", "lte", "gt", "gte"):
            op = _COMPARISONS[self.take()[1]]
            node = ("cmp", op, node, self.parse_additive())
        return node

    def parse_additive(self) -> tuple:
        node = self.parse_multiplicative()
        while self.at("+", "-"):
            node = ("arith", self.take()[1], node, self.parse_multiplicative())
        return node

    def parse_multiplicative(self) -> tuple:
        node = self.parse_unary()
        while self.at("*", "/", "%"):
            node = ("arith", self.take()[1], node, self.parse_unary())
        return node

    def parse_unary(self) -> tuple:
        if self.at("!"):
            self.take()
            return ("not", self.parse_unary())
        if self.at("-"):
            self.take()
            return ("neg", self.parse_unary())
        return self.parse_postfix()

    def parse_postfix(self, allow_default: bool = True) -> tuple:
        node = self.parse_primary()
        while True:
            if self.at("."):
                self.take()
                node = ("get", node, ("lit", self.take()[1]))
            elif self.at("["):
                self.take()
                key = self.parse_or()
                self.take("]")
                node = ("get", node, key)
            elif self.at("??"):
                self.take()
                node = ("exists", node)
            elif self.at("?"):
                self.take()
                name = self.take()[1]
                args = []
                if self.at("("):
                    self.take()
                    while not self.at(")"):
                        args.append(self.parse_or())
                        if self.at(","):
                            self.take()
                    self.take(")")
                node = ("builtin", name, node, args)
            elif allow_default and self.at("!") and not self.at("!="):
                self.take()
                following = self.peek()
                starts_operand = following is not None and (
                    following[0] in ("number", "string")
                    or following[1] in ("(", "-", "[")
                    or (following[0] == "name" and following[1] not in _COMPARISONS)
                )
                default = self.parse_postfix(allow_default=False) if starts_operand else ("empty",)
                node = ("default", node, default)
            else:
                return node

    def parse_primary(self) -> tuple:
        kind, value = self.take()
        if kind == "number":
            return ("lit", Decimal(value) if "." in value else int(value))
        if kind == "string":
            return ("lit", _unquote(value))
        if kind == "name":
            if value in ("true", "false"):
                return ("lit", value == "true")
            return ("var", value)
        if value == "(":
            node = self.parse_or()
            self.take(")")
            return ("paren", node)
        if value == "[":
            items = []
            while not self.at("]"):
                items.append(self.parse_or())
                if self.at(","):
                    self.take()
            self.take("]")
            return ("seq", items)
        raise TemplateError(f"line {self.line}: unexpected {value!r} in expression {self.source!r}")


def parse_expression(source: str, line: int = 0) -> tuple:
    return _ExprParser(source, line).parse_all()


# ---------------------------------------------------------------- template tree


@dataclass
class _Node:
    kind: str  # text | interp | if | list | sep | assign
    line: int = 0
    text: str = ""
    expr: tuple = ()
    name: str = ""
    branches: list[tuple[tuple | None, list[_Node]]] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)


def _parse_tree(tokens: list[_Token]) -> list[_Node]:
    position = 0

    def parse_block(stop: set[str]) -> tuple[list[_Node], _Token | None]:
        nonlocal position
        nodes: list[_Node] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token.kind == "comment":
                continue
            if token.kind == "text":
                nodes.append(_Node("text", token.line, text=token.value))
            elif token.kind == "interp":
                nodes.append(_Node("interp", token.line, expr=parse_expression(token.value, token.line)))
            elif (token.kind == "end" and "/" + token.value in stop) or (
                token.kind == "tag" and token.value in stop
            ):
                return nodes, token
            elif token.kind == "end":
                raise TemplateError(f"line {token.line}: unexpected </#{token.value}>")
            elif token.value == "if":
                nodes.append(parse_if(token))
            elif token.value == "list":
                nodes.append(parse_list(token))
            elif token.value == "assign":
                match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)", token.args, re.S)
                if match is None:
                    raise TemplateError(f"line {token.line}: only <#assign name = value> is supported")
                nodes.append(
                    _Node(
                        "assign",
                        token.line,
                        name=match.group(1),
                        expr=parse_expression(match.group(2), token.line),
                    )
                )
            else:
                raise TemplateError(f"line {token.line}: <#{token.value}> is not allowed here")
        if stop:
            raise TemplateError(f"end of template reached; expected one of {sorted(stop)}")
        return nodes, None

    def parse_if(token: _Token) -> _Node:
        node = _Node("if", token.line)
        condition: tuple | None = parse_expression(token.args, token.line)
        while True:
            body, closer = parse_block({"elseif", "else", "/if"})
            node.branches.append((condition, body))
            if closer.kind == "end":
                return node
            if condition is None:
                raise TemplateError(f"line {closer.line}: <#{closer.value}> after <#else>")
            condition = parse_expression(closer.args, closer.line) if closer.value == "elseif" else None

    def parse_list(token: _Token) -> _Node:
        match = re.fullmatch(r"(.+?)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)", token.args, re.S)
        if match is None:
            raise TemplateError(f"line {token.line}: only <#list sequence as item> is supported")
        node = _Node(
            "list", token.line, expr=parse_expression(match.group(1), token.line), name=match.group(2)
        )
        body, closer = parse_block({"/list", "sep"})
        if closer.kind == "tag":
            sep_body, sep_closer = parse_block({"/sep", "/list"})
            body.append(_Node("sep", closer.line, body=sep_body))
            if sep_closer.value == "sep":
                rest, _ = parse_block({"/list"})
                body.extend(rest)
        node.body = body
        return node

    nodes, _ = parse_block(set())
    return nodes


# ---------------------------------------------------------------- rendering


@dataclass
class _Loop:
    name: str
    index: int
    count: int


class Template:
    """A parsed template; `render(model)` returns the output text."""

    def __init__(self, source: str) -> None:
        self.tree = _parse_tree(_strip_white_space(_tokenize(source)))

    def render(self, model: dict[str, Any]) -> str:
        out: list[str] = []
        _Renderer(model).run(self.tree, out)
        return "".join(out)


def render(source: str, model: dict[str, Any]) -> str:
    return Template(source).render(model)


class _Renderer:
    def __init__(self, model: dict[str, Any]) -> None:
        self.model = model
        self.assigned: dict[str, Any] = {}
        self.loops: list[tuple[_Loop, Any]] = []

    def run(self, nodes: list[_Node], out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "interp":
                out.append(self.interpolate(self.value(node.expr, node.line), node.line))
            elif node.kind == "assign":
                self.assigned[node.name] = self.value(node.expr, node.line)
            elif node.kind == "if":
                for condition, body in node.branches:
                    if condition is None or self.truth(condition, node.line):
                        self.run(body, out)
                        break
            elif node.kind == "list":
                self.run_list(node, out)
            elif node.kind == "sep":
                loop = self.loops[-1][0]
                if loop.index < loop.count - 1:
                    self.run(node.body, out)

    def run_list(self, node: _Node, out: list[str]) -> None:
        items = self.value(node.expr, node.line)
        if items is EMPTY_DEFAULT:
            items = []
        if isinstance(items, dict):
            raise TemplateError(f"line {node.line}: listing a hash is not supported; list a sequence")
        if not isinstance(items, list):
            raise TemplateError(f"line {node.line}: <#list> needs a sequence, got {type(items).__name__}")
        for index, item in enumerate(items):
            self.loops.append((_Loop(node.name, index, len(items)), item))
            try:
                self.run(node.body, out)
            finally:
                self.loops.pop()

    # -- values

    def lookup(self, name: str) -> Any:
        for loop, item in reversed(self.loops):
            if loop.name == name:
                return MISSING if item is None else item
        if name in self.assigned:
            return self.assigned[name]
        value = self.model.get(name)
        return MISSING if value is None else value

    def maybe(self, expr: tuple, line: int) -> Any:
        """Evaluate where a missing value is allowed: `x!d`, `x??` and `x?has_content`."""
        kind = expr[0]
        if kind == "paren":
            try:
                return self.maybe(expr[1], line)
            except _Undefined:
                return MISSING
        if kind == "var":
            return self.lookup(expr[1])
        if kind == "get":
            return self.get(self.value(expr[1], line), self.value(expr[2], line), line)
        return self.value(expr, line)

    def value(self, expr: tuple, line: int) -> Any:
        kind = expr[0]
        if kind == "lit":
            return expr[1]
        if kind == "empty":
            return EMPTY_DEFAULT
        if kind == "seq":
            return [self.value(item, line) for item in expr[1]]
        if kind in ("var", "get"):
            result = self.maybe(expr, line)
            if result is MISSING:
                raise _Undefined(f"line {line}: {_describe(expr)} is missing (guard it with ! or ??)")
            return result
        if kind == "paren":
            return self.value(expr[1], line)
        if kind == "default":
            result = self.maybe(expr[1], line)
            return self.value(expr[2], line) if result is MISSING else result
        if kind == "exists":
            return self.maybe(expr[1], line) is not MISSING
        if kind == "not":
            return not self.truth(expr[1], line)
        if kind == "neg":
            return -self.number(self.value(expr[1], line), line)
        if kind == "and":
            return self.truth(expr[1], line) and self.truth(expr[2], line)
        if kind == "or":
            return self.truth(expr[1], line) or self.truth(expr[2], line)
        if kind == "cmp":
            return self.compare(expr[1], self.value(expr[2], line), self.value(expr[3], line), line)
        if kind == "arith":
            return self.arithmetic(expr[1], self.value(expr[2], line), self.value(expr[3], line), line)
        if kind == "builtin":
            return self.builtin(expr[1], expr[2], expr[3], line)
        raise TemplateError(f"line {line}: cannot evaluate {kind}")

    def get(self, target: Any, key: Any, line: int) -> Any:
        if isinstance(target, dict):
            value = target.get(key)
            return MISSING if value is None else value
        if isinstance(target, list) and isinstance(key, int):
            return target[key] if 0 <= key < len(target) else MISSING
        if target is EMPTY_DEFAULT:
            return MISSING
        raise TemplateError(f"line {line}: cannot read {key!r} of a {type(target).__name__}")

    def truth(self, expr: tuple, line: int) -> bool:
        result = self.value(expr, line)
        if not isinstance(result, bool):
            raise TemplateError(f"line {line}: condition {_describe(expr)} is not a boolean")
        return result

    def number(self, value: Any, line: int) -> int | Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
            raise TemplateError(f"line {line}: expected a number, got {value!r}")
        return Decimal(str(value)) if isinstance(value, float) else value

    def compare(self, op: str, left: Any, right: Any, line: int) -> bool:
        if _is_number(left) and _is_number(right):
            left, right = Decimal(left), Decimal(right)
        elif type(left) is not type(right) or not isinstance(left, (str, bool)):
            raise TemplateError(f"line {line}: cannot compare {left!r} with {right!r}")
        elif isinstance(left, bool) and op not in ("==", "!="):
            raise TemplateError(f"line {line}: booleans can only be compared with == or !=")
        return {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]

    def arithmetic(self, op: str, left: Any, right: Any, line: int) -> Any:
        if op == "+" and (isinstance(left, str) or isinstance(right, str)):
            return self.interpolate(left, line) + self.interpolate(right, line)
        a, b = Decimal(self.number(left, line)), Decimal(self.number(right, line))
        if op == "/":
            if b == 0:
                raise TemplateError(f"line {line}: division by zero")
            # FreeMarker's BigDecimal engine: at least 12 decimals, half-up.
            result = (
                (a / b)
                .quantize(Decimal(1).scaleb(-max(_scale(a), _scale(b), 12)), rounding=ROUND_HALF_UP)
                .normalize()
            )
        else:
            result = {"+": a + b, "-": a - b, "*": a * b, "%": a % b}[op]
        return int(result) if result == result.to_integral_value() else result

    def builtin(self, name: str, target_expr: tuple, args: list[tuple], line: int) -> Any:
        if name in ("has_next", "index", "counter", "is_first", "is_last") and target_expr[0] == "var":
            loop = next((lp for lp, _ in reversed(self.loops) if lp.name == target_expr[1]), None)
            if loop is None:
                raise TemplateError(f"line {line}: ?{name} needs a loop variable, not {target_expr[1]}")
            return {
                "has_next": loop.index < loop.count - 1,
                "index": loop.index,
                "counter": loop.index + 1,
                "is_first": loop.index == 0,
                "is_last": loop.index == loop.count - 1,
            }[name]
        if name == "has_content":
            return _has_content(self.maybe(target_expr, line))
        target = self.value(target_expr, line)
        values = [self.value(arg, line) for arg in args]
        if target is EMPTY_DEFAULT:
            target = ""
        if name == "json_string":
            return _json_string(self.text(target, name, line))
        if name == "c":
            if isinstance(target, bool):
                return "true" if target else "false"
            return _computer_number(self.number(target, line))
        if name == "string":
            if isinstance(target, bool) and len(values) == 2:
                return values[0] if target else values[1]
            if not values:
                return self.interpolate(target, line)
            raise TemplateError(f"line {line}: ?string with a format is not supported; use ?c")
        if name == "replace" and len(values) == 2:
            return self.text(target, name, line).replace(str(values[0]), str(values[1]))
        if name == "contains" and len(values) == 1:
            return str(values[0]) in self.text(target, name, line)
        if name == "length":
            return len(self.text(target, name, line).encode("utf-16-le")) // 2  # Java counts UTF-16 units
        if name == "size":
            if not isinstance(target, (list, dict)):
                raise TemplateError(f"line {line}: ?size needs a sequence or hash, got {target!r}")
            return len(target)
        if name in ("upper_case", "lower_case", "trim"):
            text = self.text(target, name, line)
            return {"upper_case": text.upper(), "lower_case": text.lower(), "trim": _java_trim(text)}[name]
        if name == "is_number":
            return _is_number(target)
        if name == "is_string":
            return isinstance(target, str)
        raise TemplateError(f"line {line}: built-in ?{name} is not supported by the sandbox renderer")

    def text(self, value: Any, builtin: str, line: int) -> str:
        if isinstance(value, str):
            return value
        if _is_number(value):
            return _formatted_number(value)
        raise TemplateError(f"line {line}: ?{builtin} needs a string, got {value!r}")

    def interpolate(self, value: Any, line: int) -> str:
        if isinstance(value, str):
            return value
        if value is EMPTY_DEFAULT:
            return ""
        if isinstance(value, bool):
            raise TemplateError(
                f'line {line}: a boolean cannot be printed directly; use ?c or ?string("a","b")'
            )
        if _is_number(value):
            return _formatted_number(value)
        raise TemplateError(f"line {line}: a {type(value).__name__} cannot be printed")


class _Undefined(TemplateError):
    """A value is missing where one is required (FreeMarker's InvalidReferenceException)."""


def _describe(expr: tuple) -> str:
    kind = expr[0]
    if kind == "var":
        return expr[1]
    if kind == "get":
        key = expr[2][1] if expr[2][0] == "lit" else "[...]"
        return f"{_describe(expr[1])}.{key}"
    if kind == "paren":
        return f"({_describe(expr[1])})"
    return kind


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


def _scale(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def _java_trim(text: str) -> str:
    # Java's String.trim(): only characters up to U+0020 count as white-space.
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _has_content(value: Any) -> bool:
    if value is MISSING or value is EMPTY_DEFAULT:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _computer_number(value: int | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def _formatted_number(value: int | Decimal | float) -> str:
    # FreeMarker's default number format for en_US: grouping, at most three fraction digits, half-even.
    rounded = Decimal(str(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    whole, _, fraction = f"{rounded:,f}".partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _json_string(text: str) -> str:
    """FreeMarker's ?json_string: JSON escapes, plus the HTML-safety escapes FreeMarker adds."""
    out = []
    for index, char in enumerate(text):
        previous = text[index - 1] if index else ""
        following = text[index + 1] if index + 1 < len(text) else ""
        code = ord(char)
        if char in _JSON_SHORT:
            out.append(_JSON_SHORT[char])
        elif char == "/" and previous == "<":
            out.append("\\/")
        elif char == ">" and text[max(0, index - 2) : index] == "]]":
            out.append("\\u003E")
        elif char == "<" and following in ("!", "?"):
            out.append("\\u003C")
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    return "".join(out)
