"""What Xero refuses on a line or a document date, shared by manual journals and bills.

Messages, with sources ("3p observed" = a real Xero answer quoted in a public issue; UNCONFIRMED = chosen in
Xero's style, the stricter behaviour where the notes are silent):
- "Account code must be specified" (3p observed, calcinai/xero-php#230): a line without AccountCode/AccountID.
- "Account code '{code}' is not a valid code for this document." (3p observed, Xero-NetStandard#364): an
  unknown code or id, and the Accounts Payable system account (CREDITORS), which Xero keeps out of manual
  journals and bill lines.
- "Account code '{code}' has been archived, or has been deleted. Each line item must reference a valid
  account." (UNCONFIRMED): an ARCHIVED account.
- "The TaxType code {tax} does not exist or cannot be used for this type of transaction." and "The TaxType code
  '{tax}' cannot be used with account code '{code}'." (3p observed, Xero-Java#336): an unknown or ARCHIVED
  TaxType, a sales rate on a bill, or a rate whose CanApplyTo<Class> is false for the account.
- Organisations with tax (uk): "TaxType must be specified for line items on account code '{code}'."
  (UNCONFIRMED): every line on an EXPENSE-class account must name its TaxType (stricter than Xero, which falls
  back to the account's default).
- Tracking (UNCONFIRMED): at most 2 elements per line (OAS), one per category; the category and option must
  exist by id or name and be ACTIVE.
- Lock dates, checked on every create, update, void and delete, "on or before" the date: "The document date
  cannot be before the end of year lock date, currently set at 31-Dec-2025" (3p observed wording, xeroizer #92)
  and the same sentence with "period lock date" (UNCONFIRMED wording). The period lock applies to every user
  (stricter: in Xero advisers may post into it).
- Amounts: at most 2 decimal places (UnitAmount 4 with `unitdp=4`) (UNCONFIRMED: Xero may round instead).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.tax import EXPENSE_CLASS, TaxRate
from ml_connector.sandbox.xero.wire import ci, parse_decimal

MAX_TRACKING = 2


def lock_message(store: XeroStore, iso_day: str) -> str | None:
    for kind, locked in (("end of year", store.end_of_year_lock_date), ("period", store.period_lock_date)):
        if locked and iso_day <= locked:
            shown = date.fromisoformat(locked).strftime("%d-%b-%Y")
            return f"The document date cannot be before the {kind} lock date, currently set at {shown}"
    return None


def amount(value: object, path: str, messages: list[str], label: str, places: int = 2) -> Decimal:
    number = parse_decimal(value, path)
    if number != number.quantize(Decimal(1).scaleb(-places)):
        messages.append(f"{label} must have no more than {places} decimal places.")
    return number


def line_account(store: XeroStore, line: dict, messages: list[str]) -> dict | None:
    """The usable account a line names (AccountID wins over AccountCode), or None with a message."""
    account_id, code = line.get("accountid"), line.get("accountcode")
    if account_id in (None, "") and code in (None, ""):
        messages.append("Account code must be specified")
        return None
    if account_id not in (None, ""):
        account = store.accounts.get(str(account_id).lower())
        shown = account["Code"] if account else str(code or account_id)
    else:
        account = store.account_by_code(str(code))
        shown = str(code)
    if account is None or account["Status"] == "DELETED" or account.get("SystemAccount") == "CREDITORS":
        messages.append(f"Account code '{shown}' is not a valid code for this document.")
        return None
    if account["Status"] == "ARCHIVED":
        messages.append(f"Account code '{shown}' has been archived, or has been deleted. Each line item must "
                        "reference a valid account.")
        return None
    return account


def line_tax_rate(store: XeroStore, line: dict, account: dict | None, purchase: bool,
                  messages: list[str]) -> TaxRate | None:
    given = line.get("taxtype")
    rates = store.ref.tax_rates
    if given in (None, ""):
        if account is None:
            return None
        if store.ref.profile.is_tax_enabled and account["Class"] == EXPENSE_CLASS:
            messages.append(f"TaxType must be specified for line items on account code '{account['Code']}'.")
            return None
        return rates.get(account["TaxType"]) or rates["NONE"]
    rate = rates.get(str(given))
    if rate is None or not rate.is_usable or (purchase and not rate.for_purchases):
        messages.append(f"The TaxType code {given} does not exist or cannot be used for this type of transaction.")
        return None
    if account is not None and account["Class"] not in rate.applies_to:
        messages.append(f"The TaxType code '{given}' cannot be used with account code '{account['Code']}'.")
        return None
    return rate


def line_tracking(store: XeroStore, raw: object, messages: list[str]) -> list[dict]:
    """Tracking elements as {TrackingCategoryID, TrackingOptionID}; names or ids, matched case-insensitively."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        messages.append("Tracking must be a list of {Name, Option} or {TrackingCategoryID, TrackingOptionID}.")
        return []
    if len(raw) > MAX_TRACKING:
        messages.append(f"A line can have a maximum of {MAX_TRACKING} tracking categories.")
        return []
    chosen: list[dict] = []
    for item in map(ci, raw):
        category = _category(store, item)
        if category is None:
            shown = item.get("name") or item.get("trackingcategoryid") or ""
            messages.append(f"The tracking category '{shown}' does not exist or is not active.")
            continue
        option = _option(category, item)
        if option is None:
            shown = item.get("option") or item.get("trackingoptionid") or ""
            messages.append(f"The tracking option '{shown}' does not exist or is not active in the tracking "
                            f"category '{category['Name']}'.")
            continue
        if any(c["TrackingCategoryID"] == category["TrackingCategoryID"] for c in chosen):
            messages.append(f"The tracking category '{category['Name']}' can only be used once per line.")
            continue
        chosen.append({"TrackingCategoryID": category["TrackingCategoryID"],
                       "TrackingOptionID": option["TrackingOptionID"]})
    return chosen


def _category(store: XeroStore, item: dict) -> dict | None:
    wanted_id, wanted_name = item.get("trackingcategoryid"), item.get("name")
    for category in store.tracking.values():
        if category["Status"] != "ACTIVE":
            continue
        if wanted_id and category["TrackingCategoryID"] == str(wanted_id).lower():
            return category
        if not wanted_id and wanted_name and category["Name"].casefold() == str(wanted_name).casefold():
            return category
    return None


def _option(category: dict, item: dict) -> dict | None:
    wanted_id, wanted_name = item.get("trackingoptionid"), item.get("option")
    for option in category["Options"]:
        if option["Status"] != "ACTIVE":
            continue
        if wanted_id and option["TrackingOptionID"] == str(wanted_id).lower():
            return option
        if not wanted_id and wanted_name and option["Name"].casefold() == str(wanted_name).casefold():
            return option
    return None


def choice(value: object, allowed: tuple[str, ...], default: str, label: str, messages: list[str]) -> str:
    if value in (None, ""):
        return default
    for option in allowed:
        if str(value).casefold() == option.casefold():
            return option
    messages.append(f"{label} must be one of {', '.join(allowed)}.")
    return default
