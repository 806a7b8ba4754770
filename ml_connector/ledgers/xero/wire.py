"""Xero Accounting JSON: drafts into request bodies, saved entries and list rows back into the engine's models.

Xero's vocabulary (Narration, InvoiceNumber, ContactID, JournalLines, LineItems, TrackingOptionID,
UpdatedDateUTC, MS-JSON dates) stays here. Shapes follow `reference/xero/` (the OAS `ManualJournal`, `Invoice`,
`LineItem`, `LineItemTracking`; the recorded ACCPAY bill in `recorded-nango/get-invoice`):

- A manual journal carries the posting key as the first word of its `Narration` (required by Xero), the
  draft's notes after it; lines have signed `LineAmount`s (debits positive), `AccountCode`, `Description` and
  up to two `Tracking` elements; `Status` POSTED (Xero's default is DRAFT) and `LineAmountTypes` NoTax, or
  Inclusive with a `TaxType` and `TaxAmount` per line when the draft carries tax (see `tax`). Manual journals
  have no currency: they are in the organisation's base currency.
- A bill is an `Invoice` of `Type` ACCPAY for a `Contact` by ContactID, AUTHORISED, with the posting key as
  its `InvoiceNumber` (Xero drops `Reference` on ACCPAY and keeps no ACCPAY number unique, so the key alone is
  what search matches exactly); the report's own number leads every line's description, where a person sees it.
  Taxed bills go Inclusive like journals: each line's UnitAmount the gross, its TaxType and TaxAmount.
- Read back, a line's amount is its net and its tax the line's TaxAmount (`tax.net_and_tax`).
- Amounts leave as JSON numbers only here, and come back through `parse_float=Decimal` (see `client`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ml_connector.ledgers.xero.tax import NO_TAX, line_amount_types, line_tax, net_and_tax
from ml_connector.models import BillDraft, EntrySummary, JournalDraft, LedgerLine, LineTag
from ml_connector.money import to_decimal
from ml_connector.posting_keys import KEY_PREFIX, is_posting_key

# Neither the OAS nor the recordings give a length for Narration or line descriptions: 500 is a choice
# (UNCONFIRMED; Xero's screens show longer text), applied to both.
TEXT_LIMIT = 500
INVOICE_NUMBER_LIMIT = 255  # OAS Invoice.InvoiceNumber maxLength
CURRENCY_RATE_PLACES = Decimal("0.000001")  # OAS: "max length = [18].[6]"
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wire_number(amount: Decimal) -> float | int:
    """A Decimal as a JSON number, refusing any amount a float cannot carry exactly."""
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount.normalize() and Decimal(repr(as_float)) != amount:
        raise ValueError(f"amount {amount} cannot be sent exactly as a JSON number")
    return int(amount) if amount == amount.to_integral_value() else as_float


# -- dates ----------------------------------------------------------------------------------------------


def ms_datetime(value: str) -> datetime:
    """`/Date(1776297600000+0000)/` (Xero's MS-JSON) as an aware UTC datetime."""
    match = _MS_DATE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an MS-JSON date: {value!r}")
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)


def xero_date(value: str) -> date:
    """A document date: MS-JSON (answers) or YYYY-MM-DD[T...] (DateString)."""
    if value.startswith("/Date("):
        return ms_datetime(value).date()
    return date.fromisoformat(value[:10])


def modified_at(entry: dict) -> str | None:
    """`UpdatedDateUTC` as an ISO 8601 timestamp with its zone (milliseconds kept: Xero orders edits by them)."""
    stamp = entry.get("UpdatedDateUTC")
    return ms_datetime(stamp).isoformat(timespec="milliseconds") if stamp else None


def where_date(day: date) -> str:
    return f"DateTime({day.year},{day.month:02d},{day.day:02d})"


# -- the posting key --------------------------------------------------------------------------------------


def narration(draft: JournalDraft) -> str:
    notes = " ".join(draft.notes.split())
    return clip(f"{draft.posting_key} {notes}" if notes else draft.posting_key)


