"""Request conformance: every request the connector sends to Xero in real month runs, for the US organisation
and for the UK one with VAT, conforms to Xero's OpenAPI files (`reference/xero/xero_accounting.yaml`, and
`xero-identity.yaml` for the connections), read with `test_xero_contract`'s helpers.

Each captured request is matched to its operation by path template (a literal segment wins over a template
one) and method, then checked for:
- path parameters by their schema (`format: uuid` as a UUID);
- query parameters: declared for the operation, by type (integer, boolean, comma-separated arrays), format and
  enum; `where` parses in Xero's filter syntax ("Filter by an any element": `Path op "x"`, `DateTime(y,m,d)`,
  `Guid("...")`, `Path.StartsWith("x")`, AND/OR; notes 8) and names properties of the listed element with a
  value of their type and enum; `order` names one of them;
- headers (the request log keeps header NAMES only): every header parameter the operation requires
  (`xero-tenant-id` on every accounting call), Authorization (the OAuth2 security every operation declares),
  and no header beyond the plain HTTP ones that the operation does not declare (no tenant on /connections);
- the body: the request body's media type, its schema (Draft 4, as the contract test validates answers), and,
  beyond what jsonschema checks (the OAS schemas leave `additionalProperties` open), every key a property the
  schema declares and none of them `readOnly`.
The runs: a small month whose answers are lost now and then (two manual journals and an attachment commit with
no answer, so the recovery's searches by key are among the requests), then its re-run.
The connector's own rule rides along: every create of a journal, a bill or an attachment carries an
`Idempotency-Key` (the spec declares it optional on every PUT/POST; exactly-once leans on it; contacts go
without on purpose, `ledgers/xero/ledger.py`).

Where the recordings and the spec disagree (the recording wins):
- `IDENTITY_PATHS_ANY_CASE`: the identity spec's path is `/Connections`; Nango's recording (2026) calls
  `/connections` and xero-python's (2020) `/Connections`, both answered 200 (notes 3), so identity paths
  match without case.
- `BOOLEAN_ANY_CASE`: xero-python's recorded upload sends `IncludeOnline=True`; booleans in a query string
  are read without case.
The OAuth token endpoint (`/connect/token`, `xero-identity` prefix) is in neither file and is not checked here.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import jsonschema
import pytest
import requests

from tests.conftest import REPO
from tests.contract.test_xero_contract import spec
from tests.e2e.conftest import harness  # noqa: F401  (the e2e fixture, used here)

MAPPINGS = {"us": REPO / "config" / "mapping.xero.example.yaml", "uk": REPO / "config" / "mapping.xero.uk.example.yaml"}
ACCOUNTING, IDENTITY = "xero_accounting.yaml", "xero-identity.yaml"
API, ROOT = "/xero/api.xro/2.0", "/xero"
IDENTITY_PATHS_ANY_CASE = True
BOOLEAN_ANY_CASE = True
PLAIN_HEADERS = {"accept", "accept-encoding", "authorization", "connection", "content-length", "content-type",
                 "host", "user-agent"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
NEEDS_IDEMPOTENCY_KEY = re.compile(r"^/(ManualJournals|Invoices)(/[^/]+/Attachments/[^/]+)?$")


@cache
def path_pattern(file: str, template: str) -> re.Pattern:
    """A template's path as a pattern, one group per path parameter."""
    flags = re.IGNORECASE if file == IDENTITY and IDENTITY_PATHS_ANY_CASE else 0
    pieces = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("([^/]+)" if piece.startswith("{") else re.escape(piece) for piece in pieces)
                      + "$", flags)


@cache
def operations(file: str) -> list[tuple[re.Pattern, str, str]]:
    """(path pattern, path template, method) for every operation of a spec."""
    return [(path_pattern(file, template), template, method) for template, item in spec(file)["paths"].items()
            for method in item if method in ("get", "put", "post", "delete")]


def operation_of(file: str, method: str, path: str) -> tuple[str, str] | None:
    matches = [template for pattern, template, m in operations(file) if m == method.lower() and pattern.match(path)]
    matches.sort(key=lambda template: template.count("{"))
    return (matches[0], method.lower()) if matches else None


def resolved(file: str, node: dict) -> dict:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec(file)["components"][kind][name]
    return node


