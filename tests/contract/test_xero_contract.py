"""The Xero sandbox against Xero's own OpenAPI files and the recorded real responses.

Every answer the connector uses is validated with jsonschema against the response schema of its operation in
`reference/xero/xero_accounting.yaml` or `xero-identity.yaml` (OpenAPI 3.0 schemas validated as Draft 4 JSON
Schema, `$ref`s resolved inside the spec document). Where a recording (`recorded-nango/`,
`recorded-xero-python/`) covers the endpoint, the sandbox's body must have the same keys at the same nesting
with the same JSON types. Where recording and spec disagree the recording would win; every recording used here
validates against the spec as published (`test_recordings_satisfy_the_spec`), so no schema is patched.

Deliberate differences from a recording, each listed in `ALLOWED` with its reason: a field of a feature the
sandbox does not have (repeating invoices), fields the sandbox adds that the OAS defines (`TrackingOptionID` on
line tracking; `Payments`, `CreditNotes`, `AmountCredited` and `CurrencyRate` on a bill read by id, which the
paged-list recording has), and the token response's `id_token` (no OpenID scope is granted).
"""

from __future__ import annotations

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

REFERENCE = REFERENCE_DIR / "xero"
NANGO = REFERENCE / "recorded-nango"
CASSETTES = REFERENCE / "recorded-xero-python"

# (recording, path) -> why the sandbox's body may differ there ("missing" = in the recording only).
ALLOWED: dict[tuple[str, str], str] = {
    ("get-invoice", "Invoices.[].RepeatingInvoiceID: missing"): "no repeating invoices in the sandbox",
    ("get-invoice", "Invoices.[].Payments: extra"): "as the recorded paged list has them",
    ("get-invoice", "Invoices.[].CreditNotes: extra"): "as the recorded paged list has them",
    ("get-invoice", "Invoices.[].AmountCredited: extra"): "as the recorded paged list has them",
    ("get-invoice", "Invoices.[].CurrencyRate: extra"): "as the recorded paged list and create-invoice have it",
    ("list-invoices", "Invoices.[].SentToContact: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].InvoicePaymentServices: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.ContactStatus: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.UpdatedDateUTC: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.IsSupplier: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.IsCustomer: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.SalesTrackingCategories: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].Contact.PurchasesTrackingCategories: extra"): "as recorded get-invoice has it",
    ("list-invoices", "Invoices.[].LineItems.[].AccountID: extra"): "as recorded get-invoice (2026) has it",
    ("list-invoices", "Invoices.[].LineItems.[].ValidationErrors: extra"): "as recorded get-invoice (2026) has it",
    ("list-invoices", "pagination: extra"): "lists are always paged (2020 recording predates pagination)",
    ("organisations", "Organisations.[].EndOfYearLockDate: extra"): "the sandbox sets both lock dates",
    ("get-organisations", "Organisations.[].EndOfYearLockDate: extra"): "the sandbox sets both lock dates",
    ("get-organisations", "Organisations.[].TaxNumberName: extra"): "as the 2026 recording has it",
    ("refresh-token", "id_token: missing"): "no OpenID scope is granted, so no id_token (doc2020)",
    ("upload-attachment", "Attachments.[].IncludeOnline: missing"): "only sent when IncludeOnline is true",
    ("list-attachments", "Attachments.[].IncludeOnline: missing"): "only sent when IncludeOnline is true",
}
TOKEN_SCHEMA_NAME = "AccessToken"


@cache
def spec(file: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((REFERENCE / file).read_text(), Loader=loader)  # noqa: S506 - a safe loader


@cache
def validator(file: str, pointer: str) -> jsonschema.Draft4Validator:
    """A validator for one schema of the spec (OpenAPI 3.0 schemas are Draft 4 JSON Schema, near enough)."""
    document = spec(file)
    path, method = pointer.rsplit(" ", 1) if " " in pointer else (pointer, None)
    if method is None:
        schema = {"$ref": f"#/components/schemas/{path}"}
    else:
        schema = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    return jsonschema.Draft4Validator({"components": document["components"], **schema})


def validate(body: object, path: str, method: str = "get", file: str = "xero_accounting.yaml") -> None:
    validator(file, f"{path} {method}").validate(body)


# --- recordings --------------------------------------------------------------------------------------------

def nango(name: str) -> object:
    api = json.loads((NANGO / f"{name}.test.json").read_text())["api"]
    for by_path in api.values():
        for record in by_path.values():
            return (record[0] if isinstance(record, list) else record)["response"]
    raise AssertionError(f"no response in {name}")


def cassette(name: str, index: int = 0) -> object:
    interaction = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())["interactions"][index]
    return json.loads(interaction["response"]["body"]["string"])


