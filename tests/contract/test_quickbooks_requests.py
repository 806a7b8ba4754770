"""Request conformance: every request the connector sends to QuickBooks Online in real month runs, for the US
company and for the UK one with VAT and departments as business locations, conforms to what Intuit publishes.

QuickBooks has no OpenAPI; its references are the entity schemas (the minor-version-75 XSD set that
`test_quickbooks_contract` walks) and the notes' sections on URLs, queries and idempotency:
- Path: `/v3/company/{realmId}/` then `{entity}` (POST: create), `{entity}/{id}` (GET), `query`, `upload`,
  `preferences` or `companyinfo/{realmId}`, entity being an `IntuitObject` of the XSD in lower case (notes 1).
- Query parameters: only the ones Intuit documents for the route (`minorversion` everywhere; `requestid`;
  `query` on /query; `operation` and `include` on writes). `minorversion` is the version the bodies are
  checked against (75); `requestid` is at most 50 characters of letters, digits and dashes (notes 6: "<=50";
  the charset is the SDKs' UUIDs, the stricter reading of an undocumented format) and is on every write.
  A requestid seen twice carries the same body both times, since Intuit answers the second with the first's
  answer (notes 6).
- A query's statement parses in Intuit's grammar (notes 7: `select * | count(*) from Entity [where p op v [and
  ...]] [orderby ...] [startposition n] [maxresults n]`, no OR), its entity is an XSD entity, every filtered
  and ordered property is a field of it with a literal of the field's type, and MAXRESULTS is at most 1000
  (third-party; the stricter reading). Property names are compared without case: Intuit's own pages write
  both `AttachableRef.EntityRef.Value` and `EntityRef.value` (the XSD's simpleContent is `value`).
- JSON bodies: every key declared by the XSD for that type, lists and enumerations and simple types
  respected (`value_problems`); each line's `DetailType` names the one detail it carries; `DocNumber` at most 21
  characters and a line's `Description` 4000 (XSD annotations); a vendor's DisplayName without ":" (notes 6).
  `JournalEntryLineDetail.TaxCodeRef` is "For Non US/CA Companies" (XSD), so the US company's journals carry
  none; in the UK one a taxed journal line also says `TaxApplicableOn` (the XSD gives no default, so the
  stricter reading: always stated).
- Uploads: multipart with `file_metadata_<n>` (an Attachable as JSON, checked like any body; FileName at most
  1000, XSD) paired with `file_content_<n>` whose file name and type the metadata repeats (notes 8).

The runs: a month whose answers are lost now and then (two journal entries, a bill and an upload commit with
no answer, so the recovery's searches by DocNumber and by attachment are among the requests), then its re-run.
The UK company's Expensify reports bill in the reports' currency and a QuickBooks vendor bills in its own, so
the employees are first set up as vendors in their report's currency (as a bookkeeper would have them, and as
`test_uk_vat_quickbooks` does); the log is cleared after that, so only the connector's requests are checked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import cache

import pytest
import requests

from ml_connector.month import month_bounds
from tests.conftest import REPO
from tests.contract.test_quickbooks_contract import DATE, DATE_TIME, fields, simple_base, value_problems, xsd
from tests.e2e.conftest import MONTH, harness  # noqa: F401  (the e2e fixture, used here)
from tests.e2e.test_uk_vat_quickbooks import Books

MAPPINGS = {"us": REPO / "config" / "mapping.quickbooks.example.yaml",
            "uk": REPO / "config" / "mapping.quickbooks.uk.example.yaml"}
XSD_MINOR_VERSION = 75  # the newer PHP SDK XSD set (test_quickbooks_contract)
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,50}$")
MAX_RESULTS = 1000
LENGTHS = {"DocNumber": 21, "Description": 4000, "FileName": 1000}  # XSD annotations
US_CA = {"us", "ca"}
# Query parameters Intuit documents, per route (notes 1, 3, 6, 7). Anything else is a finding.
COMMON = {"minorversion", "requestid"}
PARAMETERS = {"read": COMMON, "preferences": COMMON, "companyinfo": COMMON, "upload": COMMON,
              "query": COMMON | {"query"}, "write": COMMON | {"operation", "include"}}
ENUMS = {"operation": {"update", "delete"}, "include": {"allowduplicatedocnum", "void"}}


@cache
def entities() -> dict[str, str]:
    """lower-case URL segment -> XSD entity name, for every IntuitObject."""
    return {name.lower(): name for name in xsd()["group"]}


def route_of(method: str, rest: str, realm: str) -> tuple[str, str | None] | str:
    """(route kind, entity) of a path below the company, or the problem with it."""
    parts = rest.split("/")
    if parts == ["query"] and method in ("GET", "POST"):
        return "query", None
    if parts == ["upload"] and method == "POST":
        return "upload", None
    if parts == ["preferences"] and method == "GET":
        return "preferences", "Preferences"
    if parts == ["companyinfo", realm] and method == "GET":
        return "companyinfo", "CompanyInfo"
    entity = entities().get(parts[0])
    if entity is None:
        return f"{parts[0]!r} is not an entity of the XSD"
    if len(parts) == 1 and method == "POST":
        return "write", entity
    if len(parts) == 2 and method == "GET" and parts[1].isdigit():
        return "read", entity
    return f"{method} is not an operation on /{rest}"


# --- the query language ------------------------------------------------------------------------------------

TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|=|<|>)"
                   r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
OPERATORS = {"=", "<", ">", "<=", ">=", "in", "like"}


def tokens(statement: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while statement[at:].strip():
        match = TOKEN.match(statement, at)
        if match is None:
            raise ValueError(f"cannot read {statement[at:at + 20]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        at = match.end()
    return out


class Statement:
    """A parsed `select`: entity, conditions (path, operator, literals), order paths, start and max."""

    def __init__(self, statement: str) -> None:
        self.rest = tokens(statement)
        self.conditions: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.order: list[str] = []
        self.start = self.max = None
        self.keyword("select")
        if self.peek() == ("punct", "*"):
            self.take()
        else:
            self.keyword("count")
            for expected in ("(", "*", ")"):
                assert self.take() == ("punct", expected), "count(*) or * after select"
        self.keyword("from")
        kind, self.entity = self.take()
        assert kind == "word", "an entity after from"
        if self.is_keyword("where"):
            self.take()
            self.conditions.append(self.condition())
            while self.is_keyword("and"):
                self.take()
                self.conditions.append(self.condition())
            assert not self.is_keyword("or"), "OR is not in the query language"
        if self.is_keyword("orderby"):
            self.take()
            self.order.append(self.word())
            while True:
                if self.is_keyword("asc") or self.is_keyword("desc"):
                    self.take()
                if self.peek() != ("punct", ","):
                    break
                self.take()
                self.order.append(self.word())
        if self.is_keyword("startposition"):
            self.take()
            self.start = int(self.number())
        if self.is_keyword("maxresults"):
            self.take()
            self.max = int(self.number())
        assert not self.rest, f"unexpected {self.rest[0][1]!r}"

    def peek(self) -> tuple[str, str] | None:
        return self.rest[0] if self.rest else None

    def take(self) -> tuple[str, str]:
        assert self.rest, "the statement ends too early"
        return self.rest.pop(0)

    def is_keyword(self, word: str) -> bool:
        return self.peek() is not None and self.peek()[0] == "word" and self.peek()[1].lower() == word

    def keyword(self, word: str) -> None:
        assert self.is_keyword(word), f"{word.upper()} expected"
        self.take()

    def word(self) -> str:
        kind, text = self.take()
        assert kind == "word", f"a property expected, not {text!r}"
        return text

    def number(self) -> str:
        kind, text = self.take()
        assert kind == "number", f"a number expected, not {text!r}"
        return text

    def literal(self) -> tuple[str, str]:
        kind, text = self.take()
        if kind == "word" and text.lower() in ("true", "false"):
            return "boolean", text.lower()
        assert kind in ("string", "number"), f"a value expected, not {text!r}"
        return kind, (text[1:-1].replace("\\'", "'").replace("\\\\", "\\") if kind == "string" else text)

    def condition(self) -> tuple[str, str, list[tuple[str, str]]]:
        path = self.word()
        kind, operator = self.take()
        operator = operator.lower()
        assert operator in OPERATORS and kind in ("op", "word"), f"an operator after {path}, not {operator!r}"
        if operator != "in":
            return path, operator, [self.literal()]
        assert self.take() == ("punct", "("), "a list after IN"
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.take()
            values.append(self.literal())
        assert self.take() == ("punct", ")"), "a closed list after IN"
        return path, operator, values


def leaf_type(entity: str, path: str) -> str | None:
    """The XSD type a dotted property path ends on (names compared without case), or None when it names none."""
    type_name: str | None = xsd()["group"][entity]
    for segment in path.split("."):
        if type_name not in xsd()["complex"]:
            return None
        declared = {key.lower(): child for key, (child, _) in fields(type_name).items()}
        if segment.lower() not in declared:
            return None
        type_name = declared[segment.lower()]
    if type_name in xsd()["complex"]:  # a reference compared by its value (`VendorRef = '5'`)
        return fields(type_name).get("value", (None,))[0]
    return type_name or "string"


def literal_fits(literal: tuple[str, str], type_name: str, operator: str) -> bool:
    kind, text = literal
    base, enum = simple_base(type_name) if type_name in xsd()["simple"] else (type_name, [])
    if operator == "like":
        return kind == "string" and base == "string" and not enum
    if enum:
        return kind == "string" and text in enum
    if base == "boolean":
        return kind == "boolean"
    if base == "date":
        return kind == "string" and bool(DATE.match(text))
    if base == "dateTime":
        return kind == "string" and bool(DATE_TIME.match(text) or DATE.match(text))
    if base in ("decimal", "int", "long", "positiveInteger"):
        return kind == "number" or (kind == "string" and bool(re.fullmatch(r"-?\d+(\.\d+)?", text)))
    return kind == "string"


def statement_problems(text: str) -> list[str]:
    try:
        statement = Statement(text)
    except (AssertionError, ValueError) as error:
        return [f"query {text!r} does not parse: {error}"]
    if statement.entity not in xsd()["group"]:
        return [f"query {text!r}: {statement.entity} is not an entity of the XSD (names are case-sensitive)"]
    problems = []
    for path, operator, literals in statement.conditions:
        type_name = leaf_type(statement.entity, path)
        if type_name is None:
            problems.append(f"query: {statement.entity} has no property {path}")
        elif not all(literal_fits(literal, type_name, operator) for literal in literals):
            problems.append(f"query: {path} {operator} {literals} does not fit the XSD type {type_name}")
    problems += [f"query: cannot order {statement.entity} by {path}" for path in statement.order
                 if leaf_type(statement.entity, path) is None]
    if statement.max is not None and not 1 <= statement.max <= MAX_RESULTS:
        problems.append(f"query: MAXRESULTS {statement.max} is outside 1..{MAX_RESULTS}")
    if statement.start is not None and statement.start < 1:
        problems.append(f"query: STARTPOSITION {statement.start} is not 1-based")
    return problems


# --- bodies -------------------------------------------------------------------------------------------------

def length_problems(value: object, path: str) -> list[str]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in length_problems(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for item in value for p in length_problems(item, path)]
    limit = LENGTHS.get(path.rsplit(".", 1)[-1])
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return [f"{path}: {len(value)} characters, the XSD allows {limit}"]
    return []


def line_problems(entity: str, body: dict, org: str) -> list[str]:
    problems = []
    for number, line in enumerate(body.get("Line") or []):
        where = f"{entity}.Line[{number}]"
        details = [key for key in line if key.endswith("Detail")]
        if details != [line.get("DetailType")]:
            problems.append(f"{where}: DetailType {line.get('DetailType')!r} but the line carries {details}")
        if isinstance(line.get("Amount"), int | float) and line["Amount"] < 0:
            problems.append(f"{where}: a negative Amount (2290)")
        detail = line.get("JournalEntryLineDetail")
        if isinstance(detail, dict) and "TaxCodeRef" in detail:
            if org in US_CA:
                problems.append(f"{where}: TaxCodeRef is for non-US/CA companies only (XSD)")
            elif "TaxApplicableOn" not in detail:
                problems.append(f"{where}: a taxed journal line without TaxApplicableOn")
    return problems


def body_problems(entity: str, body: object, org: str) -> list[str]:
    if not isinstance(body, dict):
        return [f"{entity}: the body is not a JSON object"]
    problems = value_problems(body, xsd()["group"][entity], entity) + length_problems(body, entity)
    problems += line_problems(entity, body, org)
    if entity == "Vendor" and ":" in str(body.get("DisplayName", "")):
        problems.append("Vendor.DisplayName: ':' is not allowed (6240)")
    return problems


def upload_problems(request: dict, org: str) -> list[str]:
    if not request["content_type"].startswith("multipart/form-data"):
        return [f"upload: content type {request['content_type']!r}, not multipart/form-data"]
    parts = {part["name"]: part for part in request.get("parts", [])}
    pairs = {name.removeprefix("file_metadata_") for name in parts if name and name.startswith("file_metadata_")}
    problems = [f"upload: part {name!r} pairs with nothing" for name in parts
                if not name or name.removeprefix("file_metadata_").removeprefix("file_content_") not in pairs]
    if not pairs:
        problems.append("upload: no file_metadata_<n> part")
    for suffix in sorted(pairs):
        metadata, content = parts[f"file_metadata_{suffix}"], parts.get(f"file_content_{suffix}")
        if not metadata["content_type"].startswith("application/json"):
            problems.append(f"upload: metadata {suffix} is {metadata['content_type']!r}, not JSON")
        problems += body_problems("Attachable", metadata["body"], org)
        if content is None:
            problems.append(f"upload: metadata {suffix} has no file_content_{suffix}")
        elif isinstance(metadata["body"], dict):
            if metadata["body"].get("FileName") != content["filename"]:
                problems.append(f"upload: FileName {metadata['body'].get('FileName')!r} but the file is "
                                f"{content['filename']!r}")
            if metadata["body"].get("ContentType") != content["content_type"]:
                problems.append(f"upload: ContentType {metadata['body'].get('ContentType')!r} but the file is "
                                f"{content['content_type']!r}")
    return problems


# --- one request ---------------------------------------------------------------------------------------------

def query_parameter_problems(query: dict, kind: str, method: str) -> list[str]:
    problems = [f"query parameter {name!r} is not documented for this route" for name in query
                if name not in PARAMETERS[kind]]
    version = query.get("minorversion", "")
    if not version.isdigit() or int(version) != XSD_MINOR_VERSION:
        problems.append(f"minorversion={version!r}: bodies are checked against minor version {XSD_MINOR_VERSION}")
    if "requestid" in query and not REQUEST_ID.match(query["requestid"]):
        problems.append(f"requestid {query['requestid']!r}: at most 50 letters, digits and dashes")
    if method != "GET" and kind != "query" and "requestid" not in query:
        problems.append("a write without requestid")
    problems += [f"{name}={query[name]!r} is not one of {sorted(ENUMS[name])}" for name in ENUMS
                 if name in query and query[name] not in ENUMS[name]]
    return problems


def request_problems(request: dict, realm: str, org: str) -> list[str]:
    method, prefix = request["method"], f"/quickbooks/v3/company/{realm}/"
    if not request["path"].startswith(prefix):
        return [f"not below /v3/company/{realm}/"]
    route = route_of(method, request["path"].removeprefix(prefix), realm)
    if isinstance(route, str):
        return [route]
    kind, entity = route
    problems = query_parameter_problems(request["query"], kind, method)
    if kind == "query":
        statement = request["query"].get("query") if method == "GET" else request["body"]
        if not isinstance(statement, str) or not statement:
            return problems + ["a query without its statement"]
        if method == "POST" and not request["content_type"].startswith(("application/text", "text/plain")):
            problems.append(f"a POSTed query as {request['content_type']!r}, not application/text")
        return problems + statement_problems(statement)
    if kind == "upload":
        return problems + upload_problems(request, org)
    if method == "GET":
        return problems + ([] if request["body"] in ("", None) else ["a GET with a body"])
    if not request["content_type"].startswith("application/json"):
        problems.append(f"{entity} sent as {request['content_type']!r}, not application/json")
    return problems + body_problems(entity, request["body"], org)


def assert_conform(sent: list[dict], realm: str, org: str) -> Counter:
    assert sent
    problems, checked = [], Counter()
    bodies_by_request_id: dict[str, set[str]] = defaultdict(set)
    for request in sent:
        problems += [f"{request['method']} {request['path']}: {p}" for p in request_problems(request, realm, org)]
        if "requestid" in request["query"]:
            bodies_by_request_id[request["query"]["requestid"]].add(repr(request.get("parts") or request["body"]))
        checked[request["path"].rsplit("/", 1)[-1] if request["method"] == "POST" else request["method"]] += 1
    problems += [f"requestid {rid} was sent with {len(bodies)} different bodies (Intuit replays the first answer)"
                 for rid, bodies in bodies_by_request_id.items() if len(bodies) > 1]
    assert not problems, f"{len(problems)} problems in {len(sent)} requests:\n" + "\n".join(problems[:40])
    return checked


# --- the runs -------------------------------------------------------------------------------------------------

def employees_as_vendors_in_their_report_currency(h) -> None:
    books = Books(h)
    names = {v["DisplayName"] for v in books.select("Vendor")}
    for report in h.expensify().export_reports(*month_bounds(MONTH)):
        if report["employeeName"] not in names:
            books.call("POST", "vendor", json={"DisplayName": report["employeeName"],
                                               "CurrencyRef": {"value": report["currency"]}})
            names.add(report["employeeName"])


def month_requests(h) -> list[dict]:
    """What the connector sent in a month whose answers are lost now and then, and in its re-run: the searches
    and resends of the recovery are requests too."""
    log = f"{h.server.config.public_url}/_sandbox/requests"
    for path, times in (("/journalentry", 2), ("/bill", 1), ("/upload", 1)):
        h.server.faults.force("lost_response", path, times=times)
    h.run()
    summary = h.run()
    assert summary["success"] and summary["done"], summary["failures"]
    assert h.server.faults.injected.get("lost_response") == 4
    answer = requests.get(log, params={"prefix": "quickbooks"}, timeout=30).json()
    assert answer["enabled"]
    return [r for r in answer["requests"] if r["path"].startswith("/quickbooks/v3/")]


@pytest.mark.parametrize("org", ["us", "uk"])
def test_every_request_of_a_month_conforms_to_intuits_schemas(harness, org):  # noqa: F811
    with harness(ledger="quickbooks", org=org, mapping=MAPPINGS[org], record_requests=True) as h:
        if org == "uk":
            employees_as_vendors_in_their_report_currency(h)
        requests.delete(f"{h.server.config.public_url}/_sandbox/requests", timeout=30).raise_for_status()
        sent = month_requests(h)
        realm = h.server.config.credentials.quickbooks_realm_id
        checked = assert_conform(sent, realm, org)
        assert checked["journalentry"] and checked["bill"] and checked["upload"], checked
        if org == "uk":  # the tax-enabled company: every entry names its location and taxes its expense lines
            writes = [r["body"] for r in sent if r["method"] == "POST" and r["path"].endswith(("/journalentry",
                                                                                                "/bill"))]
            assert all("DepartmentRef" in body for body in writes)
            assert any("TaxCodeRef" in (line.get("JournalEntryLineDetail") or line.get(
                "AccountBasedExpenseLineDetail") or {}) for body in writes for line in body["Line"])


# --- the checks themselves ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "problem"), [
    ("select * from Vendor where DisplayName = 'A' or Active = true", "OR is not"),
    ("select * from vendor", "not an entity"),
    ("select * from Vendor where Nickname = 'A'", "no property Nickname"),
    ("select * from Account where Active = 'yes'", "does not fit"),
    ("select * from Bill where TxnDate >= '10/01/2026'", "does not fit"),
    ("select * from Bill ORDERBY Id MAXRESULTS 5000", "MAXRESULTS 5000"),
    ("select * from Bill STARTPOSITION 0", "STARTPOSITION 0"),
])
def test_a_statement_outside_the_query_language_is_a_finding(statement, problem):
    assert any(problem in p for p in statement_problems(statement)), statement_problems(statement)


def test_the_statements_the_connector_sends_parse():
    for statement in ("select * from Account where Active in (true, false) ORDERBY Id STARTPOSITION 1 "
                      "MAXRESULTS 1000",
                      "select * from Attachable where AttachableRef.EntityRef.Value = '12' ORDERBY Id",
                      "select * from Vendor where Active in (true, false) AND Id in ('1', '2')",
                      "select count(*) from JournalEntry where DocNumber = 'ML\\'1'"):
        assert statement_problems(statement) == [], statement


def test_a_body_key_the_xsd_does_not_declare_and_a_long_doc_number_are_findings():
    body = {"DocNumber": "X" * 22, "Line": [{"Amount": 1, "DetailType": "JournalEntryLineDetail",
                                             "JournalEntryLineDetail": {"PostingType": "Debit", "Account": "1"}}]}
    problems = body_problems("JournalEntry", body, "us")
    assert any("Account: not declared" in p for p in problems) and any("22 characters" in p for p in problems)


def test_a_us_journal_line_with_a_tax_code_is_a_finding():
    line = {"Amount": 1, "DetailType": "JournalEntryLineDetail", "JournalEntryLineDetail": {
        "PostingType": "Debit", "AccountRef": {"value": "1"}, "TaxCodeRef": {"value": "2"}}}
    assert any("non-US/CA" in p for p in body_problems("JournalEntry", {"Line": [line]}, "us"))
    assert any("TaxApplicableOn" in p for p in body_problems("JournalEntry", {"Line": [line]}, "uk"))
