"""Xero as a `Ledger`: reference data, contacts as vendors, manual journals and ACCPAY bills carrying the posting
key, list pages for the read-back, receipts as attachments by file name, and the organisation's limits.

Calls per posted entry: one PUT (its answer is the saved entry with its lines, so no read-back GET), one PUT per
receipt, and for the tie-out one list page per 100 entries; an entry is read again only when its list row
changed. A resend after a lost answer goes only after a search by key, and carries the same `Idempotency-Key`
(the posting key and a digest of the body), so Xero itself answers a repeat with the first answer for 24 hours.
Accounts, tracking categories and currencies are cached in the store for `cache_seconds`; the organisation
(lock dates) is read every time, contacts every time but incrementally (`If-Modified-Since` since the last
read, one call instead of a page per hundred contacts).

VAT (an organisation that pays tax, see `tax`): every expense line carries its TaxType, a taxed entry goes
Inclusive with each line's TaxAmount stated, and its saved lines read back as net and tax. Xero has no
business locations: an entry never needs one (tracking categories are the dimensions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.errors import NotFound, ValidationRejected
from ml_connector.ledgers.base import ApiLedger, Capabilities
from ml_connector.ledgers.xero.client import XeroApi
from ml_connector.ledgers.xero.preflight import advice_for, held_records
from ml_connector.ledgers.xero.quota import DayQuota
from ml_connector.ledgers.xero.reference import XeroReference
from ml_connector.ledgers.xero.tax import classes_by_type, no_tax_type
from ml_connector.ledgers.xero.wire import (
    bill_body,
    entity_id,
    is_void,
    journal_body,
    key_filter,
    key_of,
    modified_at,
    saved_lines,
    summary,
    total_of,
    where_date,
)
from ml_connector.models import Draft, EntrySummary, JournalDraft, PostingResult, ReferenceData, Vendor
from ml_connector.receipts import ReceiptRefused
from ml_connector.store.rate_budget import StoreRateBudget
from ml_connector.store.target import LedgerTarget

SYSTEM = "xero"
CAPABILITIES = Capabilities(
    display_name="Xero", key_field="Narration (journals), InvoiceNumber (bills)", key_length=255,
    native_idempotency="idempotency_key", text_limit=500, dimension_slots=("tracking",), max_dimensions=2,
    # 10 MB and 10 files a record are third-party figures (notes §10); the stricter reading of "10 MB".
    attachment_max_bytes=10_000_000, attachments_per_entry=10, bills_need_due_date=True,
    vendor_names_unique=True, bill_numbers_unique=False, requests_per_minute=60, requests_per_day=5000,
    journal_currencies="base", journal_line_vendors=False)
_ENDPOINTS = {"journal": "ManualJournals", "bill": "Invoices"}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Xero(ApiLedger):
    """The Xero ledger for one organisation (tenant)."""

    system = SYSTEM
    capabilities = CAPABILITIES

    def __init__(self, api: XeroApi, engine: Engine, *, tenant_id: str | None = None, per_minute: int = 60,
                 daily: int = 5000, headroom: float = 0.9, cache_seconds: float = 600.0,
                 quota_wait_seconds: float = 900.0) -> None:
        self.api = api
        self.engine = engine
        api.tenant_id = tenant_id or api.tenant_id
        self.tenant_id = api.tenant_id or api.resolve_tenant()
        self._target = LedgerTarget(SYSTEM, self.tenant_id)
        # One minute budget and one day state per organisation, shared through the store by every process.
        api.http.limiter = StoreRateBudget(engine, SYSTEM, self.tenant_id, per_minute, 60.0, headroom=headroom)
        api.quota = DayQuota(engine, self.tenant_id, daily=daily, max_wait_seconds=quota_wait_seconds)
        self.per_minute = per_minute
        self.headroom = headroom
        self.reference = XeroReference(api, engine, self._target, timedelta(seconds=cache_seconds))
        self._attached: dict[str, set[str]] = {}  # entity id -> file names known to be on it
        self._listed: dict[tuple[str, str], dict] = {}  # (kind, id) -> the entry as the last list page showed it

    # -- reference data and before posting ----------------------------------------------------------------

    def reference_data(self) -> ReferenceData:
        return self.reference.reference_data()

    def preflight(self, mapped: pd.DataFrame, reference: ReferenceData) -> pd.DataFrame:
        """Records Xero would refuse for reasons of its own (see `preflight`)."""
        taxed = "tax_code_id" in mapped.columns and mapped["tax_code_id"].notna().any()
        return held_records(mapped, reference.base_currency,
                            tax_classes=classes_by_type(self.reference.tax_rates()) if taxed else None,
                            account_classes=self.reference.account_classes() if taxed else None)

    def posting_advice(self, drafts: Sequence[Draft]) -> list[str]:
        quota = self.api.quota
        return advice_for(drafts, daily=quota.daily, left_today=quota.left_today(),
                          per_minute=self.per_minute * self.headroom)

    # -- vendors -------------------------------------------------------------------------------------

    def create_vendor(self, name: str) -> Vendor:
        name = name[:255]
        # No Idempotency-Key: a second create of a taken name must be refused (the name rule), not replayed.
        contact = self.api.call("PUT", "Contacts", json_body={"Contacts": [{"Name": name}]})["Contacts"][0]
        return Vendor(vendor_id=str(contact["ContactID"]), name=str(contact.get("Name") or name))

    def find_vendor(self, name: str) -> Vendor | None:
        """Xero keeps contact names unique among active contacts without regard to case; searchTerm matches
        case-insensitively (OAS), so the exact name is picked from its hits."""
        wanted = name[:255].casefold()
        for contact in self.api.pages("Contacts", "Contacts", {"searchTerm": name[:255]}):
            if str(contact.get("Name") or "").casefold() == wanted and contact.get("ContactStatus",
                                                                                   "ACTIVE") == "ACTIVE":
                return Vendor(vendor_id=str(contact["ContactID"]), name=str(contact["Name"]))
        return None

    # -- entries -------------------------------------------------------------------------------------

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        endpoint = _ENDPOINTS[kind]
        found = self.api.pages(endpoint, endpoint, {"where": key_filter(kind, posting_key)})
        matches = [e for e in found if key_of(kind, e) == posting_key]  # exact: a prefix also matches longer keys
        if not matches:
            return None
        entry = sorted(matches, key=is_void)[0]  # a live entry before a voided one
        return self._result(kind, entry, was_already_there=True)

    def post(self, draft: Draft) -> PostingResult:
        base = self.reference.facts()["base_currency"]
        codes = self.reference.codes()
        is_taxed = any(line.tax_code_id is not None for line in draft.lines)
        untaxed = no_tax_type(self.reference.tax_rates()) if is_taxed else None
        if isinstance(draft, JournalDraft):
            if draft.currency != base:
                raise ValidationRejected(f"Xero manual journals are in the base currency ({base}); this one is in "
                                         f"{draft.currency}", system=SYSTEM, field="currency",
                                         vendor_message=f"manual journals cannot be in {draft.currency}")
            body = journal_body(draft, codes, untaxed)
        else:
            if not draft.vendor_id:
                raise ValidationRejected(f"bill {draft.bill_number} has no contact", system=SYSTEM, field="Contact")
            body = bill_body(draft, codes, base, untaxed)
        endpoint = _ENDPOINTS[draft.kind]
        answer = self.api.call("PUT", endpoint, json_body={endpoint: [body]},
                               idempotency_key=f"{draft.posting_key}-{_digest(body)[:16]}")
        entry = answer[endpoint][0]
        self._attached[entity_id(draft.kind, entry)] = set()
        return self._result(draft.kind, entry, base=base)

    def _result(self, kind: str, entry: dict, *, was_already_there: bool = False,
                base: str | None = None) -> PostingResult:
        ident = entity_id(kind, entry)
        base = base or self.reference.facts()["base_currency"]
        currency = str(entry.get("CurrencyCode") or base) if kind == "bill" else base
        has_lines = ("JournalLines" if kind == "journal" else "LineItems") in entry
        return PostingResult(
            posting_key=key_of(kind, entry) or "", ledger_entity_id=ident, ledger_number=ident,
            url=self.entry_url(kind, ident), was_already_there=was_already_there,
            lines=saved_lines(kind, entry, currency, self.reference.account_ids()) if has_lines else None,
            modified_at=modified_at(entry), total=total_of(kind, entry))

    def list_entries(self, start: date, end: date, kinds: tuple[str, ...] = ("journal", "bill")) -> list[EntrySummary]:
        """Our entries of these kinds dated in [start, end] (those whose Narration or InvoiceNumber starts with
        the key prefix: nothing else is ever a posting of ours), a page per hundred."""
        base = self.reference.facts()["base_currency"]
        window = f"Date>={where_date(start)} AND Date<={where_date(end)}"
        rows = []
        self._listed.clear()
        for kind in kinds:
            endpoint = _ENDPOINTS[kind]
            where = f"{key_filter(kind)} AND {window}"
            for entry in self.api.pages(endpoint, endpoint, {"where": where}):
                rows.append(summary(kind, entry, base))
                if ("JournalLines" if kind == "journal" else "LineItems") in entry:
                    self._listed[(kind, entity_id(kind, entry))] = entry
        return rows

    def read_entry(self, kind: str, ledger_entity_id: str) -> PostingResult | None:
        """The entry as the list page just showed it (paged lists carry the lines, OAS `page`: "with line items
        shown"), else one GET."""
        listed = self._listed.pop((kind, ledger_entity_id), None)
        if listed is not None:
            return self._result(kind, listed)
        try:
            entries = self.api.call("GET", f"{_ENDPOINTS[kind]}/{ledger_entity_id}")[_ENDPOINTS[kind]]
        except NotFound:
            return None
        return self._result(kind, entries[0]) if entries else None

    def attachment_names(self, kind: str, ledger_entity_id: str) -> list[str]:
        body = self.api.call("GET", f"{_ENDPOINTS[kind]}/{ledger_entity_id}/Attachments")
        names = [str(a.get("FileName") or "") for a in body.get("Attachments", []) or []]
        self._attached[ledger_entity_id] = set(names)
        return names

    def attach_receipt(self, kind: str, ledger_entity_id: str, filename: str, content: bytes,
                       content_type: str) -> None:
        """`PUT /{Invoices|ManualJournals}/{id}/Attachments/{FileName}` with the raw bytes (recorded: as
        application/octet-stream; Xero derives the stored type from the name). Within Xero's limits or refused
        here; a refusal by Xero (too large, too many) is final for that file."""
        limit = self.capabilities.attachment_max_bytes
        if len(content) > limit:
            raise ReceiptRefused(f"{filename} is {len(content):,} bytes, over Xero's {limit:,}; attach a smaller copy "
                                 f"by hand")
        known = self._attached.get(ledger_entity_id)
        most = self.capabilities.attachments_per_entry or 10
        if known is not None and filename not in known and len(known) >= most:
            raise ReceiptRefused(f"the {kind} already has {len(known)} attachments, Xero's most per record; attach "
                                 f"{filename} by hand or merge receipts into one file")
        path = f"{_ENDPOINTS[kind]}/{ledger_entity_id}/Attachments/{quote(filename, safe='')}"
        key = f"mlc-file-{_digest([ledger_entity_id, filename, hashlib.sha256(content).hexdigest()])[:40]}"
        try:
            self.api.call("PUT", path, content=content, headers={"Content-Type": "application/octet-stream"},
                          idempotency_key=key, is_idempotent=True)  # the key makes a resend a replay
        except ValidationRejected as exc:
            raise ReceiptRefused(f"Xero refused {filename}: {exc.vendor_message or exc}") from None
        self._attached.setdefault(ledger_entity_id, set()).add(filename)

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        """A deep link into the organisation (developer.xero.com "Deep link to Xero": the ShortCode and a
        redirect; bills by AccountsPayable/Edit.aspx, manual journals by Journal/View.aspx, UNCONFIRMED: manual
        journals are not among the documented deep links). Off Xero's hosts (the sandbox), the API's own URL."""
        if urlsplit(self.api.api_url).hostname != "api.xero.com":
            return f"{self.api.api_url}/api.xro/2.0/{_ENDPOINTS[kind]}/{ledger_entity_id}"
        short_code = self.reference.facts().get("short_code") or ""
        page = (f"/AccountsPayable/Edit.aspx?InvoiceID={ledger_entity_id}" if kind == "bill"
                else f"/Journal/View.aspx?invoiceID={ledger_entity_id}")
        return f"https://go.xero.com/organisationlogin/default.aspx?shortcode={short_code}&redirecturl={page}"
