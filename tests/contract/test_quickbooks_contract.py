"""The QuickBooks sandbox against Intuit's XSDs, the recorded real exchanges and the OAuth fixtures.

- Every JSON key of every answer the connector uses is an element or attribute the XSD declares for that
  type (complexType extensions walked recursively, `simpleContent` as `"value"`, the `IntuitObject`
  substitution group for entity names), lists only where maxOccurs allows them, enumerations and simple
  types (boolean, decimal, date, dateTime) respected. The newer PHP SDK set (`newer-php-sdk-xsd/`, minor
  version 75) is used: it declares `CustomExtensions`, which recorded responses carry.
- Where a recording covers the entity, the sandbox's answer has the recorded keys at the same nesting with
  the same JSON types: every key all recorded samples share must be present, and no key outside their
  union may appear (`DEVIATIONS` lists the deliberate exceptions).
- What the sandbox accepts follows the XSD: its table of accepted request keys equals what the XSD declares,
  an undeclared key is refused with 2010, and an entity read back and sent again whole is accepted.
The gateway's lower-case 401/429 envelope is not XSD JSON and is checked by the sandbox tests instead.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from functools import cache

import pytest
import requests

from ml_connector.sandbox.catalog import MERCHANTS
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.quickbooks.schema import DECLARED
from ml_connector.sandbox.server import SandboxServer
from tests.conftest import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "quickbooks"
XSD_DIR = REFERENCE / "newer-php-sdk-xsd"
RECORDED = REFERENCE / "recorded-nango"
FIXTURES = REFERENCE / "oauth-dotnet-sdk-fixtures"
XS = "{http://www.w3.org/2001/XMLSchema}"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")

# Deliberate differences from a recording, as dotted paths ("[]" for list items).
DEVIATIONS: dict[str, dict[str, set[str]]] = {
    # The sandbox company uses account numbers (catalog codes); the recorded one does not.
    "list-accounts.test.json": {"extra": {"Account[].AcctNum"}, "missing": set()},
    # QuickBooks geocodes addresses some time after a vendor is saved; the sandbox does not.
    "list-vendors.test.json": {"extra": set(), "missing": {f"Vendor[].BillAddr.{k}" for k in
                                                           ("Lat", "Long", "CountrySubDivisionCode")}},
    # The recorded create answer carries only CreateTime; every later read carries both times.
    "create-account.test.json": {"extra": {"Account.MetaData.LastUpdatedTime"}, "missing": set()},
    # No payments or vendor addresses in the sandbox: no header LinkedTxn, no VendorAddr.
    # (and the recorded bill had a PrivateNote; the create-bill request the sandbox replays sends none).
    "get-bill.test.json": {"extra": set(), "missing": {"Bill.VendorAddr", "Bill.LinkedTxn", "Bill.PrivateNote"}},
}


# --- the XSD ---------------------------------------------------------------------------------------------

def strip(name: str | None) -> str | None:
    return name.split(":")[-1] if name else None


@cache
def xsd() -> dict:
    complex_types, simple_types, group = {}, {}, {}
    for path in sorted(XSD_DIR.glob("*.xsd")):
        for node in ET.parse(path).getroot():
            if node.tag == XS + "complexType":
                complex_types[node.get("name")] = node
            elif node.tag == XS + "simpleType":
                simple_types[node.get("name")] = node
            elif node.tag == XS + "element" and node.get("substitutionGroup") == "IntuitObject":
                group[node.get("name")] = strip(node.get("type"))
    return {"complex": complex_types, "simple": simple_types, "group": group}


def _collect(node: ET.Element, out: dict[str, tuple[str | None, bool]]) -> None:
    for child in node:
        tag = child.tag.replace(XS, "")
        if tag in ("sequence", "choice", "all"):
            _collect(child, out)
        elif tag == "element":
            name = child.get("name") or strip(child.get("ref"))
            many = child.get("maxOccurs") not in (None, "1") or node.get("maxOccurs") not in (None, "1")
            out[name] = (strip(child.get("type")), many)
        elif tag == "attribute":
            out[child.get("name")] = (strip(child.get("type")), False)
        elif tag in ("complexContent", "simpleContent"):
            for derivation in child:
                base = strip(derivation.get("base"))
                if base in xsd()["complex"]:
                    out.update(fields(base))
                elif tag == "simpleContent":
                    out["value"] = (base, False)
                _collect(derivation, out)


@cache
def fields(type_name: str) -> dict[str, tuple[str | None, bool]]:
    """JSON key -> (its XSD type, whether it is a list), the type's own and every base type's."""
    out: dict[str, tuple[str | None, bool]] = {}
    _collect(xsd()["complex"][type_name], out)
    return out


def simple_base(type_name: str) -> tuple[str, list[str]]:
    """The builtin a simple type restricts, and its enumeration (empty when open)."""
    node = xsd()["simple"][type_name]
    restriction = node.find(XS + "restriction")
    enum = [e.get("value") for e in node.iter(XS + "enumeration")]
    if restriction is None:
        return "string", enum
    base = strip(restriction.get("base"))
    return (simple_base(base)[0] if base in xsd()["simple"] else base), enum


def value_problems(value: object, type_name: str | None, path: str) -> list[str]:
    schema = xsd()
    if type_name in schema["complex"]:
        if not isinstance(value, dict):
            return [f"{path}: {type_name} must be an object"]
        declared = fields(type_name)
        problems = []
        for key, item in value.items():
            if key not in declared:
                problems.append(f"{path}.{key}: not declared for {type_name}")
                continue
            child_type, many = declared[key]
            if isinstance(item, list) != many and item is not None:
                problems.append(f"{path}.{key}: {'a list' if many else 'a single value'} in the XSD")
                continue
            for element in item if isinstance(item, list) else [item]:
                problems += value_problems(element, child_type, f"{path}.{key}")
        return problems
    base, enum = simple_base(type_name) if type_name in schema["simple"] else (type_name or "string", [])
    if enum and value not in enum:
        return [f"{path}: {value!r} is not in {type_name}"]
    checks = {"boolean": lambda v: isinstance(v, bool),
              "decimal": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "date": lambda v: isinstance(v, str) and bool(DATE.match(v)),
              "dateTime": lambda v: isinstance(v, str) and bool(DATE_TIME.match(v))}
    checks["long"] = checks["positiveInteger"] = checks["int"]
    check = checks.get(base, lambda v: isinstance(v, str))
    return [] if check(value) else [f"{path}: {value!r} is not an XSD {base}"]


def response_problems(body: dict) -> list[str]:
    """An IntuitResponse as JSON: entities by substitution-group name, QueryResponse, Fault, ..."""
    group = xsd()["group"]
    declared = fields("IntuitResponse")
    problems = []
    for key, value in body.items():
        if key in group:
            problems += value_problems(value, group[key], key)
        elif key == "QueryResponse":
            for inner, rows in value.items():
                if inner in group:
                    problems += [p for row in rows for p in value_problems(row, group[inner], f"{key}.{inner}")]
                else:
                    problems += value_problems({inner: rows}, "QueryResponse", key)
        elif key in declared:
            for item in value if isinstance(value, list) else [value]:
                problems += value_problems(item, declared[key][0], key)
        else:
            problems.append(f"{key}: not declared for IntuitResponse")
    return problems


def assert_declared(body: dict) -> None:
    problems = response_problems(body)
    assert not problems, "; ".join(problems)


# --- the recordings ----------------------------------------------------------------------------------

def recorded(name: str) -> dict:
    api = json.loads((RECORDED / name).read_text())["api"]
    return next(iter(next(iter(api.values())).values()))


def kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_problems(samples: list, ours: object, path: str) -> list[str]:
    """Keys every recorded sample has must be present; keys none has must not; JSON types must agree."""
    kinds = {kind(s) for s in samples}
    if kind(ours) not in kinds:
        return [f"{path}: recorded {'/'.join(sorted(kinds))}, sandbox {kind(ours)}"]
    if isinstance(ours, dict):
        dicts = [s for s in samples if isinstance(s, dict)]
        common = set.intersection(*(set(s) for s in dicts))
        union = set.union(*(set(s) for s in dicts))
        problems = [f"{path}.{k}: missing" for k in sorted(common - set(ours))]
        problems += [f"{path}.{k}: extra" for k in sorted(set(ours) - union)]
        for key in set(ours) & union:
            problems += shape_problems([s[key] for s in dicts if key in s], ours[key], f"{path}.{key}")
        return problems
    if isinstance(ours, list):
        pool = [item for s in samples if isinstance(s, list) for item in s]
        return [p for item in ours for p in shape_problems(pool, item, f"{path}[]")] if pool else []
    return []


def assert_like_recording(name: str, ours: dict) -> None:
    allowed = DEVIATIONS.get(name, {"extra": set(), "missing": set()})
    response = recorded(name)["response"]
    problems = []
    for key, value in response.items():
        if key == "time":
            continue
        if key == "QueryResponse":
            entity = next(k for k in value if isinstance(value[k], list))
            problems += shape_problems([{k: v for k, v in value.items() if k != entity}],
                                       {k: v for k, v in ours[key].items() if k != entity}, "QueryResponse")
            problems += [p for row in ours[key][entity] for p in shape_problems(value[entity], row, f"{entity}[]")]
        else:
            problems += shape_problems([value], ours[key], key)
    problems = [p for p in problems
                if not (p.endswith(": extra") and p.removesuffix(": extra") in allowed["extra"])
                and not (p.endswith(": missing") and p.removesuffix(": missing") in allowed["missing"])]
    assert not problems, f"{name}: " + "; ".join(problems)


# --- a server with some data ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live():
    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off")) as server:
        creds = server.config.credentials
        basic = base64.b64encode(f"{creds.quickbooks_client_id}:{creds.quickbooks_client_secret}".encode())
        token = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=10,
                              headers={"Authorization": f"Basic {basic.decode()}", "Accept": "application/json"},
                              data={"grant_type": "refresh_token", "refresh_token": creds.quickbooks_refresh_token})
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token.json()['access_token']}",
                                "Accept": "application/json"})
        yield server, session, server.url("quickbooks") + f"/v3/company/{creds.quickbooks_realm_id}", token.json()


def call(live, method: str, path: str, expected: int = 200, **kwargs) -> dict:
    _, session, base, _ = live
    response = session.request(method, base + path, timeout=10, params={"minorversion": 75,
                                                                          **kwargs.pop("params", {})}, **kwargs)
    assert response.status_code == expected, response.text
    return response.json()


def query(live, statement: str) -> dict:
    return call(live, "GET", "/query", params={"query": statement})


@pytest.fixture(scope="module")
def ids(live) -> dict:
    accounts = query(live, "select * from Account where Active in (true, false) maxresults 1000")
    by_number = {a["AcctNum"]: a["Id"] for a in accounts["QueryResponse"]["Account"]}
    vendor = query(live, f"select * from Vendor where DisplayName = '{MERCHANTS[0].name}'")
    return {"accounts": by_number, "vendor": vendor["QueryResponse"]["Vendor"][0]["Id"]}


def recorded_request(name: str) -> dict:
    return recorded(name)["request"]["data"]


def with_accounts(body: dict, ids: dict, *numbers: str) -> dict:
    """A recorded request body with its account ids swapped for the sandbox's."""
    body = json.loads(json.dumps(body))
    for line, number in zip(body["Line"], numbers, strict=True):
        detail = line.get("JournalEntryLineDetail") or line["AccountBasedExpenseLineDetail"]
        detail["AccountRef"] = {"value": ids["accounts"][number]}
    return body


