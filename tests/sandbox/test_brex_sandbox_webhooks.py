"""The Brex sandbox delivers its events as Svix does: to every subscriber, in the background, signed with
every live secret, retried on Svix's schedule (compressed for tests), with a delivery log."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from svix.webhooks import Webhook

from ml_connector.sandbox.brex_deliveries import RETRY_DELAYS_SECONDS
from ml_connector.sandbox.brex_standalone import StandaloneBrex
from ml_connector.sandbox.config import SandboxConfig

SCALE = 0.00002  # Svix's whole schedule (about 31 hours) in about 2 seconds


class Endpoint:
    """A customer's webhook endpoint: answers with the given statuses in turn (then 204), after `delay`."""

    def __init__(self, statuses: tuple[int, ...] = (), delay: float = 0.0) -> None:
        self.received: list[tuple[float, dict, bytes]] = []
        statuses, received = list(statuses), self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay)
                self.send_response(statuses.pop(0) if statuses else 204)
                self.end_headers()

            def log_message(self, *args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError(f"not true within {timeout} s")


@pytest.fixture(scope="module")
def brex():
    config = SandboxConfig(seed=11, last_month="2026-10", months=2, brex_expenses_per_month=40, rate_limits="off",
                           limit_overrides={"brex.webhook_retry_scale": SCALE})
    with StandaloneBrex(config) as server:
        yield server


@pytest.fixture
def api(brex):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {brex.config.credentials.brex_token}"
    base = brex.url("brex")
    yield session, base
    for subscription in session.get(f"{base}/v1/webhooks", timeout=10).json()["items"]:
        session.delete(f"{base}/v1/webhooks/{subscription['id']}", timeout=10)


@pytest.fixture
def make_endpoint():
    made: list[Endpoint] = []

    def make(**kwargs) -> Endpoint:
        made.append(Endpoint(**kwargs))
        return made[-1]
    yield make
    for endpoint in made:
        endpoint.close()


@pytest.fixture
def endpoint(make_endpoint) -> Endpoint:
    return make_endpoint()


def subscribe(api, url: str, *event_types: str) -> None:
    session, base = api
    response = session.post(f"{base}/v1/webhooks", headers={"Idempotency-Key": f"{url}{event_types}"}, timeout=10,
                            json={"url": url, "event_types": list(event_types)})
    assert response.status_code == 200


def log_of(base: str, webhook_id: str) -> dict:
    [message] = requests.get(f"{base}/_sandbox/webhooks/deliveries", params={"webhook_id": webhook_id},
                             timeout=10).json()["deliveries"]
    return message


def emit_to(base: str, url: str, **body) -> dict:
    return requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
        "event_type": "USER_UPDATED", "payload": {"user_id": "cuuser_x"}, "url": url, **body}).json()


def test_failed_attempts_are_retried_on_svix_schedule_until_a_2xx(brex, api, make_endpoint):
    _, base = api
    endpoint = make_endpoint(statuses=(500, 503, 302))
    webhook_id = emit_to(base, endpoint.url)["deliveries"][0]["webhook_id"]
    message = wait_for(lambda: (m := log_of(base, webhook_id))["status"] == "delivered" and m)
    assert [a["status_code"] for a in message["attempts"]] == [500, 503, 302, 204]  # a 3xx is a failure too
    arrivals = [at for at, _, _ in endpoint.received]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert all(gap >= delay * SCALE * 0.9 for gap, delay in zip(gaps, RETRY_DELAYS_SECONDS[1:], strict=False))
    assert {headers["webhook-id"] for _, headers, _ in endpoint.received} == {webhook_id}


def test_a_message_failing_every_attempt_stops_after_eight_as_failed(brex, api, make_endpoint):
    _, base = api
    endpoint = make_endpoint(statuses=(500,) * 8)
    webhook_id = emit_to(base, endpoint.url)["deliveries"][0]["webhook_id"]
    message = wait_for(lambda: (m := log_of(base, webhook_id))["status"] == "failed" and m, timeout=30)
    assert len(message["attempts"]) == len(RETRY_DELAYS_SECONDS) == 8 and message["next_attempt_at"] is None