def parameters(file: str, template: str, method: str) -> list[dict]:
    item = spec(file)["paths"][template]
    return [resolved(file, p) for p in item.get("parameters", []) + item[method].get("parameters", [])]


# --- values -------------------------------------------------------------------------------------------------

def typed(text: str, schema: dict) -> object:
    """A query-string or path value as the JSON value its schema describes."""
    kind = schema.get("type")
    if kind == "integer" and text.lstrip("-").isdigit():
        return int(text)
    if kind == "boolean":
        lowered = text.lower() if BOOLEAN_ANY_CASE else text
        return {"true": True, "false": False}.get(lowered, text)
    if kind == "array":
        return [typed(item, schema.get("items", {})) for item in text.split(",")]
    return text


def value_problems(name: str, value: object, schema: dict) -> list[str]:
    try:
        jsonschema.Draft4Validator(schema).validate(value)
    except jsonschema.ValidationError as error:
        return [f"{name}={value!r}: {error.message}"]
    items = value if isinstance(value, list) else [value]
    item_schema = schema.get("items", {}) if isinstance(value, list) else schema
    if item_schema.get("format") == "uuid" and not all(isinstance(v, str) and UUID.match(v) for v in items):
        return [f"{name}={value!r}: not a UUID"]
    return []


# --- the where filter ---------------------------------------------------------------------------------------

CONDITION = re.compile(r'^(?P<path>[A-Za-z][A-Za-z0-9.]*?)'
                       r'(?:\.(?P<method>StartsWith|EndsWith|Contains)\("(?P<text>[^"]*)"\)'
                       r'|\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>"[^"]*"|DateTime\(\d{4},\s*\d{1,2},\s*\d{1,2}\)'
                       r'|Guid\("[^"]*"\)|true|false|-?\d+(?:\.\d+)?))$')


