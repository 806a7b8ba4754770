"""Vendors, accounts, classes and departments: create and update (full or sparse, SyncToken checked).

QuickBooks does not delete list entities: a person makes them inactive (`Active: false`), which the
sandbox supports through update; `operation=delete` on them is refused with 500 Unsupported Operation.

- Vendor: DisplayName must be unique across vendors, customers and employees (6240; the sandbox company
  has vendors only), compared trimmed and case-insensitively (UNCONFIRMED), inactive vendors included; it
  may not contain ":" (2040, the colon separates sub-names; code UNCONFIRMED). Without DisplayName it is
  built from Title/GivenName/MiddleName/FamilyName/Suffix, else CompanyName, else 2020. PrintOnCheckName
  defaults to CompanyName, else DisplayName (recorded create-vendor). GivenName/FamilyName <= 25,
  MiddleName <= 15, Suffix <= 15 (XSD); DisplayName <= 500 (UNCONFIRMED). A vendor's currency is fixed once
  set (6000 on change). TermRef names nothing in the sandbox (2500).
- Account: Name (<= 100, unique among accounts: 6240) and AccountType (AccountTypeEnum, 2170) required;
  Classification follows AccountType; AccountSubType defaults per type; AcctNum unique (6000, UNCONFIRMED).
- Class / Department: Name (<= 100) required, unique within its type (6240); flat (no ParentRef).
"""

from __future__ import annotations

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.records import (
    VENDOR_CONTACT_KEYS,
    account_record,
    pseudonym,
    tracking_record,
    vendor_record,
)
from ml_connector.sandbox.quickbooks.store import RealmBooks, public
from ml_connector.sandbox.quickbooks.validation import References, boolean, choice, entity_id, sync_token, text

ACCOUNT_TYPES = {  # XSD AccountTypeEnum -> (Classification, default AccountSubType)
    "Bank": ("Asset", "CashOnHand"), "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"), "Fixed Asset": ("Asset", "OtherFixedAssets"),
    "Other Asset": ("Asset", "OtherLongTermAssets"), "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Long Term Liability": ("Liability", "OtherLongTermLiabilities"), "Equity": ("Equity", "OwnersEquity"),
    "Income": ("Revenue", "ServiceFeeIncome"), "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Expense": ("Expense", "OtherBusinessExpenses"), "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
}
NAME_PART_LIMITS = {"Title": 15, "GivenName": 25, "MiddleName": 15, "FamilyName": 25, "Suffix": 15}
PLAIN_VENDOR_KEYS = {"CompanyName": 100, "PrintOnCheckName": 110, "AcctNum": 15, "Notes": 4000}
CONTACT_SHAPES = {"PrimaryPhone": "FreeFormNumber", "Mobile": "FreeFormNumber", "Fax": "FreeFormNumber",
                  "PrimaryEmailAddr": "Address", "WebAddr": "URI"}
ADDRESS_KEYS = ("Line1", "Line2", "Line3", "City", "Country", "CountrySubDivisionCode", "PostalCode")


def changed_body(books: RealmBooks, entity: str, body: dict) -> tuple[dict | None, dict]:
    """(current record or None for a create, the body to build from: sparse updates merged)."""
    wanted = entity_id(body)
    if wanted is None:
        return None, body
    current = books.get(entity, wanted)
    if current is None:
        raise errors.inactive_or_missing("Id")
    sync_token(body, current)
    return current, ({**public(current), **body} if body.get("sparse") is True else body)


def stamps(books: RealmBooks, current: dict | None) -> tuple[int, str, str]:
    now = books.now()
    if current is None:
        return 0, now, now
    return int(current["SyncToken"]) + 1, current["MetaData"]["CreateTime"], now


# --- vendors ------------------------------------------------------------------------------------------

def contact(body: dict, key: str) -> dict | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.unsupported_property(key)
    inner = CONTACT_SHAPES[key]
    found = text(value.get(inner), f"{key}.{inner}", 1023)
    return {inner: found} if found else None


def address(books: RealmBooks, body: dict, current: dict | None) -> dict | None:
    value = body.get("BillAddr")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.unsupported_property("BillAddr")
    kept = {k: text(value.get(k), f"BillAddr.{k}", 500) for k in ADDRESS_KEYS if value.get(k)}
    old_id = (current or {}).get("BillAddr", {}).get("Id")
    return {"Id": old_id or books.next_id("Address"), **kept}


