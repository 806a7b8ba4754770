"""The Zoho Books sandbox against Zoho's own OpenAPI files and the recorded real responses.

Every response the connector uses is validated with jsonschema against the response schema of its
operation in `reference/zoho-books/*.yml` (OpenAPI 3.0 turned into JSON Schema: `$ref` inlined,
`nullable` as a null type). Where a recorded real response (`recorded-nango/`) covers the endpoint, the
sandbox's body must have the same keys at the same nesting with the same JSON types. Where the recording
and the spec disagree the recording wins: `SPEC_PATCHES` lists each such spot.

Deliberate deviations of the sandbox, kept short:
- `transaction_lock_module` is added to transaction-lock objects (not in the OAS object) so a client can
  tell which module a lock covers; there is no recording of this endpoint.
- Account registers are empty: `chart_of_account.transactions` is `[]` (recorded: a list of rows).
- The get-bill recording's line items carry `image_document_id`, the create-bill recording's do not; the
  sandbox follows create-bill everywhere (`OPTIONAL_RECORDED_KEYS`).
"""

from __future__ import annotations

import copy
import json
from functools import cache

import jsonschema
import pytest
import requests
import yaml

from ml_connector.sandbox.catalog import MERCHANTS
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from tests.conftest import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "zoho-books"
RECORDED = REFERENCE / "recorded-nango"

# Recording wins: (spec file, dotted path of properties inside the response schema) -> JSON Schema to use.
SPEC_PATCHES: dict[tuple[str, str], dict] = {
    # recorded: "fiscal_year_start_month": "1" (string); the OAS says integer
    ("organizations.yml", "organizations.[].fiscal_year_start_month"): {"type": ["string", "integer"]},
    ("organizations.yml", "organization.fiscal_year_start_month"): {"type": ["string", "integer"]},
    # recorded: "is_child_present": false (boolean); the OAS says string
    ("chart-of-accounts.yml", "chartofaccounts.[].is_child_present"): {"type": ["boolean", "string"]},
    # recorded: "depth": 0 (integer); the OAS says string
    ("chart-of-accounts.yml", "chartofaccounts.[].depth"): {"type": ["integer", "string"]},
    # recorded: "outstanding_receivable_amount": 149.97; the OAS says integer
    ("contacts.yml", "contacts.[].outstanding_receivable_amount"): {"type": "number"},
    # recorded: "custom_fields": "" on journals without custom fields; the OAS says array
    ("journals.yml", "journal.custom_fields"): {"type": ["string", "array"]},
}
# The OAS contradicting itself or money (never Zoho's recordings): what a taxed UK bill or journal needs.
SPEC_TYPE_FIXES: dict[tuple[str, str], dict] = {
    # Money typed integer; amounts carry the currency's decimals (a 20% VAT on 99.99 is 20.00, on 2.50 0.13).
    **{("bills.yml", f"bill.{key}"): {"type": "number"} for key in ("sub_total", "tax_total", "total", "balance")},
    ("bills.yml", "bill.line_items.[].item_total"): {"type": "number"},
    ("bills.yml", "bill.line_items.[].bcy_rate"): {"type": "number"},
    ("bills.yml", "bills.[].total"): {"type": "number"},
    ("bills.yml", "bills.[].balance"): {"type": "number"},
    # typed string, but the OAS's own example is the number 1.25, and journals.yml types it number
    ("bills.yml", "bill.taxes.[].tax_amount"): {"type": "number"},
    # typed string and recorded "" on untaxed lines; a taxed line's percentage is a number as on bill lines
    # (recorded get-bill: tax_percentage 0)
    ("journals.yml", "journal.line_items.[].tax_percentage"): {"type": ["string", "number"]},
    # typed as an array of taxes; a get answers one object under a singular key, as every recorded get does
    ("taxes.yml", "tax"): {"type": "object", "required": ["tax_id", "tax_name", "tax_percentage"]},
}
# Recording wins for requests too: the recorded update-bill sends only {"notes"} to PUT /bills/{bill_id},
# whose OAS request requires vendor_id and bill_number.
REQUEST_PATCHES: dict[tuple[str, str, str], set[str]] = {("bills.yml", "/bills/{bill_id}", "put"): {"required"}}
# Keys a recording has that the sandbox may leave out, per recording file.
OPTIONAL_RECORDED_KEYS = {"get-bill.test.json": {"bill.line_items.[].image_document_id"}}

