"""Contacts: `PUT /Contacts` creates, `POST /Contacts` updates by ContactID (or creates), and the name rule.

A contact's `Name` (1-255 characters) must be unique, case-insensitively, among ACTIVE contacts: a duplicate is
refused with "The contact name {name} is already assigned to another contact. The contact name must be unique
across all active contacts." (a real Xero answer quoted in Pinelab-studio/pinelab-vendure-plugins#505; the notes
mark the rule unconfirmed, so the sandbox enforces it; XeroAPI/xero-php-oauth2#191 saw a create with an
existing name update that contact instead, which the sandbox does not do). Writable: Name, ContactNumber
(<= 50), AccountNumber (<= 50), EmailAddress, FirstName, LastName, TaxNumber (<= 50), DefaultCurrency (an
organisation currency), PurchasesDefaultAccountCode, ContactStatus ACTIVE|ARCHIVED. `IsSupplier`/`IsCustomer`
cannot be set (OAS); they flip when a bill is entered. Other messages are UNCONFIRMED, in Xero's style.
"""

from __future__ import annotations

from ml_connector.sandbox.xero.errors import Invalid
from ml_connector.sandbox.xero.records import CONTACT_OPTIONAL
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.validation import choice
from ml_connector.sandbox.xero.wire import ci

LIMITS = {"ContactNumber": 50, "AccountNumber": 50, "TaxNumber": 50, "FirstName": 255, "LastName": 255,
          "EmailAddress": 255, "PurchasesDefaultAccountCode": 10, "DefaultCurrency": 3}


def duplicate_name(name: str) -> str:
    return (f"The contact name {name} is already assigned to another contact. The contact name must be unique "
            "across all active contacts.")


def prepare_contact(store: XeroStore, raw: dict, existing: dict | None, claimed: set[str]) -> dict:
    """The contact record `raw` asks for, checked against stored names and names `claimed` in this batch."""
    item = ci(raw)
    messages: list[str] = []
    base = existing or {}
    name = str(item["name"]).strip() if item.get("name") is not None else base.get("Name", "")
    if not name:
        messages.append("The contact name must be specified.")
    elif len(name) > 255:
        messages.append("The contact name must be 255 characters or fewer.")
    status = choice(item.get("contactstatus"), ("ACTIVE", "ARCHIVED"), base.get("ContactStatus", "ACTIVE"),
                    "ContactStatus", messages)
    if name and status == "ACTIVE":
        holder = store.active_contact_by_folded_name.get(name.casefold())
        if (holder is not None and holder != base.get("ContactID")) or name.casefold() in claimed:
            messages.append(duplicate_name(name))
    fields = {}
    for key in CONTACT_OPTIONAL + ("EmailAddress",):
        value = item.get(key.lower(), base.get(key))
        if value is None:
            continue
        value = str(value)
        if len(value) > LIMITS[key]:
            messages.append(f"{key} must be {LIMITS[key]} characters or fewer.")
        fields[key] = value
    currency = fields.get("DefaultCurrency")
    if currency and currency.upper() not in store.currencies:
        messages.append(f"The currency code '{currency}' is not set up for this organisation.")
    if messages:
        raise Invalid(*messages)
    claimed.add(name.casefold())
    return {**base, **fields, "Name": name, "ContactStatus": status, "EmailAddress": fields.get("EmailAddress", ""),
            "IsSupplier": base.get("IsSupplier", False), "IsCustomer": base.get("IsCustomer", False)}


def commit_contact(store: XeroStore, record: dict) -> dict:
    with store.lock:
        if "ContactID" not in record:
            record = {"ContactID": store.new_id("contact"), "Seq": store.next_number("seq"), **record}
        record["UpdatedMs"] = store.tick()
        return store.save_contact(record)


def create_contact_named(store: XeroStore, name: str) -> str:
    """A contact made because a bill named it (Xero creates it on the fly)."""
    return commit_contact(store, prepare_contact(store, {"Name": name}, None, set()))["ContactID"]
