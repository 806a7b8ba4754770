"""List endpoints: `where`, `order`, paging, `If-Modified-Since` and the explicit filter parameters.

Query parameter names match case-insensitively (Xero's do). `ManualJournals`, `Invoices` and `Contacts` are
always paged: `page` (default 1) and `pageSize` (default and maximum 100: "Up to 100 ... in a single API call",
OAS; a larger pageSize is clamped, CHOSEN since the real maximum is unconfirmed), answered with
`pagination {page, pageSize, pageCount, itemCount}`. `Accounts`, `TrackingCategories`, `Currencies` and
`TaxRates` are not paged (recorded list-accounts has no `pagination`). Default order is creation order; `order`
takes `Field ASC|DESC[, ...]`. `If-Modified-Since` (ISO 8601, or an HTTP date) keeps records whose
UpdatedDateUTC is at or after it. Invoices also take `IDs`, `InvoiceNumbers`, `ContactIDs`, `Statuses`
(comma-separated), `searchTerm` (case-insensitive over InvoiceNumber and Reference), `unitdp` (2 or 4),
`includeArchived` and `createdByMyApp` (no effect: every bill is the app's, none is ARCHIVED); Contacts take
`IDs`, `searchTerm` (Name, FirstName, LastName, ContactNumber, EmailAddress) and `includeArchived` (archived
contacts are left out otherwise). `summaryOnly=true` is refused: not implemented. Indexed lookups (ids,
InvoiceNumber, Reference, Narration, contact Name) answer without scanning; see `store`.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from ml_connector.sandbox.xero.errors import invalid_request
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.where import (
    Field,
    Schema,
    candidate_ids,
    compile_node,
    decimal_of,
    parse_where,
    sort_key,
)
from ml_connector.sandbox.xero.wire import date_ms

PAGE_SIZE = 100


@lru_cache(maxsize=8192)
def _day_ms(iso_day: str | None) -> int | None:
    return None if not iso_day else date_ms(iso_day)


def _text(name: str, key: str | None = None) -> Field:
    return Field(name, "string", lambda r, k=key or name: r.get(k))


def _guid(name: str, key: str | None = None) -> Field:
    return Field(name, "guid", lambda r, k=key or name: r.get(k))


def _flag(name: str, get: Callable[[dict], object]) -> Field:
    return Field(name, "bool", get)


UPDATED = Field("UpdatedDateUTC", "datetime", lambda r: r.get("UpdatedMs"))
JOURNAL = Schema.of("ManualJournal", _text("Narration"), _text("Status"), _text("LineAmountTypes"), _text("Url"),
                    _guid("ManualJournalID"), Field("Date", "date", lambda r: _day_ms(r["Date"])), UPDATED,
                    _flag("ShowOnCashBasisReports", lambda r: r["ShowOnCashBasisReports"]),
                    _flag("HasAttachments", lambda r: bool(r["Attachments"])))
ACCOUNT = Schema.of("Account", *(_text(n) for n in ("Code", "Name", "Type", "Status", "Class", "TaxType",
                                                    "BankAccountType", "SystemAccount", "Description",
                                                    "ReportingCode")),
                    _guid("AccountID"), UPDATED,
                    _flag("EnablePaymentsToAccount", lambda r: r["EnablePaymentsToAccount"]),
                    _flag("ShowInExpenseClaims", lambda r: r["ShowInExpenseClaims"]))
CONTACT = Schema.of("Contact", *(_text(n) for n in ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber",
                                                    "AccountNumber", "ContactStatus", "TaxNumber",
                                                    "DefaultCurrency")),
                    _guid("ContactID"), UPDATED, _flag("IsSupplier", lambda r: r["IsSupplier"]),
                    _flag("IsCustomer", lambda r: r["IsCustomer"]))
TRACKING = Schema.of("TrackingCategory", _text("Name"), _text("Status"), _guid("TrackingCategoryID"))
CURRENCY = Schema.of("Currency", _text("Code"), _text("Description"))
TAX_RATE = Schema.of("TaxRate", _text("Name"), _text("TaxType"), _text("Status"), _text("ReportTaxType"),
                     Field("EffectiveRate", "decimal", lambda r: decimal_of(r["EffectiveRate"])),
                     Field("DisplayTaxRate", "decimal", lambda r: decimal_of(r["DisplayTaxRate"])))


def invoice_schema(store: XeroStore) -> Schema:
    def amount(key: str) -> Field:
        return Field(key, "decimal", lambda r: decimal_of(r[key]))

    return Schema.of("Invoice", *(_text(n) for n in ("Type", "Status", "InvoiceNumber", "Reference",
                                                     "CurrencyCode", "LineAmountTypes")),
                     _guid("InvoiceID"), Field("Date", "date", lambda r: _day_ms(r["Date"])),
                     Field("DueDate", "date", lambda r: _day_ms(r.get("DueDate"))), UPDATED,
                     amount("Total"), amount("SubTotal"), amount("TotalTax"),
                     Field("AmountDue", "decimal", lambda r: decimal_of(r["Total"]) if r["Status"] in
                           ("DRAFT", "SUBMITTED", "AUTHORISED") else decimal_of(0)),
                     _guid("Contact.ContactID", "ContactID"),
                     Field("Contact.Name", "string", lambda r: store.contacts[r["ContactID"]]["Name"]),
                     _flag("HasAttachments", lambda r: bool(r["Attachments"])))


def lowered(params: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in params.items()}


def if_modified_since(value: str | None) -> int | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise invalid_request("If-Modified-Since must be an ISO 8601 timestamp (2026-10-01T00:00:00Z) or an "
                                  "HTTP date.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _whole(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name.lower())
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise invalid_request(f"{name} must be a whole number of 1 or more.")
    return value


def run_query(records: Mapping[str, dict], schema: Schema, params: dict[str, str], headers: Mapping[str, str],
              *, lookup: Callable[[str, str, object], set[str] | None] | None = None,
              keep: Callable[[dict], bool] | None = None, narrow: set[str] | None = None,
              paged: bool = True) -> tuple[list[dict], dict | None]:
    """The records a list call answers (one page of them when `paged`) and its pagination object."""
    ast = parse_where(params["where"], schema) if params.get("where") else None
    ids = candidate_ids(ast, lookup) if ast is not None and lookup is not None else None
    if narrow is not None:
        ids = narrow if ids is None else ids & narrow
    if ids is None:
        rows = list(records.values())
    else:
        rows = sorted((records[i] for i in ids if i in records), key=lambda r: r.get("Seq", 0))
    since = if_modified_since(headers.get("if-modified-since"))
    test = compile_node(ast) if ast is not None else None
    rows = [r for r in rows if (since is None or r.get("UpdatedMs", 0) >= since) and (keep is None or keep(r))
            and (test is None or test(r))]
    for field, descending in reversed(sort_key(params.get("order"), schema)):
        present = [r for r in rows if field.get(r) is not None]
        absent = [r for r in rows if field.get(r) is None]
        present.sort(key=field.get, reverse=descending)
        rows = present + absent if descending else absent + present
    if not paged:
        return rows, None
    page = _whole(params, "page", 1)
    size = min(_whole(params, "pageSize", PAGE_SIZE), PAGE_SIZE)
    start = (page - 1) * size
    return rows[start:start + size], {"page": page, "pageSize": size, "pageCount": math.ceil(len(rows) / size),
                                      "itemCount": len(rows)}


def csv_param(params: dict[str, str], name: str) -> list[str] | None:
    raw = params.get(name.lower())
    if raw in (None, ""):
        return None
    return [part.strip().strip('"') for part in raw.split(",") if part.strip()]


def refuse_unimplemented(params: dict[str, str]) -> None:
    if params.get("summaryonly", "false").lower() == "true":
        raise invalid_request("summaryOnly=true is not implemented by the sandbox; leave it out.")
    if params.get("unitdp", "2") not in ("2", "4"):
        raise invalid_request("unitdp must be 2 or 4.")


def journal_query(store: XeroStore, params: dict[str, str], headers: Mapping[str, str]):
    def lookup(field: str, op: str, value: object) -> set[str] | None:
        if field == "ManualJournalID" and op == "==":
            return {str(value)} if value in store.journals else set()
        if field == "Narration":
            if op == "==":
                return set(store.journal_ids_by_narration.get(str(value), ()))
            return store.narration_matches(op, str(value))
        return None

    return run_query(store.journals, JOURNAL, params, headers, lookup=lookup)


def invoice_query(store: XeroStore, params: dict[str, str], headers: Mapping[str, str]):
    refuse_unimplemented(params)
    indexes = {"InvoiceNumber": store.invoice_ids_by_number, "Reference": store.invoice_ids_by_reference,
               "Contact.ContactID": store.invoice_ids_by_contact}

    def lookup(field: str, op: str, value: object) -> set[str] | None:
        if op != "==":
            return None
        if field == "InvoiceID":
            return {str(value)} if value in store.invoices else set()
        return set(indexes[field].get(str(value), ())) if field in indexes else None

    narrow: set[str] | None = None
    for name, index in (("IDs", None), ("InvoiceNumbers", store.invoice_ids_by_number),
                        ("ContactIDs", store.invoice_ids_by_contact)):
        values = csv_param(params, name)
        if values is not None:
            found = {v.lower() for v in values} if index is None else \
                set().union(*(index.get(v if name == "InvoiceNumbers" else v.lower(), set()) for v in values))
            narrow = found if narrow is None else narrow & found
    statuses = {s.upper() for s in csv_param(params, "Statuses") or []}
    term = params.get("searchterm", "").casefold()

    def keep(record: dict) -> bool:
        return (not statuses or record["Status"] in statuses) and \
            (not term or term in record["InvoiceNumber"].casefold() or term in record["Reference"].casefold())

    return run_query(store.invoices, invoice_schema(store), params, headers, lookup=lookup, keep=keep, narrow=narrow)


def contact_query(store: XeroStore, params: dict[str, str], headers: Mapping[str, str]):
    refuse_unimplemented(params)

    def lookup(field: str, op: str, value: object) -> set[str] | None:
        if op != "==":
            return None
        if field == "ContactID":
            return {str(value)} if value in store.contacts else set()
        if field == "Name":
            return set(store.contact_ids_by_name.get(str(value), ()))
        return None

    ids = csv_param(params, "IDs")
    archived = params.get("includearchived", "false").lower() == "true"
    term = params.get("searchterm", "").casefold()
    searched = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")

    def keep(record: dict) -> bool:
        return (archived or record["ContactStatus"] != "ARCHIVED") and \
            (not term or any(term in str(record.get(key) or "").casefold() for key in searched))

    return run_query(store.contacts, CONTACT, params, headers, lookup=lookup, keep=keep,
                     narrow={i.lower() for i in ids} if ids is not None else None)