# Zoho's error envelope (zoho.com/books/api/v3/errors): no OAS schema exists for it.
ERROR_SCHEMA = {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                "properties": {"code": {"type": "integer", "minimum": 1}, "message": {"type": "string"}}}
# The token response as the notes describe it (zoho.com/accounts/protocol/oauth/...): no OAS either.
TOKEN_SCHEMA = {"type": "object", "required": ["access_token", "api_domain", "token_type", "expires_in"],
                "properties": {"access_token": {"type": "string"}, "api_domain": {"type": "string"},
                               "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}}}


@cache
def spec(file: str) -> dict:
    return yaml.safe_load((REFERENCE / file).read_text())


def to_json_schema(node: object, components: dict, seen: tuple[str, ...] = ()) -> object:
    """OpenAPI 3.0 schema -> JSON Schema: inline local $refs, turn `nullable` into a null type."""
    if isinstance(node, list):
        return [to_json_schema(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # recursive schema: accept anything below this point
            return {}
        return to_json_schema(components[name], components, (*seen, name))
    out = {key: to_json_schema(value, components, seen) for key, value in node.items()
           if key not in ("example", "examples", "readOnly", "writeOnly", "deprecated", "xml")
           and not key.startswith("x-")}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def response_schema(file: str, path: str, method: str, status: str) -> dict:
    document = spec(file)
    operation = document["paths"][path][method]
    raw = operation["responses"][status]["content"]["application/json"]["schema"]
    schema = to_json_schema(raw, document["components"]["schemas"])
    for (patch_file, dotted), replacement in (SPEC_PATCHES | SPEC_TYPE_FIXES).items():
        if patch_file == file:
            apply_patch(schema, dotted.split("."), replacement)
    return schema


def request_schema(file: str, path: str, method: str) -> dict:
    document = spec(file)
    raw = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    schema = to_json_schema(raw, document["components"]["schemas"])
    for key in REQUEST_PATCHES.get((file, path, method), set()):
        schema.pop(key, None)
    return schema


def validate_request(body: dict, file: str, path: str, method: str) -> None:
    jsonschema.validate(body, request_schema(file, path, method))


def recorded_request(name: str) -> dict:
    api = json.loads((RECORDED / name).read_text())["api"]
    for by_path in api.values():
        for record in by_path.values():
            return (record[0] if isinstance(record, list) else record)["request"].get("data", {})
    raise AssertionError(f"no request in {name}")


def apply_patch(schema: dict, parts: list[str], replacement: dict) -> None:
    node = schema
    for part in parts[:-1]:
        node = node["items"] if part == "[]" else node.get("properties", {}).get(part)
        if node is None:
            return
    if parts[-1] in node.get("properties", {}):
        node["properties"][parts[-1]] = copy.deepcopy(replacement)


def recorded_response(name: str) -> dict:
    api = json.loads((RECORDED / name).read_text())["api"]
    for by_path in api.values():
        for record in by_path.values():
            return (record[0] if isinstance(record, list) else record)["response"]
    raise AssertionError(f"no response in {name}")


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_differences(recorded: object, ours: object, where: str = "") -> list[str]:
    """Keys missing or extra, and JSON type changes, between a recorded body and the sandbox's."""
    if json_type(recorded) != json_type(ours):
        return [f"{where or '<root>'}: recorded {json_type(recorded)}, sandbox {json_type(ours)}"]
    if isinstance(recorded, dict):
        problems = [f"{where}.{key}: missing" for key in recorded.keys() - ours.keys()]
        problems += [f"{where}.{key}: extra" for key in ours.keys() - recorded.keys()]
        for key in recorded.keys() & ours.keys():
            problems += shape_differences(recorded[key], ours[key], f"{where}.{key}" if where else key)
        return problems
    if isinstance(recorded, list) and recorded and ours:
        return shape_differences(recorded[0], ours[0], f"{where}.[]")
    return []


def assert_matches_recording(name: str, ours: dict, differences: frozenset[str] = frozenset()) -> None:
    """`differences`: paths where the sandbox may add a key or change a type (the UK organisation's keys)."""
    allowed = OPTIONAL_RECORDED_KEYS.get(name, set())
    problems = [p for p in shape_differences(recorded_response(name), ours)
                if p.removesuffix(": missing") not in allowed and p.split(":")[0].lstrip(".") not in differences]
    assert not problems, f"{name}: " + "; ".join(problems)


def validate(body: dict, file: str, path: str, method: str = "get", status: str = "200") -> None:
    jsonschema.validate(body, response_schema(file, path, method, status))


# --- a server with some data --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live():
    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off")) as server:
        creds = server.config.credentials
        token = requests.post(server.url("zoho-accounts") + "/oauth/v2/token", timeout=10, params={
            "grant_type": "refresh_token", "client_id": creds.zoho_client_id,
            "client_secret": creds.zoho_client_secret, "refresh_token": creds.zoho_refresh_token}).json()
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"
        session.params = {"organization_id": creds.zoho_organization_id}
        yield server, session, token["api_domain"] + "/books/v3", token


def call(live, method: str, path: str, expected: int = 200, **kwargs) -> dict:
    _, session, books, _ = live
    response = session.request(method, books + path, timeout=10, **kwargs)
    assert response.status_code == expected, response.text
    return response.json()


@pytest.fixture(scope="module")
def ids(live) -> dict:
    accounts = call(live, "GET", "/chartofaccounts", params={"filter_by": "AccountType.All"})
    by_code = {a["account_code"]: a["account_id"] for a in accounts["chartofaccounts"]}
    tags = call(live, "GET", "/reportingtags")["reporting_tags"]
    cost_center = next(t for t in tags if t["tag_name"] == "Cost Center")
    options = call(live, "GET", "/reportingtags/options", params={"tag_id": cost_center["tag_id"]})["options"]
    tag = [{"tag_id": cost_center["tag_id"], "tag_option_id": options[0]["option_id"]}]
    vendor = call(live, "GET", "/contacts", params={"contact_name": MERCHANTS[0].name})["contacts"][0]
    journal = call(live, "POST", "/journals", 201, json={
        "journal_date": "2026-10-05", "reference_number": "CONTRACT-1", "notes": "contract",
        "line_items": [
            {"account_id": by_code["6020"], "debit_or_credit": "debit", "amount": 100, "tags": tag},
            {"account_id": by_code["2100"], "debit_or_credit": "credit", "amount": 100, "tags": tag}]})
    bill = call(live, "POST", "/bills", 201, json={
        "vendor_id": vendor["contact_id"], "bill_number": "CONTRACT-B1", "date": "2026-10-05",
        "line_items": [{"name": "Office Supplies", "account_id": by_code["6060"], "rate": 100,
                        "quantity": 1}]})
    return {"accounts": by_code, "tag_id": cost_center["tag_id"], "vendor": vendor, "journal": journal,
            "bill": bill}


RECORDED_OPERATIONS = [
    ("list-organizations.test.json", "organizations.yml", "/organizations", "get", "200"),
    ("list-chart-of-accounts.test.json", "chart-of-accounts.yml", "/chartofaccounts", "get", "200"),
    ("list-contacts.test.json", "contacts.yml", "/contacts", "get", "200"),
    ("get-contact.test.json", "contacts.yml", "/contacts/{contact_id}", "get", "200"),
    ("create-contact.test.json", "contacts.yml", "/contacts", "post", "201"),
    ("list-currencies.test.json", "currency.yml", "/settings/currencies", "get", "200"),
    ("create-journal.test.json", "journals.yml", "/journals", "post", "201"),
    ("get-journal.test.json", "journals.yml", "/journals/{journal_id}", "get", "200"),
    ("list-journals.test.json", "journals.yml", "/journals", "get", "200"),
    ("delete-journal.test.json", "journals.yml", "/journals/{journal_id}", "delete", "200"),
    ("create-bill.test.json", "bills.yml", "/bills", "post", "201"),
    ("get-bill.test.json", "bills.yml", "/bills/{bill_id}", "get", "200"),
    ("list-bills.test.json", "bills.yml", "/bills", "get", "200"),
]


@pytest.mark.parametrize(("recording", "file", "path", "method", "status"), RECORDED_OPERATIONS + [
    ("update-journal.test.json", "journals.yml", "/journals/{journal_id}", "put", "200"),
    ("update-bill.test.json", "bills.yml", "/bills/{bill_id}", "put", "200"),
    ("list-taxes.test.json", "taxes.yml", "/settings/taxes", "get", "200"),
])
def test_recordings_satisfy_the_patched_spec(recording, file, path, method, status):
    """SPEC_PATCHES is complete: with it, every real recorded response validates against the spec."""
    validate(recorded_response(recording), file, path, method, status)


@pytest.mark.parametrize(("recording", "file", "path", "method"), [
    ("create-journal.test.json", "journals.yml", "/journals", "post"),
    ("update-journal.test.json", "journals.yml", "/journals/{journal_id}", "put"),
    ("create-bill.test.json", "bills.yml", "/bills", "post"),
    ("update-bill.test.json", "bills.yml", "/bills/{bill_id}", "put"),
])
def test_recorded_requests_satisfy_the_patched_request_spec(recording, file, path, method):
    """REQUEST_PATCHES is complete: every real recorded request body validates against the spec."""
    validate_request(recorded_request(recording), file, path, method)


# --- tests --------------------------------------------------------------------------------------------

def test_token_response(live):
    jsonschema.validate(live[3], TOKEN_SCHEMA)


def test_organizations(live):
    body = call(live, "GET", "/organizations")
    validate(body, "organizations.yml", "/organizations")
    assert_matches_recording("list-organizations.test.json", body)
    org_id = body["organizations"][0]["organization_id"]
    validate(call(live, "GET", f"/organizations/{org_id}"), "organizations.yml",
             "/organizations/{organization_id}")


def test_chart_of_accounts(live, ids):
    body = call(live, "GET", "/chartofaccounts")
    validate(body, "chart-of-accounts.yml", "/chartofaccounts")
    assert_matches_recording("list-chart-of-accounts.test.json", body)
    single = call(live, "GET", f"/chartofaccounts/{ids['accounts']['6020']}")
    assert_matches_recording("get-chart-of-account.test.json", single)
    # The OAS puts the account's fields at the top level; the recording nests them under chart_of_account.
    validate(single["chart_of_account"] | {"code": 0, "message": "success"}, "chart-of-accounts.yml",
             "/chartofaccounts/{account_id}")


def test_contacts_list_get_and_create(live, ids):
    body = call(live, "GET", "/contacts", params={"contact_type": "vendor"})
    validate(body, "contacts.yml", "/contacts")
    assert_matches_recording("list-contacts.test.json", body)
    single = call(live, "GET", f"/contacts/{ids['vendor']['contact_id']}")
    validate(single, "contacts.yml", "/contacts/{contact_id}")
    assert_matches_recording("get-contact.test.json", single)
    created = call(live, "POST", "/contacts", 201, json={"contact_name": "Contract Vendor",
                                                          "contact_type": "vendor"})
    validate(created, "contacts.yml", "/contacts", "post", "201")
    assert_matches_recording("create-contact.test.json", created)


def test_reporting_tags_and_options(live, ids):
    validate(call(live, "GET", "/reportingtags"), "reporting-tags.yml", "/reportingtags")
    validate(call(live, "GET", "/reportingtags/options", params={"tag_id": ids["tag_id"]}),
             "reporting-tags.yml", "/reportingtags/options")
    validate(call(live, "GET", f"/reportingtags/{ids['tag_id']}/options/all"), "reporting-tags.yml",
             r"/reportingtags/(\d+)/options/all")


def test_currencies(live):
    body = call(live, "GET", "/settings/currencies")
    validate(body, "currency.yml", "/settings/currencies")
    assert_matches_recording("list-currencies.test.json", body)


def test_transaction_locks(live):
    validate(call(live, "GET", "/transactionlocks"), "transaction-locking.yml", "/transactionlocks")
    validate(call(live, "GET", "/transactionlock"), "transaction-locking.yml", "/transactionlock")
    updated = call(live, "PUT", "/transactionlock", json={"transaction_lock_module": "banking",
                                                          "transaction_lock_date": "2026-01-31"})
    validate(updated, "transaction-locking.yml", "/transactionlock", "put")
    lock_id = updated["transaction_lock"]["transaction_lock_id"]
    deleted = call(live, "DELETE", "/transactionlock", params={"transaction_lock_id": lock_id})
    validate(deleted, "transaction-locking.yml", "/transactionlock", "delete")


def test_journals_create_get_list_delete(live, ids):
    created = ids["journal"]
    validate(created, "journals.yml", "/journals", "post", "201")
    assert_matches_recording("create-journal.test.json", created)
    journal_id = created["journal"]["journal_id"]
    single = call(live, "GET", f"/journals/{journal_id}")
    validate(single, "journals.yml", "/journals/{journal_id}")
    assert_matches_recording("get-journal.test.json", single)
    listed = call(live, "GET", "/journals")
    validate(listed, "journals.yml", "/journals")
    assert_matches_recording("list-journals.test.json", listed)
    second = created["journal"] | {"reference_number": "CONTRACT-DEL"}
    extra = call(live, "POST", "/journals", 201, json=second)
    deleted = call(live, "DELETE", f"/journals/{extra['journal']['journal_id']}")
    validate(deleted, "journals.yml", "/journals/{journal_id}", "delete")
    assert_matches_recording("delete-journal.test.json", deleted)


def test_bills_create_get_list(live, ids):
    created = ids["bill"]
    validate(created, "bills.yml", "/bills", "post", "201")
    assert_matches_recording("create-bill.test.json", created)
    single = call(live, "GET", f"/bills/{created['bill']['bill_id']}")
    validate(single, "bills.yml", "/bills/{bill_id}")
    assert_matches_recording("get-bill.test.json", single)
    listed = call(live, "GET", "/bills")
    validate(listed, "bills.yml", "/bills")
    assert_matches_recording("list-bills.test.json", listed)


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("POST", "/journals", {"json": {"journal_date": "2026-10-05", "line_items": []}}, 400),
    ("GET", "/journals/1", {}, 404),
    ("POST", "/bills", {"json": {"vendor_id": "1", "bill_number": "X"}}, 400),
    ("GET", "/nowhere", {}, 404),
])
def test_errors_use_zohos_envelope(live, method, path, kwargs, status):
    jsonschema.validate(call(live, method, path, status, **kwargs), ERROR_SCHEMA)


def test_auth_errors_use_zohos_envelope(live):
    _, _, books, _ = live
    response = requests.get(books + "/journals", timeout=10, headers={"Authorization": "Zoho-oauthtoken x"})
    assert response.status_code == 401
    jsonschema.validate(response.json(), ERROR_SCHEMA)


# --- the UK organisation (org="uk"): every request sent and every answer, against the spec ---------------

# Not in the saved OAS files: the shape of a public copy of Zoho's Locations page (see zoho_locations).
LOCATIONS_SCHEMA = {
    "type": "object", "required": ["code", "message", "locations"],
    "properties": {"code": {"const": 0}, "message": {"type": "string"}, "locations": {"type": "array", "items": {
        "type": "object",
        "required": ["location_id", "location_name", "type", "status", "is_primary", "address"],
        "properties": {"location_id": {"type": "string"}, "location_name": {"type": "string"},
                       "type": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"},
                       "status": {"enum": ["active", "inactive"]}, "is_primary": {"type": "boolean"},
                       "parent_location_id": {"type": "string"},
                       "associated_series_ids": {"type": "array", "items": {"type": "string"}},
                       "auto_number_generation_id": {"type": "string"},
                       "is_all_users_selected": {"type": "boolean"}, "associated_users": {"type": "array"},
                       "address": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}
# Keys a UK organisation's entries add to the recorded (US) shapes, and the one type that changes.
UK_BILL_KEYS = frozenset({"bill.vat_treatment", "bill.location_id", "bill.location_name",
                          "bill.line_items.[].item_total_inclusive_of_tax", "bill.line_items.[].product_type",
                          "bill.line_items.[].location_id", "bill.line_items.[].location_name"})
UK_JOURNAL_KEYS = frozenset({"journal.vat_treatment", "journal.include_in_vat_return", "journal.product_type",
                             "journal.location_id", "journal.location_name", "journal.line_items.[].location_id",
                             "journal.line_items.[].location_name", "journal.line_items.[].tax_percentage"})


class UkBooks:
    """Sends to the UK sandbox; every request body and every answer is checked against the spec."""

    def __init__(self, live, file: str) -> None:
        self.live, self.file = live, file

    def send(self, method: str, path: str, spec_path: str, expected: int = 200, body: dict | None = None,
             **kwargs) -> dict:
        verb = method.lower()
        if body is not None:
            validate_request(body, self.file, spec_path, verb)
        answer = call(self.live, method, path, expected, json=body, **kwargs)
        if expected >= 400:
            jsonschema.validate(answer, ERROR_SCHEMA)
        else:
            validate(answer, self.file, spec_path, verb, str(expected))
        return answer


@pytest.fixture(scope="module")
def uk_live():
    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off", org="uk")) as server:
        creds = server.config.credentials
        token = requests.post(server.url("zoho-accounts") + "/oauth/v2/token", timeout=10, params={
            "grant_type": "refresh_token", "client_id": creds.zoho_client_id,
            "client_secret": creds.zoho_client_secret, "refresh_token": creds.zoho_refresh_token}).json()
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"
        session.params = {"organization_id": creds.zoho_organization_id}
        yield server, session, token["api_domain"] + "/books/v3", token


@pytest.fixture(scope="module")
def uk_ids(uk_live) -> dict:
    accounts = call(uk_live, "GET", "/chartofaccounts", params={"filter_by": "AccountType.All"})
    tags = call(uk_live, "GET", "/reportingtags")["reporting_tags"]
    cost_center = next(t for t in tags if t["tag_name"] == "Cost Center")
    options = call(uk_live, "GET", "/reportingtags/options", params={"tag_id": cost_center["tag_id"]})["options"]
    taxes = call(uk_live, "GET", "/settings/taxes", params={"filter_by": "Taxes.All"})["taxes"]
    locations = call(uk_live, "GET", "/locations")["locations"]
    vendor = call(uk_live, "GET", "/contacts", params={"contact_name": MERCHANTS[0].name})["contacts"][0]
    return {"accounts": {a["account_code"]: a["account_id"] for a in accounts["chartofaccounts"]},
            "tag": [{"tag_id": cost_center["tag_id"], "tag_option_id": options[0]["option_id"]}],
            "taxes": {t["tax_name"]: t["tax_id"] for t in taxes},
            "locations": {loc["location_name"]: loc["location_id"] for loc in locations},
            "vendor_id": vendor["contact_id"]}


def uk_bill(ids: dict, number: str, inclusive: bool = False) -> dict:
    return {"vendor_id": ids["vendor_id"], "bill_number": number, "date": "2026-10-05",
            "location_id": ids["locations"]["London"], "is_inclusive_tax": inclusive, "vat_treatment": "uk",
            "line_items": [
                {"name": "Paper", "account_id": ids["accounts"]["6060"], "rate": 99.99, "quantity": 1,
                 "tax_id": ids["taxes"]["Standard Rate"], "product_type": "goods", "tags": ids["tag"]},
                {"name": "Courier", "account_id": ids["accounts"]["6100"], "rate": 2.5, "quantity": 2,
                 "tax_id": ids["taxes"]["Reduced Rate"], "location_id": ids["locations"]["Edinburgh"]}]}


def uk_journal(ids: dict, reference: str) -> dict:
    return {"journal_date": "2026-10-05", "reference_number": reference, "notes": "VAT",
            "location_id": ids["locations"]["Manchester"], "vat_treatment": "uk", "include_in_vat_return": True,
            "line_items": [
                {"account_id": ids["accounts"]["6020"], "debit_or_credit": "debit", "amount": 99.99,
                 "tax_id": ids["taxes"]["Standard Rate"], "tags": ids["tag"]},
                {"account_id": ids["accounts"]["2100"], "debit_or_credit": "credit", "amount": 119.99,
                 "tags": ids["tag"]}]}


def test_uk_organization_currencies_and_chart(uk_live):
    org = call(uk_live, "GET", "/organizations")
    validate(org, "organizations.yml", "/organizations")
    assert_matches_recording("list-organizations.test.json", org)
    currencies = call(uk_live, "GET", "/settings/currencies")
    validate(currencies, "currency.yml", "/settings/currencies")
    assert_matches_recording("list-currencies.test.json", currencies)
    chart = call(uk_live, "GET", "/chartofaccounts")
    validate(chart, "chart-of-accounts.yml", "/chartofaccounts")
    assert_matches_recording("list-chart-of-accounts.test.json", chart)


def test_uk_taxes_list_and_get(uk_live, uk_ids):
    listed = call(uk_live, "GET", "/settings/taxes")
    validate(listed, "taxes.yml", "/settings/taxes")
    assert_matches_recording("list-taxes.test.json", listed)
    assert listed["page_context"].keys() == recorded_response("list-taxes.test.json")["page_context"].keys()
    single = call(uk_live, "GET", f"/settings/taxes/{uk_ids['taxes']['Standard Rate']}")
    validate(single, "taxes.yml", "/settings/taxes/{tax_id}")
    assert single["tax"] == next(t for t in listed["taxes"] if t["tax_name"] == "Standard Rate")


def test_uk_locations(uk_live):
    jsonschema.validate(call(uk_live, "GET", "/locations"), LOCATIONS_SCHEMA)


@pytest.mark.parametrize("inclusive", [False, True])
def test_uk_bill_create_get_list(uk_live, uk_ids, inclusive):
    books = UkBooks(uk_live, "bills.yml")
    number = f"UK-CONTRACT-{'INCL' if inclusive else 'EXCL'}"
    created = books.send("POST", "/bills", "/bills", 201, uk_bill(uk_ids, number, inclusive))
    assert_matches_recording("create-bill.test.json", created, UK_BILL_KEYS)
    bill_id = created["bill"]["bill_id"]
    single = books.send("GET", f"/bills/{bill_id}", "/bills/{bill_id}")
    assert_matches_recording("get-bill.test.json", single, UK_BILL_KEYS)
    listed = books.send("GET", "/bills", "/bills", params={"bill_number": number})
    assert_matches_recording("list-bills.test.json", listed, frozenset({"bills.[].location_id",
                                                                        "bills.[].location_name"}))


def test_uk_bill_update_void_open_delete(uk_live, uk_ids):
    books = UkBooks(uk_live, "bills.yml")
    bill_id = books.send("POST", "/bills", "/bills", 201, uk_bill(uk_ids, "UK-CONTRACT-EDIT"))["bill"]["bill_id"]
    updated = books.send("PUT", f"/bills/{bill_id}", "/bills/{bill_id}", body={"notes": "Updated via API"})
    assert_matches_recording("update-bill.test.json", updated, UK_BILL_KEYS)
    books.send("POST", f"/bills/{bill_id}/status/void", "/bills/{bill_id}/status/void", 201)
    books.send("POST", f"/bills/{bill_id}/status/open", "/bills/{bill_id}/status/open", 201)
    books.send("DELETE", f"/bills/{bill_id}", "/bills/{bill_id}")


def test_uk_journal_create_get_update_delete(uk_live, uk_ids):
    books = UkBooks(uk_live, "journals.yml")
    created = books.send("POST", "/journals", "/journals", 201, uk_journal(uk_ids, "UK-CONTRACT-J"))
    assert_matches_recording("create-journal.test.json", created, UK_JOURNAL_KEYS)
    journal_id = created["journal"]["journal_id"]
    single = books.send("GET", f"/journals/{journal_id}", "/journals/{journal_id}")
    assert_matches_recording("get-journal.test.json", single, UK_JOURNAL_KEYS)
    listed = books.send("GET", "/journals", "/journals", params={"reference_number": "UK-CONTRACT-J"})
    assert_matches_recording("list-journals.test.json", listed)
    updated = books.send("PUT", f"/journals/{journal_id}", "/journals/{journal_id}",
                         body={"journal_date": "2026-10-06", "notes": "Updated via API test"})
    assert_matches_recording("update-journal.test.json", updated, UK_JOURNAL_KEYS)
    deleted = books.send("DELETE", f"/journals/{journal_id}", "/journals/{journal_id}")
    assert_matches_recording("delete-journal.test.json", deleted)


@pytest.mark.parametrize(("file", "path", "body", "code"), [
    ("bills.yml", "/bills", {"vendor_id": "", "bill_number": "UK-E1", "line_items": []}, 2),
    ("journals.yml", "/journals", {"journal_date": "2026-10-05", "line_items": []}, 2),
])
def test_uk_refusals_use_zohos_envelope(uk_live, uk_ids, file, path, body, code):
    answer = UkBooks(uk_live, file).send("POST", path, path, 400, body)
    assert answer["code"] == code


def test_uk_bill_without_tax_or_location_is_refused_in_zohos_envelope(uk_live, uk_ids):
    books = UkBooks(uk_live, "bills.yml")
    untaxed = uk_bill(uk_ids, "UK-E2")
    del untaxed["line_items"][0]["tax_id"]
    assert books.send("POST", "/bills", "/bills", 400, untaxed)["code"] == 2
    nowhere = uk_bill(uk_ids, "UK-E3")
    del nowhere["location_id"]
    assert books.send("POST", "/bills", "/bills", 400, nowhere)["code"] == 2