RECORDINGS = {
    "get-invoice": lambda: nango("get-invoice"),
    "create-contact": lambda: nango("create-contact"),
    "update-contact": lambda: nango("update-contact"),
    "get-contact": lambda: nango("get-contact"),
    "get-account": lambda: nango("get-account"),
    "list-accounts": lambda: nango("list-accounts"),
    "organisations": lambda: nango("organisations"),
    "list-tenants": lambda: nango("list-tenants"),
    "get-organisations": lambda: cassette("test_get_organisations"),
    "get-connections": lambda: cassette("test_get_connections"),
    "refresh-token": lambda: cassette("test_token_api_refresh_token"),
    "list-invoices": lambda: cassette("test_invoice_attachment_upload_and_download", 0),
    "upload-attachment": lambda: cassette("test_invoice_attachment_upload_and_download", 1),
    "list-attachments": lambda: cassette("test_invoice_attachment_upload_and_download", 2),
}


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_differences(recorded: object, ours: object, where: str = "") -> list[str]:
    if json_type(recorded) != json_type(ours):
        return [f"{where or '<root>'}: recorded {json_type(recorded)}, sandbox {json_type(ours)}"]
    if isinstance(recorded, dict):
        problems = [f"{where}.{key}".lstrip(".") + ": missing" for key in recorded.keys() - ours.keys()]
        problems += [f"{where}.{key}".lstrip(".") + ": extra" for key in ours.keys() - recorded.keys()]
        for key in recorded.keys() & ours.keys():
            problems += shape_differences(recorded[key], ours[key], f"{where}.{key}" if where else key)
        return problems
    if isinstance(recorded, list):
        if recorded and ours:
            return shape_differences(recorded[0], ours[0], f"{where}.[]")
        if recorded and not ours:
            return [f"{where}.[]: missing"]
    return []


def assert_matches_recording(name: str, ours: object) -> None:
    problems = [p for p in shape_differences(RECORDINGS[name](), ours) if (name, p) not in ALLOWED]
    assert not problems, f"{name}: " + "; ".join(problems)


# --- a sandbox with some data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live():
    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off")) as server:
        creds = server.config.credentials
        token = requests.post(server.url("xero-identity") + "/connect/token", timeout=10,
                              auth=(creds.xero_client_id, creds.xero_client_secret),
                              data={"grant_type": "refresh_token", "refresh_token": creds.xero_refresh_token}).json()
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token['access_token']}",
                                "xero-tenant-id": creds.xero_tenant_id, "Accept": "application/json"})
        yield server, session, token


def call(live, method: str, path: str, expected: int = 200, **kwargs) -> dict:
    server, session, _ = live
    response = session.request(method, server.url("xero") + "/api.xro/2.0" + path, timeout=10, **kwargs)
    assert response.status_code == expected, response.text
    return response.json()


@pytest.fixture(scope="module")
def ids(live) -> dict:
    contact = call(live, "GET", "/Contacts", params={"where": f'Name=="{MERCHANTS[0].name}"'})["Contacts"][0]
    journal = call(live, "PUT", "/ManualJournals", json={"ManualJournals": [{
        "Narration": "MLC-contract-1", "Date": "2026-10-05", "Status": "POSTED", "JournalLines": [
            {"LineAmount": 100, "AccountCode": "6020", "Tracking": [{"Name": "Department", "Option": "Sales"}]},
            {"LineAmount": -100, "AccountCode": "2100"}]}]})
    bill = call(live, "PUT", "/Invoices", json={"Invoices": [{
        "Type": "ACCPAY", "Contact": {"ContactID": contact["ContactID"]}, "Date": "2026-10-05",
        "DueDate": "2026-11-05", "InvoiceNumber": "CONTRACT-B1", "Status": "AUTHORISED",
        "LineItems": [{"Description": "Office supplies", "Quantity": 1, "UnitAmount": 100, "AccountCode": "6060",
                       "Tracking": [{"Name": "Location", "Option": "London"}]}]}]})
    return {"contact": contact, "journal": journal, "bill": bill}