@pytest.fixture(scope="module")
def journal(live, ids) -> dict:
    body = with_accounts(recorded_request("create-journal-entry.test.json"), ids, "6020", "2100")
    return call(live, "POST", "/journalentry", json=body | {"TxnDate": "2026-10-05"})


@pytest.fixture(scope="module")
def bill(live, ids) -> dict:
    body = with_accounts(recorded_request("create-bill.test.json"), ids, "6050")
    return call(live, "POST", "/bill", json=body | {"VendorRef": {"value": ids["vendor"]},
                                                     "TxnDate": "2026-10-05"})


# --- the XSD and the sandbox's own tables -------------------------------------------------------------

def test_accepted_request_keys_are_exactly_what_the_xsd_declares():
    for type_name, table in DECLARED.items():
        derived = {key: (child if child in DECLARED else None) for key, (child, _) in fields(type_name).items()}
        assert table == derived, type_name


def test_recorded_responses_satisfy_the_xsd():
    """The walker itself is right: every real recorded answer passes it."""
    for path in sorted(RECORDED.glob("*.test.json")):
        if path.name != "query-entities.test.json":  # Customer: not an entity the sandbox serves
            assert_declared(recorded(path.name)["response"])


# --- answers against the XSD and the recordings --------------------------------------------------------