def vendor_fields(books: RealmBooks, body: dict, current: dict | None) -> dict:
    fields: dict = {key: text(body.get(key), key, limit) for key, limit in NAME_PART_LIMITS.items()}
    fields.update({key: text(body.get(key), key, limit) for key, limit in PLAIN_VENDOR_KEYS.items()})
    display = text(body.get("DisplayName"), "DisplayName", 500)
    if display is None:
        display = " ".join(fields[k] for k in NAME_PART_LIMITS if fields[k]) or fields["CompanyName"]
    if not display or not display.strip():
        raise errors.required("DisplayName")
    if ":" in display:
        raise errors.invalid_string("DisplayName", "a name cannot contain ':'.")
    fields["DisplayName"] = display
    fields["PrintOnCheckName"] = fields["PrintOnCheckName"] or fields["CompanyName"] or display
    fields["Active"] = boolean(body.get("Active"), "Active", True)
    fields["Vendor1099"] = boolean(body.get("Vendor1099"), "Vendor1099", False)
    for key in VENDOR_CONTACT_KEYS:
        fields[key] = contact(body, key)
    bill_address = address(books, body, current)
    if bill_address is not None:
        fields["BillAddr"] = bill_address
    if body.get("TermRef") is not None:
        raise errors.invalid_reference("Term", (body["TermRef"] or {}).get("value"), "TermRef")
    return fields


def save_vendor(books: RealmBooks, body: dict) -> dict:
    with books.lock:
        current, source = changed_body(books, "Vendor", body)
        fields = vendor_fields(books, source, current)
        currency = References(books).currency(source.get("CurrencyRef"))
        if current is not None and currency.code != current["CurrencyRef"]["value"]:
            raise errors.business("A vendor's currency cannot be changed once set.", "CurrencyRef")
        holder = books.vendor_named(fields["DisplayName"])
        if holder is not None and (current is None or holder != current["Id"]):
            raise errors.duplicate_name(fields["DisplayName"])
        vendor_id = current["Id"] if current else books.next_id("Name")  # every check has passed
        sync, created, updated = stamps(books, current)
        record = vendor_record(vendor_id, fields, books.profile.currency_ref(currency.code), sync, created,
                               updated, pseudonym(books.realm_id, vendor_id))
        return books.put("Vendor", record)


# --- accounts, classes, departments --------------------------------------------------------------

def list_name(books: RealmBooks, entity: str, source: dict, current: dict | None) -> str:
    name = text(source.get("Name"), "Name", 100, required=True)
    if ":" in name:
        raise errors.invalid_string("Name", "a name cannot contain ':'.")
    holder = books.named(entity, name)
    if holder is not None and (current is None or holder != current["Id"]):
        raise errors.duplicate_list_name(entity.lower(), name)
    return name


def save_account(books: RealmBooks, body: dict) -> dict:
    with books.lock:
        current, source = changed_body(books, "Account", body)
        name = list_name(books, "Account", source, current)
        account_type = choice(source.get("AccountType"), "AccountType", tuple(ACCOUNT_TYPES))
        if account_type is None:
            raise errors.required("AccountType")
        classification, default_subtype = ACCOUNT_TYPES[account_type]
        acct_num = text(source.get("AcctNum"), "AcctNum", 20)
        if acct_num and any(a.get("AcctNum") == acct_num and (current is None or a["Id"] != current["Id"])
                            for a in books.newest_first("Account")):
            raise errors.business(f"Another account is already using the number {acct_num}.", "AcctNum")
        fields = {"Name": name, "AccountType": account_type, "Classification": classification,
                  "AccountSubType": text(source.get("AccountSubType"), "AccountSubType", 100) or default_subtype,
                  "Active": boolean(source.get("Active"), "Active", True), "AcctNum": acct_num,
                  "Description": text(source.get("Description"), "Description", 100)}
        currency = References(books).currency(source.get("CurrencyRef"))
        sync, created, updated = stamps(books, current)
        account_id = current["Id"] if current else books.next_id("Account")  # every check has passed
        return books.put("Account", account_record(account_id, fields, books.profile.currency_ref(currency.code),
                                                   sync, created, updated))


def save_tracking(books: RealmBooks, entity: str, body: dict) -> dict:
    with books.lock:
        current, source = changed_body(books, entity, body)
        if source.get("ParentRef") is not None:
            raise errors.invalid_reference(entity, source["ParentRef"].get("value"), "ParentRef")
        name = list_name(books, entity, source, current)
        active = boolean(source.get("Active"), "Active", True)
        sync, created, updated = stamps(books, current)
        new_id = current["Id"] if current else books.next_id(entity)
        return books.put(entity, tracking_record(entity, new_id, name, active, sync, created, updated))
