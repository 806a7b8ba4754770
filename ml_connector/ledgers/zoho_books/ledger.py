"""Zoho Books v3 as a `Ledger`: reference data, vendors, journals and bills with the posting key in
`reference_number`, list pages for the read-back, receipts as bill attachments.

Calls per posted entry: one POST (its answer carries the saved entry, so no read-back GET), and for the
tie-out one list page per 200 entries; an entry is read again only when its list row changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.errors import NotFound, ValidationRejected
from ml_connector.http import RetryPolicy
from ml_connector.ledgers.base import ApiLedger, Capabilities
from ml_connector.ledgers.zoho_books.auth import zoho_tokens
from ml_connector.ledgers.zoho_books.client import ZohoApi
from ml_connector.ledgers.zoho_books.wire import bill_body, entity_id, journal_body, saved_lines, summary
from ml_connector.models import (
    Account,
    BusinessLocation,
    CurrencyInfo,
    Draft,
    EntrySummary,
    PostingResult,
    ReferenceData,
    TagOption,
    TaxCode,
    Vendor,
)
from ml_connector.money import to_decimal
from ml_connector.store.rate_budget import StoreRateBudget
from ml_connector.store.target import LedgerTarget

SYSTEM = "zoho_books"
LOCK_MODULES = ("accountant", "purchase")  # journals, bills
CAPABILITIES = Capabilities(
    display_name="Zoho Books", key_field="reference_number", key_length=50, native_idempotency="none",
    text_limit=500, dimension_slots=("line_tags",), attachment_max_bytes=5 * 1024 * 1024,
    attachment_types=("application/pdf", "image/png", "image/jpeg", "image/gif", "image/bmp"),
    vendor_names_unique=True, bill_numbers_unique=True, requests_per_minute=100, requests_per_day=5000)
_PATHS = {"journal": "journals", "bill": "bills"}


class ZohoBooks(ApiLedger):
    """The Zoho Books ledger for one organisation."""

    system = SYSTEM
    capabilities = CAPABILITIES

    def __init__(self, api: ZohoApi, engine: Engine, *, organization_id: str | None = None,
                 per_minute: int = 100, headroom: float = 0.9, cache_seconds: float = 600.0) -> None:
        self.api = api
        self.engine = engine
        api.organization_id = organization_id or api.default_organization()
        self.organization_id = api.organization_id
        self._target = LedgerTarget(SYSTEM, self.organization_id)
        # One budget per organisation, shared through the store by every process posting to it.
        api.http.limiter = StoreRateBudget(engine, "zoho", self.organization_id, per_minute, 60.0, headroom=headroom)
        self.cache_age = timedelta(seconds=cache_seconds)
        self._currency_ids: dict[str, str] = {}
        self._tax_rates: dict = {}

    @classmethod
    def from_settings(cls, settings, engine: Engine, vault=None, run_id: str | None = None,
                      retry: RetryPolicy | None = None) -> ZohoBooks:
        from ml_connector.credentials import resolve_secret

        tokens = zoho_tokens(engine=engine, accounts_url=settings.zoho_accounts_url,
                             client_id=settings.zoho_client_id or "",
                             client_secret=resolve_secret(settings, vault, "zoho", "client_secret") or "",
                             refresh_token=resolve_secret(settings, vault, "zoho", "refresh_token") or "",
                             allowed_api_domains=settings.allowed_api_domains, run_id=run_id,
                             timeout=settings.http_timeout)
        api = ZohoApi(tokens, retry=retry, timeout=settings.http_timeout)
        return cls(api, engine, organization_id=settings.zoho_organization_id,
                   per_minute=settings.zoho_requests_per_minute, cache_seconds=settings.reference_cache_seconds)

    # -- reference data ------------------------------------------------------------------------------

    def reference_data(self) -> ReferenceData:
        accounts = self._cached("accounts", lambda: list(self.api.pages(
            "chartofaccounts", "chartofaccounts", {"filter_by": "AccountType.All"})))
        currencies = self._cached("currencies", lambda: self.api.call("GET", "settings/currencies")
                                  .get("currencies", []))
        tags = self._cached("tags", self._tag_options_wire)
        vendors = [Vendor(vendor_id=str(c["contact_id"]), name=c.get("contact_name", ""),
                          is_active=c.get("status", "active") == "active")
                   for c in self.api.pages("contacts", "contacts", {"contact_type": "vendor"})]
        infos = [CurrencyInfo(currency_id=str(c["currency_id"]), code=c["currency_code"],
                              precision=int(c.get("price_precision", 2)), is_base=bool(c.get("is_base_currency")))
                 for c in currencies]
        self._currency_ids = {c.code: c.currency_id for c in infos}
        # An organisation without VAT answers no taxes (the recorded US org), and one location or none when
        # the locations feature is off: then neither is asked of the lines.
        # taxes.yml declares no filter for the list (only pages), which answers the active taxes: a rule naming
        # an inactive one finds no tax of that name.
        taxes = self._cached("taxes", lambda: list(self.api.pages("settings/taxes", "taxes")))
        locations = self._cached("locations", lambda: self.api.call("GET", "locations").get("locations", []))
        tax_codes = tuple(TaxCode(tax_code_id=str(t["tax_id"]), name=t.get("tax_name", ""),
                                  rate=to_decimal(t.get("tax_percentage", 0)),
                                  is_active=t.get("status", "active") == "active") for t in taxes)
        places = tuple(BusinessLocation(location_id=str(loc["location_id"]), name=loc.get("location_name", ""),
                                        is_active=loc.get("status", "active") == "active") for loc in locations)
        self._tax_rates = {t.tax_code_id: t.rate for t in tax_codes}
        return ReferenceData(
            tax_codes=tax_codes, tax_required=any(t.is_active for t in tax_codes), locations=places,
            location_required=sum(1 for loc in places if loc.is_active) > 1,
            journal_tax_basis="net", bill_tax_basis="gross",
            accounts=tuple(Account(account_id=str(a["account_id"]), name=a.get("account_name", ""),
                                   code=a.get("account_code") or None, account_type=a.get("account_type", ""),
                                   is_active=bool(a.get("is_active", True))) for a in accounts),
            vendors=tuple(vendors), tag_options=tuple(TagOption(**t) for t in tags), currencies=tuple(infos),
            base_currency=next((c.code for c in infos if c.is_base), "USD"), locked_through=self.locked_through())

    def preflight(self, mapped: pd.DataFrame, reference: ReferenceData) -> pd.DataFrame:
        """Nothing Zoho-specific to hold: locks, accounts, currencies and mandatory tags are mapping's checks."""
        return pd.DataFrame(columns=["source_id", "reason", "reason_text"])

    def posting_advice(self, drafts: Sequence[Draft]) -> list[str]:
        calls = len(drafts) + 20  # a POST per entry, and a few list pages and reference reads
        if self.capabilities.requests_per_day and calls > self.capabilities.requests_per_day:
            return [f"{len(drafts)} entries need about {calls} Zoho calls; the organisation's plan allows "
                    f"{self.capabilities.requests_per_day} a day, so posting continues the next day. Brex posting_mode "
                    f"per_day needs far fewer entries."]
        return []

    def _tag_options_wire(self) -> list[dict]:
        options: list[dict] = []
        for tag in self.api.call("GET", "reportingtags").get("reporting_tags", []):
            tag_id = str(tag["tag_id"])
            body = self.api.call("GET", "reportingtags/options", params={"tag_id": tag_id})
            stack = list(body.get("tag", {}).get("options", body.get("options", [])))
            while stack:
                option = stack.pop()
                stack.extend(option.get("children", []) or [])
                options.append({"tag_id": tag_id, "tag_name": tag.get("tag_name", ""),
                                "option_id": str(option["option_id"]), "option_name": option.get("option_name", ""),
                                "is_mandatory": bool(tag.get("is_mandatory")),
                                "is_active": bool(tag.get("is_active", True)) and bool(option.get("is_active", True))})
        return options

    def locked_through(self) -> date | None:
        """The latest lock date over the modules we post into (journals: accountant, bills: purchase)."""
        body = self.api.call("GET", "transactionlocks")
        dates = [date.fromisoformat(lock["transaction_lock_date"]) for lock in body.get("transaction_locks", [])
                 if lock.get("transaction_lock_status") in ("enabled", "enabled_with_logging")
                 and lock.get("transaction_lock_module", "accountant") in LOCK_MODULES
                 and lock.get("transaction_lock_date")]
        return max(dates) if dates else None

    def _load_currencies(self) -> None:
        currencies = self._cached("currencies", lambda: self.api.call("GET", "settings/currencies")
                                  .get("currencies", []))
        self._currency_ids = {c["currency_code"]: str(c["currency_id"]) for c in currencies}

    def currency_id(self, code: str) -> str:
        if not self._currency_ids:
            self._load_currencies()
        try:
            return self._currency_ids[code]
        except KeyError:
            raise ValidationRejected(f"currency {code} is not enabled in the Zoho organisation; add it under "
                                     f"Settings > Currencies", system="zoho", field="currency_id") from None

    # -- vendors -------------------------------------------------------------------------------------

    def create_vendor(self, name: str) -> Vendor:
        contact = self.api.call("POST", "contacts", json={"contact_name": name[:100], "contact_type": "vendor"})[
            "contact"]
        return Vendor(vendor_id=str(contact["contact_id"]), name=contact.get("contact_name", name))

    def find_vendor(self, name: str) -> Vendor | None:
        body = self.api.call("GET", "contacts", params={"contact_type": "vendor", "contact_name": name[:100]})
        for contact in body.get("contacts", []):
            if contact.get("contact_name", "").casefold() == name[:100].casefold():
                return Vendor(vendor_id=str(contact["contact_id"]), name=contact["contact_name"])
        return None

    # -- entries -------------------------------------------------------------------------------------

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        body = self.api.call("GET", _PATHS[kind], params={"reference_number": posting_key})
        for entry in body.get(_PATHS[kind], []):
            if entry.get("reference_number") == posting_key:
                return self._result(kind, entry, was_already_there=True, with_lines=False)
        return None

    def post(self, draft: Draft) -> PostingResult:
        currency_id = self.currency_id(draft.currency)
        if draft.kind == "journal":
            body = journal_body(draft, currency_id, self._rates_for(draft))
        else:
            body = bill_body(draft, currency_id)
        entry = self.api.call("POST", _PATHS[draft.kind], json=body)[draft.kind]
        return self._result(draft.kind, entry, currency=draft.currency)

    def _rates_for(self, draft: Draft) -> dict:
        """Tax percentages of the draft's tax codes (read with the reference data, or now)."""
        if any(line.tax_code_id and line.tax_code_id not in self._tax_rates for line in draft.lines):
            self.reference_data()
        return self._tax_rates

    def _result(self, kind: str, entry: dict, *, was_already_there: bool = False, with_lines: bool = True,
                currency: str | None = None) -> PostingResult:
        ident = entity_id(kind, entry)
        code = currency or entry.get("currency_code") or ""
        total = entry.get("total")
        return PostingResult(
            posting_key=entry.get("reference_number") or "", ledger_entity_id=ident,
            ledger_number=entry.get("entry_number") if kind == "journal" else entry.get("bill_number"),
            url=self.entry_url(kind, ident), was_already_there=was_already_there,
            lines=saved_lines(kind, entry, code) if with_lines and "line_items" in entry else None,
            modified_at=entry.get("last_modified_time"), total=None if total in (None, "") else to_decimal(total))

    def list_entries(self, start: date, end: date, kinds: tuple[str, ...] = ("journal", "bill")) -> list[EntrySummary]:
        window = {"date_start": start.isoformat(), "date_end": end.isoformat()}
        if "journal" in kinds and not self._currency_ids:
            self._load_currencies()  # journal rows name their currency by id
        codes = {v: k for k, v in self._currency_ids.items()}
        rows = []
        if "journal" in kinds:
            rows += [summary("journal", row, row.get("currency_code") or codes.get(str(row.get("currency_id")), ""))
                     for row in self.api.pages("journals", "journals", window)]
        if "bill" in kinds:
            rows += [summary("bill", row, row.get("currency_code") or "")
                     for row in self.api.pages("bills", "bills", window)]
        return rows

    def read_entry(self, kind: str, ledger_entity_id: str) -> PostingResult | None:
        try:
            entry = self.api.call("GET", f"{_PATHS[kind]}/{ledger_entity_id}")[kind]
        except NotFound:
            return None
        return self._result(kind, entry)

    def attachment_names(self, kind: str, ledger_entity_id: str) -> list[str]:
        entry = self.api.call("GET", f"{_PATHS[kind]}/{ledger_entity_id}")[kind]
        return [str(d.get("file_name", "")) for d in entry.get("documents", [])]

    def attach_receipt(self, kind: str, ledger_entity_id: str, filename: str, content: bytes,
                       content_type: str) -> None:
        if kind != "bill":
            raise ValidationRejected("Zoho Books attachments are kept on bills here", system="zoho")
        self.api.call("POST", f"bills/{ledger_entity_id}/attachment",
                      files={"attachment": (filename, content, content_type)})

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        current = self.api.tokens.current
        domain = current.api_domain if current and current.api_domain else ""
        path = _PATHS[kind]
        if domain.startswith("https://www.zohoapis."):
            tld = domain.removeprefix("https://www.zohoapis.")
            return f"https://books.zoho.{tld}/app/{self.organization_id}#/{path}/{ledger_entity_id}"
        return f"{domain}/books/v3/{path}/{ledger_entity_id}?organization_id={self.organization_id}"