@pytest.mark.parametrize(("recording", "path", "method"), [
    ("get-invoice", "/Invoices/{InvoiceID}", "get"),
    ("create-contact", "/Contacts", "put"),
    ("update-contact", "/Contacts", "post"),
    ("get-account", "/Accounts/{AccountID}", "get"),
    ("list-accounts", "/Accounts", "get"),
    ("organisations", "/Organisation", "get"),
    ("get-organisations", "/Organisation", "get"),
    ("list-invoices", "/Invoices", "get"),
    ("upload-attachment", "/Invoices/{InvoiceID}/Attachments/{FileName}", "put"),
])
def test_recordings_satisfy_the_spec(recording, path, method):
    """The spec as published accepts every recorded response, so no spot of it needs patching."""
    validate(RECORDINGS[recording](), path, method)


# --- identity -----------------------------------------------------------------------------------------------

def test_token_response(live):
    _, _, token = live
    validator("xero-identity.yaml", TOKEN_SCHEMA_NAME).validate(token)
    assert {"access_token", "expires_in", "token_type", "refresh_token"} <= token.keys()
    assert_matches_recording("refresh-token", token)


def test_connections(live):
    server, session, _ = live
    body = session.get(server.url("xero") + "/connections", timeout=10).json()
    validate(body, "/Connections", file="xero-identity.yaml")
    assert_matches_recording("list-tenants", body)
    newer = {"[].tenantName: extra", "[].authEventId: extra"}  # the 2020 capture predates both fields
    assert [p for p in shape_differences(RECORDINGS["get-connections"](), body) if p not in newer] == []


# --- accounting ---------------------------------------------------------------------------------------------

def test_organisation(live):
    body = call(live, "GET", "/Organisation")
    validate(body, "/Organisation")
    assert_matches_recording("organisations", body)
    assert_matches_recording("get-organisations", body)


def test_uk_organisation_and_tax_rates():
    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off", org="uk")) as server:
        creds = server.config.credentials
        token = requests.post(server.url("xero-identity") + "/connect/token", timeout=10,
                              auth=(creds.xero_client_id, creds.xero_client_secret),
                              data={"grant_type": "refresh_token", "refresh_token": creds.xero_refresh_token}).json()
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token['access_token']}",
                                "xero-tenant-id": creds.xero_tenant_id})
        uk = (server, session, token)
        validate(call(uk, "GET", "/Organisation"), "/Organisation")
        validate(call(uk, "GET", "/TaxRates"), "/TaxRates")
        validate(call(uk, "GET", "/Accounts"), "/Accounts")


def test_accounts(live):
    body = call(live, "GET", "/Accounts")
    validate(body, "/Accounts")
    bank = next(a for a in body["Accounts"] if a["Type"] == "BANK")
    assert_matches_recording("list-accounts", {**body, "Accounts": [bank]})
    single = call(live, "GET", f"/Accounts/{bank['AccountID']}")
    validate(single, "/Accounts/{AccountID}")
    assert_matches_recording("get-account", single)


def test_reference_lists(live):
    validate(call(live, "GET", "/TrackingCategories"), "/TrackingCategories")
    validate(call(live, "GET", "/Currencies"), "/Currencies")
    validate(call(live, "GET", "/TaxRates"), "/TaxRates")