def test_an_edit_answers_before_its_slow_subscriber_does(brex, api, make_endpoint):
    session, base = api
    endpoint = make_endpoint(delay=1.5)
    subscribe(api, endpoint.url, "EXPENSE_PAYMENT_UPDATED")
    expense_id = session.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    started = time.monotonic()
    assert requests.post(f"{base}/_sandbox/expenses/{expense_id}", json={"memo": "x"}, timeout=10).status_code == 200
    assert time.monotonic() - started < 1.0
    _, _, body = wait_for(lambda: endpoint.received)[0]
    assert json.loads(body)["expense_id"] == expense_id


def test_background_deliveries_during_a_rotation_carry_both_signatures(brex, api, endpoint):
    session, base = api
    subscribe(api, endpoint.url, "EXPENSE_PAYMENT_UPDATED")
    secrets = requests.post(f"{base}/_sandbox/rotate-webhook-secret", timeout=10).json()["secrets"]
    expense_id = session.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    requests.post(f"{base}/_sandbox/expenses/{expense_id}", json={"memo": "during rotation"}, timeout=10)
    _, headers, body = wait_for(lambda: endpoint.received)[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in secrets:  # each secret alone verifies, with Svix's own verifier, under both header prefixes
        Webhook(secret["secret"]).verify(body, {k: v for k, v in headers.items() if k.startswith("webhook-")})
        Webhook(secret["secret"]).verify(body, {k: v for k, v in headers.items() if k.startswith("svix-")})


def test_a_new_card_purchase_delivers_a_pending_payment_event(brex, api, endpoint):
    subscribe(api, endpoint.url, "EXPENSE_PAYMENT_UPDATED")
    _, base = api
    created = requests.post(f"{base}/_sandbox/expenses", timeout=10,
                            json={"amount": 1999, "purchased_at": "2026-10-15T12:00:00Z", "memo": "new"}).json()
    _, _, body = wait_for(lambda: endpoint.received)[0]
    event = json.loads(body)
    assert (event["expense_id"], event["payment_status"], event["billing_amount"]["amount"]) == (
        created["id"], "PENDING", 1999)
    session, _ = api
    assert session.get(f"{base}/v1/expenses/{created['id']}", timeout=10).json()["payment_posted_at"] is None


def test_approving_an_expense_delivers_its_records_ready_for_export(brex, api, endpoint):
    session, base = api
    subscribe(api, endpoint.url, "ACCOUNTING_RECORD_READY_FOR_EXPORT")
    submitted = session.get(f"{base}/v1/expenses", params={"status[]": "SUBMITTED", "limit": 1},
                            timeout=10).json()["items"][0]
    requests.post(f"{base}/_sandbox/expenses/{submitted['id']}", json={"status": "APPROVED"}, timeout=10)
    _, _, body = wait_for(lambda: endpoint.received)[0]
    event = json.loads(body)
    assert event["event_type"] == "ACCOUNTING_RECORD_READY_FOR_EXPORT" and event["accountingRecordIds"]
    records = session.get(f"{base}/v3/accounting/records", timeout=10,
                          params=[("ids", i) for i in event["accountingRecordIds"]]).json()["items"]
    assert {(r["source_id"], r["review_status"]) for r in records} == {(submitted["id"], "READY_FOR_EXPORT")}


def test_emit_without_waiting_answers_at_once_and_the_log_shows_the_attempt(brex, api, endpoint):
    _, base = api
    answer = emit_to(base, endpoint.url, wait=False, webhook_id="msg_no_wait")
    assert answer["deliveries"] == []
    message = wait_for(lambda: (m := log_of(base, "msg_no_wait"))["status"] == "delivered" and m)
    [attempt] = message["attempts"]
    assert attempt["status_code"] == 204 and datetime.fromisoformat(attempt["at"].replace("Z", "+00:00"))
