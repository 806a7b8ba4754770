"""Organisation settings a person (or the API) changes: accounts, tracking categories and options, currencies.

Accounts (`PUT /Accounts` creates one, `POST /Accounts/{id}` updates): `Code` (<= 10, unique), `Name` (<= 150,
unique), `Type` (OAS AccountType), `TaxType`, `Description`, `BankAccountNumber` (BANK), `Status` ACTIVE|ARCHIVED
on update. Messages: "Please enter a unique Name." (OAS), "Account Code is too long. Maximum of 10 characters
allowed" (3p observed, XeroAPI/xero-php-oauth2#159); the rest UNCONFIRMED. System accounts cannot be archived.

Tracking categories (`PUT /TrackingCategories`, `POST /TrackingCategories/{id}`, `PUT .../Options`,
`POST .../Options/{optionId}`): names <= 100 and unique (case-insensitive) among categories, and among a
category's options; at most two ACTIVE categories, as Xero allows (the notes infer the cap; a third, or
re-activating one while two are active, is refused: "You can have a maximum of 2 active tracking categories.
Archive one before adding another.", UNCONFIRMED wording). Status ACTIVE|ARCHIVED.

Currencies (`PUT /Currencies`): a three-letter code not yet set up; the sandbox knows no day rate for it, so
bills in it must carry a CurrencyRate.
"""

from __future__ import annotations

import re

from ml_connector.sandbox.xero.errors import Invalid
from ml_connector.sandbox.xero.reference import ACCOUNT_CLASS, ACCOUNT_TYPES, REPORTING_CODES
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.validation import choice
from ml_connector.sandbox.xero.wire import ci

MAX_ACTIVE_CATEGORIES = 2
TOO_MANY_CATEGORIES = (f"You can have a maximum of {MAX_ACTIVE_CATEGORIES} active tracking categories. Archive one "
                       "before adding another.")
UNIQUE_NAME = "Please enter a unique Name."


def prepare_account(store: XeroStore, raw: dict, existing: dict | None) -> dict:
    item, messages, base = ci(raw), [], existing or {}
    code = str(item["code"]).strip() if item.get("code") is not None else base.get("Code", "")
    name = str(item["name"]).strip() if item.get("name") is not None else base.get("Name", "")
    kind = choice(item.get("type"), ACCOUNT_TYPES, base.get("Type", ""), "Type", messages)
    if not code:
        messages.append("Account Code must be specified.")
    elif len(code) > 10:
        messages.append("Account Code is too long. Maximum of 10 characters allowed")
    elif (holder := store.account_by_code(code)) is not None and holder["AccountID"] != base.get("AccountID"):
        messages.append("Please enter a unique Code.")
    if not name:
        messages.append("Account Name must be specified.")
    elif len(name) > 150:
        messages.append("Account Name is too long. Maximum of 150 characters allowed")
    elif any(a["Name"].casefold() == name.casefold() and a["AccountID"] != base.get("AccountID")
             for a in store.accounts.values()):
        messages.append(UNIQUE_NAME)
    if not kind:
        messages.append("Account Type must be specified.")
    if existing is not None and kind != existing["Type"] and existing.get("SystemAccount"):
        messages.append("The Type of a system account cannot be changed.")
    status = choice(item.get("status"), ("ACTIVE", "ARCHIVED"), base.get("Status", "ACTIVE"), "Status", messages)
    if status == "ARCHIVED" and base.get("SystemAccount"):
        messages.append("A system account cannot be archived.")
    account_class = ACCOUNT_CLASS.get(kind, "ASSET")
    tax_type = str(item.get("taxtype") or base.get("TaxType") or store.ref.default_tax_type(account_class))
    rate = store.ref.tax_rates.get(tax_type)
    if rate is None or account_class not in rate.applies_to:
        messages.append(f"The TaxType code {tax_type} does not exist or cannot be used for this type of account.")
    if messages:
        raise Invalid(*messages)
    record = {**base, "Code": code, "Name": name, "Status": status, "Type": kind, "TaxType": tax_type,
              "Class": account_class,
              "EnablePaymentsToAccount": base.get("EnablePaymentsToAccount", False),
              "ShowInExpenseClaims": base.get("ShowInExpenseClaims", account_class == "EXPENSE"),
              "BankAccountType": "BANK" if kind == "BANK" else "", "ReportingCode": REPORTING_CODES[account_class][0],
              "ReportingCodeName": REPORTING_CODES[account_class][1], "HasAttachments": False,
              "AddToWatchlist": base.get("AddToWatchlist", False)}
    if kind != "BANK":
        record["Description"] = str(item.get("description") if item.get("description") is not None
                                    else base.get("Description", ""))
        record["SystemAccount"] = base.get("SystemAccount", "")
    else:
        record.update(BankAccountNumber=str(item.get("bankaccountnumber") or base.get("BankAccountNumber", "")),
                      CurrencyCode=base.get("CurrencyCode", store.ref.profile.base_currency))
    return record


