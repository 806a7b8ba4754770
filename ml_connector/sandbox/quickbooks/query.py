"""QuickBooks' query language, as much of it as the connector uses, and a clear refusal for the rest.

Grammar (notes section 7): `SELECT * | COUNT(*) FROM <Entity> [WHERE <field> <op> <value> [AND ...]]
[ORDERBY <field> [ASC|DESC][, ...]] [STARTPOSITION n] [MAXRESULTS n]`. Keywords are case-insensitive;
entity names are case-sensitive (JournalEntry, Bill, Vendor, Account, Class, Department, Attachable,
TaxCode, TaxRate, CompanyInfo, Preferences); field names are not (Intuit's own pages write both
`MetaData.` and `Metadata.`). Operators `=`, `<`, `>`, `<=`, `>=`, `IN (...)`, `LIKE` (`%` only); strings in
single quotes with `\\'` for a quote; `true` / `false`. There is no OR, no projections, no JOIN, no GROUP
BY: those, and anything else the grammar does not cover, are 4000 "Error parsing query". A field the
sandbox does not filter on for that entity, a value of the wrong kind, or MAXRESULTS outside 1..1000 is 4001
"Invalid query" (refusing MAXRESULTS above 1000 instead of capping it is the stricter, UNCONFIRMED choice).

Semantics: string comparisons are case-insensitive (UNCONFIRMED); name lists (Vendor, Account, Class,
Department, TaxCode, TaxRate) return only active records unless the query says something about Active
(`where Active in (true, false)` for all); default order is most recently updated first for transactions and
attachables, name ascending (case-sensitive, as recorded) for lists; STARTPOSITION is 1-based and defaults to
1, MAXRESULTS defaults to 100 (UNCONFIRMED). The answer is `{"QueryResponse": {"<Entity>": [...],
"startPosition": s, "maxResults": <rows returned>, "totalCount": <all matches>}}`, totalCount only for
JournalEntry and Bill (as recorded); `{"QueryResponse": {"totalCount": n}}` for COUNT(*); `{"QueryResponse":
{}}` when nothing matches (notes: unconfirmed). Equality and IN on Id, DocNumber, DisplayName, Name and
AttachableRef.EntityRef.Value use the store's indexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.store import NAMED_LIST_TYPES, RealmBooks

TOKEN = re.compile(r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)"
                   r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
KEYWORDS = {"select", "from", "where", "and", "or", "orderby", "order", "asc", "desc", "startposition",
            "maxresults", "in", "like", "count", "true", "false", "not", "join", "group", "by"}
TOTAL_COUNT_TYPES = ("JournalEntry", "Bill")
NEWEST_FIRST_TYPES = ("JournalEntry", "Bill", "Attachable")
ACTIVE_FILTERED = ("Vendor",) + NAMED_LIST_TYPES
MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "str" | "id" | "date" | "datetime" | "bool" | "num"
    path: tuple[str, ...]
    many: bool = False  # the path runs through a list (AttachableRef); any element may match

    def values(self, record: dict) -> list:
        found = [record]
        for step in self.path:
            nxt = []
            for node in found:
                item = node.get(step) if isinstance(node, dict) else None
                if isinstance(item, list):
                    nxt.extend(item)
                elif item is not None:
                    nxt.append(item)
            found = nxt
        return found


def _fields(*specs: tuple) -> dict[str, Field]:
    return {spec[0].lower(): Field(spec[0], spec[1], tuple(spec[2].split(".")), *spec[3:]) for spec in specs}


COMMON = (("Id", "id", "Id"), ("MetaData.CreateTime", "datetime", "MetaData.CreateTime"),
          ("MetaData.LastUpdatedTime", "datetime", "MetaData.LastUpdatedTime"))
NAMED = (("Name", "str", "Name"), ("Active", "bool", "Active"))
FIELDS: dict[str, dict[str, Field]] = {
    "JournalEntry": _fields(*COMMON, ("DocNumber", "str", "DocNumber"), ("TxnDate", "date", "TxnDate")),
    "Bill": _fields(*COMMON, ("DocNumber", "str", "DocNumber"), ("TxnDate", "date", "TxnDate"),
                    ("DueDate", "date", "DueDate"), ("VendorRef", "id", "VendorRef.value"),
                    ("TotalAmt", "num", "TotalAmt"), ("Balance", "num", "Balance")),
    "Vendor": _fields(*COMMON, ("DisplayName", "str", "DisplayName"), ("GivenName", "str", "GivenName"),
                      ("FamilyName", "str", "FamilyName"), ("CompanyName", "str", "CompanyName"),
                      ("PrimaryEmailAddr", "str", "PrimaryEmailAddr.Address"), ("Active", "bool", "Active")),
    "Account": _fields(*COMMON, *NAMED, ("AccountType", "str", "AccountType"),
                       ("AccountSubType", "str", "AccountSubType"), ("Classification", "str", "Classification"),
                       ("AcctNum", "str", "AcctNum"), ("FullyQualifiedName", "str", "FullyQualifiedName")),
    "Class": _fields(*COMMON, *NAMED, ("FullyQualifiedName", "str", "FullyQualifiedName")),
    "Department": _fields(*COMMON, *NAMED, ("FullyQualifiedName", "str", "FullyQualifiedName")),
    "Attachable": _fields(*COMMON, ("AttachableRef.EntityRef.Value", "id", "AttachableRef.EntityRef.value", True),
                          ("AttachableRef.EntityRef.Type", "str", "AttachableRef.EntityRef.type", True),
                          ("FileName", "str", "FileName"), ("Category", "str", "Category")),
    "TaxCode": _fields(*COMMON, *NAMED), "TaxRate": _fields(*COMMON, *NAMED),
    "CompanyInfo": _fields(*COMMON), "Preferences": _fields(*COMMON),
}


@dataclass
class Condition:
    field: Field
    op: str  # "=", "<", ">", "<=", ">=", "in", "like"
    values: list


@dataclass
class Query:
    entity: str
    count: bool
    conditions: list[Condition]
    order: list[tuple[Field, bool]]  # (field, descending)
    start: int
    max_results: int


class Tokens:
    def __init__(self, statement: str) -> None:
        self.items: list[tuple[str, str, int]] = []
        position = 0
        statement = statement.rstrip().rstrip(";")
        while position < len(statement.rstrip()):
            match = TOKEN.match(statement, position)
            if match is None or match.end() == position:
                raise errors.query_parse(f"Encountered {statement[position:].strip()[:20]!r} at position "
                                         f"{position}.")
            kind = match.lastgroup
            self.items.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise errors.query_parse("The query ended too early.")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.index += 1
            return token[1].lower()
        return None

    def expect(self, kind: str, text: str | None = None) -> str:
        token = self.take()
        if token[0] != kind or (text is not None and token[1].lower() != text):
            wanted = text.upper() if text else kind
            raise errors.query_parse(f"Encountered {token[1]!r} at position {token[2]}; expected {wanted}.")
        return token[1]


def parse(statement: str) -> Query:
    tokens = Tokens(statement)
    tokens.expect("word", "select")
    count = False
    if tokens.keyword("count"):
        tokens.expect("punct", "(")
        tokens.expect("punct", "*")
        tokens.expect("punct", ")")
        count = True
    else:
        token = tokens.take()
        if token[1] != "*":
            raise errors.query_parse(f"Encountered {token[1]!r} at position {token[2]}; select * or count(*): "
                                     "this API does not support projections.")
    tokens.expect("word", "from")
    entity = tokens.expect("word")
    if entity not in FIELDS:
        raise errors.query_parse(f"Invalid entity name {entity!r} (names are case-sensitive); the sandbox "
                                 f"serves {', '.join(FIELDS)}.")
    conditions, order = [], []
    start, max_results = 1, DEFAULT_MAX_RESULTS
    if tokens.keyword("where"):
        conditions.append(condition(tokens, entity))
        while tokens.keyword("and"):
            conditions.append(condition(tokens, entity))
    if tokens.keyword("orderby"):
        while True:
            order.append((field(entity, tokens.expect("word")), tokens.keyword("asc", "desc") == "desc"))
            if not (tokens.peek() and tokens.peek()[1] == ","):
                break
            tokens.take()
    while (word := tokens.keyword("startposition", "maxresults")) is not None:
        number = tokens.take()
        if number[0] != "number" or not number[1].isdigit():
            raise errors.query_parse(f"{word.upper()} needs a whole number, not {number[1]!r}.")
        if word == "startposition":
            start = int(number[1])
        else:
            max_results = int(number[1])
    leftover = tokens.peek()
    if leftover is not None:
        hint = " (OR is not supported: run one query per alternative)" if leftover[1].lower() == "or" else ""
        raise errors.query_parse(f"Encountered {leftover[1]!r} at position {leftover[2]}{hint}.")
    if start < 1:
        raise errors.query_invalid("STARTPOSITION starts at 1.")
    if not 1 <= max_results <= MAX_RESULTS:
        raise errors.query_invalid(f"MAXRESULTS must be between 1 and {MAX_RESULTS}; page with STARTPOSITION.")
    return Query(entity, count, conditions, order, start, max_results)


def field(entity: str, name: str) -> Field:
    found = FIELDS[entity].get(name.lower())
    if found is None:
        raise errors.query_invalid(f"property '{name}' is not queryable for {entity} in this sandbox; use one of "
                                   f"{', '.join(f.name for f in FIELDS[entity].values())}.")
    return found


def condition(tokens: Tokens, entity: str) -> Condition:
    target = field(entity, tokens.expect("word"))
    token = tokens.take()
    if token[0] == "op":
        if token[1] in ("!=", "<>"):
            raise errors.query_parse(f"Operator {token[1]} is not supported; use =, <, >, <=, >=, IN or LIKE.")
        return Condition(target, token[1], [literal(tokens.take(), target)])
    op = token[1].lower()
    if op == "like":
        if target.kind != "str":
            raise errors.query_invalid(f"LIKE works on text; {target.name} is not text.")
        return Condition(target, "like", [literal(tokens.take(), target, pattern=True)])
    if op == "in":
        tokens.expect("punct", "(")
        values = [literal(tokens.take(), target)]
        while tokens.peek() and tokens.peek()[1] == ",":
            tokens.take()
            values.append(literal(tokens.take(), target))
        tokens.expect("punct", ")")
        return Condition(target, "in", values)
    raise errors.query_parse(f"Encountered {token[1]!r} at position {token[2]}; expected an operator.")


def literal(token: tuple[str, str, int], target: Field, pattern: bool = False) -> object:
    kind, raw, position = token
    value: object = raw
    if kind == "string":
        value = re.sub(r"\\(.)", r"\1", raw[1:-1])
    elif kind == "word" and raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif kind != "number":
        raise errors.query_parse(f"Encountered {raw!r} at position {position}; expected a value.")
    try:
        return typed(value, target, pattern)
    except (ValueError, InvalidOperation):
        raise errors.query_invalid(f"{raw} is not a valid value for {target.name} ({target.kind}).") from None


def typed(value: object, target: Field, pattern: bool) -> object:
    if target.kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if isinstance(value, bool):
        raise ValueError(value)
    text = str(value)
    if target.kind == "str":
        if pattern:
            return re.compile(".*".join(re.escape(part) for part in text.split("%")), re.IGNORECASE | re.DOTALL)
        return text.casefold()
    if target.kind == "id":
        return int(text) if text.isdigit() else text
    if target.kind == "date":
        return date.fromisoformat(text).isoformat()
    if target.kind == "datetime":
        return text  # zone-aware comparison happens per company, in `match`
    return Decimal(text)


def sort_key(target: Field, value: object) -> object:
    if target.kind == "id":
        return int(value) if str(value).isdigit() else str(value)
    if target.kind == "str" and target.name not in ("Name", "DisplayName", "FullyQualifiedName"):
        return str(value).casefold()
    return value


def comparable(target: Field, value: object, books: RealmBooks) -> object:
    if target.kind == "str":
        return str(value).casefold()
    if target.kind == "datetime":
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=books.zone)
    return sort_key(target, value)


def matches(cond: Condition, record: dict, books: RealmBooks, wanted: list) -> bool:
    for value in cond.field.values(record):
        if cond.op == "like":
            if wanted[0].fullmatch(str(value)):
                return True
            continue
        have = comparable(cond.field, value, books)
        try:
            if cond.op in ("=", "in") and have in wanted:
                return True
            if cond.op in ("<", ">", "<=", ">=") and _compare(have, cond.op, wanted[0]):
                return True
        except TypeError:  # an id like "TAX" against a number
            continue
    return False


def _compare(have: object, op: str, want: object) -> bool:
    return {"<": have < want, ">": have > want, "<=": have <= want, ">=": have >= want}[op]

