"""The handlers of the Accounting API routes: each takes a `Call` and returns (status, body) or a Response.

Writes follow Xero's batch rules: `PUT` creates (an object that names an existing id is refused: use POST),
`POST` updates the object whose id it names, or creates. With the default `summarizeErrors=true` nothing of a
batch is stored when any object fails: one 400 ValidationException lists the failing objects, each echoed with
its `ValidationErrors` (all-or-nothing is CHOSEN: the notes say a failing PUT returns 400, not whether its good
siblings were kept). With `summarizeErrors=false` the good objects are stored and the answer is 200 with each
object carrying `StatusAttributeString` "OK" or "ERROR" plus its `ValidationErrors` (OAS; recorded
update-invoice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import Response

from ml_connector.sandbox.xero import contacts, invoices, journals, settings
from ml_connector.sandbox.xero.errors import Invalid, not_found, validation_failed
from ml_connector.sandbox.xero.queries import (
    ACCOUNT,
    CURRENCY,
    TAX_RATE,
    TRACKING,
    contact_query,
    invoice_query,
    journal_query,
    run_query,
)
from ml_connector.sandbox.xero.records import (
    account_wire,
    attachment_wire,
    contact_wire,
    invoice_wire,
    journal_wire,
    tracking_category_wire,
)
from ml_connector.sandbox.xero.wire import envelope, items_of, read_json

if TYPE_CHECKING:
    from ml_connector.sandbox.xero import XeroSandbox

NOT_FOUND_FOR_ENDPOINT = "The document with the supplied id was not found for this endpoint."  # OAS


@dataclass
class Call:
    method: str
    params: dict[str, str]  # query parameters, names lower-cased
    query: str
    headers: Headers
    body: bytes
    path: dict[str, str]
    correlation: str


class Handlers:
    def __init__(self, sandbox: XeroSandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.ref = sandbox.ref

    def ok(self, call: Call, key: str, items: list, **extra: object) -> tuple[int, dict]:
        return 200, envelope(key, items, call.correlation, **extra)

    # --- batch writes ----------------------------------------------------------------------------

    def write(self, call: Call, plural: str, id_key: str, table: dict[str, dict],
              prepare: Callable[[dict, dict | None], dict], commit: Callable[[dict], dict],
              render: Callable[[dict], dict]) -> tuple[int, dict]:
        items = items_of(read_json(call.body), plural)
        summarize = call.params.get("summarizeerrors", "true").lower() != "false"
        path_id = call.path.get("id", "").lower() or None
        if path_id is not None and path_id not in table:
            raise not_found()
        with self.store.lock:
            prepared: list[tuple[dict, dict | None, list[str]]] = []
            for raw in items:
                given = next((str(v).lower() for k, v in raw.items() if k.lower() == id_key.lower() and v), None)
                target = path_id or given
                try:
                    if call.method == "PUT" and target is not None and target in table:
                        raise Invalid(f"{plural} are created with PUT; send changes to an existing one with POST.")
                    if call.method == "POST" and target is not None and target not in table:
                        raise Invalid(NOT_FOUND_FOR_ENDPOINT)
                    existing = table.get(target) if call.method == "POST" and target else None
                    prepared.append((raw, prepare(raw, existing), []))
                except Invalid as failure:
                    prepared.append((raw, None, failure.messages))
            failed = [(raw, messages) for raw, _, messages in prepared if messages]
            if summarize and failed:
                raise validation_failed([{**raw, "ValidationErrors": [{"Message": m} for m in messages]}
                                         for raw, messages in failed])
            answered = []
            for raw, record, messages in prepared:
                if messages:
                    answered.append({**raw, "HasErrors": True, "StatusAttributeString": "ERROR",
                                     "ValidationErrors": [{"Message": m} for m in messages]})
                    continue
                wire = render(commit(record))
                if not summarize:
                    wire["StatusAttributeString"] = "OK"
                answered.append(wire)
        return self.ok(call, plural, answered)

    # --- organisation and settings -----------------------------------------------------------------

    def organisation(self, call: Call) -> tuple[int, dict]:
        org = self.ref.organisation(self.store.period_lock_date, self.store.end_of_year_lock_date)
        return self.ok(call, "Organisations", [org])

    def accounts(self, call: Call) -> tuple[int, dict]:
        rows, _ = run_query(self.store.accounts, ACCOUNT, call.params, call.headers, paged=False)
        return self.ok(call, "Accounts", [account_wire(a) for a in rows])

    def account(self, call: Call) -> tuple[int, dict]:
        found = self.store.accounts.get(call.path["id"].lower())
        if found is None:
            raise not_found()
        return self.ok(call, "Accounts", [account_wire(found, detail=True)])

    def save_accounts(self, call: Call) -> tuple[int, dict]:
        return self.write(call, "Accounts", "AccountID", self.store.accounts,
                          lambda raw, old: settings.prepare_account(self.store, raw, old),
                          lambda record: settings.commit_account(self.store, record), account_wire)

    def tracking_categories(self, call: Call) -> tuple[int, dict]:
        archived = call.params.get("includearchived", "false").lower() == "true"
        rows, _ = run_query(self.store.tracking, TRACKING, call.params, call.headers, paged=False,
                            keep=lambda c: c["Status"] != "DELETED" and (archived or c["Status"] == "ACTIVE"))
        return self.ok(call, "TrackingCategories", [tracking_category_wire(c, archived) for c in rows])

    def tracking_category(self, call: Call) -> tuple[int, dict]:
        return self.ok(call, "TrackingCategories", [tracking_category_wire(self._category(call))])

    def _category(self, call: Call) -> dict:
        found = self.store.tracking.get(call.path["id"].lower())
        if found is None:
            raise not_found()
        return found

    def save_tracking_category(self, call: Call) -> tuple[int, dict]:
        existing = self._category(call) if "id" in call.path else None
        raw = items_of(read_json(call.body), "TrackingCategories")[0]
        try:
            saved = settings.save_category(self.store, raw, existing)
        except Invalid as failure:
            raise validation_failed([{**raw, "ValidationErrors": [{"Message": m} for m in failure.messages]}]) \
                from None
        return self.ok(call, "TrackingCategories", [tracking_category_wire(saved)])

    def save_tracking_option(self, call: Call) -> tuple[int, dict]:
        category = self._category(call)
        existing = None
        if "option" in call.path:
            existing = next((o for o in category["Options"]
                             if o["TrackingOptionID"] == call.path["option"].lower()), None)
            if existing is None:
                raise not_found()
        raw = items_of(read_json(call.body), "Options")[0]
        try:
            option = settings.save_option(self.store, category, raw, existing)
        except Invalid as failure:
            raise validation_failed([{**raw, "ValidationErrors": [{"Message": m} for m in failure.messages]}]) \
                from None
        return self.ok(call, "Options", [option])

    def currencies(self, call: Call) -> tuple[int, dict]:
        rows = {code: {"Code": code, "Description": name} for code, name in self.store.currencies.items()}
        found, _ = run_query(rows, CURRENCY, call.params, call.headers, paged=False)
        return self.ok(call, "Currencies", found)

    def save_currency(self, call: Call) -> tuple[int, dict]:
        raw = items_of(read_json(call.body), "Currencies")[0]
        try:
            return self.ok(call, "Currencies", [settings.save_currency(self.store, raw)])
        except Invalid as failure:
            raise validation_failed([{**raw, "ValidationErrors": [{"Message": m} for m in failure.messages]}]) \
                from None

    def tax_rates(self, call: Call) -> tuple[int, dict]:
        rows = {rate.tax_type: rate.wire() for rate in self.ref.tax_rates.values()}
        found, _ = run_query(rows, TAX_RATE, call.params, call.headers, paged=False)
        return self.ok(call, "TaxRates", found)

    def tax_rate(self, call: Call) -> tuple[int, dict]:
        rate = self.ref.tax_rates.get(call.path["id"].upper())
        if rate is None:
            raise not_found()
        return self.ok(call, "TaxRates", [rate.wire()])

    # --- contacts, journals, bills -----------------------------------------------------------------

    def contacts(self, call: Call) -> tuple[int, dict]:
        rows, pagination = contact_query(self.store, call.params, call.headers)
        return self.ok(call, "Contacts", [contact_wire(c) for c in rows], pagination=pagination)

    def contact(self, call: Call) -> tuple[int, dict]:
        key = call.path["id"]
        found = self.store.contacts.get(key.lower()) or next(
            (c for c in self.store.contacts.values() if c.get("ContactNumber") == key), None)
        if found is None:
            raise not_found()
        return self.ok(call, "Contacts", [contact_wire(found)])

    def save_contacts(self, call: Call) -> tuple[int, dict]:
        claimed: set[str] = set()
        return self.write(call, "Contacts", "ContactID", self.store.contacts,
                          lambda raw, old: contacts.prepare_contact(self.store, raw, old, claimed),
                          lambda record: contacts.commit_contact(self.store, record), contact_wire)

    def journals(self, call: Call) -> tuple[int, dict]:
        rows, pagination = journal_query(self.store, call.params, call.headers)
        return self.ok(call, "ManualJournals", [journal_wire(self.store, j, detail=False) for j in rows],
                       pagination=pagination)

    def journal(self, call: Call) -> tuple[int, dict]:
        found = self.store.journals.get(call.path["id"].lower())
        if found is None:
            raise not_found()
        return self.ok(call, "ManualJournals", [journal_wire(self.store, found)])

    def save_journals(self, call: Call) -> tuple[int, dict]:
        return self.write(call, "ManualJournals", "ManualJournalID", self.store.journals,
                          lambda raw, old: journals.prepare_journal(self.store, raw, old),
                          lambda record: journals.commit_journal(self.store, record),
                          lambda saved: journal_wire(self.store, saved))

    def invoices(self, call: Call) -> tuple[int, dict]:
        rows, pagination = invoice_query(self.store, call.params, call.headers)
        return self.ok(call, "Invoices", [invoice_wire(self.store, i, detail=False) for i in rows],
                       pagination=pagination)

    def invoice(self, call: Call) -> tuple[int, dict]:
        found = self.store.invoices.get(call.path["id"].lower())
        if found is None:
            raise not_found()
        return self.ok(call, "Invoices", [invoice_wire(self.store, found)])

    def save_invoices(self, call: Call) -> tuple[int, dict]:
        unit_places = 4 if call.params.get("unitdp") == "4" else 2
        return self.write(call, "Invoices", "InvoiceID", self.store.invoices,
                          lambda raw, old: invoices.prepare_invoice(self.store, raw, old, unit_places),
                          lambda record: invoices.commit_invoice(
                              self.store, record, lambda name: contacts.create_contact_named(self.store, name)),
                          lambda saved: invoice_wire(self.store, saved))

    # --- attachments -------------------------------------------------------------------------------

    def attachments(self, call: Call) -> tuple[int, dict]:
        listed = self.sandbox.attachments.listed(call.path["endpoint"], call.path["id"])
        return self.ok(call, "Attachments", [attachment_wire(self.store, a) for a in listed])

    def attachment(self, call: Call) -> Response:
        found = self.sandbox.attachments.find(call.path["endpoint"], call.path["id"], call.path["file"])
        return Response(found["Content"], media_type=found["MimeType"])

    def upload(self, call: Call) -> tuple[int, dict]:
        include_online = call.params.get("includeonline", "false").lower() == "true"
        saved = self.sandbox.attachments.upload(call.path["endpoint"], call.path["id"], call.path["file"],
                                                call.body, include_online)
        return self.ok(call, "Attachments", [attachment_wire(self.store, saved)])

    def connections(self, call: Call) -> tuple[int, list]:
        return 200, [self.ref.connection()]