def test_contacts(live, ids):
    listed = call(live, "GET", "/Contacts")
    validate(listed, "/Contacts")
    single = call(live, "GET", f"/Contacts/{ids['contact']['ContactID']}")
    validate(single, "/Contacts/{ContactID}")
    created = call(live, "PUT", "/Contacts", json={"Contacts": [{"Name": "Contract Supplier"}]})
    validate(created, "/Contacts", "put")
    assert_matches_recording("create-contact", created)
    updated = call(live, "POST", "/Contacts", json={"Contacts": [{
        "ContactID": created["Contacts"][0]["ContactID"], "Name": "Contract Supplier Renamed"}]})
    validate(updated, "/Contacts", "post")
    assert_matches_recording("update-contact", updated)


def test_manual_journals(live, ids):
    validate(ids["journal"], "/ManualJournals", "put")
    journal_id = ids["journal"]["ManualJournals"][0]["ManualJournalID"]
    validate(call(live, "GET", f"/ManualJournals/{journal_id}"), "/ManualJournals/{ManualJournalID}")
    validate(call(live, "GET", "/ManualJournals"), "/ManualJournals")
    voided = call(live, "POST", f"/ManualJournals/{journal_id}", json={"Status": "VOIDED"})
    validate(voided, "/ManualJournals/{ManualJournalID}", "post")


def test_bills(live, ids):
    validate(ids["bill"], "/Invoices", "put")
    bill_id = ids["bill"]["Invoices"][0]["InvoiceID"]
    single = call(live, "GET", f"/Invoices/{bill_id}")
    validate(single, "/Invoices/{InvoiceID}")
    assert_matches_recording("get-invoice", single)
    listed = call(live, "GET", "/Invoices", params={"page": 1})
    validate(listed, "/Invoices")
    assert_matches_recording("list-invoices", {**listed, "Invoices": [i for i in listed["Invoices"]
                                                                       if i["InvoiceID"] == bill_id]})
    updated = call(live, "POST", "/Invoices", params={"summarizeErrors": "false"},
                   json={"Invoices": [{"InvoiceID": bill_id, "InvoiceNumber": "CONTRACT-B1a"}]})
    validate(updated, "/Invoices", "post")
    assert updated["Invoices"][0]["StatusAttributeString"] == "OK"  # as recorded update-invoice


def test_attachments(live, ids):
    server, session, _ = live
    bill_id = ids["bill"]["Invoices"][0]["InvoiceID"]
    url = server.url("xero") + f"/api.xro/2.0/Invoices/{bill_id}/Attachments"
    uploaded = session.put(url + "/inv-0032.pdf", data=b"%PDF-1.4 contract", timeout=10,
                           headers={"Content-Type": "application/octet-stream"}).json()
    validate(uploaded, "/Invoices/{InvoiceID}/Attachments/{FileName}", "put")
    assert_matches_recording("upload-attachment", uploaded)
    listed = session.get(url, timeout=10).json()
    validate(listed, "/Invoices/{InvoiceID}/Attachments")
    assert_matches_recording("list-attachments", listed)


def test_line_tracking_matches_the_recorded_shape(live, ids):
    """The recorded paged list's bill lines carry tracking as {Name, Option, TrackingCategoryID, Options}."""
    recorded = next(line["Tracking"][0] for invoice in RECORDINGS["list-invoices"]()["Invoices"]
                    for line in invoice["LineItems"] if line["Tracking"])
    ours = ids["bill"]["Invoices"][0]["LineItems"][0]["Tracking"][0]
    assert shape_differences(recorded, ours) == ["TrackingOptionID: extra"]  # OAS LineItemTracking has it


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("PUT", "/ManualJournals", {"json": {"ManualJournals": [{"JournalLines": []}]}}),
    ("PUT", "/Invoices", {"json": {"Invoices": [{"Type": "ACCPAY"}]}}),
    ("PUT", "/Contacts", {"json": {"Contacts": [{"Name": ""}]}}),
])
def test_validation_errors_use_the_error_schema(live, method, path, kwargs):
    body = call(live, method, path, 400, **kwargs)
    validator("xero_accounting.yaml", "Error").validate(body)
    assert {"ErrorNumber", "Type", "Message", "Elements"} <= body.keys()
    assert body["Elements"][0]["ValidationErrors"][0]["Message"]
