"""Every Brex response the connector reads, from the sandbox over HTTP, validated against Brex's own
OpenAPI files (../shared/reference/brex/*.yaml, or under ML_CONNECTOR_REFERENCE_DIR).

OpenAPI 3.0 schemas become JSON Schema here: `nullable: true` admits null, and objects reject
properties the spec does not name, so the sandbox cannot invent fields a client would then rely on.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
import requests
import yaml

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from tests.conftest import REFERENCE_DIR, skip_or_fail

SPEC_DIR = REFERENCE_DIR / "brex"
ALL_EXPANSIONS = ["merchant", "department", "location", "user", "receipts.download_uris", "payment", "budget",
                  "policy"]


def _openapi_to_jsonschema(node):
    """Convert one OpenAPI 3.0 schema tree: nullable -> null allowed; closed objects; no discriminator loops."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _openapi_to_jsonschema(value) for key, value in node.items()
            if key not in ("example", "examples", "x-enumDescriptions", "discriminator", "deprecated")}
    if "discriminator" in node or ("oneOf" in node and "properties" in node):
        # PaymentInstrument -> oneOf CardPaymentInstrument -> allOf PaymentInstrument loops forever; the
        # subtype's own fields are checked by the properties of the type that holds it.
        node.pop("oneOf", None)
    elif "properties" in node and "additionalProperties" not in node and "allOf" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


@cache
def _spec(name: str) -> dict:
    path = SPEC_DIR / f"{name}.yaml"
    if not path.exists():
        skip_or_fail(f"Brex spec {path} is not here; set ML_CONNECTOR_REFERENCE_DIR to the folder holding brex/ "
                     f"and zoho-books/")
    document = yaml.safe_load(path.read_text())
    return {"components": _openapi_to_jsonschema(document["components"]), "paths": document["paths"]}