def key_of(kind: str, entry: dict) -> str | None:
    """The posting key an entry carries: a journal's first word of Narration, a bill's whole InvoiceNumber.
    Exact: `MLC-1` does not match `MLC-10`."""
    text = str(entry.get("Narration" if kind == "journal" else "InvoiceNumber") or "")
    word = text.split(maxsplit=1)[0] if kind == "journal" and text.strip() else text
    return word if is_posting_key(word) else None


def key_filter(kind: str, posting_key: str | None = None) -> str:
    """A `where` clause that finds entries carrying `posting_key` (or any key of ours): the first is exact
    for bills; for journals StartsWith is a prefix search, so callers compare `key_of` exactly."""
    if kind == "journal":
        return f'Narration.StartsWith("{posting_key or KEY_PREFIX}")'
    if posting_key is not None:
        return f'Type=="ACCPAY" AND InvoiceNumber=="{posting_key}"'
    return f'Type=="ACCPAY" AND InvoiceNumber.StartsWith("{KEY_PREFIX}")'


# -- drafts into bodies -----------------------------------------------------------------------------------


def _tracking(tags: tuple[LineTag, ...]) -> list[dict[str, str]]:
    """By id (OAS TrackingCategory/LineItemTracking), and by name as Xero's manual-journal examples send it."""
    out = []
    for t in tags:
        element = {"TrackingCategoryID": t.tag_id, "TrackingOptionID": t.option_id}
        if t.tag_name and t.option_name:
            element.update(Name=t.tag_name, Option=t.option_name)
        out.append(element)
    return out


def _account(line_account_id: str, codes: dict[str, str]) -> dict[str, str]:
    code = codes.get(line_account_id)
    return {"AccountCode": code} if code else {"AccountID": line_account_id}


def _wire_tax(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: wire_number(v) if isinstance(v, Decimal) else v for k, v in fields.items()}


def journal_body(draft: JournalDraft, codes: dict[str, str], untaxed_type: str | None = None) -> dict[str, Any]:
    """`codes`: account id -> code; lines name accounts by code (an account without one, by id).
    `untaxed_type`: the TaxType of a taxed journal's lines without a tax code (`tax.no_tax_type`)."""
    types = line_amount_types(line.tax_code_id for line in draft.lines)
    lines = []
    for line in draft.lines:
        sign = 1 if line.side == "debit" else -1
        item: dict[str, Any] = {"LineAmount": wire_number(sign * line.amount), **_account(line.account_id, codes),
                                "Description": clip(line.description or draft.notes or draft.posting_key)}
        if types != NO_TAX:
            tax = None if line.tax_amount is None else sign * line.tax_amount
            item.update(_wire_tax(line_tax(line.tax_code_id, tax, untaxed_type)))
        if line.tags:
            item["Tracking"] = _tracking(line.tags)
        lines.append(item)
    return {"Narration": narration(draft), "Date": draft.entry_date.isoformat(), "Status": "POSTED",
            "LineAmountTypes": types, "JournalLines": lines}


def bill_body(draft: BillDraft, codes: dict[str, str], base_currency: str,
              untaxed_type: str | None = None) -> dict[str, Any]:
    types = line_amount_types(line.tax_code_id for line in draft.lines)
    items = []
    for line in draft.lines:
        item: dict[str, Any] = {"Description": clip(f"{draft.bill_number}: {line.description}".rstrip(": ")),
                                "Quantity": 1, "UnitAmount": wire_number(line.amount),
                                **_account(line.account_id, codes)}
        if types != NO_TAX:  # bill line amounts and their tax are signed already (a refund is negative)
            item.update(_wire_tax(line_tax(line.tax_code_id, line.tax_amount, untaxed_type)))
        if line.tags:
            item["Tracking"] = _tracking(line.tags)
        items.append(item)
    body: dict[str, Any] = {"Type": "ACCPAY", "Contact": {"ContactID": draft.vendor_id},
                            "Date": draft.entry_date.isoformat(),
                            "DueDate": (draft.due_date or draft.entry_date).isoformat(),
                            "InvoiceNumber": draft.posting_key, "Status": "AUTHORISED", "LineAmountTypes": types,
                            "CurrencyCode": draft.currency, "LineItems": items}
    if draft.currency != base_currency and draft.exchange_rate:
        # Ours is base units per unit of the bill's currency; Xero's CurrencyRate is the other way round.
        body["CurrencyRate"] = wire_number((Decimal(1) / draft.exchange_rate).quantize(CURRENCY_RATE_PLACES))
    return body


