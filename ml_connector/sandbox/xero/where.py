"""Xero's `where` and `order` query language, as far as the sandbox implements it, parsed and compiled.

Xero evaluates `where` as a Dynamic LINQ expression over the entity: field names and method names match
case-insensitively (`status!="DELETED"` works, XeroAPI/xero-php-oauth2#307). Implemented:
- comparisons `==`, `!=` (also `<>`), and for dates and numbers `<`, `<=`, `>`, `>=`; `AND`/`&&`, `OR`/`||`,
  `NOT`/`!`, parentheses;
- literals: strings in double quotes (`""` inside is a quote), numbers, `true`/`false`, `null`,
  `DateTime(2026,10,01)` (optionally with hour, minute, second), `DateTime.Parse("2026-10-01T00:00:00")`,
  `Guid("...")`;
- on text fields `.Contains("x")`, `.StartsWith("x")`, `.EndsWith("x")`, `.ToLower()`, `.ToUpper()`;
- nested fields such as `Contact.Name`, `Contact.ContactID` where the entity schema declares them.
Text comparisons are case-sensitive, as LINQ's are (CHOSEN: whether Xero's store collates case-insensitively is
unconfirmed; a client that searches for its own keys sends them exactly). A GUID field compares only with
`Guid("...")`, a date only with `DateTime(...)`, as Dynamic LINQ types them. Anything else is refused with
Xero's `QueryParseException` (ErrorNumber 16) and a Dynamic LINQ style message, e.g. "Expression expected",
"No property or field 'Foo' exists in type 'Invoice'", "Operator '==' incompatible with operand types
'Boolean' and 'String'" (the last two as observed, pyxero #217).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from ml_connector.sandbox.xero.errors import query_parse_error

TYPE_NAMES = {"string": "String", "guid": "Guid", "date": "DateTime", "datetime": "DateTime",
              "decimal": "Decimal", "bool": "Boolean", "null": "Object"}
ORDERED_KINDS = ("date", "datetime", "decimal")
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<>|>=|<=|&&|\|\||[<>!().,])'
                    r'|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>\S))')


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string, guid, date, datetime, decimal, bool
    get: Callable[[dict], object]  # the record's value, normalised: dates as epoch ms, guids lower-case


@dataclass(frozen=True)
class Schema:
    type_name: str  # "Invoice", "ManualJournal": named in error messages
    fields: dict[str, Field]  # lower-case name -> field

    @classmethod
    def of(cls, type_name: str, *fields: Field) -> Schema:
        return cls(type_name, {f.name.lower(): f for f in fields})


# AST nodes: ("field", Field) ("lit", kind, value) ("call", method, node, arg) ("cmp", op, left, right)
#            ("and", [nodes]) ("or", [nodes]) ("not", node)

class _Parser:
    def __init__(self, text: str, schema: Schema) -> None:
        self.schema = schema
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup
            if kind == "bad":
                if match.group("bad") == '"':
                    raise query_parse_error("Unterminated string literal")
                raise query_parse_error(f"Syntax error '{match.group('bad')}'")
            self.tokens.append((kind, match.group(kind)))
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise query_parse_error("Expression expected")
        self.pos += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and (token[1] in words or (token[0] == "id" and token[1].upper() in words))

    def expect(self, symbol: str) -> None:
        token = self.peek()
        if token is None or token[1] != symbol:
            raise query_parse_error(f"'{symbol}' expected")
        self.pos += 1

    def parse(self) -> tuple:
        node = self.or_expr()
        if self.peek() is not None:
            raise query_parse_error("Syntax error")
        if kind_of(node) != "bool":
            raise query_parse_error("Expression of type 'Boolean' expected")
        return node

    def or_expr(self) -> tuple:
        parts = [self.and_expr()]
        while self.is_word("||", "OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> tuple:
        parts = [self.not_expr()]
        while self.is_word("&&", "AND"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_expr(self) -> tuple:
        if self.is_word("!", "NOT"):
            self.take()
            inner = self.not_expr()
            _require_bool(inner, "!")
            return ("not", inner)
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.value()
        token = self.peek()
        if token is None or token[1] not in ("==", "!=", "<>", ">=", "<=", ">", "<"):
            return left
        op = "!=" if self.take()[1] == "<>" else token[1]
        right = self.value()
        return compare_node(op, left, right)

    def value(self) -> tuple:
        kind, text = self.take()
        if text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "str":
            return ("lit", "string", text[1:-1].replace('""', '"'))
        if kind == "num":
            return ("lit", "decimal", Decimal(text))
        if kind != "id":
            raise query_parse_error("Expression expected")
        upper = text.upper()
        if upper in ("TRUE", "FALSE"):
            return ("lit", "bool", upper == "TRUE")
        if upper == "NULL":
            return ("lit", "null", None)
        if upper == "DATETIME":
            return self.datetime_literal()
        if upper == "GUID":
            self.expect("(")
            value = self.string_argument()
            self.expect(")")
            return ("lit", "guid", value.lower())
        return self.member(text)

    def string_argument(self) -> str:
        kind, text = self.take()
        if kind != "str":
            raise query_parse_error("String literal expected")
        return text[1:-1].replace('""', '"')

    def datetime_literal(self) -> tuple:
        if self.peek() and self.peek()[1] == ".":
            self.take()
            if self.take()[1].upper() != "PARSE":
                raise query_parse_error("No applicable method exists in type 'DateTime'")
            self.expect("(")
            text = self.string_argument()
            self.expect(")")
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise query_parse_error(f"String was not recognized as a valid DateTime: {text}") from None
            return ("lit", "datetime", _epoch_ms(moment))
        self.expect("(")
        numbers = []
        while True:
            kind, text = self.take()
            if kind != "num" or "." in text:
                raise query_parse_error("DateTime takes whole numbers: DateTime(year, month, day)")
            numbers.append(int(text))
            if self.peek() and self.peek()[1] == ",":
                self.take()
                continue
            break
        self.expect(")")
        if len(numbers) not in (3, 6):
            raise query_parse_error("No matching constructor in type 'DateTime'")
        try:
            return ("lit", "datetime", _epoch_ms(datetime(*numbers)))
        except ValueError:
            raise query_parse_error("Year, Month, and Day parameters describe an un-representable DateTime") from None

    def member(self, first: str) -> tuple:
        path = [first]
        while self.peek() and self.peek()[1] == "." and self.peek(1) and self.peek(1)[0] == "id" \
                and not (self.peek(2) and self.peek(2)[1] == "("):
            self.take()
            path.append(self.take()[1])
        field = self.schema.fields.get(".".join(path).lower())
        if field is None:
            raise query_parse_error(f"No property or field '{path[-1]}' exists in type '{self.schema.type_name}'")
        node: tuple = ("field", field)
        while self.peek() and self.peek()[1] == ".":
            self.take()
            method = self.take()[1]
            node = self.method(node, method)
        return node

    def method(self, target: tuple, method: str) -> tuple:
        name = method.lower()
        if kind_of(target) != "string":
            raise query_parse_error(f"No applicable method '{method}' exists in type "
                                    f"'{TYPE_NAMES[kind_of(target)]}'")
        self.expect("(")
        if name in ("tolower", "toupper"):
            self.expect(")")
            return ("call", name, target, None)
        if name not in ("contains", "startswith", "endswith"):
            raise query_parse_error(f"No applicable method '{method}' exists in type 'String'")
        argument = self.string_argument()
        self.expect(")")
        return ("call", name, target, argument)


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def kind_of(node: tuple) -> str:
    tag = node[0]
    if tag == "field":
        return node[1].kind
    if tag == "lit":
        return node[1]
    if tag == "call":
        return "string" if node[1] in ("tolower", "toupper") else "bool"
    return "bool"


def _require_bool(node: tuple, op: str) -> None:
    if kind_of(node) != "bool":
        raise query_parse_error(f"Operator '{op}' incompatible with operand type '{TYPE_NAMES[kind_of(node)]}'")


def compare_node(op: str, left: tuple, right: tuple) -> tuple:
    lk, rk = kind_of(left), kind_of(right)
    comparable = lk == rk or "null" in (lk, rk) or {lk, rk} <= {"date", "datetime"}
    if not comparable or (op not in ("==", "!=") and (lk not in ORDERED_KINDS or rk not in ORDERED_KINDS)):
        raise query_parse_error(f"Operator '{op}' incompatible with operand types '{TYPE_NAMES[lk]}' and "
                                f"'{TYPE_NAMES[rk]}'")
    return ("cmp", op, left, right)


def parse_where(text: str, schema: Schema) -> tuple:
    return _Parser(text, schema).parse()


# --- evaluation -----------------------------------------------------------------------------------------

_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def compile_node(node: tuple) -> Callable[[dict], object]:
    tag = node[0]
    if tag == "field":
        return node[1].get
    if tag == "lit":
        value = node[2]
        return lambda record: value
    if tag == "call":
        method, target, argument = node[1], compile_node(node[2]), node[3]
        if method == "tolower":
            return lambda r: None if (v := target(r)) is None else v.lower()
        if method == "toupper":
            return lambda r: None if (v := target(r)) is None else v.upper()
        test = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}[method]
        return lambda r: (v := target(r)) is not None and test(v, argument)
    if tag == "cmp":
        op, left, right = _OPS[node[1]], compile_node(node[2]), compile_node(node[3])
        if node[1] in ("==", "!="):
            return lambda r: op(left(r), right(r))
        return lambda r: (a := left(r)) is not None and (b := right(r)) is not None and op(a, b)
    if tag == "not":
        inner = compile_node(node[1])
        return lambda r: not inner(r)
    parts = [compile_node(part) for part in node[1]]
    if tag == "and":
        return lambda r: all(part(r) for part in parts)
    return lambda r: any(part(r) for part in parts)


def candidate_ids(node: tuple, lookup: Callable[[str, str, object], set[str] | None]) -> set[str] | None:
    """Ids that may match, from the indexes `lookup` offers, or None when only a scan can tell.

    `lookup(field_name, "==" | "contains" | "startswith", value)` answers a superset of the matching ids, or
    None when that field has no index."""
    tag = node[0]
    if tag == "cmp" and node[1] == "==":
        left, right = node[2], node[3]
        if left[0] == "lit":
            left, right = right, left
        if left[0] == "field" and right[0] == "lit" and right[1] != "null":
            return lookup(left[1].name, "==", right[2])
    if tag == "call" and node[1] in ("contains", "startswith") and node[2][0] == "field":
        return lookup(node[2][1].name, node[1], node[3])
    if tag == "and":
        found = [ids for ids in (candidate_ids(part, lookup) for part in node[1]) if ids is not None]
        return min(found, key=len) if found else None
    if tag == "or":
        found = [candidate_ids(part, lookup) for part in node[1]]
        return None if any(ids is None for ids in found) else set().union(*found)
    return None


def sort_key(order: str | None, schema: Schema) -> list[tuple[Field, bool]]:
    """`Date ASC, InvoiceNumber DESC` as (field, descending) pairs."""
    if not order:
        return []
    keys = []
    for part in order.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise query_parse_error("Syntax error in order: use 'Field ASC' or 'Field DESC'")
        field = schema.fields.get(words[0].lower())
        if field is None:
            raise query_parse_error(f"No property or field '{words[0]}' exists in type '{schema.type_name}'")
        keys.append((field, len(words) == 2 and words[1].upper() == "DESC"))
    return keys


def decimal_of(value: object) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None
