"""How the Brex sandbox's records look on the wire, field for field as Brex's OpenAPI files name them.

Expenses (expenses.yaml `ExpandableExpense`) and card transactions (transactions.yaml `CardTransaction`)
carry money as integer minor units. Expanded objects (`merchant`, `user`, ...) are filled only when the
client asks for them with `expand[]`; otherwise they are present and null (the spec marks every one of
them nullable; Brex does not document null versus absent).

Currencies (brex_billing.py says how amounts are billed): `original_amount`/`purchased_amount` are in the
merchant's currency; `billing_amount` ("on the entity's currency", expenses.yaml), the card row's `amount`
and the webhook's `amount`/`billing_amount` are in the billing currency, the organisation's base (USD in
"us", GBP in "uk"); `usd_equivalent_amount` is in USD always ("converted in USD (if not already in USD)").
`budget_amount` is "in the budget's currency": the sandbox's one budget is the company's card spend, kept in
the billing currency (a sandbox choice; the references do not say which currency a budget is in).
"""

from __future__ import annotations

from datetime import datetime

from ml_connector.sandbox.brex_billing import to_usd_minor
from ml_connector.sandbox.brex_data import CardExpense, CardTransaction
from ml_connector.sandbox.catalog import BASE_CURRENCY, Company, stable_id

EXPENSE_EXPANSIONS = frozenset({"merchant", "department", "location", "user", "receipts.download_uris",
                                "payment", "budget", "policy", "spending_entity"})


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 with an explicit zone, as Brex's examples show (`2019-08-24T14:15:22Z`)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def money(amount_minor: int, currency: str) -> dict:
    return {"amount": amount_minor, "currency": currency}


class BrexRenderer:
    """Turns records into JSON dicts. Holds the id tables that ids in several places must agree on."""

    def __init__(self, company: Company, public_url: str, billing_currency: str = BASE_CURRENCY) -> None:
        self.company = company
        self.public_url = public_url.rstrip("/")
        self.billing_currency = billing_currency
        seed = company.seed
        self.department_ids = {name: stable_id("cudept_", seed, name) for name in company.departments}
        self.location_ids = {name: stable_id("culoc_", seed, name) for name in company.locations}
        self.merchant_ids = {m.name: stable_id("mer_", seed, m.name) for m in company.merchants}
        self.company_id = stable_id("cuacc_", seed, "company")
        self.budget = {"id": stable_id("budget_", seed, "card"), "name": "Company card spend"}
        self.policy = {"id": stable_id("pol_", seed, "default"), "name": "Default expense policy"}

    def receipt_url(self, receipt_id: str) -> str:
        # Brex gives pre-signed S3 links that need no bearer token; ours point at a route of the sandbox.
        return f"{self.public_url}/brex/files/receipts/{receipt_id}.pdf?X-Amz-Expires=900"

    def expense(self, e: CardExpense, expand: frozenset[str]) -> dict:
        user = e.user
        department_id = self.department_ids[user.department]
        location_id = self.location_ids[user.location]
        merchant_id = self.merchant_ids[e.merchant.name]
        with_uris = "receipts.download_uris" in expand
        return {
            "id": e.id,
            "memo": e.memo,
            "location_id": location_id,
            "location": {"id": location_id, "name": user.location} if "location" in expand else None,
            "department_id": department_id,
            "department": {"id": department_id, "name": user.department} if "department" in expand else None,
            "updated_at": timestamp(e.updated_at),
            "payment_posted_at": timestamp(e.payment_posted_at),
            "category": e.category,
            "merchant_id": merchant_id,
            "merchant": self.merchant(e) if "merchant" in expand else None,
            "receipts": [{"id": rid, "download_uris": [self.receipt_url(rid)] if with_uris else None}
                         for rid in e.receipt_ids],
            "budget_id": self.budget["id"],
            "budget": dict(self.budget) if "budget" in expand else None,
            "expense_type": "CARD",
            "original_amount": money(e.purchased_minor, e.currency),
            "purchased_amount": money(e.purchased_minor, e.currency),
            "billing_amount": self.billed(e),
            "budget_amount": self.billed(e),
            "usd_equivalent_amount": money(self.usd_minor(e), BASE_CURRENCY),
            "purchased_at": timestamp(e.purchased_at),
            "status": e.status,
            "payment_status": e.payment_status,
            "user_id": user.user_id,
            "user": {"id": user.user_id, "first_name": user.first_name, "last_name": user.last_name,
                     "department_id": department_id, "location_id": location_id} if "user" in expand else None,
            "payment": self.payment(e) if "payment" in expand else None,
            "approved_at": timestamp(e.approved_at),
            "submitted_at": timestamp(e.submitted_at),
            "exported_at": None,
            "policy": dict(self.policy) if "policy" in expand else None,
            "dashboard_url": f"https://dashboard.brex.com/expenses/{e.id}",
        }

    def billed(self, e: CardExpense) -> dict:
        return money(e.billing_minor, self.billing_currency)

    def usd_minor(self, e: CardExpense) -> int:
        """The expense in USD cents: what it billed when billed in USD, else its purchase converted."""
        if self.billing_currency == BASE_CURRENCY:
            return e.billing_minor
        return to_usd_minor(self.company, e.purchased_minor, e.currency)

    def merchant(self, e: CardExpense) -> dict:
        return {"raw_descriptor": e.merchant.descriptor, "mcc": e.merchant.mcc, "country": e.merchant.country}

    def payment(self, e: CardExpense) -> dict:
        return {"id": stable_id("payment_", self.company.seed, e.id),
                "paymentInstrument": {"type": "CARD", "id": e.card_id},
                "statusReason": "APPROVED"}

    def transaction(self, row: CardTransaction, expand_expense_id: bool) -> dict:
        expense = row.expense
        body = {
            "id": row.id,
            "card_id": expense.card_id if expense else None,
            "description": row.description,
            "amount": money(row.amount_minor, self.billing_currency),
            "initiated_at_date": row.initiated_at.isoformat(),
            "posted_at_date": row.posted_at.isoformat(),
            "type": row.type,
            "merchant": self.merchant(expense) if expense else None,
            "card_metadata": None,
            "card_transaction_operation_reference_id": (
                stable_id("ctop_", self.company.seed, row.id) if expense else None),
        }
        # Brex documents `expand[]=expense_id` as the way to get the link to the expense.
        body["expense_id"] = expense.id if expense and expand_expense_id else None
        return body

    def expense_payment_updated(self, e: CardExpense, overrides: dict) -> dict:
        """An EXPENSE_PAYMENT_UPDATED body (webhooks.yaml `ExpensePaymentUpdated`)."""
        body = {
            "event_type": "EXPENSE_PAYMENT_UPDATED",
            "expense_id": e.id,
            "payment_status": "PENDING",
            "payment_type": "REFUND" if e.is_refund else "PURCHASE",
            "company_id": self.company_id,
            "card_id": e.card_id,
            "merchant": self.merchant(e),
            "payment_description": e.merchant.descriptor,
            "payment_status_reason": "APPROVED",
            "purchased_at": timestamp(e.purchased_at),
            "amount": self.billed(e),
            "original_amount": money(e.purchased_minor, e.currency),
            "billing_amount": self.billed(e),
            "payment_authorization_code": stable_id("", self.company.seed, e.id, "auth", length=6).upper(),
            "version": e.version,
        }
        body.update(overrides)
        return body
