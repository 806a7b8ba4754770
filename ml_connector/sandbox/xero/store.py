"""The state of the sandbox organisation: records by id, the indexes its queries use, and persistence.

Records are plain JSON-ready dicts (amounts as Decimal strings, dates as YYYY-MM-DD, `UpdatedMs` in epoch
milliseconds) so `dump` is a copy. Indexed, so a lookup costs the same at 50,000 journals as at 50: every id;
manual journals by exact Narration; invoices by InvoiceNumber, Reference and contact; contacts by exact Name
and, for the uniqueness rule, by case-folded Name among ACTIVE contacts (Xero: "The contact name must be unique
across all active contacts"); accounts by Code. `Narration.Contains(...)`/`StartsWith(...)` make one substring pass
over the narrations (about 10 ms at 50,000; no index answers arbitrary substrings exactly, and Contains must
also find "MLC-10" when asked for "MLC-1", as Xero's would).

Every change stamps `UpdatedMs` with a clock that never repeats a value, so `If-Modified-Since` and drift
checks can order changes made within one millisecond.
"""

from __future__ import annotations

import base64
import copy
import threading

from ml_connector.sandbox.xero.reference import XeroReference, xero_id
from ml_connector.sandbox.xero.wire import now_ms


def _add(index: dict[str, set[str]], key: str, record_id: str) -> None:
    index.setdefault(key, set()).add(record_id)


