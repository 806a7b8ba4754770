"""The books of one sandbox company (realm): every entity by type and id, with the indexes lookups use.

Records are wire-shaped dicts (amounts as Decimal, private bookkeeping under `_` keys). Each type's dict
is kept in update order (a changed record moves to the end), so "most recently updated first", the order
QuickBooks lists transactions in (recorded list-bills, list-journal-entries), is a reverse walk, not a sort.
Lookups by Id, DocNumber, DisplayName/Name and attachment target are dict hits, so 50,000 journal entries
cost a lookup what 50 do. Deleted transactions and attachables move to `deleted` (the control route
shows them; the API answers 610 for them).
"""

from __future__ import annotations

import threading
from datetime import date, datetime

from ml_connector.sandbox.quickbooks.records import (
    account_record,
    company_info_record,
    preferences_record,
    pseudonym,
    tax_code_record,
    tax_rate_record,
    tracking_record,
    vendor_record,
)
from ml_connector.sandbox.quickbooks.reference import QboProfile, account_kind
from ml_connector.sandbox.quickbooks.wire import plain, revive, stamp

TRANSACTION_TYPES = ("JournalEntry", "Bill")
NAMED_LIST_TYPES = ("Account", "Class", "Department", "TaxCode", "TaxRate")
ENTITY_TYPES = TRANSACTION_TYPES + ("Vendor", "Attachable") + NAMED_LIST_TYPES
# Display names for TxnType in fault details (6140's recorded "TxnType=Credit Memo" style).
TXN_TYPE_NAMES = {"JournalEntry": "Journal Entry", "Bill": "Bill"}


def key(text: str) -> str:
    """How names and document numbers are compared: trimmed, case-insensitive (UNCONFIRMED, stricter)."""
    return text.strip().casefold()