def test_journal_entry_create_get_update(live, ids, journal):
    assert_declared(journal)
    assert_like_recording("create-journal-entry.test.json", journal)
    entry = journal["JournalEntry"]
    read = call(live, "GET", f"/journalentry/{entry['Id']}")
    assert_declared(read)
    assert_like_recording("get-journal-entry.test.json",
                          {"JournalEntry": {k: v for k, v in read["JournalEntry"].items() if k != "DocNumber"}})
    body = with_accounts(recorded_request("update-journal-entry.test.json"), ids, "6020", "2100")
    updated = call(live, "POST", "/journalentry", json=body | {"Id": entry["Id"], "SyncToken": "0"})
    assert_declared(updated)
    assert_like_recording("update-journal-entry.test.json",
                          {"JournalEntry": {k: v for k, v in updated["JournalEntry"].items() if k != "DocNumber"}})


def test_journal_entry_list(live, journal):
    listed = query(live, "SELECT * FROM JournalEntry STARTPOSITION 1 MAXRESULTS 100")
    assert_declared(listed)
    rows = [{k: v for k, v in row.items() if k != "DocNumber"} for row in listed["QueryResponse"]["JournalEntry"]]
    assert_like_recording("list-journal-entries.test.json",
                          {"QueryResponse": listed["QueryResponse"] | {"JournalEntry": rows}})


