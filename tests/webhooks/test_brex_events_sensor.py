"""The `brex_events` sensor on real inbox events (signed with `svix`, stored by the real receiver) and the Brex
sandbox: one run per month per batch, events marked handled only once their run exists on the instance."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pytest
import requests

from ml_connector.sources.brex import BrexAuth, BrexClient
from ml_connector.store import open_store
from ml_connector.webhooks.receiver import create_app
from ml_connector.webhooks.secrets import WebhookSecrets
from pipelines.brex.resources import BrexResource
from pipelines.brex.sensors import brex_events
from pipelines.definitions import defs
from pipelines.store.resources import ConnectorStoreResource
from tests.webhooks.conftest import ServedApp, inbox_rows, signed


@pytest.fixture
def receiver(brex, store_url):
    secret = brex.config.credentials.brex_webhook_secret
    app = create_app(open_store(store_url), WebhookSecrets(configured=[secret]), max_body_bytes=65536)
    with ServedApp(app) as served:
        served.store_url, served.secret = store_url, secret
        yield served


@pytest.fixture
def expenses(brex) -> dict[str, list[str]]:
    """Expense ids of the sandbox by the month their payment posted."""
    client = BrexClient(brex.url("brex"), BrexAuth(api_token=brex.config.credentials.brex_token))
    return {month: [e["id"] for e in client.expenses(start, end)]
            for month, start, end in (("2026-09", date(2026, 9, 1), date(2026, 9, 30)),
                                      ("2026-10", date(2026, 10, 1), date(2026, 10, 31)))}


def deliver(receiver, payloads: list[dict]) -> None:
    session = requests.Session()
    for payload in payloads:
        body = json.dumps(payload).encode()
        answer = session.post(receiver.url, data=body, headers=signed(receiver.secret, body), timeout=10)
        assert answer.status_code == 200 and answer.json()["stored"], answer.text


def expense_event(expense_id: str) -> dict:
    return {"event_type": "EXPENSE_PAYMENT_UPDATED", "expense_id": expense_id, "payment_status": "PENDING",
            "payment_type": "PURCHASE", "company_id": "cuacc_test", "version": 2}


def tick(instance, brex, store_url: str, cursor: str | None):
    resources = {"store": ConnectorStoreResource(url=store_url),
                 "brex": BrexResource(store=ConnectorStoreResource(url=store_url), base_url=brex.url("brex"),
                                      api_token=brex.config.credentials.brex_token)}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                 repository_def=defs.get_repository_def()) as context:
        return brex_events.evaluate_tick(context)


@dg.op
def _noop():
    pass


@dg.job
def stand_in():
    _noop()


def run_exists(instance, run_key: str) -> None:
    """A run with this key on the instance, as the daemon creates it from the sensor's request."""
    stand_in.execute_in_process(instance=instance, tags={"dagster/run_key": run_key,
                                                         "dagster/sensor_name": "brex_events"})


def test_a_burst_of_200_events_on_one_month_asks_for_one_run(brex, receiver, expenses):
    october = expenses["2026-10"][:20]
    deliver(receiver, [expense_event(october[i % len(october)]) for i in range(200)])
    with dg.instance_for_test() as instance:
        result = tick(instance, brex, receiver.store_url, None)
    assert [r.partition_key for r in result.run_requests] == ["2026-10-01"]
    request = result.run_requests[0]
    assert request.tags["ml_connector/source"] == "sensor" and request.tags["ml_connector/events"] == "200"
    assert all(row["processed_at"] is None for row in inbox_rows(receiver.store_url))  # not until the run exists


def test_events_are_marked_handled_only_once_their_run_exists(brex, receiver, expenses):
    deliver(receiver, [expense_event(e) for e in expenses["2026-10"][:3]])
    with dg.instance_for_test() as instance:
        first = tick(instance, brex, receiver.store_url, None)
        (asked,) = first.run_requests
        again = tick(instance, brex, receiver.store_url, first.cursor)  # the daemon has not created it yet
        assert [r.run_key for r in again.run_requests] == [asked.run_key]
        assert all(row["processed_at"] is None for row in inbox_rows(receiver.store_url))
        run_exists(instance, asked.run_key)
        settled = tick(instance, brex, receiver.store_url, again.cursor)
    assert settled.run_requests == []
    rows = inbox_rows(receiver.store_url)
    assert all(r["processed_at"] and r["handled_run_key"] == asked.run_key and r["months"] == ["2026-10"]
               for r in rows)


def test_each_batch_asks_one_run_per_month_under_keys_of_its_own(brex, receiver, expenses):
    deliver(receiver, [expense_event(expenses["2026-09"][0]), expense_event(expenses["2026-10"][0])])
    with dg.instance_for_test() as instance:
        first = tick(instance, brex, receiver.store_url, None)
        assert sorted(r.partition_key for r in first.run_requests) == ["2026-09-01", "2026-10-01"]
        for request in first.run_requests:
            run_exists(instance, request.run_key)
        deliver(receiver, [expense_event(expenses["2026-10"][1])])
        second = tick(instance, brex, receiver.store_url, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2026-10-01"]
    assert second.run_requests[0].run_key not in {r.run_key for r in first.run_requests}


def test_a_lost_cursor_asks_again_under_the_same_run_keys(brex, receiver, expenses):
    deliver(receiver, [expense_event(e) for e in expenses["2026-10"][:2]])
    with dg.instance_for_test() as instance:
        first = tick(instance, brex, receiver.store_url, None)
        reset = tick(instance, brex, receiver.store_url, None)  # the cursor was reset in the UI
    assert [r.run_key for r in reset.run_requests] == [r.run_key for r in first.run_requests]


def test_an_event_that_affects_no_month_is_handled_at_once_with_why(brex, receiver):
    deliver(receiver, [{"event_type": "USER_UPDATED", "user_id": "cuuser_x", "company_id": "cuacc_x",
                        "updated_attributes": ["STATUS"]}])
    with dg.instance_for_test() as instance:
        result = tick(instance, brex, receiver.store_url, None)
    assert result.run_requests == []
    (row,) = inbox_rows(receiver.store_url)
    assert row["processed_at"] and row["months"] == [] and "does not affect" in row["handled_note"]


def test_an_event_for_a_purchase_not_settled_yet_waits_in_the_inbox_without_a_run(brex, receiver):
    pending = requests.post(f"{brex.url('brex')}/_sandbox/expenses", timeout=10,
                            json={"amount": 4200, "purchased_at": "2026-10-20T12:00:00Z"}).json()
    deliver(receiver, [expense_event(pending["id"])])
    with dg.instance_for_test() as instance:
        first = tick(instance, brex, receiver.store_url, None)
        again = tick(instance, brex, receiver.store_url, first.cursor)  # still waiting on the next tick
    assert first.run_requests == [] and again.run_requests == []
    (row,) = inbox_rows(receiver.store_url)
    assert row["processed_at"] is None