class RealmBooks:
    def __init__(self, profile: QboProfile) -> None:
        self.profile = profile
        self.realm_id = profile.realm_id
        self.zone = profile.zone
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict]] = {t: {} for t in ENTITY_TYPES}
        self.deleted: dict[str, dict[str, dict]] = {t: {} for t in TRANSACTION_TYPES + ("Attachable",)}
        self.files: dict[str, bytes] = {}  # attachable id -> uploaded content
        self.counters: dict[str, int] = {}
        self.prefs = {"book_close_date": profile.book_close_date.isoformat(), "class_tracking": True,
                      "department_tracking": True, "multicurrency": True}
        self.prefs_sync = 0
        self.prefs_updated = self.created_stamp()
        self._reset_indexes()
        self._seed()

    # --- ids, clocks -------------------------------------------------------------------------------

    def now(self) -> str:
        return stamp(self.zone)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def created_stamp(self) -> str:
        return stamp(self.zone, datetime.combine(self.profile.company_start, datetime.min.time(), self.zone))

    def next_number(self, counter: str) -> int:
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return self.counters[counter]

    def next_id(self, counter: str) -> str:
        return str(self.next_number(counter))

    def peek_id(self, counter: str) -> str:
        """The id `next_id` will hand out: creates build with it and take it only once they succeed."""
        return str(self.counters.get(counter, 0) + 1)

    # --- seed ------------------------------------------------------------------------------------------

    def _seed(self) -> None:
        profile = self.profile
        created = self.created_stamp()
        home = profile.currency_ref(profile.home_currency)
        for account in profile.accounts:
            account_type, classification, subtype = account_kind(account)
            fields = {"Name": account.name, "AccountType": account_type, "Classification": classification,
                      "AccountSubType": subtype, "Active": account.is_active, "AcctNum": account.code}
            self.put("Account", account_record(self.next_id("Account"), fields, home, 0, created))
        for name in profile.class_names:
            self.put("Class", tracking_record("Class", self.next_id("Class"), name, True, 0, created))
        for name in profile.department_names:
            self.put("Department", tracking_record("Department", self.next_id("Department"), name, True, 0,
                                                   created))
        for name in profile.vendor_names:
            vendor_id = self.next_id("Name")
            fields = {"DisplayName": name, "PrintOnCheckName": name, "CompanyName": name, "Active": True}
            self.put("Vendor", vendor_record(vendor_id, fields, home, 0, created, None,
                                             pseudonym(self.realm_id, vendor_id)))
        for spec in profile.tax_codes:
            self.put("TaxCode", tax_code_record(spec, created))
            for applicable_on in ("Sales", "Purchase"):
                if spec.rate_id(applicable_on):
                    self.put("TaxRate", tax_rate_record(spec, applicable_on, created))
        self.company_info = company_info_record(profile, created)

    # --- records ---------------------------------------------------------------------------------------

    def get(self, entity: str, entity_id: str) -> dict | None:
        return self.records[entity].get(entity_id)

    def put(self, entity: str, record: dict) -> dict:
        """Store a new or changed record: it becomes the most recently updated of its type."""
        with self.lock:
            old = self.records[entity].pop(record["Id"], None)
            if old is not None:
                self._index(entity, old, add=False)
            record["_seq"] = self.next_number("seq")
            self.records[entity][record["Id"]] = record
            self._index(entity, record, add=True)
            return record

    def delete(self, entity: str, entity_id: str) -> dict:
        with self.lock:
            record = self.records[entity].pop(entity_id)
            self._index(entity, record, add=False)
            self.deleted[entity][entity_id] = record
            return record

    def newest_first(self, entity: str) -> list[dict]:
        with self.lock:
            return list(reversed(self.records[entity].values()))

    # --- indexes ---------------------------------------------------------------------------------------

    def _reset_indexes(self) -> None:
        self.doc_numbers: dict[str, set[tuple[str, str]]] = {}
        self.display_names: dict[str, str] = {}  # vendors (and, in QuickBooks, customers and employees)
        self.list_names: dict[str, dict[str, str]] = {t: {} for t in NAMED_LIST_TYPES}
        self.attachments_of: dict[tuple[str, str], set[str]] = {}

    def _index(self, entity: str, record: dict, add: bool) -> None:
        if entity in TRANSACTION_TYPES:
            if record.get("DocNumber"):
                self._mark(self.doc_numbers.setdefault(key(record["DocNumber"]), set()), (entity, record["Id"]), add)
        elif entity == "Vendor":
            if add:
                self.display_names[key(record["DisplayName"])] = record["Id"]
            elif self.display_names.get(key(record["DisplayName"])) == record["Id"]:
                del self.display_names[key(record["DisplayName"])]
        elif entity in NAMED_LIST_TYPES:
            names = self.list_names[entity]
            if add:
                names[key(record["Name"])] = record["Id"]
            elif names.get(key(record["Name"])) == record["Id"]:
                del names[key(record["Name"])]
        elif entity == "Attachable":
            for ref in record.get("AttachableRef", []):
                target = (ref["EntityRef"]["type"], ref["EntityRef"]["value"])
                self._mark(self.attachments_of.setdefault(target, set()), record["Id"], add)

    @staticmethod
    def _mark(members: set, member: object, add: bool) -> None:
        if add:
            members.add(member)
        else:
            members.discard(member)

    def doc_number_holders(self, doc_number: str) -> set[tuple[str, str]]:
        return set(self.doc_numbers.get(key(doc_number), ()))

    def vendor_named(self, name: str) -> str | None:
        return self.display_names.get(key(name))

    def named(self, entity: str, name: str) -> str | None:
        return self.list_names[entity].get(key(name))

    def attachments_for(self, entity: str, entity_id: str) -> set[str]:
        return set(self.attachments_of.get((entity, entity_id), ()))

    # --- settings --------------------------------------------------------------------------------------

    def preferences(self) -> dict:
        return preferences_record(self.profile, self.prefs, self.prefs_sync, self.created_stamp(),
                                  self.prefs_updated)

    def change_preferences(self, changes: dict) -> dict:
        with self.lock:
            self.prefs.update(changes)
            self.prefs_sync += 1
            self.prefs_updated = self.now()
            return self.preferences()

    @property
    def book_close_date(self) -> date | None:
        value = self.prefs["book_close_date"]
        return date.fromisoformat(value) if value else None

    # --- persistence -----------------------------------------------------------------------------------

    def dump(self) -> dict:
        with self.lock:
            return {"records": plain(self.records), "deleted": plain(self.deleted),
                    "files": {i: content.hex() for i, content in self.files.items()},
                    "counters": dict(self.counters), "prefs": dict(self.prefs), "prefs_sync": self.prefs_sync,
                    "prefs_updated": self.prefs_updated}

    def load(self, data: dict) -> None:
        with self.lock:
            records = revive(data.get("records", {}))
            self.records = {t: dict(records.get(t, {})) for t in ENTITY_TYPES}
            deleted = revive(data.get("deleted", {}))
            self.deleted = {t: dict(deleted.get(t, {})) for t in self.deleted}
            self.files = {i: bytes.fromhex(content) for i, content in data.get("files", {}).items()}
            self.counters = dict(data.get("counters", self.counters))
            self.prefs.update(data.get("prefs", {}))
            self.prefs_sync = int(data.get("prefs_sync", self.prefs_sync))
            self.prefs_updated = data.get("prefs_updated", self.prefs_updated)
            self._reset_indexes()
            for entity, by_id in self.records.items():
                for record in by_id.values():
                    self._index(entity, record, add=True)


def public(record: dict) -> dict:
    """The record without the sandbox's bookkeeping keys."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def txn_type_name(entity: str) -> str:
    return TXN_TYPE_NAMES.get(entity, entity)