def test_bill_create_get_list(live, bill):
    assert_declared(bill)
    assert_like_recording("create-bill.test.json", bill)
    read = call(live, "GET", f"/bill/{bill['Bill']['Id']}")
    assert_declared(read)
    assert_like_recording("get-bill.test.json", read)
    listed = query(live, "SELECT * FROM Bill STARTPOSITION 1 MAXRESULTS 100")
    assert_declared(listed)
    assert_like_recording("list-bills.test.json", listed)


def test_vendor_create_get_update_list(live):
    created = call(live, "POST", "/vendor", json=recorded_request("create-vendor.test.json"))
    assert_declared(created)
    assert_like_recording("create-vendor.test.json", created)
    plain = call(live, "POST", "/vendor", json={"DisplayName": "Contract Plain Vendor"})["Vendor"]
    read = call(live, "GET", f"/vendor/{plain['Id']}")
    assert_declared(read)
    assert_like_recording("get-vendor.test.json", read)
    updated = call(live, "POST", "/vendor", json=recorded_request("update-vendor.test.json")
                   | {"Id": plain["Id"], "SyncToken": "0"})
    assert_declared(updated)
    assert_like_recording("update-vendor.test.json", updated)
    listed = query(live, "SELECT * FROM Vendor STARTPOSITION 1 MAXRESULTS 100")
    assert_declared(listed)
    assert_like_recording("list-vendors.test.json", listed)


def test_account_create_get_list(live, ids):
    created = call(live, "POST", "/account", json=recorded_request("create-account.test.json"))
    assert_declared(created)
    assert_like_recording("create-account.test.json", created)
    read = call(live, "GET", f"/account/{created['Account']['Id']}")
    assert_declared(read)
    assert_like_recording("get-account.test.json", read)
    listed = call(live, "POST", "/query", params={"query": "SELECT * FROM Account STARTPOSITION 1 MAXRESULTS 10"},
                  headers={"Content-Type": "text/plain"})
    assert_declared(listed)
    assert_like_recording("list-accounts.test.json", listed)


@pytest.mark.parametrize("statement", ["select * from Class", "select * from Department",
                                       "select * from TaxCode", "select * from CompanyInfo",
                                       "select * from Preferences"])
def test_list_entities_satisfy_the_xsd(live, statement):
    assert_declared(query(live, statement))


def test_company_info_and_preferences_satisfy_the_xsd(live):
    server = live[0]
    assert_declared(call(live, "GET", f"/companyinfo/{server.config.credentials.quickbooks_realm_id}"))
    assert_declared(call(live, "GET", "/preferences"))


def test_attachable_upload_and_read_satisfy_the_xsd(live, bill):
    metadata = {"AttachableRef": [{"EntityRef": {"type": "Bill", "value": bill["Bill"]["Id"]}}],
                "FileName": "receipt.png", "ContentType": "image/png", "Category": "Receipt"}
    files = {"file_metadata_0": (None, json.dumps(metadata), "application/json"),
             "file_content_0": ("receipt.png", b"\x89PNG\r\n", "image/png")}
    uploaded = call(live, "POST", "/upload", files=files)
    assert_declared(uploaded)
    attachable = uploaded["AttachableResponse"][0]["Attachable"]
    assert_declared(call(live, "GET", f"/attachable/{attachable['Id']}"))
    assert_declared(query(live, f"select * from Attachable where AttachableRef.EntityRef.Value = "
                                f"'{bill['Bill']['Id']}'"))


