"""Zoho Books v3 as a `Ledger`: reference data, vendors, journals and bills, the posting key in
`reference_number`, and every call with `organization_id` and a fresh `Zoho-oauthtoken`.

Zoho's vocabulary (reference_number, organization_id, customer_id, tag_option_id) stays in this module.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy.engine import Engine

from ml_connector.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from ml_connector.http import HttpClient, RetryPolicy, retry_after_seconds, shared_limiter
from ml_connector.ledgers.zoho_auth import ZohoTokenManager
from ml_connector.models import (
    Account,
    BillDraft,
    CurrencyInfo,
    JournalDraft,
    LedgerLine,
    PostingResult,
    ReferenceData,
    TagOption,
    Vendor,
)
from ml_connector.money import to_decimal
from ml_connector.redact import scrub_text

SYSTEM = "zoho_books"
PER_MINUTE = 100  # requests per minute per organisation (introduction page)
HEADROOM = 0.9  # stay a little under the documented limit
PAGE_SIZE = 200
LOCK_MODULES = ("accountant", "purchase")  # journals, bills


def wire_number(amount: Decimal) -> float | int:
    """A Decimal as a JSON number, refusing any amount a float cannot carry exactly."""
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount.normalize() and Decimal(repr(as_float)) != amount:
        raise ValueError(f"amount {amount} cannot be sent exactly as a JSON number")
    return int(amount) if amount == amount.to_integral_value() else as_float


def classify_zoho(token_holder: dict) -> Any:
    """Turns Zoho's {code, message} answers into the error taxonomy."""

    def classify(response: requests.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code")
        message = scrub_text(str(body.get("message", response.text[:200])), token_holder.get("secrets", ()))
        if status == 429 or code in (44, 45, 1070):
            return RateLimited(f"Zoho Books throttled the request (code {code}): {message}", system="zoho",
                               vendor_code=code, retry_after=retry_after_seconds(response),
                               is_daily_quota=code == 45)
        if status == 401 or code in (14, 57):
            return AuthError(f"Zoho Books refused the access token (code {code}): {message}", system="zoho",
                             status=status, vendor_code=code)
        if status == 404 or code == 1002:
            return NotFound(f"Zoho Books: {message}", system="zoho", vendor_code=code)
        if status >= 500:
            return RetryableError(f"Zoho Books failed on its side ({status}, code {code})", system="zoho",
                                  status=status)
        return ValidationRejected(f"Zoho Books rejected the request (code {code}): {message}", system="zoho",
                                  status=status, vendor_code=code, vendor_message=message)

    return classify


class ZohoBooks:
    """The Zoho Books ledger for one organisation."""

    system = SYSTEM

    def __init__(self, *, tokens: ZohoTokenManager, organization_id: str | None = None,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 per_minute: int = PER_MINUTE) -> None:
        self.tokens = tokens
        self._holder: dict[str, tuple[str, ...]] = {"secrets": ()}
        self.http = HttpClient("zoho", "http://unset", classify=classify_zoho(self._holder),
                               retry=retry or RetryPolicy(), timeout=timeout)
        self._per_minute = max(1, int(per_minute * HEADROOM))
        self.organization_id = organization_id or self._default_organization()
        self.http.limiter = shared_limiter("zoho", self.organization_id, self._per_minute, 60.0)
        self.daily_remaining: int | None = None
        self._currency_ids: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings, engine: Engine, vault=None, run_id: str | None = None,
                      **kwargs: Any) -> ZohoBooks:
        from ml_connector.credentials import resolve_secret

        tokens = ZohoTokenManager(
            engine=engine, accounts_url=settings.zoho_accounts_url, client_id=settings.zoho_client_id or "",
            client_secret=resolve_secret(settings, vault, "zoho", "client_secret") or "",
            refresh_token=resolve_secret(settings, vault, "zoho", "refresh_token") or "",
            allowed_api_domains=settings.allowed_api_domains, vault=vault, run_id=run_id,
            timeout=settings.http_timeout)
        kwargs.setdefault("per_minute", settings.zoho_requests_per_minute)
        kwargs.setdefault("timeout", settings.http_timeout)
        return cls(tokens=tokens, organization_id=settings.zoho_organization_id, **kwargs)

    # -- transport -----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
              files: dict | None = None, with_org: bool = True) -> dict:
        params = dict(params or {})
        if with_org:
            params["organization_id"] = self.organization_id
        for attempt in (1, 2):
            token = self.tokens.token()
            self._holder["secrets"] = self.tokens.secrets
            try:
                response = self.http.request(method, f"/books/v3/{path.lstrip('/')}", params=params, json=json,
                                             files=files, base_url=token.api_domain,
                                             headers={"Authorization": f"Zoho-oauthtoken {token.value}"})
            except AuthError as exc:
                if exc.vendor_code == 57 and attempt == 1:
                    self.tokens.invalidate(token.value)  # expired or revoked early: refresh once, then retry
                    continue
                raise
            remaining = response.headers.get("X-Rate-Limit-Remaining")
            if remaining is not None and remaining.isdigit():
                self.daily_remaining = int(remaining)
            return response.json()
        raise AssertionError("unreachable")

    def _pages(self, path: str, key: str, params: dict | None = None) -> list[dict]:
        items: list[dict] = []
        page = 1
        while True:
            body = self._call("GET", path, params={**(params or {}), "page": page, "per_page": PAGE_SIZE})
            items.extend(body.get(key, []))
            if not body.get("page_context", {}).get("has_more_page"):
                return items
            page += 1

    def _default_organization(self) -> str:
        body = self._call("GET", "organizations", with_org=False)
        organizations = body.get("organizations", [])
        if len(organizations) == 1:
            return str(organizations[0]["organization_id"])
        defaults = [o for o in organizations if o.get("is_default_org")]
        if len(defaults) == 1:
            return str(defaults[0]["organization_id"])
        ids = ", ".join(str(o.get("organization_id")) for o in organizations) or "none"
        raise ConfigError(f"cannot tell which Zoho organisation to post to (found: {ids}).",
                          setting="ML_CONNECTOR_ZOHO_ORGANIZATION_ID", fix="set it to one of those ids")

    # -- reference data ------------------------------------------------------------------------------

    def reference_data(self) -> ReferenceData:
        accounts = tuple(
            Account(account_id=str(a["account_id"]), name=a.get("account_name", ""),
                    code=a.get("account_code") or None, account_type=a.get("account_type", ""),
                    is_active=bool(a.get("is_active", True)))
            for a in self._pages("chartofaccounts", "chartofaccounts", {"filter_by": "AccountType.All"}))
        vendors = tuple(
            Vendor(vendor_id=str(c["contact_id"]), name=c.get("contact_name", ""),
                   is_active=c.get("status", "active") == "active")
            for c in self._pages("contacts", "contacts", {"contact_type": "vendor"}))
        currencies = []
        base = "USD"
        for c in self._call("GET", "settings/currencies").get("currencies", []):
            currencies.append(CurrencyInfo(currency_id=str(c["currency_id"]), code=c["currency_code"],
                                           precision=int(c.get("price_precision", 2)),
                                           is_base=bool(c.get("is_base_currency"))))
            if c.get("is_base_currency"):
                base = c["currency_code"]
        self._currency_ids = {c.code: c.currency_id for c in currencies}
        return ReferenceData(accounts=accounts, vendors=vendors, tag_options=tuple(self._tag_options()),
                             currencies=tuple(currencies), base_currency=base,
                             locked_through=self.locked_through())

    def _tag_options(self) -> list[TagOption]:
        options: list[TagOption] = []
        for tag in self._call("GET", "reportingtags").get("reporting_tags", []):
            tag_id = str(tag["tag_id"])
            body = self._call("GET", "reportingtags/options", params={"tag_id": tag_id})
            flat: list[dict] = []
            stack = list(body.get("tag", {}).get("options", body.get("options", [])))
            while stack:
                option = stack.pop()
                flat.append(option)
                stack.extend(option.get("children", []) or [])
            for option in flat:
                options.append(TagOption(tag_id=tag_id, tag_name=tag.get("tag_name", ""),
                                         option_id=str(option["option_id"]),
                                         option_name=option.get("option_name", ""),
                                         is_mandatory=bool(tag.get("is_mandatory")),
                                         is_active=bool(tag.get("is_active", True))
                                         and bool(option.get("is_active", True))))
        return options

    def locked_through(self) -> date | None:
        """The latest lock date over the modules we post into (journals: accountant, bills: purchase)."""
        body = self._call("GET", "transactionlocks")
        dates = [date.fromisoformat(lock["transaction_lock_date"]) for lock in body.get("transaction_locks", [])
                 if lock.get("transaction_lock_status") in ("enabled", "enabled_with_logging")
                 and lock.get("transaction_lock_module", "accountant") in LOCK_MODULES
                 and lock.get("transaction_lock_date")]
        return max(dates) if dates else None

    def currency_id(self, code: str) -> str:
        if not self._currency_ids:
            self._currency_ids = {c["currency_code"]: str(c["currency_id"])
                                  for c in self._call("GET", "settings/currencies").get("currencies", [])}
        try:
            return self._currency_ids[code]
        except KeyError:
            raise ValidationRejected(f"currency {code} is not enabled in the Zoho organisation; add it under "
                                     f"Settings > Currencies", system="zoho", field="currency_id") from None

    # -- vendors -------------------------------------------------------------------------------------

    def create_vendor(self, name: str) -> Vendor:
        body = self._call("POST", "contacts", json={"contact_name": name[:100], "contact_type": "vendor"})
        contact = body["contact"]
        return Vendor(vendor_id=str(contact["contact_id"]), name=contact.get("contact_name", name))

    def find_vendor(self, name: str) -> Vendor | None:
        body = self._call("GET", "contacts", params={"contact_type": "vendor", "contact_name": name[:100]})
        for contact in body.get("contacts", []):
            if contact.get("contact_name", "").casefold() == name[:100].casefold():
                return Vendor(vendor_id=str(contact["contact_id"]), name=contact["contact_name"])
        return None

    # -- journals and bills --------------------------------------------------------------------------

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        path, key = ("journals", "journals") if kind == "journal" else ("bills", "bills")
        body = self._call("GET", path, params={"reference_number": posting_key})
        for entry in body.get(key, []):
            if entry.get("reference_number") == posting_key:
                entity_id = str(entry["journal_id" if kind == "journal" else "bill_id"])
                number = entry.get("entry_number") if kind == "journal" else entry.get("bill_number")
                return PostingResult(posting_key=posting_key, ledger_entity_id=entity_id, ledger_number=number,
                                     url=self.entry_url(kind, entity_id), was_already_there=True)
        return None

    def post_journal(self, draft: JournalDraft) -> PostingResult:
        body: dict[str, Any] = {
            "journal_date": draft.entry_date.isoformat(),
            "reference_number": draft.posting_key,
            "notes": draft.notes[:500],
            "journal_type": "both",
            "currency_id": self.currency_id(draft.currency),
            "line_items": [self._journal_line(line) for line in draft.lines],
        }
        if draft.exchange_rate is not None:
            body["exchange_rate"] = wire_number(draft.exchange_rate)
        return self._create("journal", draft.posting_key, body)

    @staticmethod
    def _journal_line(line) -> dict[str, Any]:
        item: dict[str, Any] = {"account_id": line.account_id, "debit_or_credit": line.side,
                                "amount": wire_number(line.amount), "description": line.description[:500]}
        if line.vendor_id:
            item["customer_id"] = line.vendor_id  # Zoho's journal lines carry the contact as customer_id
        if line.project_id:
            item["project_id"] = line.project_id
        if line.tags:
            item["tags"] = [{"tag_id": t.tag_id, "tag_option_id": t.option_id} for t in line.tags]
        return item

    def post_bill(self, draft: BillDraft) -> PostingResult:
        body: dict[str, Any] = {
            "vendor_id": draft.vendor_id,
            "bill_number": draft.bill_number,
            "reference_number": draft.posting_key,
            "date": draft.bill_date.isoformat(),
            "currency_id": self.currency_id(draft.currency),
            "notes": draft.notes[:500],
            "line_items": [self._bill_line(line) for line in draft.lines],
        }
        if draft.exchange_rate is not None:
            body["exchange_rate"] = wire_number(draft.exchange_rate)
        return self._create("bill", draft.posting_key, body)

    def _create(self, kind: str, posting_key: str, body: dict[str, Any]) -> PostingResult:
        entry = self._call("POST", f"{kind}s", json=body)[kind]
        entity_id = str(entry[f"{kind}_id"])
        number = entry.get("entry_number" if kind == "journal" else "bill_number")
        return PostingResult(posting_key=posting_key, ledger_entity_id=entity_id, ledger_number=number,
                             url=self.entry_url(kind, entity_id))

    @staticmethod
    def _bill_line(line) -> dict[str, Any]:
        item: dict[str, Any] = {"account_id": line.account_id, "rate": wire_number(line.amount), "quantity": 1,
                                "description": line.description[:500]}
        if line.project_id:
            item["project_id"] = line.project_id
        if line.tags:
            item["tags"] = [{"tag_id": t.tag_id, "tag_option_id": t.option_id} for t in line.tags]
        return item

    def attach_receipt(self, bill_id: str, filename: str, content: bytes, content_type: str) -> None:
        self._call("POST", f"bills/{bill_id}/attachment", files={"attachment": (filename, content, content_type)})

    def posted_lines(self, start: date, end: date, posting_keys: set[str] | None = None) -> list[LedgerLine]:
        """Lines of our journals and bills dated in [start, end], read back one entry at a time."""
        lines: list[LedgerLine] = []
        window = {"date_start": start.isoformat(), "date_end": end.isoformat()}
        for kind, path, key, id_key in (("journal", "journals", "journals", "journal_id"),
                                        ("bill", "bills", "bills", "bill_id")):
            for entry in self._pages(path, key, window):
                reference = entry.get("reference_number") or ""
                if posting_keys is not None and reference not in posting_keys:
                    continue
                full = self._call("GET", f"{path}/{entry[id_key]}")[kind]
                lines.extend(self._read_back(kind, full))
        return lines

    def _read_back(self, kind: str, entry: dict) -> list[LedgerLine]:
        entity_id = str(entry["journal_id" if kind == "journal" else "bill_id"])
        day = date.fromisoformat(entry["journal_date" if kind == "journal" else "date"])
        currency = entry.get("currency_code", "")
        out = []
        for line in entry.get("line_items", []):
            amount = to_decimal(line["amount"] if kind == "journal" else line.get("item_total", line.get("rate")))
            side = line.get("debit_or_credit", "debit") if kind == "journal" else "debit"
            out.append(LedgerLine(ledger_entity_id=entity_id, posting_key=entry.get("reference_number", ""),
                                  entry_date=day, account_id=str(line["account_id"]), side=side, amount=amount,
                                  currency=currency,
                                  tag_option_ids=tuple(str(t.get("tag_option_id")) for t in line.get("tags", []))))
        return out

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        domain = self.tokens.api_domain or ""
        path = "journals" if kind == "journal" else "bills"
        if domain.startswith("https://www.zohoapis."):
            tld = domain.removeprefix("https://www.zohoapis.")
            return f"https://books.zoho.{tld}/app/{self.organization_id}#/{path}/{ledger_entity_id}"
        return f"{domain}/books/v3/{path}/{ledger_entity_id}?organization_id={self.organization_id}"
