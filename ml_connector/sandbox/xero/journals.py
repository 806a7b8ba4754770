"""Manual journals: what a `PUT`/`POST /ManualJournals` body may hold, and how a status changes.

Fields (OAS ManualJournal): `Narration` (required), `Date` (default today), `Status` DRAFT (default, inferred from
the OAS example) or POSTED on create, `LineAmountTypes` (Exclusive by default, per the OAS schema), `Url`,
`ShowOnCashBasisReports` (default true), `JournalLines` with signed `LineAmount` (debit positive, credit
negative), `AccountCode` or `AccountID`, `Description`, `TaxType`, `Tracking`. No currency: journals are in the
base currency.

Balance: the lines' gross amounts (LineAmount plus tax when Exclusive) must sum to zero, else Xero's message
"The total debits (100.00) must equal total credits (-10.00)" (OAS). Including tax in the balance follows how
Xero's journal screen totals a tax-exclusive journal (inferred). A journal needs at least two lines
(UNCONFIRMED). "Narration must be supplied" (UNCONFIRMED wording).

Status changes through `POST` (as a person makes them in the app): DRAFT -> POSTED or DELETED; POSTED -> VOIDED;
lines, date and narration of a DRAFT or POSTED journal can be edited (JournalLines, when sent, replace all
lines). A POSTED journal cannot be deleted (void it) and a VOIDED or DELETED one cannot change
(UNCONFIRMED wording). Every change is refused on or before a lock date, for the old and the new date.
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.xero.errors import Invalid
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.tax import LINE_AMOUNT_TYPES, cents, line_tax
from ml_connector.sandbox.xero.validation import (
    amount,
    choice,
    line_account,
    line_tax_rate,
    line_tracking,
    lock_message,
)
from ml_connector.sandbox.xero.wire import ci, parse_bool, parse_date

TRANSITIONS = {"DRAFT": ("DRAFT", "POSTED", "DELETED"), "POSTED": ("POSTED", "VOIDED")}


def prepare_journal(store: XeroStore, raw: dict, existing: dict | None) -> dict:
    """The journal record `raw` asks for (not yet stored), or Invalid with Xero's messages."""
    item = ci(raw)
    messages: list[str] = []
    if existing is not None:
        status_only = _status_change(store, item, existing, messages)
        if status_only is not None:
            return status_only
    base = existing or {}
    narration = item["narration"] if "narration" in item else base.get("Narration")
    if narration is None or not str(narration).strip():
        messages.append("Narration must be supplied")
    day = parse_date(item["date"], "ManualJournals[0].Date") if item.get("date") else base.get("Date") \
        or store.ref.today()
    status = choice(item.get("status"), ("DRAFT", "POSTED"), base.get("Status", "DRAFT"), "Status", messages)
    types = choice(item.get("lineamounttypes"), LINE_AMOUNT_TYPES, base.get("LineAmountTypes", "Exclusive"),
                   "LineAmountTypes", messages)
    cash_basis = parse_bool(item["showoncashbasisreports"], "ShowOnCashBasisReports") \
        if item.get("showoncashbasisreports") is not None else base.get("ShowOnCashBasisReports", True)
    url = str(item["url"]) if item.get("url") else base.get("Url")
    lines = _lines(store, item["journallines"], types, messages) if "journallines" in item \
        else base.get("JournalLines")
    if lines is None:
        messages.append("A manual journal must have at least two journal lines.")
    if existing is not None and (locked := lock_message(store, existing["Date"])):
        messages.append(locked)
    elif locked := lock_message(store, day):
        messages.append(locked)
    if messages:
        raise Invalid(*messages)
    return {**base, "Narration": str(narration), "Date": day, "Status": status, "LineAmountTypes": types,
            "ShowOnCashBasisReports": cash_basis, "Url": url, "JournalLines": lines,
            "Attachments": base.get("Attachments", [])}


def _status_change(store: XeroStore, item: dict, existing: dict, messages: list[str]) -> dict | None:
    """A void or delete applies alone; an edit of a journal past editing is refused."""
    current = existing["Status"]
    wanted = str(item.get("status") or current).upper()
    if current not in TRANSITIONS:
        raise Invalid(f"This manual journal cannot be modified because its Status is {current}.")
    if wanted not in TRANSITIONS[current]:
        if current == "POSTED" and wanted == "DELETED":
            raise Invalid("A POSTED manual journal cannot be deleted. Set its Status to VOIDED instead.")
        raise Invalid(f"A {current} manual journal cannot change to Status {wanted}.")
    if wanted in ("VOIDED", "DELETED"):
        locked = lock_message(store, existing["Date"])
        if locked:
            raise Invalid(locked)
        return {**existing, "Status": wanted}
    return None


def _lines(store: XeroStore, raw: object, types: str, messages: list[str]) -> list[dict] | None:
    if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(line, dict) for line in raw):
        return None
    lines, debits, credits = [], Decimal(0), Decimal(0)
    for index, line in enumerate(map(ci, raw)):
        path = f"ManualJournals[0].JournalLines[{index}]"
        account = line_account(store, line, messages)
        if line.get("lineamount") in (None, ""):
            messages.append("Each journal line must have a LineAmount.")
            continue
        line_amount = amount(line["lineamount"], f"{path}.LineAmount", messages, "LineAmount")
        rate = line_tax_rate(store, line, account, purchase=False, messages=messages)
        tracking = line_tracking(store, line.get("tracking"), messages)
        if account is None or rate is None:
            continue
        tax = line_tax(line_amount, rate.rate, types)
        gross = line_amount + tax if types == "Exclusive" else line_amount
        if gross > 0:
            debits += gross
        else:
            credits += gross
        lines.append({"AccountID": account["AccountID"], "AccountCode": account["Code"],
                      "Description": str(line.get("description") or ""), "LineAmount": str(cents(line_amount)),
                      "TaxType": rate.tax_type, "TaxAmount": str(tax), "Tracking": tracking})
    if not messages and cents(debits + credits) != 0:
        messages.append(f"The total debits ({cents(debits)}) must equal total credits ({cents(credits)})")
    return lines


def commit_journal(store: XeroStore, record: dict) -> dict:
    with store.lock:
        if "ManualJournalID" not in record:
            record = {"ManualJournalID": store.new_id("manual-journal"), "Seq": store.next_number("seq"), **record}
        record["UpdatedMs"] = store.tick()
        return store.save_journal(record)