def commit_account(store: XeroStore, record: dict) -> dict:
    with store.lock:
        if "AccountID" not in record:
            record = {"AccountID": store.new_id("account"), **record}
        record["UpdatedMs"] = store.tick()
        return store.save_account(record)


def _active_categories(store: XeroStore, other_than: str | None = None) -> int:
    return sum(1 for c in store.tracking.values() if c["Status"] == "ACTIVE" and c["TrackingCategoryID"] != other_than)


def save_category(store: XeroStore, raw: dict, existing: dict | None) -> dict:
    item, messages, base = ci(raw), [], existing or {}
    name = str(item["name"]).strip() if item.get("name") is not None else base.get("Name", "")
    status = choice(item.get("status"), ("ACTIVE", "ARCHIVED"), base.get("Status", "ACTIVE"), "Status", messages)
    category_id = base.get("TrackingCategoryID")
    if not name or len(name) > 100:
        messages.append("Name must be 1 to 100 characters.")
    elif any(c["Name"].casefold() == name.casefold() and c["TrackingCategoryID"] != category_id
             for c in store.tracking.values()):
        messages.append(UNIQUE_NAME)
    if status == "ACTIVE" and _active_categories(store, category_id) >= MAX_ACTIVE_CATEGORIES:
        messages.append(TOO_MANY_CATEGORIES)
    if messages:
        raise Invalid(*messages)
    with store.lock:
        record = {**base, "TrackingCategoryID": category_id or store.new_id("tracking"), "Name": name,
                  "Status": status, "Options": base.get("Options", []), "UpdatedMs": store.tick()}
        store.tracking[record["TrackingCategoryID"]] = record
        return record


def save_option(store: XeroStore, category: dict, raw: dict, existing: dict | None) -> dict:
    item, messages, base = ci(raw), [], existing or {}
    name = str(item["name"]).strip() if item.get("name") is not None else base.get("Name", "")
    status = choice(item.get("status"), ("ACTIVE", "ARCHIVED"), base.get("Status", "ACTIVE"), "Status", messages)
    if not name or len(name) > 100:
        messages.append("Name must be 1 to 100 characters.")
    elif any(o["Name"].casefold() == name.casefold() and o["TrackingOptionID"] != base.get("TrackingOptionID")
             for o in category["Options"]):
        messages.append(UNIQUE_NAME)
    if messages:
        raise Invalid(*messages)
    with store.lock:
        option = {"TrackingOptionID": base.get("TrackingOptionID") or store.new_id("tracking-option"),
                  "Name": name, "Status": status}
        others = [o for o in category["Options"] if o["TrackingOptionID"] != option["TrackingOptionID"]]
        position = next((i for i, o in enumerate(category["Options"])
                         if o["TrackingOptionID"] == option["TrackingOptionID"]), len(others))
        category["Options"] = others[:position] + [option] + others[position:]
        category["UpdatedMs"] = store.tick()
        return option


def save_currency(store: XeroStore, raw: dict) -> dict:
    item = ci(raw)
    code = str(item.get("code") or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise Invalid("Code must be a three-letter ISO 4217 currency code.")
    if code in store.currencies:
        raise Invalid(f"The currency {code} has already been added to this organisation.")
    with store.lock:
        store.currencies[code] = str(item.get("description") or code)
    return {"Code": code, "Description": store.currencies[code]}
