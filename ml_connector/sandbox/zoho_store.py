"""The mutable state of the Zoho Books sandbox: contacts, journals, bills, attachments, transaction locks.

Records are kept in their wire shape (amounts already converted from Decimal), indexed by id and by the
fields the connector searches on (journal reference_number, bill bill_number, contact name), so lists stay
fast with tens of thousands of journals. One lock guards everything: uvicorn's event loop mutates, tests
may dump from another thread.

Default transaction lock: the `accountant` and `purchase` modules are locked up to the last day of the
month before the sandbox's first data month, so every data month is open and the month before is not.
"""

from __future__ import annotations

import copy
import threading
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ml_connector.sandbox.catalog import numeric_id
from ml_connector.sandbox.zoho_entries import bill_record, journal_record
from ml_connector.sandbox.zoho_records import (
    ZohoError,
    contact_record,
    invalid,
    not_found_in_path,
)
from ml_connector.sandbox.zoho_reference import ZohoReference, zoho_timestamp
from ml_connector.sandbox.zoho_validation import (
    LOCK_MODULES,
    Checker,
    check_balanced,
    parse_amount,
    parse_date,
)


def parse_quantity(value: object) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise invalid("quantity", "Send a positive number.") from None
    if isinstance(value, bool) or not quantity.is_finite() or quantity <= 0:
        raise invalid("quantity", "Send a positive number.")
    return quantity


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
                                zoho_timestamp(), addresses, terms)
        record["_seq"] = self.next_number("seq")
        self.contacts[contact_id] = record
        self.contact_ids_by_name[name.lower()] = contact_id
        return record

    # --- journals ---------------------------------------------------------------------------------

    def create_journal(self, body: dict) -> dict:
        check = self.checker
        journal_date = parse_date(body.get("journal_date"), "journal_date")
        currency = check.currency(body.get("currency_id"))
        rate = check.exchange_rate(body, currency)
        journal_type = Checker.choice(body, "journal_type", ("both", "cash"), "both")
        status = Checker.choice(body, "status", ("draft", "published"), "published")
        header_tags = check.tags(body.get("tags"), "the journal")
        lines = body.get("line_items")
        if not isinstance(lines, list) or len(lines) < 2:
            raise invalid("line_items", "A journal needs at least one debit line and one credit line.")
        parsed = []
        totals = {"debit": Decimal(0), "credit": Decimal(0)}
        for index, line in enumerate(lines, start=1):
            where = f"line item {index}"
            if not isinstance(line, dict):
                raise invalid("line_items")
            account_id = check.account(line.get("account_id"), where)
            side = Checker.choice(line, "debit_or_credit", ("debit", "credit"), "")
            amount = parse_amount(line.get("amount"), "amount", currency)
            customer = check.contact(line["customer_id"]) if line.get("customer_id") else None
            tags = check.tags(line.get("tags"), where)
            check.mandatory_tags(tags, where)
            totals[side] += amount
            parsed.append((line, account_id, amount, customer, tags))
        check_balanced(totals["debit"], totals["credit"], currency)
        check.open_period(journal_date, "accountant")
        with self.lock:
            journal_id = self.new_id("journal")
            entry_number = str(self.next_number("entry_number"))
            line_ids = [self.new_id("journal-line") for _ in parsed]
            record = journal_record(self.ref, body, journal_id, entry_number, journal_date, currency, rate,
                                    journal_type, status, header_tags, parsed, line_ids,
                                    totals["debit"], self.new_id("comment"))
            record["_seq"] = self.next_number("seq")
            self.journals[journal_id] = record
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
            ids = self.journal_ids_by_reference.get(record["reference_number"], [])
            ids.remove(journal_id)
            if not ids:
                self.journal_ids_by_reference.pop(record["reference_number"], None)

    # --- bills ------------------------------------------------------------------------------------

    def create_bill(self, body: dict) -> dict:
        check = self.checker
        if not body.get("vendor_id"):
            raise ZohoError(400, 2, "vendor_id is required. Send the contact_id of the vendor.")
        vendor = check.contact(body["vendor_id"], "Vendor")
        bill_number = str(body.get("bill_number") or "").strip()
        if not bill_number:
            raise ZohoError(400, 2, "bill_number is required and must be unique within the organization.")
        bill_date = parse_date(body.get("date"), "date", required=False) or date.today()
        terms = body.get("payment_terms", 0)
        if isinstance(terms, bool) or not isinstance(terms, int) or terms < 0:
            raise invalid("payment_terms", "Send a whole number of days, e.g. 30.")
        due_date = parse_date(body.get("due_date"), "due_date", required=False) or \
            bill_date + timedelta(days=terms)
        currency = check.currency(body.get("currency_id"))
        rate = check.exchange_rate(body, currency)
        header_tags = check.tags(body.get("tags"), "the bill")
        lines = body.get("line_items")
        if not isinstance(lines, list) or not lines:
            raise invalid("line_items", "A bill needs at least one line item.")
        parsed = []
        for index, line in enumerate(lines, start=1):
            where = f"line item {index}"
            if not isinstance(line, dict):
                raise invalid("line_items")
            account_id = check.account(line.get("account_id"), where)
            rate_value = parse_amount(line.get("rate"), "rate", currency, allow_zero=True)
            quantity = parse_quantity(line.get("quantity", 1))
            item_total = (rate_value * quantity).quantize(Decimal(1).scaleb(-currency.currency.precision),
                                                          rounding=ROUND_HALF_UP)
            tags = check.tags(line.get("tags"), where)
            parsed.append((line, account_id, rate_value, quantity, item_total, tags))
        check.open_period(bill_date, "purchase")
        with self.lock:
            if bill_number.lower() in self.bill_ids_by_number:
                raise ZohoError(400, 2, f"The bill number {bill_number} has already been used. Bill numbers "
                                        "must be unique within the organization.")  # UNCONFIRMED text
            bill_id = self.new_id("bill")
            line_ids = [self.new_id("bill-line") for _ in parsed]
            record = bill_record(self.ref, body, bill_id, vendor, bill_number, bill_date, due_date, terms,
                                 currency, rate, header_tags, parsed, line_ids)
            record["_seq"] = self.next_number("seq")
            self.bills[bill_id] = record
            self.bill_ids_by_number[bill_number.lower()] = bill_id
            return record

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
            record["last_modified_time"] = zoho_timestamp()

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
            # Journals and contacts never change once stored; bills do (attachments), so they are copied.
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

