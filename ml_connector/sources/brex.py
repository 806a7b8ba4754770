"""Brex as a source of spend: settled card transactions joined with their expenses.

Each record carries amount and date from the settled transaction, and category, memo, department,
location, approval and receipts from the expense. Money arrives in minor units and becomes Decimal here.
Brex's vocabulary (expand[], posted_at_date, billing_amount) stays in this module. The client also
reads accounting records (by id, or those ready for export) and reports export results to Brex
(accounting.yaml), lists and creates vendors (payments.yaml), and manages webhook subscriptions and
secrets (webhooks.yaml).

Export results: Brex answers a batch with 404 `NOT_FOUND` (`details.not_found_export_entry_source_ids`) or 422
`ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT` / `DUPLICATE_ACCOUNTING_RECORD_IDS` naming the records it refused.
Those answers are data about records, not failures of the call, so they come back as an `ExportAnswer`.
Whether Brex applied the rest of a refused batch is not documented: the caller treats it as not applied
and sends the rest again (a result that did land then answers "not ready", and is checked by reading the
record back).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import requests
from sqlalchemy.engine import Engine

from ml_connector.errors import AuthError, ConfigError, ConnectorError
from ml_connector.http import HttpClient, RetryPolicy, default_classifier, shared_limiter
from ml_connector.mapping.frames import RECORD_OBJECT_FIELDS, RECORD_TEXT_FIELDS, records_frame_of_columns
from ml_connector.models import SpendRecord
from ml_connector.money import from_minor_units
from ml_connector.store.rate_budget import StoreRateBudget

SPEND_TYPES = ("PURCHASE", "REFUND", "CHARGEBACK")
APPROVED_STATUSES = ("APPROVED", "SETTLED")
EXPANSIONS = ("merchant", "department", "location", "user", "receipts.download_uris", "payment")
PRIMARY_CARD_ACCOUNT = "primary"
PER_MINUTE = 1000  # per client and account (Brex rate limits page)
TRANSACTIONS_PAGE, EXPENSES_PAGE = 1000, 100  # the documented maxima
ACCOUNTING_IDS_PER_CALL = 500  # `ids` takes at most 500 values, and a page at most 500 records
VENDORS_PAGE = 1000  # the generic page cap
# Export-result answers about records rather than about the call (accounting.yaml, reportAccountingExportResults).
REFUSED_RECORDS = {"NOT_FOUND": "not_found_export_entry_source_ids",
                   "ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT": "not_ready_for_export_accounting_record_ids",
                   "DUPLICATE_ACCOUNTING_RECORD_IDS": "duplicate_accounting_record_ids"}


@dataclass(frozen=True)
class ExportAnswer:
    """What Brex said to one batch of export results: processed (200), or refused naming records (404/422)."""

    refused: bool = False
    updated: list[str] = field(default_factory=list)  # 200: the records Brex updated
    not_found: list[str] = field(default_factory=list)  # 404: records Brex does not know
    not_ready: list[str] = field(default_factory=list)  # 422: records no longer READY_FOR_EXPORT
    duplicates: list[str] = field(default_factory=list)  # 422: ids sent as both success and failure


def _record_answers(response: requests.Response) -> ConnectorError | None:
    """Let Brex's per-record refusals of an export batch through as answers; everything else as usual."""
    if response.status_code in (404, 422):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance((body.get("details") or {}).get(
                REFUSED_RECORDS.get(str(body.get("error_code")), "")), list):
            return None
    return default_classifier("brex")(response)


