"""What the Xero organisation knows that mapping needs, read at the fewest calls that stay true.

- `GET /Organisation` every time reference data is read: the lock dates change at month end (the later of
  `PeriodLockDate` and `EndOfYearLockDate` is the engine's `locked_through`); its slow facts (base currency,
  short code for links) are kept in the store's reference cache for the calls that need them in between.
- `GET /Accounts` (Code, Status ACTIVE/ARCHIVED), `GET /TrackingCategories?includeArchived=true` (each
  category's options are dimension options whose `tag_name` is the category's name; an archived category or
  option is inactive) and `GET /Currencies`: cached for `cache_seconds`.
- `GET /TaxRates`, only for an organisation that `PaysTax`: its tax types as the engine's tax codes, whether
  every expense line needs one, and which account classes each may be used on (see `tax`); cached like accounts.
- `GET /Contacts` (vendors) every time, incrementally: one full read a day, then with `If-Modified-Since` set a
  little before the last read's server time (the envelope's `DateTimeUTC`), so new, renamed and archived
  contacts are seen at one call instead of a page per hundred contacts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from ml_connector.ledgers.xero.client import XeroApi
from ml_connector.ledgers.xero.tax import charges_tax, rate_rows, tax_code_models
from ml_connector.ledgers.xero.wire import ms_datetime, xero_date
from ml_connector.models import Account, CurrencyInfo, ReferenceData, TagOption, Vendor
from ml_connector.money import precision
from ml_connector.store import reference_cache
from ml_connector.store.schema import utc_now
from ml_connector.store.target import LedgerTarget

FACTS_KEPT = timedelta(days=1)
CONTACTS_FULL_READ = timedelta(days=1)  # how long incremental contact reads build on one full read
CONTACTS_KEPT = timedelta(days=2)
SKEW = timedelta(minutes=5)  # If-Modified-Since is taken this much before the last read's server time


def locked_through(org: dict) -> date | None:
    """The later of the period lock and the end-of-year lock: nothing on or before it may be posted."""
    dates = [xero_date(str(org[k])) for k in ("PeriodLockDate", "EndOfYearLockDate") if org.get(k)]
    return max(dates) if dates else None


class XeroReference:
    """Reference reads of one organisation, cached in the store where they change slowly."""

    def __init__(self, api: XeroApi, engine: Engine, target: LedgerTarget, cache_age: timedelta) -> None:
        self.api = api
        self.engine = engine
        self.target = target
        self.cache_age = cache_age

    def _cached(self, part: str, read) -> Any:
        return reference_cache.get_or_read(self.engine, self.target, part, self.cache_age, read)

    def organisation(self) -> dict:
        org = self.api.call("GET", "Organisation")["Organisations"][0]
        reference_cache.put(self.engine, self.target, "organisation", {
            "base_currency": str(org.get("BaseCurrency") or "USD"), "short_code": str(org.get("ShortCode") or "")})
        return org

    def facts(self) -> dict:
        """Base currency and short code, from the last Organisation read (within a day) or a new one."""
        facts = reference_cache.get(self.engine, self.target, "organisation", FACTS_KEPT)
        if facts is None:
            self.organisation()
            facts = reference_cache.get(self.engine, self.target, "organisation", FACTS_KEPT)
        return facts

    def accounts(self) -> list[dict]:
        return self._cached("accounts", lambda: [
            {"id": str(a["AccountID"]), "code": a.get("Code") or None, "name": str(a.get("Name") or ""),
             "type": str(a.get("Type") or ""), "class": str(a.get("Class") or ""),
             "active": str(a.get("Status") or "ACTIVE") == "ACTIVE"}
            for a in self.api.call("GET", "Accounts").get("Accounts", [])])

    def account_classes(self) -> dict[str, str]:
        """Account id -> Xero class (ASSET, EXPENSE, ...), where the cached chart has it."""
        return {a["id"]: a["class"] for a in self.accounts() if a.get("class")}

    def tax_rates(self) -> list[dict]:
        """Every tax rate of the organisation (`tax.rate_rows`)."""
        return self._cached("tax_rates", lambda: rate_rows(self.api.call("GET", "TaxRates")))

    def codes(self) -> dict[str, str]:
        """Account id -> code (lines name accounts by code)."""
        return {a["id"]: a["code"] for a in self.accounts() if a["code"]}

    def account_ids(self) -> dict[str, str]:
        return {a["code"]: a["id"] for a in self.accounts() if a["code"]}

    def tracking(self) -> list[dict]:
        def read() -> list[dict]:
            options = []
            body = self.api.call("GET", "TrackingCategories", params={"includeArchived": "true"})
            for category in body.get("TrackingCategories", []):
                active = str(category.get("Status") or "ACTIVE") == "ACTIVE"
                for option in category.get("Options", []) or []:
                    options.append({"tag_id": str(category["TrackingCategoryID"]),
                                    "tag_name": str(category.get("Name") or ""),
                                    "option_id": str(option["TrackingOptionID"]),
                                    "option_name": str(option.get("Name") or ""), "is_mandatory": False,
                                    "is_active": active and str(option.get("Status") or "ACTIVE") == "ACTIVE"})
            return options

        return self._cached("tracking", read)

    def currencies(self) -> list[str]:
        return self._cached("currencies", lambda: [
            str(c["Code"]) for c in self.api.call("GET", "Currencies").get("Currencies", [])])

    def contacts(self) -> dict[str, dict]:
        """Every contact by id, with its name and whether it is active."""
        snapshot = reference_cache.get(self.engine, self.target, "contacts", CONTACTS_KEPT)
        now = utc_now()
        is_full = snapshot is None or now - datetime.fromisoformat(snapshot["full_read_at"]) > CONTACTS_FULL_READ
        headers = {} if is_full else {"If-Modified-Since": snapshot["watermark"]}
        contacts = {} if is_full else dict(snapshot["contacts"])
        envelope: dict = {}
        for contact in self.api.pages("Contacts", "Contacts", {"includeArchived": "true"}, headers=headers,
                                      first=envelope):
            contacts[str(contact["ContactID"])] = {"name": str(contact.get("Name") or ""),
                                                   "active": str(contact.get("ContactStatus") or "ACTIVE") == "ACTIVE"}
        if envelope.get("DateTimeUTC"):  # Xero's clock, not ours: If-Modified-Since is compared with its stamps
            watermark = (ms_datetime(str(envelope["DateTimeUTC"])) - SKEW).isoformat(timespec="seconds")
            reference_cache.put(self.engine, self.target, "contacts", {
                "watermark": watermark, "contacts": contacts,
                "full_read_at": now.isoformat() if is_full else snapshot["full_read_at"]})
        return contacts

    def reference_data(self) -> ReferenceData:
        org = self.organisation()
        base = str(org.get("BaseCurrency") or "USD")
        codes = sorted({base, *self.currencies()})
        pays_tax = org.get("PaysTax") is True
        rates = self.tax_rates() if pays_tax else []
        return ReferenceData(
            accounts=tuple(Account(account_id=a["id"], name=a["name"], code=a["code"], account_type=a["type"],
                                   is_active=a["active"]) for a in self.accounts()),
            vendors=tuple(Vendor(vendor_id=cid, name=c["name"]) for cid, c in self.contacts().items() if c["active"]),
            tag_options=tuple(TagOption(**t) for t in self.tracking()),
            currencies=tuple(CurrencyInfo(currency_id=code, code=code, precision=precision(code), is_base=code == base)
                             for code in codes),
            base_currency=base, locked_through=locked_through(org),
            # Inclusive lines with the tax stated: Xero books the tax inside each gross (`tax`). No business
            # locations: Xero has none (tracking categories are dimensions), so location_required stays False.
            tax_codes=tax_code_models(rates), tax_required=charges_tax(pays_tax, rates),
            journal_tax_basis="gross", bill_tax_basis="gross")