def listed_element(file: str, template: str) -> dict | None:
    """The schema of the items a GET lists (`Invoices` -> Invoice), from its 200 answer."""
    answer = spec(file)["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    listed = resolved(file, answer).get("properties", {}).get(template.strip("/").split("/")[0], {})
    return resolved(file, listed["items"]) if listed.get("type") == "array" and "items" in listed else None


def property_schema(file: str, element: dict, path: str) -> dict | None:
    schema: dict | None = element
    for segment in path.split("."):
        schema = (schema or {}).get("properties", {}).get(segment)
        if schema is None:
            return None
        schema = resolved(file, schema)
    return schema


def where_problems(file: str, template: str, text: str) -> list[str]:
    element = listed_element(file, template)
    if element is None:
        return [f"where on {template}, which lists no elements"]
    problems = []
    for condition in re.split(r"\s+(?:AND|OR)\s+|\s*(?:&&|\|\|)\s*", text.strip()):
        match = CONDITION.match(condition.strip())
        if match is None:
            problems.append(f"where: cannot read {condition!r}")
            continue
        schema = property_schema(file, element, match["path"])
        if schema is None:
            problems.append(f"where: the listed element has no property {match['path']}")
            continue
        value = match["value"] or ""
        is_date = schema.get("x-is-msdate") or schema.get("format") in ("date", "date-time")
        if match["method"] and (schema.get("type") != "string" or is_date or "enum" in schema):
            problems.append(f"where: {match['method']} on {match['path']}, which is not free text")
        elif value.startswith("DateTime(") and not is_date:
            problems.append(f"where: a DateTime compared with {match['path']}, which is not a date")
        elif value.startswith("Guid(") and schema.get("format") != "uuid":
            problems.append(f"where: a Guid compared with {match['path']}, which is not a UUID")
        elif value.startswith('"') and "enum" in schema and value.strip('"') not in schema["enum"]:
            problems.append(f"where: {match['path']}=={value} is not one of {schema['enum']}")
        elif value.startswith('"') and is_date:
            problems.append(f"where: {match['path']} is a date, compared with a string (use DateTime)")
    return problems


def order_problems(file: str, template: str, text: str) -> list[str]:
    element = listed_element(file, template) or {}
    problems = []
    for part in text.split(","):
        words = part.split()
        if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            problems.append(f"order: cannot read {part!r}")
        elif property_schema(file, element, words[0]) is None:
            problems.append(f"order: the listed element has no property {words[0]}")
    return problems


# --- bodies -------------------------------------------------------------------------------------------------

def declared_problems(file: str, value: object, schema: dict, where: str) -> list[str]:
    """Keys the schema does not declare, and readOnly ones, anywhere in a request body."""
    schema = resolved(file, schema)
    if isinstance(value, list):
        return [p for item in value for p in declared_problems(file, item, schema.get("items", {}), f"{where}[]")]
    if not isinstance(value, dict) or "properties" not in schema:
        return []
    problems = []
    for key, item in value.items():
        declared = schema["properties"].get(key)
        if declared is None:
            problems.append(f"{where}.{key}: not a property of the schema")
            continue
        if declared.get("readOnly") or resolved(file, declared).get("readOnly"):
            problems.append(f"{where}.{key}: readOnly, not to be sent")
        problems += declared_problems(file, item, declared, f"{where}.{key}")
    return problems


def body_problems(file: str, template: str, method: str, request: dict) -> list[str]:
    declared = spec(file)["paths"][template][method].get("requestBody")
    body = request["body"]
    if declared is None:
        return [] if body in ("", None) else ["a body the operation does not take"]
    declared = resolved(file, declared)
    media = request["content_type"].split(";")[0].strip()
    if media not in declared["content"]:
        return [f"content type {media!r}, the operation takes {sorted(declared['content'])}"]
    if declared.get("required") and body in ("", None):
        return ["no body, and the operation requires one"]
    if media != "application/json":
        return []
    schema = declared["content"][media]["schema"]
    try:
        jsonschema.Draft4Validator({"components": spec(file)["components"], **schema}).validate(body)
    except jsonschema.ValidationError as error:
        return [f"body: {error.message} at {list(error.absolute_path)}"]
    return declared_problems(file, body, schema, "body")


# --- one request ----------------------------------------------------------------------------------------------

def request_problems(request: dict) -> list[str]:
    method, path = request["method"], request["path"]
    file, path = (ACCOUNTING, path.removeprefix(API)) if path.startswith(API + "/") else (IDENTITY,
                                                                                       path.removeprefix(ROOT))
    operation = operation_of(file, method, path)
    if operation is None:
        return [f"no operation in {file}"]
    template, method_key = operation
    declared = parameters(file, template, method_key)
    problems = []
    values = dict(zip(re.findall(r"\{([^}]+)\}", template),
                      path_pattern(file, template).match(path).groups(), strict=True))
    for parameter in (p for p in declared if p["in"] == "path"):
        problems += value_problems(parameter["name"], typed(values[parameter["name"]], parameter["schema"]),
                                   parameter["schema"])
    in_query = {p["name"]: p["schema"] for p in declared if p["in"] == "query"}
    for name, text in request["query"].items():
        if name not in in_query:
            problems.append(f"query parameter {name!r} is not declared")
            continue
        problems += value_problems(name, typed(text, in_query[name]), in_query[name])
        if name == "where":
            problems += where_problems(file, template, text)
        elif name == "order":
            problems += order_problems(file, template, text)
    headers = {p["name"].lower(): p for p in declared if p["in"] == "header"}
    sent = set(request.get("headers", []))
    problems += [f"the required header {name} is missing" for name, p in headers.items()
                 if p.get("required") and name not in sent]
    problems += [f"the header {name} is not declared for the operation" for name in sorted(sent - PLAIN_HEADERS)
                 if name not in headers]
    if "authorization" not in sent:
        problems.append("no Authorization (the operation's OAuth2 security)")
    if method == "PUT" and NEEDS_IDEMPOTENCY_KEY.match(path) and "idempotency-key" not in sent:
        problems.append("a create without Idempotency-Key")
    return problems + body_problems(file, template, method_key, request)


def assert_conform(sent: list[dict]) -> Counter:
    assert sent
    assert all("headers" in r for r in sent), "the request log keeps no header names"
    problems, checked = [], Counter()
    for request in sent:
        problems += [f"{request['method']} {request['path']}: {p}" for p in request_problems(request)]
        segments = request["path"].removeprefix(API).removeprefix(ROOT).split("/")
        checked[f"{request['method']} {'Attachments' if 'Attachments' in segments else segments[1]}"] += 1
    assert not problems, f"{len(problems)} problems in {len(sent)} requests:\n" + "\n".join(problems[:40])
    return checked


def month_requests(h) -> list[dict]:
    """What the connector sent in a month whose answers are lost now and then, and in its re-run: the searches
    by key of the recovery are requests too."""
    for path, times in (("/ManualJournals", 2), ("/Attachments/", 1)):
        h.server.faults.force("lost_response", path, times=times)
    h.run()
    summary = h.run()
    assert summary["success"] and summary["done"], summary["failures"]
    assert h.server.faults.injected.get("lost_response") == 3
    answer = requests.get(f"{h.server.config.public_url}/_sandbox/requests", params={"prefix": "xero"},
                          timeout=30).json()
    assert answer["enabled"]
    return answer["requests"]


@pytest.mark.parametrize("org", ["us", "uk"])
def test_every_request_of_a_month_conforms_to_xeros_spec(harness, org):  # noqa: F811
    with harness(ledger="xero", org=org, mapping=MAPPINGS[org], record_requests=True,
                 brex_expenses_per_month=16, expensify_reports_per_month=3) as h:
        sent = month_requests(h)
        checked = assert_conform(sent)
        assert checked["PUT ManualJournals"] and checked["PUT Invoices"] and checked["PUT Attachments"], checked
        assert checked["GET connections"], checked
        if org == "uk":  # the tax-enabled organisation: every line of every entry names its tax type
            entries = [r["body"] for r in sent if r["method"] == "PUT" and r["path"] in (f"{API}/ManualJournals",
                                                                                       f"{API}/Invoices")]
            lines = [line for body in entries for entry in next(iter(body.values()))
                     for line in entry.get("JournalLines", entry.get("LineItems", []))]
            assert lines and all(line.get("TaxType") for line in lines)


# --- the checks themselves ------------------------------------------------------------------------------------

def request(method: str, path: str, query: dict | None = None, body: object = "", headers: tuple = (),
            content_type: str = "") -> dict:
    names = ["accept", "authorization", "xero-tenant-id", *headers]
    return {"method": method, "path": path, "query": query or {}, "body": body, "headers": names,
            "content_type": content_type}


@pytest.mark.parametrize(("sent", "problem"), [
    (request("GET", f"{API}/Invoices", {"where": 'Type=="ACCPAYABLE"'}), "is not one of"),
    (request("GET", f"{API}/Invoices", {"where": 'Date>="2026-10-01"'}), "use DateTime"),
    (request("GET", f"{API}/Invoices", {"where": 'Reference2=="x"'}), "no property Reference2"),
    (request("GET", f"{API}/Invoices", {"page": "one"}), "page="),
    (request("GET", f"{API}/Invoices", {"limit": "10"}), "'limit' is not declared"),
    (request("GET", f"{API}/Invoices/not-a-uuid"), "not a UUID"),
    (request("GET", f"{API}/Organisation", headers=("idempotency-key",)), "not declared for the operation"),
    ({**request("GET", f"{API}/Organisation"), "headers": ["authorization"]}, "xero-tenant-id is missing"),
    (request("GET", f"{ROOT}/connections"), "xero-tenant-id is not declared"),
    (request("PUT", f"{API}/Contacts", body={"Contacts": [{"Name": "A", "Nickname": "B"}]},
             content_type="application/json"), "Nickname: not a property"),
    (request("PUT", f"{API}/Invoices", body={"Invoices": [{"Type": "ACCPAY", "Total": 5}]},
             headers=("idempotency-key",), content_type="application/json"), "Total: readOnly"),
    (request("PUT", f"{API}/ManualJournals", body={"ManualJournals": [{"Narration": "x"}]},
             content_type="application/json"), "without Idempotency-Key"),
])
def test_a_request_outside_the_spec_is_a_finding(sent, problem):
    assert any(problem in p for p in request_problems(sent)), request_problems(sent)


def test_the_requests_the_connector_sends_are_read_as_intended():
    for sent in (request("GET", f"{ROOT}/Connections", headers=()) | {"headers": ["authorization"]},
                 request("GET", f"{API}/Invoices", {"where": 'Type=="ACCPAY" AND InvoiceNumber.StartsWith("MLC-") '
                                                             'AND Date>=DateTime(2026,10,01)', "page": "1"}),
                 request("PUT", f"{API}/Invoices/0164be34-c1da-45d7-854b-0d41b45b50a5/Attachments/r.png",
                         {"IncludeOnline": "True"}, body="\x89PNG", headers=("idempotency-key",),
                         content_type="application/octet-stream")):
        assert request_problems(sent) == [], sent