def _validator(spec: str, schema: dict) -> jsonschema.Draft202012Validator:
    root = {**_openapi_to_jsonschema(schema), "components": _spec(spec)["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def response_schema(spec: str, path: str, method: str = "get", status: str = "200") -> dict:
    operation = _spec(spec)["paths"][path][method]
    return operation["responses"][status]["content"]["application/json"]["schema"]


def assert_valid(spec: str, schema: dict, body) -> None:
    errors = sorted(_validator(spec, schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def named(spec: str, name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@pytest.fixture(scope="module", params=["us", "uk"])
def server(request):
    # Both organisations: in "uk" Brex bills in pounds, and its responses must still be Brex's shapes.
    config = SandboxConfig(last_month="2026-10", months=2, brex_expenses_per_month=120, org=request.param)
    running = SandboxServer(config).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def base(server) -> str:
    return server.url("brex")


@pytest.fixture(scope="module")
def http(server) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.config.credentials.brex_token}"
    return session


def test_card_transactions_page_matches_the_spec(base, http):
    schema = response_schema("transactions", "/v2/transactions/card/primary")
    for params in ({"limit": 1000, "expand[]": "expense_id"}, {"limit": 50}):
        body = http.get(f"{base}/v2/transactions/card/primary", params=params, timeout=10).json()
        assert body["items"]
        assert_valid("transactions", schema, body)
    types = {row["type"] for row in http.get(f"{base}/v2/transactions/card/primary", params={"limit": 1000},
                                             timeout=10).json()["items"]}
    assert {"PURCHASE", "COLLECTION", "REWARDS_CREDIT"} <= types


@pytest.mark.parametrize("expand", [[], ALL_EXPANSIONS], ids=["plain", "expanded"])
def test_expenses_page_matches_the_spec(base, http, expand):
    body = http.get(f"{base}/v1/expenses", params={"limit": 100, "expand[]": expand}, timeout=10).json()
    assert len(body["items"]) == 100 and body["next_cursor"]
    assert_valid("expenses", response_schema("expenses", "/v1/expenses"), body)


def test_single_expense_matches_the_spec(base, http):
    expense_id = http.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    body = http.get(f"{base}/v1/expenses/{expense_id}", params={"expand[]": ALL_EXPANSIONS}, timeout=10).json()
    assert_valid("expenses", response_schema("expenses", "/v1/expenses/{id}"), body)


def test_vendor_list_and_create_match_the_spec(base, http):
    request = {"company_name": "Contract Vendor LLC", "email": "ap@contract-vendor.example"}
    assert_valid("payments", named("payments", "CreateVendorRequest"), request)
    created = http.post(f"{base}/v1/vendors", json=request, headers={"Idempotency-Key": "contract-1"}, timeout=10)
    assert created.status_code == 200
    assert_valid("payments", response_schema("payments", "/v1/vendors", "post"), created.json())
    listed = http.get(f"{base}/v1/vendors", timeout=10).json()
    assert_valid("payments", response_schema("payments", "/v1/vendors"), listed)
    one = http.get(f"{base}/v1/vendors/{created.json()['id']}", timeout=10).json()
    assert_valid("payments", response_schema("payments", "/v1/vendors/{id}"), one)


def test_accounting_records_and_export_results_match_the_spec(base, http):
    body = http.get(f"{base}/v3/accounting/records", params={"limit": 500}, timeout=10).json()
    assert_valid("accounting", response_schema("accounting", "/v3/accounting/records"), body)
    assert {r["type"] for r in body["items"]} >= {"CARD_EXPENSE_POST", "CARD_PAYMENT"}
    single = http.get(f"{base}/v3/accounting/records", params={"limit": 5, "single_entry": "true"}, timeout=10)
    assert_valid("accounting", response_schema("accounting", "/v3/accounting/records"), single.json())
    ready = next(r for r in body["items"] if r["review_status"] == "READY_FOR_EXPORT")
    one = http.get(f"{base}/v3/accounting/records/{ready['id']}", timeout=10).json()
    assert_valid("accounting", response_schema("accounting", "/v3/accounting/records/{record_id}"), one)

    request = {"results": [{"accounting_record_id": ready["id"],
                            "success": {"reference_id": "JE-9", "deep_link_url": "https://books.example/9"}}]}
    assert_valid("accounting", named("accounting", "ReportExportResultsRequest"), request)
    path = "/v3/accounting/records/export-results"
    done = http.post(f"{base}{path}", json=request, timeout=10)
    assert_valid("accounting", response_schema("accounting", path, "post"), done.json())
    refused = http.post(f"{base}{path}", json=request, timeout=10)
    assert refused.status_code == 422
    assert_valid("accounting", response_schema("accounting", path, "post", "422"), refused.json())


def test_webhook_secrets_and_subscriptions_match_the_spec(base, http):
    secrets = http.get(f"{base}/v1/webhooks/secrets", timeout=10).json()
    assert_valid("webhooks", response_schema("webhooks", "/v1/webhooks/secrets"), secrets)
    created = http.post(f"{base}/v1/webhooks", headers={"Idempotency-Key": "contract-wh"}, timeout=10,
                        json={"url": "https://hooks.example/brex", "event_types": ["EXPENSE_PAYMENT_UPDATED"]})
    assert_valid("webhooks", response_schema("webhooks", "/v1/webhooks", "post"), created.json())
    listed = http.get(f"{base}/v1/webhooks", timeout=10).json()
    assert_valid("webhooks", response_schema("webhooks", "/v1/webhooks"), listed)


class _Sink:
    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                bodies.append(self.rfile.read(int(self.headers["content-length"])))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_webhook_event_bodies_match_the_spec(base, http):
    sink = _Sink()
    try:
        expense_id = http.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
        requests.post(f"{base}/_sandbox/webhooks/emit", json={"expense_id": expense_id, "url": sink.url},
                      timeout=20)
        requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
            "event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accounting_record_ids": ["accr_1"], "url": sink.url})
        payment, ready = (json.loads(body) for body in sink.bodies)
        assert_valid("webhooks", named("webhooks", "ExpensePaymentUpdated"), payment)
        assert_valid("webhooks", named("webhooks", "AccountingRecordReadyForExport"), ready)
    finally:
        sink.server.shutdown()
