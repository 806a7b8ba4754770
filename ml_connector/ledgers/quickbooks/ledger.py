"""QuickBooks Online as a `Ledger`: reference data, vendors, journal entries and bills with the posting key in
`DocNumber`, query pages for the read-back, receipts uploaded as Attachables.

Calls per posted entry: one POST (its answer is the saved entity, lines included, so no read-back GET), one
upload per receipt, and for the tie-out one query page per 1000 entries of each kind; an entry is read again
only when its `MetaData.LastUpdatedTime` changed. Reference data costs a Preferences read and the vendor pages
every time, and accounts, classes, departments, currencies (and in a VAT company its tax codes and rates) when
the store's cache (`reference_cache`) is older than `cache_seconds`.

VAT and business locations (see `tax` and `preflight`): a company outside the US with tax on needs a tax code
on every expense line (`ReferenceData.tax_required`); journals add VAT to a net ("net" basis), bills are tax
inclusive ("gross"). When it also tracks departments, they are its business locations
(`ReferenceData.locations`, every entry needs one) and its header department is read back as the entry's
location rather than a dimension; which of the two a company does is kept in the store's cache with the
company's other facts, so a process that only reads back learns it without another Preferences read.

requestid. Every create carries `requestid` = the compact key, a generation number, and a digest of the body.
Intuit answers a requestid it has seen "with the same response as it did for the original request" instead
of executing it again, for a window it does not document (notes section 6):
- After a lost answer (`Uncertain`) the protocol searches for the DocNumber first and resends only when the
  search finds nothing; the resend is the same body under the same requestid, so should the first attempt have
  landed unseen (a search that lags, a company that allows duplicate DocNumbers), Intuit answers with the entry
  it already made instead of making a second one. The search and the requestid guard the same resend twice.
- A rejected attempt (a closed period, an inactive account, a vendor in another currency) would be answered
  with the same rejection if the same requestid were sent again after a person fixed the cause, so a
  rejection moves the key to the next generation (kept in the store, so every process sees it): the next
  attempt is evaluated afresh. A changed body (the mapping now names another account) has a new digest anyway.
- A 6140 (the DocNumber is taken) means the entry is already there (made by a run whose store was lost, or by
  another deployment): it is found by key and answered as found, never posted twice.
Vendor creates and uploads carry a fresh requestid each (as Intuit's SDKs do): `vendors` and `receipts` look
before they resend, and a rejection there must not be replayed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import date, timedelta
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.errors import NotFound, ValidationRejected
from ml_connector.http import RetryPolicy
from ml_connector.ledgers.base import ApiLedger, Capabilities
from ml_connector.ledgers.quickbooks.auth import quickbooks_tokens, require_realm
from ml_connector.ledgers.quickbooks.client import QuickBooksApi, quoted
from ml_connector.ledgers.quickbooks.preflight import COLUMNS, CompanySettings, bill_vendors_to_check, holds
from ml_connector.ledgers.quickbooks.tax import purchase_codes, tax_code_models
from ml_connector.ledgers.quickbooks.wire import (
    CLASS,
    DEPARTMENT,
    ENTITY,
    TAG_NAMES,
    bill_body,
    entity_id,
    entry_total,
    is_void,
    journal_body,
    modified_at,
    option_id,
    posting_key_of,
    saved_lines,
    summary,
)
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
from ml_connector.money import CURRENCY_PRECISION, precision
from ml_connector.posting_keys import compact
from ml_connector.store import reference_cache
from ml_connector.store.rate_budget import StoreRateBudget
from ml_connector.store.target import LedgerTarget

SYSTEM = "quickbooks"
VENDOR_IDS_PER_QUERY = 100  # keeps a query's text well under the URL lengths Intuit serves
CAPABILITIES = Capabilities(
    display_name="QuickBooks Online", key_field="DocNumber", key_length=21, native_idempotency="requestid",
    text_limit=4000, dimension_slots=("class", "department"), max_dimensions=2,
    # Uploads up to 100 MB are reported by third parties only (notes section 8): the connector keeps its own
    # 10 MiB ceiling and the common receipt types.
    vendor_names_unique=True, bill_numbers_unique=True, requests_per_minute=500, requests_per_day=None,
    extra={"in_flight_per_realm": "10", "posting_key_form": "compact"})
APP_HOSTS = {"quickbooks.api.intuit.com": "https://app.qbo.intuit.com",
             "sandbox-quickbooks.api.intuit.com": "https://app.sandbox.qbo.intuit.com"}
APP_PAGES = {"journal": "journal", "bill": "bill"}
GENERATIONS_KEPT = timedelta(days=3650)  # longer than any requestid window Intuit could keep
OVERHEAD_CALLS = 8  # Preferences, company, vendor, account, class and department pages, currencies
COMPANY = "company"  # the reference cache's part holding CompanyInfo's country and the locations mode


def _path(kind: str) -> str:
    return ENTITY[kind].lower()


def display_name(name: str) -> str:
    """A vendor's DisplayName: QuickBooks refuses ':' (it separates sub-names) and keeps 500 characters."""
    return " ".join(name.replace(":", "-").split())[:500]