def test_uk_entities_satisfy_the_xsd():
    with SandboxServer(SandboxConfig(last_month="2026-10", org="uk", rate_limits="off")) as server:
        creds = server.config.credentials
        token = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=10,
                              auth=(creds.quickbooks_client_id, creds.quickbooks_client_secret),
                              data={"grant_type": "refresh_token", "refresh_token": creds.quickbooks_refresh_token})
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        uk = (server, session, server.url("quickbooks") + f"/v3/company/{creds.quickbooks_realm_id}", None)
        for statement in ("select * from TaxCode", "select * from TaxRate", "select * from Department"):
            assert_declared(query(uk, statement))
        codes = {c["Name"]: c["Id"] for c in query(uk, "select * from TaxCode")["QueryResponse"]["TaxCode"]}
        accounts = {a["AcctNum"]: a["Id"] for a in query(uk, "select * from Account maxresults 100")
                    ["QueryResponse"]["Account"] if a.get("AcctNum")}
        department = query(uk, "select * from Department")["QueryResponse"]["Department"][0]["Id"]
        vendor = query(uk, "select * from Vendor maxresults 1")["QueryResponse"]["Vendor"][0]["Id"]
        bill = call(uk, "POST", "/bill", json={
            "VendorRef": {"value": vendor}, "TxnDate": "2026-10-05", "DepartmentRef": {"value": department},
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 50,
                      "AccountBasedExpenseLineDetail": {"AccountRef": {"value": accounts["6050"]},
                                                        "TaxCodeRef": {"value": codes["20.0% S"]}}}]})
        assert_declared(bill)
        journal = call(uk, "POST", "/journalentry", json={
            "TxnDate": "2026-10-05", "DepartmentRef": {"value": department},
            "Line": [{"Amount": 10, "DetailType": "JournalEntryLineDetail", "JournalEntryLineDetail": {
                "PostingType": "Debit", "AccountRef": {"value": accounts["6020"]},
                "TaxCodeRef": {"value": codes["20.0% S"]}, "TaxApplicableOn": "Purchase"}},
                {"Amount": 12, "DetailType": "JournalEntryLineDetail", "JournalEntryLineDetail": {
                    "PostingType": "Credit", "AccountRef": {"value": accounts["2100"]}}}]})
        assert_declared(journal)


def test_faults_satisfy_the_xsd(live, ids):
    fault = call(live, "POST", "/journalentry", 400, json={"Line": []})
    assert_declared(fault)
    assert set(fault["Fault"]["Error"][0]) == {"Message", "Detail", "code", "element"}
    assert_declared(call(live, "GET", "/query", 400, params={"query": "select * from Nothing"}))


# --- what the sandbox accepts ---------------------------------------------------------------------------

def test_a_key_the_xsd_does_not_declare_is_refused_with_2010(live, ids):
    body = with_accounts(recorded_request("create-journal-entry.test.json"), ids, "6020", "2100")
    body["Line"][0]["JournalEntryLineDetail"]["AccountRef"]["id"] = "1"
    fault = call(live, "POST", "/journalentry", 400, json=body | {"TxnDate": "2026-10-06", "DocNumber": "C-2010"})
    assert fault["Fault"]["Error"][0]["code"] == "2010"


@pytest.mark.parametrize("entity", ["journalentry", "bill"])
def test_an_entity_read_back_and_sent_whole_is_accepted(live, journal, bill, entity):
    record = (journal["JournalEntry"] if entity == "journalentry" else bill["Bill"])
    current = call(live, "GET", f"/{entity}/{record['Id']}")
    updated = call(live, "POST", f"/{entity}", json=next(v for k, v in current.items() if k != "time"))
    assert int(next(v for k, v in updated.items() if k != "time")["SyncToken"]) > int(record["SyncToken"])


# --- OAuth against Intuit's fixtures ----------------------------------------------------------------------

def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8-sig"))


def test_token_response_has_the_fixture_keys_without_openid(live):
    token = live[3]
    expected = set(fixture("success_refreshtoken_response.json")) - {"id_token"}  # no openid scope asked
    assert set(token) == expected
    assert {type(token[k]) for k in ("expires_in", "x_refresh_token_expires_in")} == {int}


def test_token_errors_use_the_fixture_shape(live):
    server = live[0]
    response = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": "nope"})
    assert set(response.json()) <= set(fixture("failure_token_response.json"))
