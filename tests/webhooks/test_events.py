"""`months_for_events` against the Brex sandbox: events become the months the connector books them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from ml_connector.sources.brex import BrexAuth, BrexClient
from ml_connector.webhooks.events import months_for_events
from ml_connector.webhooks.inbox import InboxEvent

# Seed 11, 40 expenses a month: this one is purchased 2026-09-30 and its card transaction posts 2026-10-02.
PURCHASED_IN_SEPTEMBER_POSTED_IN_OCTOBER = "expense_u104jbj3bpop2wwwmufa6kljs"


@pytest.fixture(scope="module")
def client(brex) -> BrexClient:
    return BrexClient(brex.url("brex"), BrexAuth(api_token=brex.config.credentials.brex_token))


@pytest.fixture(scope="module")
def api(brex):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {brex.config.credentials.brex_token}"
    return session, brex.url("brex")


def event(event_id: str, event_type: str, received_at: datetime | None = None, **payload) -> InboxEvent:
    return InboxEvent(id=0, event_id=event_id, source_system="brex", event_type=event_type,
                      payload={"event_type": event_type, **payload}, received_at=received_at or datetime.now(UTC),
                      processed_at=None, handled_run_key=None, months=None, handled_note=None)


def expense_event(event_id: str, expense_id: str, **kwargs) -> InboxEvent:
    return event(event_id, "EXPENSE_PAYMENT_UPDATED", expense_id=expense_id, **kwargs)


def posted_expense(api, month: str) -> dict:
    session, base = api
    items = session.get(f"{base}/v1/expenses", timeout=10, params={
        "limit": 5, "payment_posted_at_start": f"{month}-10T00:00:00Z",
        "payment_posted_at_end": f"{month}-20T00:00:00Z"}).json()["items"]
    return items[0]


def test_an_expense_event_maps_to_the_month_its_card_transaction_posted(client, api):
    september, october = posted_expense(api, "2026-09"), posted_expense(api, "2026-10")
    result = months_for_events([expense_event("e1", september["id"]), expense_event("e2", october["id"]),
                                expense_event("e3", october["id"])], client)
    assert result == {"2026-09": ["e1"], "2026-10": ["e2", "e3"]}
    assert result.handled_ids() == ["e1", "e2", "e3"] and not result.notes


def test_the_posted_date_decides_the_month_not_the_purchase_date(client, api):
    session, base = api
    expense = session.get(f"{base}/v1/expenses/{PURCHASED_IN_SEPTEMBER_POSTED_IN_OCTOBER}", timeout=10).json()
    assert expense["purchased_at"].startswith("2026-09") and expense["payment_posted_at"].startswith("2026-10")
    assert months_for_events([expense_event("e1", expense["id"])], client) == {"2026-10": ["e1"]}


def test_an_accounting_event_maps_to_the_months_of_its_records(client, api):
    session, base = api
    records = session.get(f"{base}/v3/accounting/records", params={"limit": 500}, timeout=10).json()["items"]
    september = next(r for r in records if r["posted_at"].startswith("2026-09"))
    october = next(r for r in records if r["posted_at"].startswith("2026-10"))
    result = months_for_events([event("a1", "ACCOUNTING_RECORD_READY_FOR_EXPORT", companyId="cuacc_x",
                                      accountingRecordIds=[september["id"], october["id"]])], client)
    assert result == {"2026-09": ["a1"], "2026-10": ["a1"]}
    assert result.months_by_event() == {"a1": ["2026-09", "2026-10"]}


def test_an_expense_brex_no_longer_has_is_reported_not_raised(client, api):
    result = months_for_events([expense_event("gone", "expense_doesnotexist"),
                                expense_event("here", posted_expense(api, "2026-10")["id"])], client)
    assert result == {"2026-10": ["here"]}
    assert "expense_doesnotexist" in result.missing["gone"] and "gone" in result.handled_ids()


def test_unknown_accounting_records_are_reported_beside_the_known_ones(client, api):
    session, base = api
    known = session.get(f"{base}/v3/accounting/records", params={"limit": 1}, timeout=10).json()["items"][0]
    result = months_for_events([event("a1", "ACCOUNTING_RECORD_READY_FOR_EXPORT",
                                      accountingRecordIds=[known["id"], "accr_missing"]),
                                event("a2", "ACCOUNTING_RECORD_READY_FOR_EXPORT", accountingRecordIds=["accr_gone"])],
                               client)
    assert list(result.values()) == [["a1"]]
    assert set(result.missing) == {"a1", "a2"} and set(result.notes) == {"a2"}


def test_other_event_types_affect_no_month_and_are_still_handled(client):
    result = months_for_events([event("u1", "USER_UPDATED", user_id="cuuser_x"),
                                event("t1", "TRANSFER_PROCESSED", transfer_id="dptx_x")], client)
    assert result == {} and set(result.notes) == {"u1", "t1"} and result.handled_ids() == ["u1", "t1"]


def test_a_pending_purchase_waits_until_it_posts_then_gives_up(client, brex):
    created = requests.post(f"{brex.url('brex')}/_sandbox/expenses", timeout=10, json={
        "amount": 4200, "purchased_at": "2026-10-31T20:00:00Z"}).json()
    assert created["payment_posted_at"] is None
    fresh = expense_event("p1", created["id"])
    old = expense_event("p2", created["id"], received_at=datetime.now(UTC) - timedelta(days=11))
    result = months_for_events([fresh, old], client)
    assert result == {} and result.pending == ["p1"] and result.handled_ids() == ["p2"]
    assert "not posted" in result.notes["p2"]