class QuickBooks(ApiLedger):
    """The QuickBooks Online ledger for one company (realm)."""

    system = SYSTEM
    capabilities = CAPABILITIES

    def __init__(self, api: QuickBooksApi, engine: Engine, *, per_minute: int = 500, headroom: float = 0.9,
                 cache_seconds: float = 600.0) -> None:
        self.api = api
        self.engine = engine
        self.realm_id = api.realm_id
        self._target = LedgerTarget(SYSTEM, self.realm_id)
        # One budget per realm, shared through the store by every process posting to it.
        api.http.limiter = StoreRateBudget(engine, SYSTEM, self.realm_id, per_minute, 60.0, headroom=headroom)
        self.per_minute, self.headroom = per_minute, headroom
        self.cache_age = timedelta(seconds=cache_seconds)
        self._home_currency: str | None = None
        self._tax_rates: dict = {}
        self._locations_mode: bool | None = None  # departments are business locations (read-back needs it)

    @classmethod
    def from_settings(cls, settings, engine: Engine, vault=None, run_id: str | None = None,
                      retry: RetryPolicy | None = None) -> QuickBooks:
        from ml_connector.credentials import resolve_secret

        realm = require_realm(settings.quickbooks_realm_id)
        tokens = quickbooks_tokens(engine=engine, token_url=settings.quickbooks_token_url,
                                   client_id=settings.quickbooks_client_id or "",
                                   client_secret=resolve_secret(settings, vault, SYSTEM, "client_secret") or "",
                                   refresh_token=resolve_secret(settings, vault, SYSTEM, "refresh_token") or "",
                                   realm_id=realm, run_id=run_id, timeout=settings.http_timeout)
        api = QuickBooksApi(tokens, base_url=settings.quickbooks_base_url, realm_id=realm,
                            minor_version=settings.quickbooks_minor_version, retry=retry,
                            timeout=settings.http_timeout)
        return cls(api, engine, cache_seconds=settings.reference_cache_seconds)

    # -- reference data ------------------------------------------------------------------------------

    def preferences(self) -> dict:
        """The company's Preferences, read fresh (the closing date and the tracking switches live here)."""
        preferences = self.api.call("GET", "preferences")["Preferences"]
        self._home_currency = (preferences.get("CurrencyPrefs", {}).get("HomeCurrency") or {}).get("value")
        return preferences

    def company(self, preferences: dict | None = None) -> CompanySettings:
        info = self._cached(COMPANY, lambda: {"Country": self.api.call(
            "GET", f"companyinfo/{self.realm_id}")["CompanyInfo"].get("Country")})
        company = CompanySettings.from_wire(self.realm_id, preferences or self.preferences(), info)
        self._remember_locations_mode(info, company.departments_are_locations)
        return company

    def _remember_locations_mode(self, info: dict, mode: bool) -> None:
        if info.get("departments_are_locations") != mode:
            reference_cache.put(self.engine, self._target, COMPANY, {**info, "departments_are_locations": mode})
        self._locations_mode = mode

    def departments_are_locations(self) -> bool:
        """Whether the company's departments are its business locations: from this process's last look at the
        company, else the store's cache, else Preferences."""
        if self._locations_mode is None:
            info = reference_cache.get(self.engine, self._target, COMPANY, self.cache_age) or {}
            if "departments_are_locations" in info:
                self._locations_mode = bool(info["departments_are_locations"])
            else:
                self.company()
        return bool(self._locations_mode)

    def reference_data(self) -> ReferenceData:
        preferences = self.preferences()
        company = self.company(preferences)
        accounts = self._cached("accounts", lambda: [
            {k: a.get(k) for k in ("Id", "Name", "FullyQualifiedName", "AcctNum", "AccountType", "Active")}
            for a in self.api.select("Account", "Active in (true, false)")])
        options = self._cached("dimensions", self._dimension_options)
        home = self._home_currency or "USD"
        multicurrency = bool(preferences.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))
        # Without multicurrency every other currency is listed too, so that `preflight` can hold a foreign
        # record with the setting to change rather than mapping calling the currency unknown.
        codes = self._cached("currencies", self._company_currencies) if multicurrency else list(CURRENCY_PRECISION)
        vendors = [Vendor(vendor_id=str(v["Id"]), name=v.get("DisplayName", ""), is_active=bool(v.get("Active", True)))
                   for v in self.api.select("Vendor", "Active in (true, false)")]
        close = (preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        tax_codes = self._tax_codes() if company.charges_vat else ()
        locations = ()
        if company.departments_are_locations:
            locations = tuple(BusinessLocation(location_id=entity_id(o["option_id"]), name=o["option_name"],
                                               is_active=o["is_active"]) for o in options if o["tag_id"] == DEPARTMENT)
        return ReferenceData(
            accounts=tuple(Account(account_id=str(a["Id"]), name=a.get("FullyQualifiedName") or a.get("Name") or "",
                                   code=a.get("AcctNum") or None, account_type=a.get("AccountType") or "",
                                   is_active=bool(a.get("Active", True))) for a in accounts),
            vendors=tuple(vendors), tag_options=tuple(TagOption(**o) for o in options),
            currencies=tuple(CurrencyInfo(currency_id=code, code=code, precision=precision(code),
                                          is_base=code == home) for code in dict.fromkeys([home, *codes])),
            base_currency=home, locked_through=date.fromisoformat(close) if close else None,
            tax_codes=tax_codes, tax_required=company.charges_vat, locations=locations,
            location_required=company.departments_are_locations, journal_tax_basis="net", bill_tax_basis="gross")

    def _dimension_options(self) -> list[dict]:
        options = []
        for entity, tag_id in (("Class", CLASS), ("Department", DEPARTMENT)):
            for row in self.api.select(entity, "Active in (true, false)"):
                options.append({"tag_id": tag_id, "tag_name": TAG_NAMES[tag_id],
                                "option_id": option_id(tag_id, str(row["Id"])),
                                "option_name": row.get("FullyQualifiedName") or row.get("Name", ""),
                                "is_active": bool(row.get("Active", True))})
        return options

    def _company_currencies(self) -> list[str]:
        """The company's active currencies (CompanyCurrency, Finance.xsd). A server that does not answer that
        entity (an older minor version; the local sandbox) is taken to accept the currencies we know, and
        QuickBooks itself refuses any it lacks (2500) with a message a person can act on."""
        try:
            return [str(c["Code"]) for c in self.api.select("CompanyCurrency", "Active = true")
                    if c.get("Code")]
        except ValidationRejected as exc:
            if exc.vendor_code not in ("4000", "4001"):
                raise
            return list(CURRENCY_PRECISION)

    def _tax_codes(self) -> tuple[TaxCode, ...]:
        """The purchase VAT codes (see `tax`), from the store's cache or the TaxCode and TaxRate lists."""
        everything = "Active in (true, false)"
        codes = tax_code_models(self._cached("tax_codes", lambda: purchase_codes(
            self.api.select("TaxCode", everything), self.api.select("TaxRate", everything))))
        self._tax_rates = {t.tax_code_id: t.rate for t in codes}
        return codes

    def home_currency(self) -> str:
        if self._home_currency is None:
            self.preferences()
        return self._home_currency or "USD"

    def preflight(self, mapped: pd.DataFrame, reference: ReferenceData) -> pd.DataFrame:
        """Records this company would refuse: see `preflight` for every reason and its fix."""
        if mapped.empty:
            return pd.DataFrame(columns=COLUMNS)
        company = self.company()
        vendors = sorted(bill_vendors_to_check(mapped, company))
        currencies = {}
        for start in range(0, len(vendors), VENDOR_IDS_PER_QUERY):
            ids = ", ".join(quoted(v) for v in vendors[start:start + VENDOR_IDS_PER_QUERY])
            statement = f"select * from Vendor where Active in (true, false) AND Id in ({ids})"
            currencies.update({str(v["Id"]): (v.get("CurrencyRef") or {}).get("value") or company.home_currency
                               for v in self.api.query(statement).get("Vendor", [])})
        return holds(mapped, company, currencies)

    def posting_advice(self, drafts: Sequence[Draft]) -> list[str]:
        receipts = sum(len(getattr(d, "receipt_urls", ())) for d in drafts)
        calls = len(drafts) + receipts + 2 * math.ceil(max(len(drafts), 1) / self.api.page_size) + OVERHEAD_CALLS
        minutes = calls / max(self.per_minute * self.headroom, 1)
        if minutes < 10:
            return []
        return [f"{len(drafts)} entries need about {calls} QuickBooks calls; at the company's limit of "
                f"{self.per_minute} a minute (the connector keeps {1 - self.headroom:.0%} under it) posting takes at "
                f"least {minutes:.0f} minutes. Brex posting_mode per_day needs far fewer entries."]

    # -- vendors -------------------------------------------------------------------------------------

    def create_vendor(self, name: str) -> Vendor:
        vendor = self.api.call("POST", "vendor", json={"DisplayName": display_name(name)})["Vendor"]
        return Vendor(vendor_id=str(vendor["Id"]), name=vendor.get("DisplayName", name))

    def find_vendor(self, name: str) -> Vendor | None:
        wanted = display_name(name)
        rows = self.api.query(f"select * from Vendor where DisplayName = {quoted(wanted)}").get("Vendor", [])
        for vendor in rows:
            if str(vendor.get("DisplayName", "")).casefold() == wanted.casefold():
                return Vendor(vendor_id=str(vendor["Id"]), name=vendor["DisplayName"])
        return None

    # -- entries -------------------------------------------------------------------------------------

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        statement = f"select * from {ENTITY[kind]} where DocNumber = {quoted(compact(posting_key))}"
        ours = [e for e in self.api.query(statement).get(ENTITY[kind], []) if posting_key_of(e) == posting_key]
        if not ours:
            return None
        return self._result(kind, sorted(ours, key=is_void)[0], was_already_there=True)  # a live one first

    def post(self, draft: Draft) -> PostingResult:
        home = self.home_currency()
        body = journal_body(draft, home, self._rates_for(draft)) if draft.kind == "journal" else bill_body(draft, home)
        try:
            answer = self.api.call("POST", _path(draft.kind), json=body,
                                   requestid=self._requestid(draft.posting_key, body))
        except ValidationRejected as exc:
            if exc.vendor_code == "6140":  # the DocNumber is taken: by this very entry, made earlier unseen
                found = self.find_posted(draft.posting_key, draft.kind)
                if found is not None:
                    return found
            self._next_generation(draft.posting_key)
            raise
        return self._result(draft.kind, answer[ENTITY[draft.kind]])

    def _rates_for(self, draft: Draft) -> dict:
        """Tax percentages of the draft's tax codes (read with the reference data, or now)."""
        if any(line.tax_code_id and line.tax_code_id not in self._tax_rates for line in draft.lines):
            self._tax_codes()
        return self._tax_rates

    def _generation_part(self, posting_key: str) -> str:
        return f"rid:{compact(posting_key)}"

    def _requestid(self, posting_key: str, body: dict) -> str:
        stored = reference_cache.get(self.engine, self._target, self._generation_part(posting_key), GENERATIONS_KEPT)
        generation = int((stored or {}).get("generation", 0))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        return f"{compact(posting_key)}-{generation}-{digest}"  # at most 50 characters of [A-Za-z0-9-]

    def _next_generation(self, posting_key: str) -> None:
        part = self._generation_part(posting_key)
        stored = reference_cache.get(self.engine, self._target, part, GENERATIONS_KEPT)
        reference_cache.put(self.engine, self._target, part,
                            {"generation": int((stored or {}).get("generation", 0)) + 1})

    def _result(self, kind: str, entity: dict, *, was_already_there: bool = False) -> PostingResult:
        ident = str(entity["Id"])
        return PostingResult(posting_key=posting_key_of(entity) or "", ledger_entity_id=ident,
                             ledger_number=ident, url=self.entry_url(kind, ident),
                             was_already_there=was_already_there,
                             lines=saved_lines(kind, entity, self.departments_are_locations()),
                             modified_at=modified_at(entity), total=entry_total(kind, entity))

    def list_entries(self, start: date, end: date, kinds: tuple[str, ...] = ("journal", "bill")) -> list[EntrySummary]:
        window = f"TxnDate >= '{start.isoformat()}' AND TxnDate <= '{end.isoformat()}'"
        return [summary(kind, entity) for kind in ("journal", "bill") if kind in kinds
                for entity in self.api.select(ENTITY[kind], window)]

    def read_entry(self, kind: str, ledger_entity_id: str) -> PostingResult | None:
        try:
            entity = self.api.call("GET", f"{_path(kind)}/{ledger_entity_id}")[ENTITY[kind]]
        except NotFound:
            return None
        return self._result(kind, entity)

    def attachment_names(self, kind: str, ledger_entity_id: str) -> list[str]:
        names = []
        for attachable in self.api.select("Attachable", f"AttachableRef.EntityRef.Value = {quoted(ledger_entity_id)}"):
            refs = [r.get("EntityRef", {}) for r in attachable.get("AttachableRef", [])]
            if any(r.get("type") == ENTITY[kind] and str(r.get("value")) == ledger_entity_id for r in refs):
                names.append(str(attachable.get("FileName", "")))
        return names

    def attach_receipt(self, kind: str, ledger_entity_id: str, filename: str, content: bytes,
                       content_type: str) -> None:
        metadata = {"AttachableRef": [{"EntityRef": {"type": ENTITY[kind], "value": ledger_entity_id}}],
                    "FileName": filename, "ContentType": content_type, "Category": "Receipt"}
        files = {"file_metadata_0": (None, json.dumps(metadata), "application/json"),
                 "file_content_0": (filename, content, content_type)}
        answer = self.api.call("POST", "upload", files=files)
        for item in answer.get("AttachableResponse", []):
            if "Fault" in item:
                error = (item["Fault"].get("Error") or [{}])[0]
                text = f"{error.get('Message', '')}: {error.get('Detail', '')}"
                raise ValidationRejected(f"QuickBooks refused receipt {filename} (code {error.get('code')}): {text}",
                                         system=SYSTEM, vendor_code=error.get("code"), vendor_message=text)

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        """The entry in QuickBooks' web app (page names as the app shows them; unconfirmed by Intuit's docs),
        or, for a server that is not Intuit's (the local sandbox), the entity on the API."""
        app = APP_HOSTS.get(urlsplit(self.api.base_url).netloc.lower())
        if app:
            return f"{app}/app/{APP_PAGES[kind]}?txnId={ledger_entity_id}"
        return f"{self.api.base_url}/v3/company/{self.realm_id}/{_path(kind)}/{ledger_entity_id}"
