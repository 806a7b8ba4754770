"""Bills: Invoices of Type ACCPAY, what a `PUT`/`POST /Invoices` body may hold, and how their status changes.

Fields (OAS Invoice; recorded get-invoice): `Type` (ACCPAY only; other types are refused, the sandbox implements
bills), `Contact` `{ContactID}` or `{Name}` (a name no active contact has creates the contact, as Xero does),
`Date` (default today), `DueDate`, `Status` DRAFT (default) / SUBMITTED / AUTHORISED, `LineAmountTypes`
(Exclusive by default), `InvoiceNumber` (the supplier's number: NOT unique for ACCPAY, a duplicate is stored),
`CurrencyCode` (an organisation currency; default base), `CurrencyRate` (default the day rate, see
`reference`), `Url`, `PlannedPaymentDate`, `LineItems` with `Description` (required), `Quantity` (default 1,
4 dp), `UnitAmount`, `LineAmount` (= Quantity x UnitAmount to the cent; if both are sent they must agree),
`AccountCode`/`AccountID`, `TaxType`, `Tracking`. `Reference` is accepted and dropped: for ACCPAY Xero keeps
the bill's reference in `InvoiceNumber` and silently ignores `Reference` (OAS "ACCREC only"; recorded ACCPAY
answers `"Reference": ""`; XeroAPI/Xero-NetStandard#249, xero-mcp-server#121). A line's tax is computed (see
`tax`) unless the line states its `TaxAmount`: Xero keeps a stated one (OAS LineItem.TaxAmount "can be
overriden if the calculated <TaxAmount> is not correct"). The sandbox keeps it within one penny of the
computed tax (a rounding correction; on an untaxed line only the computed 0) and refuses it otherwise in the
words Xero uses for bank transactions, "Tax amount 52.23 is incorrect for INPUT2 tax type, should be 52.28"
(3p observed, XeroAPI/xero-node#768; UNCONFIRMED for bills, where Xero's UI takes larger adjustments: the
stricter choice). A bill's Total may not be negative (UNCONFIRMED).

Status changes (UNCONFIRMED wording, "Invoice not of valid status for modification" in Xero's style): DRAFT and
SUBMITTED -> DRAFT, SUBMITTED, AUTHORISED or DELETED; AUTHORISED -> VOIDED, and its lines and fields can still be
edited (no payments exist in the sandbox); VOIDED and DELETED are final; an AUTHORISED bill cannot be deleted.
Lock dates are checked for the old and the new Date.
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.xero.errors import Invalid
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.tax import CENT, LINE_AMOUNT_TYPES, cents, line_tax, totals
from ml_connector.sandbox.xero.validation import (
    amount,
    choice,
    line_account,
    line_tax_rate,
    line_tracking,
    lock_message,
)
from ml_connector.sandbox.xero.wire import ci, parse_date, parse_decimal

TRANSITIONS = {"DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
               "SUBMITTED": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
               "AUTHORISED": ("AUTHORISED", "VOIDED")}
NOT_MODIFIABLE = "Invoice not of valid status for modification"


def prepare_invoice(store: XeroStore, raw: dict, existing: dict | None, unit_places: int = 2) -> dict:
    """The bill record `raw` asks for (not yet stored; a new contact is named in `_NewContact`), or Invalid."""
    item = ci(raw)
    messages: list[str] = []
    base = existing or {}
    if existing is not None:
        changed = _status_change(store, item, existing)
        if changed is not None:
            return changed
    kind = str(item.get("type") or base.get("Type") or "")
    if kind.upper() != "ACCPAY":
        messages.append("Type must be ACCPAY: the sandbox implements bills (ACCPAY) only." if kind
                        else "Invoice Type must be specified")
    if existing is not None and kind.upper() != existing["Type"]:
        messages.append("The Type of an invoice cannot be changed.")
    contact_id, new_contact = _contact(store, item, base, messages)
    day = parse_date(item["date"], "Invoices[0].Date") if item.get("date") else base.get("Date") or store.ref.today()
    due = parse_date(item["duedate"], "Invoices[0].DueDate") if item.get("duedate") else base.get("DueDate")
    planned = parse_date(item["plannedpaymentdate"], "Invoices[0].PlannedPaymentDate") \
        if item.get("plannedpaymentdate") else base.get("PlannedPaymentDate")
    allowed = ("DRAFT", "SUBMITTED", "AUTHORISED")
    status = choice(item.get("status"), allowed, base.get("Status", "DRAFT"), "Status", messages)
    types = choice(item.get("lineamounttypes"), LINE_AMOUNT_TYPES, base.get("LineAmountTypes", "Exclusive"),
                   "LineAmountTypes", messages)
    currency, rate = _currency(store, item, base, messages)
    number = str(item["invoicenumber"]) if item.get("invoicenumber") is not None else base.get("InvoiceNumber", "")
    if len(number) > 255:
        messages.append("InvoiceNumber must be 255 characters or fewer.")
    if "lineitems" in item:
        lines = _lines(store, item["lineitems"], types, base.get("LineItems", []), unit_places, messages)
    else:
        lines = base.get("LineItems")
        if lines is None:
            messages.append("An invoice must have at least one line item.")
    if existing is not None and (locked := lock_message(store, existing["Date"])):
        messages.append(locked)
    elif locked := lock_message(store, day):
        messages.append(locked)
    sums = totals([Decimal(x["LineAmount"]) for x in lines or []], [Decimal(x["TaxAmount"]) for x in lines or []],
                  types)
    if sums["Total"] < 0:
        messages.append("The total of a bill must be zero or more.")
    if messages:
        raise Invalid(*messages)
    return {**base, "Type": "ACCPAY", "InvoiceNumber": number, "Reference": "", "ContactID": contact_id,
            "_NewContact": new_contact, "Date": day, "DueDate": due, "PlannedPaymentDate": planned,
            "Status": status, "LineAmountTypes": types, "CurrencyCode": currency, "CurrencyRate": str(rate),
            "Url": str(item["url"]) if item.get("url") else base.get("Url"), "LineItems": lines,
            **{key: str(value) for key, value in sums.items()}, "Attachments": base.get("Attachments", [])}


def _status_change(store: XeroStore, item: dict, existing: dict) -> dict | None:
    current = existing["Status"]
    wanted = str(item.get("status") or current).upper()
    if current not in TRANSITIONS:
        raise Invalid(NOT_MODIFIABLE)
    if wanted not in TRANSITIONS[current]:
        if current == "AUTHORISED" and wanted == "DELETED":
            raise Invalid(f"{NOT_MODIFIABLE}: an AUTHORISED bill cannot be deleted. Set its Status to VOIDED.")
        raise Invalid(f"{NOT_MODIFIABLE}: a {current} bill cannot change to Status {wanted}.")
    if wanted in ("VOIDED", "DELETED"):
        locked = lock_message(store, existing["Date"])
        if locked:
            raise Invalid(locked)
        return {**existing, "Status": wanted, "_NewContact": None}
    return None


def _contact(store: XeroStore, item: dict, base: dict, messages: list[str]) -> tuple[str | None, str | None]:
    """(ContactID, None) for an existing contact, (None, name) for one to create, messages otherwise."""
    raw = item.get("contact")
    if raw is None:
        if base:
            return base["ContactID"], None
        messages.append("A Contact must be specified with a ContactID or a Name.")
        return None, None
    contact = ci(raw) if isinstance(raw, dict) else {}
    if contact.get("contactid"):
        found = store.contacts.get(str(contact["contactid"]).lower())
        if found is None:
            messages.append(f"The contact with ContactID {contact['contactid']} does not exist.")
            return None, None
    elif contact.get("name") and str(contact["name"]).strip():
        found_id = store.active_contact_by_folded_name.get(str(contact["name"]).strip().casefold())
        if found_id is None:
            return None, str(contact["name"]).strip()
        found = store.contacts[found_id]
    else:
        messages.append("A Contact must be specified with a ContactID or a Name.")
        return None, None
    if found["ContactStatus"] != "ACTIVE":
        messages.append(f"The contact '{found['Name']}' is archived. Restore it before using it on a bill.")
    return found["ContactID"], None


def _currency(store: XeroStore, item: dict, base: dict, messages: list[str]) -> tuple[str, Decimal]:
    base_code = store.ref.profile.base_currency
    code = str(item.get("currencycode") or base.get("CurrencyCode") or base_code).upper()
    if code not in store.currencies:
        messages.append(f"The currency code '{code}' is not set up for this organisation.")
        return base_code, Decimal(1)
    if code == base_code:
        return code, Decimal(1)
    if item.get("currencyrate") not in (None, ""):
        rate = parse_decimal(item["currencyrate"], "Invoices[0].CurrencyRate")
        if rate <= 0:
            messages.append("CurrencyRate must be greater than zero.")
        return code, rate
    if base.get("CurrencyCode") == code:
        return code, Decimal(base["CurrencyRate"])
    if code not in store.ref.currencies:  # added with PUT /Currencies: the sandbox knows no day rate for it
        messages.append(f"Send a CurrencyRate for {code}: no day rate is available.")
        return code, Decimal(1)
    return code, store.ref.currencies[code][1]


def _lines(store: XeroStore, raw: object, types: str, old_lines: list[dict], unit_places: int,
           messages: list[str]) -> list[dict]:
    if not isinstance(raw, list) or not raw or not all(isinstance(line, dict) for line in raw):
        messages.append("An invoice must have at least one line item.")
        return []
    old_ids = {line["LineItemID"] for line in old_lines}
    lines = []
    for index, line in enumerate(map(ci, raw)):
        path = f"Invoices[0].LineItems[{index}]"
        if not str(line.get("description") or "").strip():
            messages.append("Description must be at least 1 character long.")
        quantity = amount(line["quantity"], f"{path}.Quantity", messages, "Quantity", 4) \
            if line.get("quantity") not in (None, "") else Decimal(1)
        unit = amount(line["unitamount"], f"{path}.UnitAmount", messages, "UnitAmount", unit_places) \
            if line.get("unitamount") not in (None, "") else None
        given = amount(line["lineamount"], f"{path}.LineAmount", messages, "LineAmount") \
            if line.get("lineamount") not in (None, "") else None
        if unit is None and given is None:
            messages.append("A line item needs a UnitAmount or a LineAmount.")
            continue
        if quantity == 0:
            messages.append("Quantity must not be zero.")
            continue
        line_amount = cents(quantity * unit) if unit is not None else given
        if unit is not None and given is not None and given != line_amount:
            messages.append(f"LineAmount {given} must equal Quantity x UnitAmount ({line_amount}).")
        unit = unit if unit is not None else (given / quantity).quantize(Decimal(1).scaleb(-unit_places))
        account = line_account(store, line, messages)
        rate = line_tax_rate(store, line, account, purchase=True, messages=messages)
        tracking = line_tracking(store, line.get("tracking"), messages)
        if account is None or rate is None:
            continue
        line_id = str(line.get("lineitemid") or "").lower()
        tax = line_tax(line_amount, rate.rate, types)
        if line.get("taxamount") not in (None, ""):
            stated = cents(amount(line["taxamount"], f"{path}.TaxAmount", messages, "TaxAmount"))
            leeway = CENT if types != "NoTax" and rate.rate else 0  # nothing to round on an untaxed line
            if abs(stated - tax) > leeway:
                messages.append(f"Tax amount {stated} is incorrect for {rate.tax_type} tax type, should be {tax}")
            tax = stated
        lines.append({"LineItemID": line_id if line_id in old_ids else store.new_id("line-item"),
                      "Description": str(line.get("description") or ""), "Quantity": str(quantity),
                      "UnitAmount": str(unit), "LineAmount": str(cents(line_amount)), "AccountID": account["AccountID"],
                      "AccountCode": account["Code"], "TaxType": rate.tax_type, "TaxAmount": str(tax),
                      "Tracking": tracking})
    return lines


def commit_invoice(store: XeroStore, record: dict, create_contact) -> dict:
    """Store the bill; `create_contact(name)` makes the contact a bill named and returns its ContactID."""
    with store.lock:
        record = dict(record)
        new_contact = record.pop("_NewContact", None)
        if new_contact is not None:
            found = store.active_contact_by_folded_name.get(new_contact.casefold())
            record["ContactID"] = found or create_contact(new_contact)
        if "InvoiceID" not in record:
            record = {"InvoiceID": store.new_id("invoice"), "Seq": store.next_number("seq"), **record}
        record["UpdatedMs"] = store.tick()
        contact = store.contacts[record["ContactID"]]
        if not contact["IsSupplier"]:  # Xero flips IsSupplier once an AP document exists (OAS)
            store.save_contact({**contact, "IsSupplier": True, "UpdatedMs": store.tick()})
        return store.save_invoice(record)