class BrexAuth:
    """A static user token, or OAuth2 access tokens refreshed before they expire."""

    def __init__(self, *, api_token: str | None = None, token_url: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, refresh_token: str | None = None) -> None:
        if not api_token and not (client_id and client_secret and refresh_token):
            raise ConfigError("no Brex credentials are set.", setting="ML_CONNECTOR_BREX_API_TOKEN",
                              fix="set ML_CONNECTOR_BREX_API_TOKEN (a user token), or the OAuth2 trio "
                                  "ML_CONNECTOR_BREX_CLIENT_ID / _CLIENT_SECRET / _REFRESH_TOKEN")
        self._static = api_token
        self._token_url = token_url
        self._client_id, self._client_secret, self._refresh_token = client_id, client_secret, refresh_token
        self._access: tuple[str, datetime] | None = None
        self._lock = threading.Lock()
        self._http = HttpClient("brex-oauth", token_url or "http://unset", retry=RetryPolicy(max_attempts=3))

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def token(self) -> str:
        if self._static:
            return self._static
        with self._lock:
            now = datetime.now(UTC)
            if self._access is None or now >= self._access[1]:
                self._access = self._refresh(now)
            return self._access[0]

    def forget(self) -> bool:
        """Drop an OAuth access token the API refused; False for a static token (nothing to refresh)."""
        if self._static:
            return False
        self._access = None
        return True

    def _refresh(self, now: datetime) -> tuple[str, datetime]:
        # The configured URL exactly: joining a path onto it would add a trailing slash, which Brex's
        # token endpoint does not serve.
        body = self._http.request("POST", self._token_url or "", data={
            "grant_type": "refresh_token", "refresh_token": self._refresh_token, "client_id": self._client_id,
            "client_secret": self._client_secret}, is_idempotent=True).json()
        if "access_token" not in body:
            raise AuthError("Brex refused the OAuth2 refresh token. Fix: reconnect the Brex app and set "
                            "ML_CONNECTOR_BREX_REFRESH_TOKEN", system="brex")
        if body.get("refresh_token"):
            self._refresh_token = body["refresh_token"]  # Brex may rotate refresh tokens
        lifetime = int(body.get("expires_in", 3600))
        return body["access_token"], now + timedelta(seconds=lifetime - min(300, lifetime // 12))


class BrexClient:
    def __init__(self, base_url: str, auth: BrexAuth, *, account_key: str = "default",
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 engine: Engine | None = None) -> None:
        self.auth = auth
        # With a store, one budget for every process reading this Brex account; without one, this process's.
        limiter = (StoreRateBudget(engine, "brex", account_key, PER_MINUTE, 60.0) if engine is not None
                   else shared_limiter("brex", account_key, int(PER_MINUTE * 0.9), 60))
        self.http = HttpClient("brex", base_url, limiter=limiter, retry=retry, timeout=timeout)
        self._export_http = HttpClient("brex", base_url, limiter=limiter, retry=retry, timeout=timeout,
                                       classify=_record_answers)

    @classmethod
    def from_settings(cls, settings, vault=None, **kwargs: Any) -> BrexClient:
        from ml_connector.credentials import resolve_secret

        auth = BrexAuth(api_token=resolve_secret(settings, vault, "brex", "api_token"),
                        token_url=settings.brex_token_url, client_id=settings.brex_client_id,
                        client_secret=resolve_secret(settings, vault, "brex", "client_secret"),
                        refresh_token=resolve_secret(settings, vault, "brex", "refresh_token"))
        kwargs.setdefault("timeout", settings.http_timeout)
        return cls(settings.brex_base_url, auth, **kwargs)

    def _get(self, path: str, params: list[tuple[str, Any]] | None = None) -> dict:
        for attempt in (1, 2):
            try:
                return self.http.request("GET", path, params=params, headers=self.auth.header()).json()
            except AuthError:
                if attempt == 1 and self.auth.forget():
                    continue
                raise
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, body: dict, headers: dict[str, str] | None = None,
              http: HttpClient | None = None) -> dict:
        """A write that is safe to repeat: a PUT, or a POST carrying an Idempotency-Key Brex deduplicates (or
        whose repetition Brex answers per record, as export results)."""
        for attempt in (1, 2):
            try:
                return (http or self.http).request(method, path, json=body, is_idempotent=True,
                                                   headers={**self.auth.header(), **(headers or {})}).json()
            except AuthError:
                if attempt == 1 and self.auth.forget():
                    continue
                raise
        raise AssertionError("unreachable")

    def _pages(self, path: str, params: list[tuple[str, Any]]) -> Iterator[dict]:
        cursor = None
        while True:
            body = self._get(path, params + ([("cursor", cursor)] if cursor else []))
            yield from body.get("items", [])
            cursor = body.get("next_cursor")
            if not cursor:
                return

    # -- reads ---------------------------------------------------------------------------------------

    def card_transactions(self, start: date, end: date) -> list[dict]:
        """Settled card transactions posted in [start, end] (the API filters only the start)."""
        return list(self.iter_card_transactions(start, end))

    def iter_card_transactions(self, start: date, end: date) -> Iterator[dict]:
        """`card_transactions`, a page at a time."""
        params = [("limit", TRANSACTIONS_PAGE), ("posted_at_start", f"{start.isoformat()}T00:00:00Z"),
                  ("expand[]", "expense_id")]
        return (t for t in self._pages("/v2/transactions/card/primary", params)
                if start <= date.fromisoformat(t["posted_at_date"]) <= end)

    def expenses(self, start: date, end: date) -> list[dict]:
        """Card expenses whose payment posted in [start, end], with every expansion the mapping uses."""
        return list(self.iter_expenses(start, end))

    def iter_expenses(self, start: date, end: date) -> Iterator[dict]:
        """`expenses`, a page at a time."""
        params: list[tuple[str, Any]] = [("limit", EXPENSES_PAGE), ("expense_type[]", "CARD"),
                                         ("payment_posted_at_start", f"{start.isoformat()}T00:00:00Z"),
                                         ("payment_posted_at_end", f"{end.isoformat()}T23:59:59.999Z")]
        params += [("expand[]", e) for e in EXPANSIONS]
        return self._pages("/v1/expenses", params)

    def expense(self, expense_id: str) -> dict:
        """One expense with every expansion; NotFound when Brex no longer has it."""
        return self._get(f"/v1/expenses/{expense_id}", [("expand[]", e) for e in EXPANSIONS])

    def accounting_records(self, record_ids: list[str]) -> list[dict]:
        """Accounting records by id (Accounting API, Alpha); ids Brex does not know are simply absent."""
        records: list[dict] = []
        unique = list(dict.fromkeys(record_ids))
        for start in range(0, len(unique), ACCOUNTING_IDS_PER_CALL):
            chunk = unique[start:start + ACCOUNTING_IDS_PER_CALL]
            params: list[tuple[str, Any]] = [("limit", ACCOUNTING_IDS_PER_CALL)] + [("ids", i) for i in chunk]
            records.extend(self._pages("/v3/accounting/records", params))
        return records

    def accounting_records_ready(self, source_type: str = "CARD") -> list[dict]:
        """Every accounting record of `source_type` in review status READY_FOR_EXPORT (Accounting API, Alpha:
        403 or 404 when the account has no access)."""
        params: list[tuple[str, Any]] = [("limit", ACCOUNTING_IDS_PER_CALL), ("review_status", "READY_FOR_EXPORT"),
                                         ("source_type", source_type)]
        return list(self._pages("/v3/accounting/records", params))

    def report_export_results(self, results: list[dict]) -> ExportAnswer:
        """`POST /v3/accounting/records/export-results` for one batch (at least one result)."""
        body = self._send("POST", "/v3/accounting/records/export-results", {"results": results},
                          http=self._export_http)
        if "updated_accounting_record_ids" in body:
            return ExportAnswer(updated=list(body["updated_accounting_record_ids"]))
        details = body.get("details") or {}
        ids = {code: list(details.get(key) or []) for code, key in REFUSED_RECORDS.items()}
        return ExportAnswer(refused=True, not_found=ids["NOT_FOUND"],
                            not_ready=ids["ACCOUNTING_RECORD_NOT_READY_FOR_EXPORT"],
                            duplicates=ids["DUPLICATE_ACCOUNTING_RECORD_IDS"])

    # -- vendors -------------------------------------------------------------------------------------

    def vendors(self) -> list[dict]:
        """Every vendor of the account: `{id, company_name, ...}`."""
        return list(self._pages("/v1/vendors", [("limit", VENDORS_PAGE)]))

    def vendor(self, vendor_id: str) -> dict:
        """One vendor; NotFound when Brex no longer has it."""
        return self._get(f"/v1/vendors/{vendor_id}")

    def create_vendor(self, company_name: str, idempotency_key: str) -> dict:
        """`POST /v1/vendors`: Brex requires an Idempotency-Key and a unique, ASCII `company_name`."""
        return self._send("POST", "/v1/vendors", {"company_name": company_name},
                          headers={"Idempotency-Key": idempotency_key})

    # -- webhooks ------------------------------------------------------------------------------------

    def webhook_secrets(self) -> list[dict]:
        """`[{secret, status: ACTIVE|PENDING_REVOKE|REVOKED}]`: a bare array, not a page."""
        return list(self._get("/v1/webhooks/secrets"))

    def webhook_subscriptions(self) -> list[dict]:
        return list(self._pages("/v1/webhooks", [("limit", 100)]))

    def create_webhook_subscription(self, url: str, event_types: list[str], idempotency_key: str) -> dict:
        return self._send("POST", "/v1/webhooks", {"url": url, "event_types": event_types},
                          headers={"Idempotency-Key": idempotency_key})

    def update_webhook_subscription(self, subscription_id: str, url: str, event_types: list[str],
                                    status: str = "ACTIVE") -> dict:
        return self._send("PUT", f"/v1/webhooks/{subscription_id}",
                          {"url": url, "event_types": event_types, "status": status})


def _name(person: dict | None) -> str | None:
    if not person:
        return None
    return " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p) or None


def join_records(transactions: list[dict], expenses_by_id: dict[str, dict]) -> tuple[list[SpendRecord], list[dict]]:
    """Spend records from settled transactions and their expenses; transactions with no expense are returned
    separately (a record cannot be coded without one, so it is held, never dropped)."""
    joined, orphans = _joined(transactions, expenses_by_id)
    return [SpendRecord(**record_fields(txn, expense)) for txn, expense in joined], orphans


def spend_frame(transactions: list[dict], expenses_by_id: dict[str, dict]) -> tuple[pd.DataFrame, list[dict]]:
    """`join_records` as the columns the mapping joins (`mapping.frames.records_frame`, versions included),
    built in one pass over the API's rows: the same values, without a model object per record."""
    joined, orphans = _joined(transactions, expenses_by_id)
    names = (*RECORD_TEXT_FIELDS, *RECORD_OBJECT_FIELDS)
    columns: dict[str, list] = {name: [] for name in names}
    appenders = [(name, columns[name].append) for name in names]
    for txn, expense in joined:
        fields = record_fields(txn, expense)
        for name, append in appenders:
            append(fields.get(name))
    return records_frame_of_columns(columns), orphans


def _joined(transactions: list[dict], expenses_by_id: dict[str, dict]) -> tuple[list[tuple[dict, dict]], list[dict]]:
    joined: list[tuple[dict, dict]] = []
    orphans: list[dict] = []
    for txn in transactions:
        if txn.get("type") not in SPEND_TYPES:
            continue  # card payments, rewards and fees are not spend
        expense = expenses_by_id.get(txn.get("expense_id") or "")
        if expense is None:
            orphans.append(txn)
            continue
        joined.append((txn, expense))
    return joined, orphans


def record_fields(txn: dict, expense: dict) -> dict[str, Any]:
    """One spend record's fields, from a settled transaction and its expense."""
    settled = txn["amount"]
    settled_amount = from_minor_units(settled["amount"], settled.get("currency") or "USD")
    original = expense.get("original_amount") or expense.get("purchased_amount") or settled
    currency = original.get("currency") or "USD"
    sign = Decimal(-1) if settled_amount < 0 else Decimal(1)
    amount = abs(from_minor_units(original["amount"], currency)) * sign
    rate = None
    if currency != (settled.get("currency") or "USD") and amount:
        rate = (abs(settled_amount) / abs(amount)).quantize(Decimal("0.000001"))
    receipts = tuple(uri for receipt in expense.get("receipts") or [] for uri in receipt.get("download_uris") or [])
    merchant_info = expense.get("merchant") or txn.get("merchant") or {}
    merchant = merchant_info.get("raw_descriptor") or txn.get("description", "")
    user = expense.get("user")
    return dict(
        source="brex", source_id=expense["id"], parent_id=txn["id"],
        record_date=date.fromisoformat(txn["posted_at_date"]), merchant=merchant, amount=amount,
        currency=currency.upper(), exchange_rate=rate, original_amount=settled_amount if rate else None,
        original_currency=(settled.get("currency") or "USD").upper() if rate else None,
        category=expense.get("category"), department=(expense.get("department") or {}).get("name"),
        location=(expense.get("location") or {}).get("name"), employee_id=expense.get("user_id"),
        # Every row of /v2/transactions/card/primary belongs to the company's primary card account (one
        # liability in the ledger); the card itself is the employee's, kept in tags.
        employee_name=_name(user), card_account=PRIMARY_CARD_ACCOUNT, tags={"card_id": txn.get("card_id") or ""},
        memo=expense.get("memo"),
        receipt_urls=receipts, source_url=expense.get("dashboard_url"), status=expense.get("status"),
        approved_at=_timestamp(expense.get("approved_at")), updated_at=_timestamp(expense.get("updated_at")))


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fetch_month(client: BrexClient, start: date, end: date) -> tuple[pd.DataFrame, list[dict], dict[str, int]]:
    """The month's spend records (as columns: `spend_frame`), the settled transactions that have no expense, and
    fetch counts."""
    # Each row is cut to the fields a record is made of as its page arrives, so a month never holds the API's
    # whole answers (an expense with its expansions is several times the size of what the ledger needs).
    transactions = [_kept(t, TRANSACTION_FIELDS) for t in client.iter_card_transactions(start, end)]
    expenses_by_id = {e["id"]: _kept(e, EXPENSE_FIELDS) for e in client.iter_expenses(start, end)}
    # A transaction posted this month whose expense's payment posted on another day: fetch it alone.
    for txn in transactions:
        expense_id = txn.get("expense_id")
        if expense_id and expense_id not in expenses_by_id and txn.get("type") in SPEND_TYPES:
            expenses_by_id[expense_id] = _kept(client.expense(expense_id), EXPENSE_FIELDS)
    records, orphans = spend_frame(transactions, expenses_by_id)
    return records, orphans, {"card_transactions": len(transactions), "expenses": len(expenses_by_id)}


# What `record_fields` reads of a card transaction and of an expense (of an expansion: the fields named).
TRANSACTION_FIELDS = {"id": None, "type": None, "expense_id": None, "amount": None, "posted_at_date": None,
                      "merchant": ("raw_descriptor",), "description": None, "card_id": None}
EXPENSE_FIELDS = {"id": None, "original_amount": None, "purchased_amount": None, "receipts": ("download_uris",),
                  "merchant": ("raw_descriptor",), "user": ("first_name", "last_name"), "category": None,
                  "department": ("name",), "location": ("name",), "user_id": None, "memo": None,
                  "dashboard_url": None, "status": None, "approved_at": None, "updated_at": None}


def _kept(row: dict, fields: dict[str, tuple[str, ...] | None]) -> dict:
    kept = {}
    for name, inner in fields.items():
        if name not in row:
            continue
        value = row[name]
        if inner is not None and isinstance(value, dict):
            value = {k: value[k] for k in inner if k in value}
        elif inner is not None and isinstance(value, list):
            value = [{k: v[k] for k in inner if k in v} if isinstance(v, dict) else v for v in value]
        kept[name] = value
    return kept
