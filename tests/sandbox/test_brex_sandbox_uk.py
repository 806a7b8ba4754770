"""The Brex sandbox as the UK organisation (`SandboxConfig.org="uk"`) over real HTTP: card spend bills and
settles in pounds, converted from the merchant's currency at the UK rates and rounded half up, wherever Brex
shows what it billed (expenses, card rows, accounting records, edits, webhook payloads); the USD equivalent
stays in dollars."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from ml_connector.sandbox.brex_standalone import StandaloneBrex
from ml_connector.sandbox.catalog import CURRENCIES, ORG_PROFILES
from ml_connector.sandbox.config import SandboxConfig

UK_RATES = ORG_PROFILES["uk"].rates_to_base
PLACES = {c.code: c.precision for c in CURRENCIES}
PURCHASE_TYPES = ("PURCHASE", "REFUND")


@pytest.fixture(scope="module")
def brex():
    config = SandboxConfig(last_month="2026-10", months=2, brex_expenses_per_month=150, org="uk")
    with StandaloneBrex(config) as running:
        yield running


@pytest.fixture(scope="module")
def base(brex) -> str:
    return brex.url("brex")


@pytest.fixture(scope="module")
def http(brex) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {brex.config.credentials.brex_token}"
    return session


def walk(http: requests.Session, url: str, params: dict) -> list[dict]:
    items, cursor = [], None
    while True:
        page = http.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, timeout=10).json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _converted(money: dict, rates: dict[str, Decimal], to: str) -> dict:
    """A purchase in minor units converted at `rates` into minor units of `to`, half up."""
    major = Decimal(money["amount"]).scaleb(-PLACES[money["currency"]]) * rates[money["currency"]]
    return {"amount": int(major.scaleb(PLACES[to]).quantize(Decimal(1), rounding=ROUND_HALF_UP)), "currency": to}


def _pounds(money: dict) -> dict:
    return _converted(money, UK_RATES, "GBP")


def _create(base: str, merchant: str, amount: int) -> dict:
    answer = requests.post(f"{base}/_sandbox/expenses", timeout=10, json={
        "amount": amount, "merchant": merchant, "purchased_at": "2026-10-20T10:00:00Z"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_expense_bills_in_pounds_at_the_uk_rate_of_its_purchase_currency(base, http):
    expenses = walk(http, f"{base}/v1/expenses", {"limit": 100})
    assert {e["purchased_amount"]["currency"] for e in expenses} == {"USD", "EUR", "GBP", "JPY"}
    for expense in expenses:
        assert expense["billing_amount"] == _pounds(expense["purchased_amount"]), expense["id"]
        assert expense["budget_amount"] == expense["billing_amount"]
    sterling = [e for e in expenses if e["purchased_amount"]["currency"] == "GBP"]
    assert sterling and all(e["billing_amount"] == e["purchased_amount"] for e in sterling)


def test_the_usd_equivalent_stays_in_dollars_at_the_catalog_rate(base, http):
    dollars = {c.code: c.rate_to_base for c in CURRENCIES}
    for expense in walk(http, f"{base}/v1/expenses", {"limit": 100}):
        assert expense["usd_equivalent_amount"] == _converted(expense["purchased_amount"], dollars, "USD")


def test_card_rows_settle_what_each_expense_billed_and_the_autopay_collects_the_month_in_pounds(base, http):
    rows = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    expenses = {e["id"]: e for e in walk(http, f"{base}/v1/expenses", {"limit": 100})}
    assert rows and {r["amount"]["currency"] for r in rows} == {"GBP"}
    spend_by_month: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["type"] in PURCHASE_TYPES:
            assert row["amount"] == expenses[row["expense_id"]]["billing_amount"]
            spend_by_month[row["posted_at_date"][:7]] += row["amount"]["amount"]
    collections = {r["posted_at_date"][:7]: r["amount"]["amount"] for r in rows if r["type"] == "COLLECTION"}
    assert collections == {month: -spend for month, spend in spend_by_month.items() if month in collections}
    assert set(collections) == {"2026-09", "2026-10"}


def test_accounting_records_carry_the_pounds_billed_and_the_purchase_in_its_own_currency(base, http):
    records = walk(http, f"{base}/v3/accounting/records", {"limit": 500})
    expenses = {e["id"]: e for e in walk(http, f"{base}/v1/expenses", {"limit": 100})}
    posts = [r for r in records if r["type"] == "CARD_EXPENSE_POST"]
    assert posts and {r["amount"]["currency"] for r in records} == {"GBP"}
    for record in posts:
        expense = expenses[record["source_id"]]
        billed, bought = expense["billing_amount"], expense["purchased_amount"]
        assert Decimal(str(record["amount"]["amount"])) == Decimal(billed["amount"]).scaleb(-2)
        assert record["original_amount"]["currency"] == bought["currency"]
        assert Decimal(str(record["original_amount"]["amount"])) == Decimal(bought["amount"]).scaleb(
            -PLACES[bought["currency"]])
        assert all(line["amount"] == record["amount"] for line in record["line_items"])


@pytest.mark.parametrize(("merchant", "amount", "billed"), [
    ("Apple", 250_000, 196_851),  # $2,500.00 x 0.787402 = £1,968.505: half up, not to even
    ("Hotel Okura", 3_750, 1_979),  # ¥3,750 x 0.005276 = £19.785
    ("WeWork", 123_456, 123_456),  # already in pounds
])
def test_a_new_purchase_bills_in_pounds_rounded_half_up(base, merchant, amount, billed):
    expense = _create(base, merchant, amount)
    assert expense["billing_amount"] == {"amount": billed, "currency": "GBP"}
    assert expense["purchased_amount"]["amount"] == amount


def test_an_edited_amount_is_rebilled_in_pounds_and_the_webhook_carries_the_pounds(base, http):
    rows = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    expenses = {e["id"]: e for e in walk(http, f"{base}/v1/expenses", {"limit": 100})}
    row = next(r for r in rows if r["type"] == "PURCHASE"
               and expenses[r["expense_id"]]["purchased_amount"]["currency"] == "USD")
    edited = requests.post(f"{base}/_sandbox/expenses/{row['expense_id']}", json={"amount": 250_000}, timeout=10)
    assert edited.status_code == 200
    assert edited.json()["billing_amount"] == {"amount": 196_851, "currency": "GBP"}
    event = requests.post(f"{base}/_sandbox/webhooks/emit", timeout=10,
                          json={"expense_id": row["expense_id"], "wait": False}).json()["payload"]
    assert event["amount"] == event["billing_amount"] == {"amount": 196_851, "currency": "GBP"}
    assert event["original_amount"] == {"amount": 250_000, "currency": "USD"}
    rows_after = walk(http, f"{base}/v2/transactions/card/primary", {"limit": 1000, "expand[]": "expense_id"})
    assert next(r for r in rows_after if r["id"] == row["id"])["amount"] == row["amount"]  # settled stays
