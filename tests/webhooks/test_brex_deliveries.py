"""The Brex sandbox's own deliveries reach the inbox through a registered subscription; `webhooks register`
creates that subscription once, and `webhooks list --json` shows what arrived."""

from __future__ import annotations

import json

import pytest
import requests

from ml_connector.store import open_store
from ml_connector.webhooks.receiver import create_app
from ml_connector.webhooks.secrets import WebhookSecrets
from tests.webhooks.conftest import ServedApp, brex_env, inbox_rows, run_cli, wait_for


@pytest.fixture
def receiver(brex, store_url):
    app = create_app(open_store(store_url), WebhookSecrets(configured=[brex.config.credentials.brex_webhook_secret]),
                     max_body_bytes=65536)
    with ServedApp(app) as served:
        served.store_url = store_url
        yield served


@pytest.fixture
def env(brex, tmp_path) -> dict[str, str]:
    """The CLI's environment: this sandbox, and a store of the test's own (SQLite: the default)."""
    return {**brex_env(brex), "ML_CONNECTOR_HOME": str(tmp_path / "home")}


ENDPOINT = "http://127.0.0.1:9/webhooks/brex"  # registration needs no receiver listening


@pytest.fixture
def brex_api(brex):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {brex.config.credentials.brex_token}"
    base = brex.url("brex")
    yield session, base
    # Leave no subscription behind for the next test's sandbox events.
    for subscription in session.get(f"{base}/v1/webhooks", timeout=10).json()["items"]:
        session.delete(f"{base}/v1/webhooks/{subscription['id']}", timeout=10)


def subscribe(env, url: str) -> dict:
    result = run_cli(["webhooks", "register", "--url", url, "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_register_twice_makes_one_subscription_for_the_connector_event_types(env, brex_api):
    session, base = brex_api
    first, second = subscribe(env, ENDPOINT), subscribe(env, ENDPOINT)
    assert (first["action"], second["action"]) == ("created", "unchanged")
    listed = [s for s in session.get(f"{base}/v1/webhooks", timeout=10).json()["items"] if s["url"] == ENDPOINT]
    assert len(listed) == 1 and listed[0]["id"] == first["subscription"]["id"]
    assert sorted(listed[0]["event_types"]) == ["ACCOUNTING_RECORD_READY_FOR_EXPORT", "EXPENSE_PAYMENT_UPDATED"]


def test_register_reactivates_a_paused_subscription_in_place(env, brex_api):
    session, base = brex_api
    created = subscribe(env, ENDPOINT)["subscription"]
    session.put(f"{base}/v1/webhooks/{created['id']}", timeout=10, json={
        "url": ENDPOINT, "event_types": ["USER_UPDATED"], "status": "INACTIVE"})
    again = subscribe(env, ENDPOINT)
    assert again["action"] == "updated" and again["subscription"]["id"] == created["id"]
    assert again["subscription"]["status"] == "ACTIVE"


def test_register_refuses_a_plain_http_url_with_exit_2(env):
    result = run_cli(["webhooks", "register", "--url", "http://example.com/webhooks/brex"], env)
    assert result.returncode == 2 and "HTTPS" in result.stderr


def test_an_expense_edit_and_an_emitted_event_land_in_the_inbox(receiver, env, brex, brex_api):
    session, base = brex_api
    env = {**env, "ML_CONNECTOR_DATABASE_URL": receiver.store_url}
    subscribe(env, receiver.url)
    expense_id = session.get(f"{base}/v1/expenses", params={"limit": 1}, timeout=10).json()["items"][0]["id"]
    edited = requests.post(f"{base}/_sandbox/expenses/{expense_id}", json={"memo": "changed"}, timeout=10)
    assert edited.status_code == 200
    emitted = requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
        "event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accounting_record_ids": ["accr_emitted"]}).json()
    assert [d["status_code"] for d in emitted["deliveries"]] == [200]

    rows = wait_for(lambda: len(inbox_rows(receiver.store_url)) >= 2 and inbox_rows(receiver.store_url))
    by_type = {row["event_type"]: row for row in rows}
    assert by_type["EXPENSE_PAYMENT_UPDATED"]["payload"]["expense_id"] == expense_id
    assert by_type["ACCOUNTING_RECORD_READY_FOR_EXPORT"]["payload"]["accountingRecordIds"] == ["accr_emitted"]
    assert by_type["ACCOUNTING_RECORD_READY_FOR_EXPORT"]["event_id"] == emitted["deliveries"][0]["webhook_id"]

    listed = run_cli(["webhooks", "list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert {e["event_id"] for e in shown} == {row["event_id"] for row in rows}
    assert all(e["processed_at"] is None for e in shown)
    waiting = json.loads(run_cli(["webhooks", "list", "--unhandled", "--json"], env).stdout)
    assert len(waiting) == len(rows)


def test_a_refused_first_attempt_is_retried_and_stored_once(receiver, brex, brex_api):
    _, base = brex_api
    stale = 1_000_000_000  # the first attempt is signed in 2001: the receiver answers 401
    emitted = requests.post(f"{base}/_sandbox/webhooks/emit", timeout=20, json={
        "event_type": "USER_UPDATED", "payload": {"user_id": "cuuser_x", "company_id": "cuacc_x",
                                                  "updated_attributes": ["STATUS"]},
        "url": receiver.url, "timestamp": stale}).json()
    first = emitted["deliveries"][0]
    assert first["status_code"] == 401
    message = wait_for(lambda: [m for m in requests.get(f"{base}/_sandbox/webhooks/deliveries", timeout=10,
                                                        params={"webhook_id": first["webhook_id"]}).json()
                                ["deliveries"] if m["status"] == "delivered"])[0]
    assert [a["status_code"] for a in message["attempts"]] == [401, 200]
    assert [r["event_id"] for r in inbox_rows(receiver.store_url)] == [first["webhook_id"]]
