"""The Brex sandbox over real HTTP: auth, limits, validation, pagination, expansions, vendors,
accounting export results, webhooks and the control routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ml_connector.sandbox.brex import BrexSandbox
from ml_connector.sandbox.brex_webhooks import sign
from ml_connector.sandbox.catalog import UNMAPPED_BREX_CATEGORY, build_company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultPlan
from ml_connector.sandbox.server import SandboxServer

MONTHS = ["2026-09", "2026-10"]
PER_MONTH = 250


def start_sandbox(config: SandboxConfig) -> SandboxServer:
    return SandboxServer(config).start()


def sandbox_config(**overrides) -> SandboxConfig:
    values = {"last_month": MONTHS[-1], "months": len(MONTHS), "brex_expenses_per_month": PER_MONTH}
    return SandboxConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def server():
    running = start_sandbox(sandbox_config())
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


def walk(http: requests.Session, url: str, params: dict) -> list[dict]:
    items, cursor = [], None
    for _ in range(10_000):
        response = http.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, timeout=10)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("pagination never ended")


def refresh(base: str, config: SandboxConfig) -> requests.Response:
    creds = config.credentials
    return requests.post(f"{base}/oauth2/default/v1/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": creds.brex_refresh_token,
        "client_id": creds.brex_client_id, "client_secret": creds.brex_client_secret})


# -- auth ------------------------------------------------------------------------------------------

def test_missing_token_is_401_with_brex_body(base):
    response = requests.get(f"{base}/v1/expenses", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"type": "UNAUTHORIZED", "message": "PERMISSION_DENIED: Invalid or Revoked Token"}


def test_wrong_token_is_401(base):
    response = requests.get(f"{base}/v2/transactions/card/primary", headers={"Authorization": "Bearer bxt_nope"},
                            timeout=10)
    assert response.status_code == 401
    assert response.json()["type"] == "UNAUTHORIZED"


def test_accounting_api_answers_auth_failures_in_its_own_shape(base):
    response = requests.get(f"{base}/v3/accounting/records", timeout=10)
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHORIZED"


def test_oauth_refresh_issues_a_working_access_token(base, server):
    response = refresh(base, server.config)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == server.config.token_ttl_seconds
    page = requests.get(f"{base}/v1/expenses", headers={"Authorization": f"Bearer {token['access_token']}"},
                        timeout=10)
    assert page.status_code == 200


def test_token_endpoint_rejects_bad_client_and_bad_refresh_token(base, server):
    creds = server.config.credentials
    bad_client = requests.post(f"{base}/oauth2/default/v1/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": creds.brex_refresh_token,
        "client_id": creds.brex_client_id, "client_secret": "wrong"})
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    bad_grant = requests.post(f"{base}/oauth2/default/v1/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": "bxr_wrong",
        "client_id": creds.brex_client_id, "client_secret": creds.brex_client_secret})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"


def test_expired_access_token_is_403_until_refreshed(base, server):
    token = refresh(base, server.config).json()["access_token"]
    assert requests.post(f"{base}/_sandbox/expire-tokens", timeout=10).json()["expired"] >= 1
    expired = requests.get(f"{base}/v1/expenses", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert expired.status_code == 403
    assert expired.json() == {"type": "FORBIDDEN", "message": "Expired token"}
    fresh = refresh(base, server.config).json()["access_token"]
    assert requests.get(f"{base}/v1/expenses", headers={"Authorization": f"Bearer {fresh}"},
                        timeout=10).status_code == 200


# -- limits and faults -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tight_server():
    running = start_sandbox(sandbox_config(limit_overrides={"brex.per_minute": 5}, token_ttl_seconds=1))
    yield running
    running.stop()


def test_per_minute_limit_answers_429_with_retry_after(tight_server):
    base = tight_server.url("brex")
    headers = {"Authorization": f"Bearer {tight_server.config.credentials.brex_token}"}
    statuses = [requests.get(f"{base}/v1/vendors", headers=headers, timeout=10) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    assert statuses[-1].json()["type"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60


def test_access_token_expires_after_the_configured_ttl(tight_server):
    base = tight_server.url("brex")
    token = refresh(base, tight_server.config).json()["access_token"]
    time.sleep(1.2)
    response = requests.get(f"{base}/v1/vendors", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 403


def test_rate_limits_off_lets_every_request_through():
    running = start_sandbox(sandbox_config(limit_overrides={"brex.per_minute": 1}, rate_limits="off"))
    try:
        headers = {"Authorization": f"Bearer {running.config.credentials.brex_token}"}
        codes = {requests.get(f"{running.url('brex')}/v1/vendors", headers=headers, timeout=10).status_code
                 for _ in range(3)}
        assert codes == {200}
    finally:
        running.stop()


def test_forced_rate_limit_fault_gives_brex_429(server, base, http):
    server.faults.force("rate_limited", path_contains="/brex/v1/vendors")
    response = http.get(f"{base}/v1/vendors", timeout=10)
    assert response.status_code == 429
    assert response.json()["type"] == "TOO_MANY_REQUESTS" and "Retry-After" in response.headers
    assert http.get(f"{base}/v1/vendors", timeout=10).status_code == 200


# -- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "limit"), [("/v1/expenses", 101), ("/v2/transactions/card/primary", 1001),
                                             ("/v1/vendors", 1001)])
def test_limit_above_the_maximum_is_400(base, http, path, limit):
    response = http.get(f"{base}{path}", params={"limit": limit}, timeout=10)
    assert response.status_code == 400
    assert response.json()["type"] == "BAD_REQUEST" and "limit" in response.json()["message"]


def test_accounting_limit_above_500_is_400_invalid_request(base, http):
    response = http.get(f"{base}/v3/accounting/records", params={"limit": 501}, timeout=10)
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_REQUEST"


def test_unknown_expansion_and_bad_date_are_400(base, http):
    assert http.get(f"{base}/v1/expenses", params={"expand[]": "everything"}, timeout=10).status_code == 400
    assert http.get(f"{base}/v1/expenses", params={"purchased_at_start": "yesterday"}, timeout=10).status_code == 400


# -- data, pagination, filters, expansions -----------------------------------------------------------

def test_walking_expense_pages_returns_every_expense_once_in_purchase_order(base, http):
    items = walk(http, f"{base}/v1/expenses", {"limit": 37})
    assert len(items) == len(MONTHS) * PER_MONTH
    assert len({e["id"] for e in items}) == len(items)
    purchased = [datetime.fromisoformat(e["purchased_at"]) for e in items]
    assert purchased == sorted(purchased) and all(p.tzinfo is not None for p in purchased)


def test_generated_expenses_exercise_the_exceptions_and_late_changes(base, http):
    items = walk(http, f"{base}/v1/expenses", {"limit": 100})
    categories = Counter(e["category"] for e in items)
    statuses = Counter(e["status"] for e in items)
    assert categories[UNMAPPED_BREX_CATEGORY] > 0 and categories["FLOWERS"] > 0
    assert categories[UNMAPPED_BREX_CATEGORY] < 0.06 * len(items)
    assert statuses["APPROVED"] + statuses["SETTLED"] > 0.85 * len(items)
    assert statuses["SUBMITTED"] > 0 and statuses["DRAFT"] > 0
    late = [e for e in items
            if datetime.fromisoformat(e["updated_at"]) - datetime.fromisoformat(e["purchased_at"]) > timedelta(days=7)]
    assert late, "some expenses must change weeks after purchase"
    foreign = [e for e in items if e["purchased_amount"]["currency"] != "USD"]
    assert foreign and all(e["billing_amount"]["currency"] == "USD" for e in foreign)
    assert sum(1 for e in items if e["receipts"]) > 0.7 * len(items)


def test_foreign_purchase_bills_usd_at_the_catalog_rate(base, http):
    company = build_company(7)
    items = walk(http, f"{base}/v1/expenses", {"limit": 100})
    jpy = next(e for e in items if e["purchased_amount"]["currency"] == "JPY")
    rate = company.currency("JPY").rate_to_base
    expected = round(abs(jpy["purchased_amount"]["amount"]) * rate * 100)
    assert abs(abs(jpy["billing_amount"]["amount"]) - expected) <= 1


def test_expanded_objects_appear_only_when_asked(base, http):
    plain = http.get(f"{base}/v1/expenses", params={"limit": 5}, timeout=10).json()["items"]
    assert all(e["merchant"] is None and e["user"] is None and e["department"] is None for e in plain)
    assert all(r["download_uris"] is None for e in plain for r in e["receipts"])
    expand = ["merchant", "department", "location", "user", "receipts.download_uris", "payment", "budget",
              "policy"]
    full = http.get(f"{base}/v1/expenses", params={"limit": 5, "expand[]": expand}, timeout=10).json()["items"]
    for expense in full:
        assert expense["merchant"]["mcc"] and expense["user"]["id"] == expense["user_id"]
        assert expense["department"]["id"] == expense["department_id"]
        assert expense["location"]["id"] == expense["location_id"]
        assert expense["payment"]["paymentInstrument"]["type"] == "CARD"
        assert expense["budget"]["name"] and expense["policy"]["name"]
    uri = next(r["download_uris"][0] for e in full for r in e["receipts"])
    receipt = requests.get(uri, timeout=10)
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")


def test_single_expense_honours_expand_and_unknown_id_is_404(base, http):
    first = http.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]
    one = http.get(f"{base}/v1/expenses/{first['id']}", params={"expand[]": "merchant"}, timeout=10).json()
    assert one["id"] == first["id"] and one["merchant"]["raw_descriptor"] and one["user"] is None
    missing = http.get(f"{base}/v1/expenses/expense_doesnotexist", timeout=10)
    assert missing.status_code == 404 and missing.json()["type"] == "NOT_FOUND"


def test_expense_filters_select_what_they_name(base, http):
    everything = walk(http, f"{base}/v1/expenses", {"limit": 100})
    drafts = walk(http, f"{base}/v1/expenses", {"limit": 10, "status[]": ["DRAFT", "SUBMITTED"]})
    assert len(drafts) == sum(1 for e in everything if e["status"] in ("DRAFT", "SUBMITTED"))
    october = walk(http, f"{base}/v1/expenses", {"limit": 100, "purchased_at_start": "2026-10-01T00:00:00Z",
                                                 "purchased_at_end": "2026-10-31T23:59:59.999"})
    assert len(october) == PER_MONTH and all(e["purchased_at"].startswith("2026-10") for e in october)
    user_id = everything[0]["user_id"]
    mine = walk(http, f"{base}/v1/expenses", {"limit": 100, "user_id[]": user_id})
    assert mine and len(mine) == sum(1 for e in everything if e["user_id"] == user_id)
    since = "2026-10-20T00:00:00Z"
    updated = walk(http, f"{base}/v1/expenses", {"limit": 100, "updated_at_start": since})
    assert len(updated) == sum(1 for e in everything if e["updated_at"] >= "2026-10-20T00:00:00")
    assert walk(http, f"{base}/v1/expenses", {"expense_type[]": "REIMBURSEMENT"}) == []


def test_card_transactions_are_settled_rows_linked_to_their_expenses(base, http):
    rows = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    expenses = {e["id"]: e for e in walk(http, f"{base}/v1/expenses", {"limit": 100})}
    spend = [r for r in rows if r["type"] in ("PURCHASE", "REFUND")]
    settled = [e for e in expenses.values() if e["payment_posted_at"]]
    assert len(spend) == len(settled) and {r["expense_id"] for r in spend} == {e["id"] for e in settled}
    for row in spend:
        expense = expenses[row["expense_id"]]
        assert row["amount"] == expense["billing_amount"]
        assert row["posted_at_date"] == expense["payment_posted_at"][:10]
    kinds = Counter(r["type"] for r in rows)
    assert kinds["COLLECTION"] >= 2 and kinds["REWARDS_CREDIT"] >= 2 and kinds["REFUND"] >= 1
    assert all(r["amount"]["amount"] < 0 and r["card_id"] is None for r in rows if r["type"] == "COLLECTION")
    posted = [r["posted_at_date"] for r in rows]
    assert posted == sorted(posted)
    unexpanded = http.get(f"{base}/v2/transactions/card/primary", params={"limit": 3}, timeout=10).json()
    assert all(r["expense_id"] is None for r in unexpanded["items"])


def test_card_transaction_filters(base, http):
    rows = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    later = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 50, "posted_at_start": "2026-10-15"})
    assert len(later) == sum(1 for r in rows if r["posted_at_date"] >= "2026-10-15")
    user_id = build_company(7).employees[3].user_id
    mine = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 50, "user_ids": user_id})
    assert mine and all(r["card_id"] for r in mine)


# -- vendors ---------------------------------------------------------------------------------------

def test_vendor_create_needs_an_idempotency_key(base, http):
    response = http.post(f"{base}/v1/vendors", json={"company_name": "Keyless Co"}, timeout=10)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["message"]


def test_vendor_create_replays_the_first_result_for_a_repeated_key(base, http):
    first = http.post(f"{base}/v1/vendors", json={"company_name": "Replay Supplies"},
                      headers={"Idempotency-Key": "key-replay-1"}, timeout=10)
    again = http.post(f"{base}/v1/vendors", json={"company_name": "Something Else"},
                      headers={"Idempotency-Key": "key-replay-1"}, timeout=10)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    found = http.get(f"{base}/v1/vendors", params={"name": "replay supplies"}, timeout=10).json()["items"]
    assert [v["id"] for v in found] == [first.json()["id"]]
    assert http.get(f"{base}/v1/vendors/{first.json()['id']}", timeout=10).json() == first.json()


def test_duplicate_vendor_name_is_rejected(base, http):
    http.post(f"{base}/v1/vendors", json={"company_name": "Unique Widgets"},
              headers={"Idempotency-Key": "key-unique-1"}, timeout=10)
    duplicate = http.post(f"{base}/v1/vendors", json={"company_name": "Unique Widgets"},
                          headers={"Idempotency-Key": "key-unique-2"}, timeout=10)
    assert duplicate.status_code == 400 and "company_name" in duplicate.json()["message"]
    assert http.get(f"{base}/v1/vendors/pdcont_nothere", timeout=10).status_code == 404


# -- accounting ------------------------------------------------------------------------------------

def test_accounting_records_use_major_units_and_take_export_results(base, http):
    records = walk(http, f"{base}/v3/accounting/records", {"limit": 500, "review_status": "READY_FOR_EXPORT"})
    record = next(r for r in records if r["type"] == "CARD_EXPENSE_POST")
    expense = http.get(f"{base}/v1/expenses/{record['source_id']}", timeout=10).json()
    assert record["amount"]["amount"] == pytest.approx(expense["billing_amount"]["amount"] / 100)
    debit = next(li for li in record["line_items"] if li["type"] == "DEBIT")
    credit = next(li for li in record["line_items"] if li["type"] == "CREDIT")
    assert debit["amount"] == credit["amount"] == record["amount"]

    result = {"accounting_record_id": record["id"],
              "success": {"reference_id": "JE-1", "deep_link_url": "https://books.zoho.com/app#/journals/1"}}
    posted = http.post(f"{base}/v3/accounting/records/export-results", json={"results": [result]}, timeout=10)
    assert posted.status_code == 200 and posted.json() == {"updated_accounting_record_ids": [record["id"]]}
    again = http.get(f"{base}/v3/accounting/records", params={"ids": record["id"]}, timeout=10).json()
    assert again["items"][0]["review_status"] == "EXPORTED"
    repeat = http.post(f"{base}/v3/accounting/records/export-results", json={"results": [result]}, timeout=10)
    assert repeat.status_code == 422 and repeat.json()["error_code"] == "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT"


def test_export_results_reject_unknown_and_duplicate_ids(base, http):
    unknown = http.post(f"{base}/v3/accounting/records/export-results", timeout=10, json={
        "results": [{"accounting_record_id": "accr_nothere", "failure": {"error_message": "x"}}]})
    assert unknown.status_code == 404
    assert unknown.json()["details"]["not_found_export_entry_source_ids"] == ["accr_nothere"]
    record_id = http.get(f"{base}/v3/accounting/records", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    both = http.post(f"{base}/v3/accounting/records/export-results", timeout=10, json={"results": [
        {"accounting_record_id": record_id, "failure": {"error_message": "x"}},
        {"accounting_record_id": record_id, "success": {"deep_link_url": "https://x"}}]})
    assert both.status_code == 422 and both.json()["error_code"] == "DUPLICATE_ACCOUNTING_RECORD_IDS"


# -- edits -----------------------------------------------------------------------------------------

def test_editing_an_amount_after_posting_bumps_updated_at_and_keeps_the_card_row(base, http):
    rows = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    row = next(r for r in rows if r["type"] == "PURCHASE")
    before = http.get(f"{base}/v1/expenses/{row['expense_id']}", timeout=10).json()
    edited = requests.post(f"{base}/_sandbox/expenses/{row['expense_id']}", timeout=10,
                           json={"amount": abs(before["purchased_amount"]["amount"]) + 500, "memo": "tip added"})
    assert edited.status_code == 200
    after = http.get(f"{base}/v1/expenses/{row['expense_id']}", timeout=10).json()
    assert after["memo"] == "tip added" and after["updated_at"] > before["updated_at"]
    assert after["purchased_amount"]["amount"] == before["purchased_amount"]["amount"] + 500
    since = walk(http, f"{base}/v1/expenses", {"limit": 100, "updated_at_start": after["updated_at"]})
    assert row["expense_id"] in {e["id"] for e in since}
    rows_after = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    assert next(r for r in rows_after if r["id"] == row["id"])["amount"] == row["amount"]


# -- webhooks --------------------------------------------------------------------------------------

def test_signature_reproduces_the_svix_reference_vector():
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                b'{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


class _Receiver:
    """A plain HTTP server that records what it receives, like a customer's webhook endpoint."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/brex-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _valid(secret: str, headers: dict, body: bytes) -> bool:
    """Checked independently of the sandbox's signer: Standard Webhooks verification by hand."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def test_subscriber_receives_signed_expense_payment_updated(base, http):
    receiver = _Receiver()
    try:
        keyless = http.post(f"{base}/v1/webhooks", json={"url": receiver.url, "event_types": ["USER_UPDATED"]},
                            timeout=10)
        assert keyless.status_code == 400
        created = http.post(f"{base}/v1/webhooks", headers={"Idempotency-Key": "wh-1"}, timeout=10,
                            json={"url": receiver.url, "event_types": ["EXPENSE_PAYMENT_UPDATED"]})
        assert created.status_code == 200 and created.json()["status"] == "ACTIVE"
        assert created.json() in http.get(f"{base}/v1/webhooks", timeout=10).json()["items"]
        expense_id = http.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
        emitted = requests.post(f"{base}/_sandbox/webhooks/emit", json={"expense_id": expense_id}, timeout=20).json()
        assert [d["delivered"] for d in emitted["deliveries"]] == [True]
        headers, body = receiver.received[-1]
        headers = {k.lower(): v for k, v in headers.items()}
        payload = json.loads(body)
        assert payload["event_type"] == "EXPENSE_PAYMENT_UPDATED" and payload["expense_id"] == expense_id
        assert headers["svix-id"] == headers["webhook-id"]
        secret = http.get(f"{base}/v1/webhooks/secrets", timeout=10).json()[0]["secret"]
        assert _valid(secret, headers, body)
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    finally:
        receiver.close()


def test_rotation_lists_two_secrets_and_signs_with_both(base, http):
    receiver = _Receiver()
    try:
        before = http.get(f"{base}/v1/webhooks/secrets", timeout=10).json()
        rotated = requests.post(f"{base}/_sandbox/rotate-webhook-secret", timeout=10).json()["secrets"]
        listed = http.get(f"{base}/v1/webhooks/secrets", timeout=10).json()
        assert listed == rotated and [s["status"] for s in listed] == ["ACTIVE", "PENDING_REVOKE"]
        assert listed[1]["secret"] == before[0]["secret"]
        requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
            "event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accounting_record_ids": ["accr_1"],
            "url": receiver.url})
        headers, body = receiver.received[-1]
        headers = {k.lower(): v for k, v in headers.items()}
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert all(_valid(s["secret"], headers, body) for s in listed)
        assert json.loads(body)["accountingRecordIds"] == ["accr_1"]
    finally:
        receiver.close()


def test_emit_reports_a_failed_delivery(base):
    result = requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
        "event_type": "USER_UPDATED", "payload": {"user_id": "cuuser_x"}, "url": "http://127.0.0.1:9/nothing"}).json()
    assert result["deliveries"][0]["delivered"] is False and result["deliveries"][0]["error"]


# -- state -----------------------------------------------------------------------------------------

def test_dump_and_load_carry_the_mutable_state(server, base, http):
    http.post(f"{base}/v1/vendors", json={"company_name": "Persisted Parts"},
              headers={"Idempotency-Key": "key-persist"}, timeout=10)
    expense_id = http.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    requests.post(f"{base}/_sandbox/expenses/{expense_id}", json={"memo": "persisted memo"}, timeout=10)
    state = json.loads(json.dumps(server.brex.dump()))

    config = sandbox_config()
    config.public_url = server.config.public_url
    restored = BrexSandbox(build_company(config.seed), config, FaultPlan())
    restored.load(state)
    assert restored.dump() == state
    assert restored.records.expense(expense_id).memo == "persisted memo"
    assert restored.vendors.matching("Persisted Parts")


def test_deprecated_card_expense_paths_and_memo_update(base, http):
    listed = http.get(f"{base}/v1/expenses/card", params={"limit": 2}, timeout=10).json()["items"]
    assert listed == http.get(f"{base}/v1/expenses", params={"limit": 2}, timeout=10).json()["items"]
    expense_id = listed[1]["id"]
    updated = http.put(f"{base}/v1/expenses/card/{expense_id}", json={"memo": "Client dinner"}, timeout=10)
    assert updated.status_code == 200 and updated.json()["memo"] == "Client dinner"
    assert http.get(f"{base}/v1/expenses/card/{expense_id}", timeout=10).json()["memo"] == "Client dinner"


def test_a_date_filtered_request_generates_only_the_months_it_touches():
    from ml_connector.sandbox.brex_standalone import StandaloneBrex

    config = sandbox_config(months=3, brex_expenses_per_month=20_000)
    with StandaloneBrex(config) as running:
        headers = {"Authorization": f"Bearer {config.credentials.brex_token}"}
        page = requests.get(f"{running.url('brex')}/v1/expenses", headers=headers, timeout=60,
                            params={"limit": 100, "purchased_at_start": "2026-10-31T00:00:00Z"}).json()
        assert page["items"] and page["next_cursor"]
        assert running.brex.records.generated_months() == ["2026-10"]