# -- answers back -------------------------------------------------------------------------------------------


def entity_id(kind: str, entry: dict) -> str:
    return str(entry["ManualJournalID" if kind == "journal" else "InvoiceID"])


def entry_day(entry: dict) -> date:
    return xero_date(str(entry.get("DateString") or entry["Date"]))


def is_void(entry: dict) -> bool:
    return str(entry.get("Status", "")).upper() in ("VOIDED", "DELETED")


def saved_lines(kind: str, entry: dict, currency: str, account_ids: dict[str, str]) -> tuple[LedgerLine, ...]:
    """The lines of a full journal or bill (a PUT answer, a GET by id, a list row). `account_ids`: code -> id,
    for an answer that names an account by code only. A taxed line's amount is its net, its tax beside it."""
    ident, day, key = entity_id(kind, entry), entry_day(entry), key_of(kind, entry) or ""
    types = str(entry.get("LineAmountTypes") or NO_TAX)
    out = []
    for line in entry.get("JournalLines" if kind == "journal" else "LineItems", []):
        gross = to_decimal(line.get("LineAmount", 0))
        net, tax = net_and_tax(line, types)
        side = "debit" if gross >= 0 else "credit"  # journals: signed; a bill's negative line is a credit
        account = str(line.get("AccountID") or account_ids.get(str(line.get("AccountCode")), line.get("AccountCode")))
        out.append(LedgerLine(ledger_entity_id=ident, posting_key=key, entry_date=day, account_id=account, side=side,
                              amount=abs(net), currency=currency,
                              tag_option_ids=tuple(str(t["TrackingOptionID"]) for t in line.get("Tracking", [])
                                                   if t.get("TrackingOptionID")),
                              tax_amount=abs(tax),
                              tax_code_id=str(line["TaxType"]) if types != NO_TAX and line.get("TaxType") else None))
    return tuple(out)


def total_of(kind: str, entry: dict) -> Decimal | None:
    if kind == "bill":
        total = entry.get("Total")
        return None if total is None else to_decimal(total)
    types = str(entry.get("LineAmountTypes") or NO_TAX)
    grosses = [sum(net_and_tax(line, types)) for line in entry.get("JournalLines", [])]  # an Exclusive tax on top
    return sum((g for g in grosses if g > 0), Decimal(0)) if "JournalLines" in entry else None


def summary(kind: str, entry: dict, base_currency: str) -> EntrySummary:
    """A list-page row (GET /ManualJournals or /Invoices)."""
    currency = str(entry.get("CurrencyCode") or base_currency) if kind == "bill" else base_currency
    return EntrySummary(kind=kind, ledger_entity_id=entity_id(kind, entry), posting_key=key_of(kind, entry),
                        entry_date=entry_day(entry), currency=currency, total=total_of(kind, entry),
                        modified_at=modified_at(entry), status=str(entry.get("Status") or ""),
                        is_void=is_void(entry))


def validation_messages(body: dict) -> list[str]:
    """Xero's reasons from a 400 ValidationException: `Elements[].ValidationErrors[].Message` (OAS `Error`)."""
    messages = [str(e.get("Message", "")) for element in body.get("Elements", []) or []
                for e in element.get("ValidationErrors", []) or []]
    return [m for m in messages if m] or [str(body.get("Message") or body.get("Detail") or "")]
