"""The mutable state of the Zoho Books sandbox: contacts, journals, bills, attachments, transaction locks.

Records are kept in their wire shape (amounts already converted from Decimal), indexed by id and by the
fields the connector searches on (journal reference_number, bill bill_number, contact name), so lists stay
fast with tens of thousands of journals. One lock guards everything: uvicorn's event loop mutates, tests
may dump from another thread.

Every write stamps `last_modified_time` with the organisation's clock, to the second as Zoho writes it:
two changes within one second share a stamp (never a stamp ahead of the clock, which would hide later
writes from a client reading "modified since" its newest stamp).

Default transaction lock: the `accountant` and `purchase` modules are locked up to the last day of the
month before the sandbox's first data month, so every data month is open and the month before is not.
"""

from __future__ import annotations

import copy
import threading
from datetime import date, timedelta

from ml_connector.sandbox.catalog import numeric_id
from ml_connector.sandbox.zoho_drafts import bill_body, journal_body, merged_body, parse_bill, parse_journal
from ml_connector.sandbox.zoho_entries import bill_record, journal_record
from ml_connector.sandbox.zoho_records import (
    ZohoError,
    contact_record,
    invalid,
    not_found_in_path,
)
from ml_connector.sandbox.zoho_reference import ZohoReference
from ml_connector.sandbox.zoho_validation import LOCK_MODULES, Checker, parse_date


