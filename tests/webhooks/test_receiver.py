"""The receiver over real HTTP, with events signed by Svix's own library: what is stored, once, and what is
refused with which status, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from ml_connector.store import open_store
from ml_connector.store.db import create_store_engine
from ml_connector.webhooks.receiver import create_app
from ml_connector.webhooks.secrets import WebhookSecrets
from tests.webhooks.conftest import ServedApp, event_body, inbox_rows, new_secret, signed

NEW_SECRET, OLD_SECRET = new_secret(), new_secret()  # the receiver is mid-rotation: it knows both
MAX_BODY = 4096


@pytest.fixture(scope="module")
def receiver(module_store_url):
    app = create_app(open_store(module_store_url), WebhookSecrets(configured=[NEW_SECRET, OLD_SECRET]),
                     max_body_bytes=MAX_BODY)
    with ServedApp(app) as served:
        served.store_url = module_store_url
        yield served


def stored_ids(receiver) -> list[str]:
    return [row["event_id"] for row in inbox_rows(receiver.store_url)]


def post(receiver, body: bytes, headers: dict) -> requests.Response:
    return requests.post(receiver.url, data=body, headers=headers, timeout=10)


def test_a_valid_event_is_stored_once_with_its_payload(receiver):
    body = event_body(expense_id="expense_stored")
    headers = signed(NEW_SECRET, body)
    response = post(receiver, body, headers)
    assert response.status_code == 200
    assert response.json() == {"event_id": headers["webhook-id"], "stored": True, "duplicate": False}
    [row] = [r for r in inbox_rows(receiver.store_url) if r["event_id"] == headers["webhook-id"]]
    assert row["event_type"] == "EXPENSE_PAYMENT_UPDATED" and row["payload"] == json.loads(body)
    assert row["processed_at"] is None and row["source_system"] == "brex"


def test_a_replay_of_the_same_webhook_id_is_2xx_and_stores_nothing_new(receiver):
    body = event_body(expense_id="expense_replayed")
    headers = signed(NEW_SECRET, body)
    assert post(receiver, body, headers).json()["stored"] is True
    # Svix retries keep the id and sign each attempt at its own time.
    retry = signed(NEW_SECRET, body, msg_id=headers["webhook-id"], at=datetime.now(UTC) + timedelta(seconds=30))
    for again in (headers, retry):
        response = post(receiver, body, again)
        assert response.status_code == 200 and response.json()["duplicate"] is True
    assert stored_ids(receiver).count(headers["webhook-id"]) == 1


@pytest.mark.parametrize("case, status, reason", [
    ("tampered body", 401, "bad_signature"),
    ("stale timestamp", 401, "stale_timestamp"),
    ("future timestamp", 401, "future_timestamp"),
    ("wrong secret", 401, "bad_signature"),
    ("malformed json", 400, "malformed_json"),
    ("json without event_type", 400, "malformed_json"),
    ("garbled signature", 401, "bad_signature"),
    ("non-numeric timestamp", 400, "malformed_headers"),
])
def test_a_bad_delivery_is_refused_with_its_status_and_nothing_is_stored(receiver, case, status, reason):
    body = event_body(expense_id=f"expense_{uuid.uuid4().hex[:6]}")
    headers = signed(NEW_SECRET, body)
    if case == "tampered body":
        body = body.replace(b"cuacc_test", b"cuacc_evil")
    elif case == "stale timestamp":
        headers = signed(NEW_SECRET, body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "future timestamp":
        headers = signed(NEW_SECRET, body, at=datetime.now(UTC) + timedelta(minutes=6))
    elif case == "wrong secret":
        headers = signed(new_secret(), body)
    elif case == "malformed json":
        body = b'{"event_type": "EXPENSE_PAYMENT_UPDATED", '
        headers = signed(NEW_SECRET, body)
    elif case == "json without event_type":
        body = b'[{"expense_id": "expense_x"}]'
        headers = signed(NEW_SECRET, body)
    elif case == "garbled signature":
        headers["webhook-signature"] = "v1 no-comma-here"
    elif case == "non-numeric timestamp":
        headers["webhook-timestamp"] = "yesterday"
    response = post(receiver, body, headers)
    assert (response.status_code, response.json()["error"]) == (status, reason)
    assert headers["webhook-id"] not in stored_ids(receiver)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_400_and_names_it(receiver, missing):
    body = event_body()
    headers = signed(NEW_SECRET, body)
    del headers[missing]
    response = post(receiver, body, headers)
    assert response.status_code == 400 and response.json()["error"] == "missing_headers"
    assert missing.removeprefix("webhook-") in response.json()["message"]
    assert headers.get("webhook-id") not in stored_ids(receiver)


def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(receiver):
    body = event_body(memo="x" * MAX_BODY)
    headers = signed(NEW_SECRET, body)
    declared = post(receiver, body, headers)
    # A generator makes requests send it chunked, without Content-Length: the limit holds while reading.
    streamed = requests.post(receiver.url, data=(body[i:i + 512] for i in range(0, len(body), 512)),
                             headers=headers, timeout=10)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert declared.json()["error"] == "body_too_large"
    assert headers["webhook-id"] not in stored_ids(receiver)


def test_during_a_rotation_events_signed_with_either_secret_verify(receiver):
    stored = []
    for secret in (NEW_SECRET, OLD_SECRET):
        body = event_body(expense_id="expense_rotation")
        headers = signed(secret, body)
        assert post(receiver, body, headers).status_code == 200
        stored.append(headers["webhook-id"])
    # Brex's own shape during a rotation: two signatures in one header, the first from a secret we lack.
    body = event_body(expense_id="expense_two_signatures")
    headers = signed(OLD_SECRET, body)
    foreign = signed(new_secret(), body, msg_id=headers["webhook-id"])["webhook-signature"]
    headers["webhook-signature"] = f"{foreign} {headers['webhook-signature']}"
    assert post(receiver, body, headers).status_code == 200
    stored.append(headers["webhook-id"])
    assert set(stored) <= set(stored_ids(receiver))


@pytest.mark.parametrize("prefix", ["webhook-", "svix-", "Svix-", "WEBHOOK-"])
def test_svix_and_webhook_header_prefixes_both_verify_in_any_case(receiver, prefix):
    body = event_body(expense_id="expense_prefix")
    headers = signed(NEW_SECRET, body, prefix=prefix)
    response = post(receiver, body, headers)
    assert response.status_code == 200 and response.json()["stored"] is True


def test_healthz_answers_when_the_store_does(receiver):
    response = requests.get(f"{receiver.base}/healthz", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_metrics_count_what_happened_and_show_the_backlog(receiver):
    before = receiver.metrics()
    body = event_body(expense_id="expense_metrics")
    headers = signed(NEW_SECRET, body)
    post(receiver, body, headers)
    post(receiver, body, headers)
    post(receiver, body, signed(new_secret(), body))
    after = receiver.metrics()

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0)

    assert grew("ml_connector_webhook_received_total") == 3
    assert grew("ml_connector_webhook_stored_total") == 1
    assert grew("ml_connector_webhook_duplicates_total") == 1
    assert grew('ml_connector_webhook_rejected_total{reason="bad_signature"}') == 1
    with open_store(receiver.store_url).connect() as connection:
        waiting = connection.execute(sa.text("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL")).scalar()
    assert after["ml_connector_webhook_inbox_backlog"] == waiting > 0
    assert 0 <= after["ml_connector_webhook_last_event_age_seconds"] < 30
    assert after["ml_connector_webhook_store_up"] == 1


def test_no_secret_or_signature_in_any_answer_log_or_stored_row(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    answers, signatures = [], []
    body = event_body(expense_id="expense_secret_check")
    for headers in (signed(NEW_SECRET, body), signed(OLD_SECRET, body, at=datetime.now(UTC) - timedelta(hours=1)),
                    signed(new_secret(), body), {**signed(NEW_SECRET, body), "webhook-timestamp": "x"}):
        signatures.append(headers["webhook-signature"])
        response = post(receiver, body, headers)
        answers.append(response.text + json.dumps(dict(response.headers)))
    answers.append(requests.get(f"{receiver.base}/metrics", timeout=10).text)
    with open_store(receiver.store_url).connect() as connection:
        stored = repr(connection.execute(sa.text("SELECT * FROM webhook_inbox")).all())
        stored += repr(connection.execute(sa.text("SELECT * FROM audit_events")).all())
    everything = "\n".join(answers) + caplog.text + stored
    for secret in (NEW_SECRET, OLD_SECRET):
        assert secret not in everything and secret.removeprefix("whsec_") not in everything
    for signature in signatures:
        assert signature.split(",", 1)[1] not in everything
    assert "webhook refused (bad_signature)" in caplog.text  # the log does say what happened


def test_a_store_that_cannot_be_reached_is_503_for_deliveries_and_health():
    unreachable = create_store_engine("postgresql://postgres@127.0.0.1:9/nowhere")  # nothing listens on port 9
    app = create_app(unreachable, WebhookSecrets(configured=[NEW_SECRET]), max_body_bytes=MAX_BODY)
    with ServedApp(app) as served:
        body = event_body()
        delivery = requests.post(served.url, data=body, headers=signed(NEW_SECRET, body), timeout=30)
        health = requests.get(f"{served.base}/healthz", timeout=30)
        metrics = served.metrics()
    assert (delivery.status_code, delivery.json()["error"]) == (503, "store_unavailable")
    assert health.status_code == 503
    assert metrics["ml_connector_webhook_store_up"] == 0