def _drop(index: dict[str, set[str]], key: str, record_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(record_id)
        if not ids:
            del index[key]


class XeroStore:
    def __init__(self, ref: XeroReference) -> None:
        self.ref = ref
        self.lock = threading.RLock()
        self.counters: dict[str, int] = {}
        self.last_ms = 0
        self.period_lock_date: str | None = ref.period_lock_date
        self.end_of_year_lock_date: str | None = ref.end_of_year_lock_date
        self.currencies: dict[str, str] = {code: name for code, (name, _) in ref.currencies.items()}
        self.accounts: dict[str, dict] = {}
        self.account_ids_by_code: dict[str, str] = {}
        self.tracking: dict[str, dict] = {}
        self.contacts: dict[str, dict] = {}
        self.contact_ids_by_name: dict[str, set[str]] = {}
        self.active_contact_by_folded_name: dict[str, str] = {}
        self.journals: dict[str, dict] = {}
        self.journal_ids_by_narration: dict[str, set[str]] = {}
        self.invoices: dict[str, dict] = {}
        self.invoice_ids_by_number: dict[str, set[str]] = {}
        self.invoice_ids_by_reference: dict[str, set[str]] = {}
        self.invoice_ids_by_contact: dict[str, set[str]] = {}
        self.attachments: dict[str, dict] = {}  # AttachmentID -> record, Content as bytes
        self._seed()

    def _seed(self) -> None:
        stamp = self.tick()
        for account in self.ref.seed_accounts(stamp):
            self.save_account(account)
        for category in self.ref.seed_tracking():
            category["UpdatedMs"] = stamp
            self.tracking[category["TrackingCategoryID"]] = category
        for name in self.ref.seeded_contact_names:
            self.save_contact({"ContactID": xero_id(self.ref.seed, "contact", name), "ContactStatus": "ACTIVE",
                               "Name": name, "EmailAddress": "", "IsSupplier": True, "IsCustomer": False,
                               "UpdatedMs": stamp, "Seq": self.next_number("seq")})

    # --- ids, sequence, clock -------------------------------------------------------------------

    def next_number(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def new_id(self, kind: str) -> str:
        return xero_id(self.ref.seed, kind, self.next_number(kind))

    def tick(self) -> int:
        """A modification time in epoch ms, later than every one handed out before."""
        with self.lock:
            self.last_ms = max(now_ms(), self.last_ms + 1)
            return self.last_ms

    # --- saving records (indexes follow) --------------------------------------------------------

    def save_account(self, record: dict) -> dict:
        with self.lock:
            old = self.accounts.get(record["AccountID"])
            if old is not None and self.account_ids_by_code.get(old["Code"]) == old["AccountID"]:
                del self.account_ids_by_code[old["Code"]]
            self.accounts[record["AccountID"]] = record
            self.account_ids_by_code[record["Code"]] = record["AccountID"]
            return record

    def account_by_code(self, code: str) -> dict | None:
        account_id = self.account_ids_by_code.get(code)
        return None if account_id is None else self.accounts[account_id]

    def save_contact(self, record: dict) -> dict:
        with self.lock:
            contact_id = record["ContactID"]
            old = self.contacts.get(contact_id)
            if old is not None:
                _drop(self.contact_ids_by_name, old["Name"], contact_id)
                if self.active_contact_by_folded_name.get(old["Name"].casefold()) == contact_id:
                    del self.active_contact_by_folded_name[old["Name"].casefold()]
            self.contacts[contact_id] = record
            _add(self.contact_ids_by_name, record["Name"], contact_id)
            if record["ContactStatus"] == "ACTIVE":
                self.active_contact_by_folded_name[record["Name"].casefold()] = contact_id
            return record

    def save_journal(self, record: dict) -> dict:
        with self.lock:
            journal_id = record["ManualJournalID"]
            old = self.journals.get(journal_id)
            if old is not None:
                _drop(self.journal_ids_by_narration, old["Narration"], journal_id)
            self.journals[journal_id] = record
            _add(self.journal_ids_by_narration, record["Narration"], journal_id)
            return record

    def save_invoice(self, record: dict) -> dict:
        with self.lock:
            invoice_id = record["InvoiceID"]
            old = self.invoices.get(invoice_id)
            if old is not None:
                _drop(self.invoice_ids_by_number, old["InvoiceNumber"], invoice_id)
                _drop(self.invoice_ids_by_reference, old["Reference"], invoice_id)
                _drop(self.invoice_ids_by_contact, old["ContactID"], invoice_id)
            self.invoices[invoice_id] = record
            _add(self.invoice_ids_by_number, record["InvoiceNumber"], invoice_id)
            _add(self.invoice_ids_by_reference, record["Reference"], invoice_id)
            _add(self.invoice_ids_by_contact, record["ContactID"], invoice_id)
            return record

    def narration_matches(self, method: str, needle: str) -> set[str]:
        with self.lock:
            rows = list(self.journals.values())
        if method == "startswith":
            return {j["ManualJournalID"] for j in rows if j["Narration"].startswith(needle)}
        return {j["ManualJournalID"] for j in rows if needle in j["Narration"]}

    # --- persistence ----------------------------------------------------------------------------

    def dump(self) -> dict:
        with self.lock:
            attachments = {i: {**a, "Content": base64.b64encode(a["Content"]).decode()}
                           for i, a in self.attachments.items()}
            return copy.deepcopy({
                "counters": self.counters, "last_ms": self.last_ms, "period_lock_date": self.period_lock_date,
                "end_of_year_lock_date": self.end_of_year_lock_date, "currencies": self.currencies,
                "accounts": list(self.accounts.values()), "tracking": list(self.tracking.values()),
                "contacts": list(self.contacts.values()), "journals": list(self.journals.values()),
                "invoices": list(self.invoices.values()), "attachments": attachments})

    def load(self, data: dict) -> None:
        with self.lock:
            self.counters = dict(data.get("counters", {}))
            self.last_ms = int(data.get("last_ms", 0))
            self.period_lock_date = data.get("period_lock_date")
            self.end_of_year_lock_date = data.get("end_of_year_lock_date")
            self.currencies = dict(data.get("currencies", self.currencies))
            self.accounts, self.account_ids_by_code = {}, {}
            for account in data.get("accounts", []):
                self.save_account(account)
            self.tracking = {c["TrackingCategoryID"]: c for c in data.get("tracking", [])}
            self.contacts, self.contact_ids_by_name, self.active_contact_by_folded_name = {}, {}, {}
            for contact in data.get("contacts", []):
                self.save_contact(contact)
            self.journals, self.journal_ids_by_narration = {}, {}
            for journal in data.get("journals", []):
                self.save_journal(journal)
            self.invoices = {}
            self.invoice_ids_by_number, self.invoice_ids_by_reference, self.invoice_ids_by_contact = {}, {}, {}
            for invoice in data.get("invoices", []):
                self.save_invoice(invoice)
            self.attachments = {i: {**a, "Content": base64.b64decode(a["Content"])}
                                for i, a in data.get("attachments", {}).items()}