class ZohoStore:
    def __init__(self, ref: ZohoReference) -> None:
        self.ref = ref
        self.lock = threading.RLock()
        self.contacts: dict[str, dict] = {}
        self.contact_ids_by_name: dict[str, str] = {}
        self.journals: dict[str, dict] = {}
        self.journal_ids_by_reference: dict[str, list[str]] = {}
        self.bills: dict[str, dict] = {}
        self.bill_ids_by_number: dict[str, str] = {}
        self.attachments: dict[str, dict] = {}  # document_id -> {bill_id, file_name, file_type, content(hex)}
        self.locks: dict[str, dict] = {}  # module -> {transaction_lock_id, date, status, reason}
        self.counters: dict[str, int] = {}
        self._seed_state()

    def _seed_state(self) -> None:
        for name in self.ref.seeded_vendor_names:
            self._add_contact(name, "vendor", name, self.ref.base_currency, "", 0, seeded=True)
        first = self.ref.created_date
        lock_date = (first - timedelta(days=1)).isoformat()
        for module in ("accountant", "purchase"):
            self.locks[module] = {"transaction_lock_id": numeric_id(self.ref.seed, "lock", module),
                                  "date": lock_date, "status": "enabled", "reason": "Previous month closed"}

    def next_number(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def new_id(self, kind: str) -> str:
        return numeric_id(self.ref.seed, kind, self.next_number(kind))

    @property
    def checker(self) -> Checker:
        return Checker(self.ref, self.contacts, self.locks)

    # --- contacts ---------------------------------------------------------------------------------

    def create_contact(self, body: dict) -> dict:
        name = str(body.get("contact_name") or "").strip()
        if not name or len(name) > 200:
            raise invalid("contact_name", "Send a name of 1 to 200 characters.")
        contact_type = Checker.choice(body, "contact_type", ("customer", "vendor"), "customer")
        currency = self.checker.currency(body.get("currency_id"))
        terms = body.get("payment_terms", 0)
        if isinstance(terms, bool) or not isinstance(terms, int) or terms < 0:
            raise invalid("payment_terms", "Send a whole number of days, e.g. 30.")
        with self.lock:
            if name.lower() in self.contact_ids_by_name:
                # UNCONFIRMED code and text: Zoho rejects a second contact with the same display name.
                raise ZohoError(400, 3062, f'The contact "{name}" already exists. Use the existing contact '
                                           "or choose another name.")
            return self._add_contact(name, contact_type, str(body.get("company_name") or ""), currency,
                                     str(body.get("email") or ""), terms)

    def _add_contact(self, name, contact_type, company_name, currency, email, terms, seeded=False) -> dict:
        seed = self.ref.seed
        contact_id = numeric_id(seed, "contact", name) if seeded else self.new_id("contact")
        addresses = tuple(numeric_id(seed, "address", contact_id, kind)
                          for kind in ("bill", "ship", "entity"))
        record = contact_record(self.ref, contact_id, name, contact_type, company_name, currency, email,
                                self.ref.timestamp(), addresses, terms)
        record["_seq"] = self.next_number("seq")
        self.contacts[contact_id] = record
        self.contact_ids_by_name[name.lower()] = contact_id
        return record

    # --- journals ---------------------------------------------------------------------------------

    def create_journal(self, body: dict) -> dict:
        parsed = parse_journal(self.ref, self.checker, body)
        self.checker.open_period(parsed.journal_date, "accountant")
        with self.lock:
            journal_id = self.new_id("journal")
            entry_number = str(self.next_number("entry_number"))
            line_ids = [self.new_id("journal-line") for _ in parsed.lines]
            record = journal_record(self.ref, parsed, journal_id, entry_number, line_ids, self.new_id("comment"))
            record["_seq"] = self.next_number("seq")
            self.journals[journal_id] = record
            self.journal_ids_by_reference.setdefault(record["reference_number"], []).append(journal_id)
            return record

    def update_journal(self, journal_id: str, changes: dict) -> dict:
        """PUT /journals/{id}: the saved journal with `changes` laid over it, checked as a new one would be.
        `journal_date` is required (journals.yml update request; the recorded update sends it)."""
        with self.lock:
            saved = self.journal(journal_id)
            if changes.get("journal_date") in (None, ""):
                raise ZohoError(400, 2, "journal_date is required. Send it as yyyy-mm-dd.")
            parsed = parse_journal(self.ref, self.checker, merged_body(journal_body(saved), changes))
            self.checker.open_period(date.fromisoformat(saved["journal_date"]), "accountant")
            self.checker.open_period(parsed.journal_date, "accountant")
            old_ids = {line["line_id"] for line in saved["line_items"]}
            line_ids = [str(item.body.get("line_id")) if str(item.body.get("line_id") or "") in old_ids
                        else self.new_id("journal-line") for item in parsed.lines]
            record = journal_record(self.ref, parsed, journal_id, saved["entry_number"], line_ids, "")
            stamp = self.ref.timestamp()
            comment = {**saved["comments"][0], "comment_id": self.new_id("comment"), "commented_by_id":
                       self.ref.user_id, "commented_by": self.ref.user_name, "description": "Journal updated.",
                       "date": stamp[:10], "operation_type": "Updated"}
            record.update({"created_time": saved["created_time"], "last_modified_time": stamp,
                           "comments": [comment, *saved["comments"]], "documents": saved["documents"],
                           "_seq": saved["_seq"]})
            self._unindex_journal(saved)
            self.journals[journal_id] = record  # replaced, never mutated: dump() copies journals shallowly
            self.journal_ids_by_reference.setdefault(record["reference_number"], []).append(journal_id)
            return record

    def journal(self, journal_id: str) -> dict:
        found = self.journals.get(journal_id)
        if found is None:
            raise not_found_in_path("Journal")
        return found

    def delete_journal(self, journal_id: str) -> None:
        with self.lock:
            record = self.journal(journal_id)
            self.checker.open_period(date.fromisoformat(record["journal_date"]), "accountant")
            del self.journals[journal_id]
            self._unindex_journal(record)

    def _unindex_journal(self, record: dict) -> None:
        ids = self.journal_ids_by_reference.get(record["reference_number"], [])
        ids.remove(record["journal_id"])
        if not ids:
            self.journal_ids_by_reference.pop(record["reference_number"], None)

    # --- bills ------------------------------------------------------------------------------------

    def create_bill(self, body: dict) -> dict:
        parsed = parse_bill(self.ref, self.checker, body)
        self.checker.open_period(parsed.bill_date, "purchase")
        with self.lock:
            self._check_bill_number(parsed.bill_number, None)
            bill_id = self.new_id("bill")
            line_ids = [self.new_id("bill-line") for _ in parsed.lines]
            record = bill_record(self.ref, parsed, bill_id, line_ids)
            record["_seq"] = self.next_number("seq")
            self.bills[bill_id] = record
            self.bill_ids_by_number[parsed.bill_number.lower()] = bill_id
            return record

    def update_bill(self, bill_id: str, changes: dict) -> dict:
        """PUT /bills/{id}: a partial body is enough (recorded update-bill sends only `notes`)."""
        with self.lock:
            saved = self.bill(bill_id)
            if saved["status"] == "void":  # UNCONFIRMED code and text
                raise ZohoError(400, 2, "A void bill cannot be edited. Mark it as open first.")
            parsed = parse_bill(self.ref, self.checker, merged_body(bill_body(saved), changes))
            self.checker.open_period(date.fromisoformat(saved["date"]), "purchase")
            self.checker.open_period(parsed.bill_date, "purchase")
            self._check_bill_number(parsed.bill_number, bill_id)
            old_ids = {line["line_item_id"] for line in saved["line_items"]}
            line_ids = [str(item.body.get("line_item_id")) if str(item.body.get("line_item_id") or "") in old_ids
                        else self.new_id("bill-line") for item in parsed.lines]
            record = bill_record(self.ref, parsed, bill_id, line_ids)
            record.update({key: saved[key] for key in ("created_time", "documents", "attachment_name", "_seq")})
            record["last_modified_time"] = self.ref.timestamp()
            self.bill_ids_by_number.pop(saved["bill_number"].lower(), None)
            self.bills[bill_id] = record
            self.bill_ids_by_number[parsed.bill_number.lower()] = bill_id
            return record

    def set_bill_status(self, bill_id: str, status: str) -> dict:
        """POST /bills/{id}/status/void | open. A void bill keeps its lines and totals and owes nothing
        (`balance` 0, UNCONFIRMED); only a void bill can be marked open (bills.yml: "Mark a void bill as
        open"). Refusals are code 2 (UNCONFIRMED texts)."""
        with self.lock:
            record = self.bill(bill_id)
            if status == "void" and record["status"] == "void":
                raise ZohoError(400, 2, "The bill is already void.")
            if status == "open" and record["status"] != "void":
                raise ZohoError(400, 2, "Only a void bill can be marked as open.")
            self.checker.open_period(date.fromisoformat(record["date"]), "purchase")
            record.update({"status": status, "current_sub_status": status,
                           "balance": 0 if status == "void" else record["total"],
                           "last_modified_time": self.ref.timestamp()})
            return record

    def _check_bill_number(self, bill_number: str, own_id: str | None) -> None:
        holder = self.bill_ids_by_number.get(bill_number.lower())
        if holder is not None and holder != own_id:
            raise ZohoError(400, 2, f"The bill number {bill_number} has already been used. Bill numbers "
                                    "must be unique within the organization.")  # UNCONFIRMED text

    def bill(self, bill_id: str) -> dict:
        found = self.bills.get(bill_id)
        if found is None:
            raise not_found_in_path("Bill")
        return found

    def delete_bill(self, bill_id: str) -> None:
        with self.lock:
            record = self.bill(bill_id)
            self.checker.open_period(date.fromisoformat(record["date"]), "purchase")
            del self.bills[bill_id]
            self.bill_ids_by_number.pop(record["bill_number"].lower(), None)
            for document in record["documents"]:
                self.attachments.pop(document["document_id"], None)

    def attach_to_bill(self, bill_id: str, file_name: str, file_type: str, content: bytes) -> None:
        with self.lock:
            record = self.bill(bill_id)
            document_id = self.new_id("document")
            self.attachments[document_id] = {"bill_id": bill_id, "file_name": file_name,
                                             "file_type": file_type, "content": content.hex()}
            record["documents"].append({
                "document_id": document_id, "file_name": file_name, "file_type": file_type,
                "file_size": len(content), "file_size_formatted": f"{len(content)} bytes",
                "attachment_order": len(record["documents"]) + 1, "can_send_in_email": False})
            record["attachment_name"] = file_name
            record["last_modified_time"] = self.ref.timestamp()

    # --- transaction locks ------------------------------------------------------------------------

    def set_lock(self, body: dict) -> dict:
        module = body.get("transaction_lock_module")
        if module not in LOCK_MODULES:
            raise invalid("transaction_lock_module", f"Use one of: {', '.join(LOCK_MODULES)}.")
        status = Checker.choice(body, "transaction_lock_status",
                                ("disabled", "enabled", "enabled_with_logging"), "enabled")
        lock_date = parse_date(body.get("transaction_lock_date"), "transaction_lock_date",
                               required=status != "disabled")
        with self.lock:
            if status == "disabled":
                return self.locks.pop(module, None) or {"module": module, "status": "disabled"}
            lock = {"transaction_lock_id": self.locks.get(module, {}).get("transaction_lock_id")
                    or self.new_id("lock"), "date": lock_date.isoformat(), "status": status,
                    "reason": str(body.get("reason") or "")}
            self.locks[module] = lock
            return lock

    def delete_lock(self, lock_id: str) -> None:
        with self.lock:
            module = next((m for m, lock in self.locks.items()
                           if lock["transaction_lock_id"] == lock_id), None)
            if module is None:
                raise not_found_in_path("Transaction lock")
            del self.locks[module]

    # --- persistence ------------------------------------------------------------------------------

    def dump(self) -> dict:
        with self.lock:
            # Journals and contacts are replaced, never changed, once stored; bills change in place
            # (attachments, status), so they are copied.
            return {"contacts": list(self.contacts.values()), "journals": list(self.journals.values()),
                    "bills": copy.deepcopy(list(self.bills.values())), "attachments": dict(self.attachments),
                    "locks": {m: dict(lock) for m, lock in self.locks.items()},
                    "counters": dict(self.counters)}

    def load(self, data: dict) -> None:
        with self.lock:
            self.contacts = {c["contact_id"]: c for c in data.get("contacts", [])}
            self.contact_ids_by_name = {c["contact_name"].lower(): i for i, c in self.contacts.items()}
            self.journals = {j["journal_id"]: j for j in data.get("journals", [])}
            self.journal_ids_by_reference = {}
            for journal_id, journal in self.journals.items():
                self.journal_ids_by_reference.setdefault(journal["reference_number"], []).append(journal_id)
            self.bills = {b["bill_id"]: b for b in data.get("bills", [])}
            self.bill_ids_by_number = {b["bill_number"].lower(): i for i, b in self.bills.items()}
            self.attachments = dict(data.get("attachments", {}))
            self.locks = {m: dict(lock) for m, lock in data.get("locks", {}).items()}
            self.counters = dict(data.get("counters", {}))

