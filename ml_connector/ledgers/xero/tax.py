"""VAT (and GST) in Xero: which tax types a purchase line can carry, whether the organisation needs one on every
expense line, how a taxed line goes on the wire and what a saved line says it booked.

Xero's vocabulary (TaxRates, TaxType, EffectiveRate, CanApplyTo*, ReportTaxType, PaysTax, LineAmountTypes,
TaxAmount) stays here. Shapes follow the OAS (`TaxRate`, `Organisation.PaysTax`, `LineItem`, `ManualJournalLine`)
and the sandbox's UK organisation (no UK TaxRates recording exists).

- Whether every expense line needs a tax type (`charges_tax`): the organisation `PaysTax` ("registered with a
  local tax authority", OAS) and at least one of its usable purchase rates charges more than 0%. A US
  organisation (PaysTax false, or only 0% purchase rates such as "Tax on Purchases") keeps posting NoTax
  entries and is asked for no codes. `GET /TaxRates` is read only when the organisation pays tax.
- The codes (`tax_code_models`): every rate, its `TaxType` the code a line names, `EffectiveRate` its percent.
  Usable when ACTIVE and `CanApplyToExpenses`: archived rates (TAX001 ...) and sales rates (OUTPUT2, which Xero
  refuses on bills) are inactive, so a mapping naming one gets `inactive_tax_code` before anything posts.
- Sent: an entry with a taxed line goes `LineAmountTypes` Inclusive. Each line's amount is the gross (as the
  receipt and the card show it), its `TaxType` the line's code and its `TaxAmount` the engine's tax inside that
  gross, signed like the line (round half up per line: the "gross" basis of `ml_connector.tax`, which is how
  Xero rounds, per line to two places, developer.xero.com "Rounding in Xero"). On bills Xero keeps a stated
  TaxAmount over its own calculation (OAS `LineItem.TaxAmount`: "can be overriden if the calculated
  <TaxAmount> is not correct"), so the bill books exactly our amount. On manual journals the OAS calls
  `ManualJournalLine.TaxAmount` "the calculated tax amount" (writable, not readOnly): whether Xero keeps a
  stated one there is UNCONFIRMED; ours is what Xero's own per-line rounding gives, so only a half-penny
  rounded the other way could differ, and the tie-out's tax row would show that penny. A line without a code
  in a taxed entry (the liability a journal credits) names `NONE` ("No VAT") rather than falling back to its
  account's default tax type; an organisation without a NONE rate leaves it to that default (UNCONFIRMED).
  An entry without a taxed line goes NoTax, exactly as before.
- Read back: an Inclusive line's net is LineAmount - TaxAmount; an Exclusive line's net is its LineAmount
  with the tax on top (an entry a person switched in Xero); NoTax lines carry no tax and no code.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ml_connector.models import TaxCode
from ml_connector.money import to_decimal

INCLUSIVE, EXCLUSIVE, NO_TAX = "Inclusive", "Exclusive", "NoTax"
NO_VAT = "NONE"  # Xero's "No VAT" / "Tax Exempt" type, on every line a taxed entry does not tax
CLASSES = ("ASSET", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE")
_APPLIES = {"ASSET": "CanApplyToAssets", "EQUITY": "CanApplyToEquity", "EXPENSE": "CanApplyToExpenses",
            "LIABILITY": "CanApplyToLiabilities", "REVENUE": "CanApplyToRevenue"}
ZERO = Decimal(0)


def rate_rows(body: dict) -> list[dict[str, Any]]:
    """`GET /TaxRates` as plain values for the store's cache."""
    rows = []
    for rate in body.get("TaxRates", []) or []:
        percent = rate.get("EffectiveRate", rate.get("DisplayTaxRate", 0))
        rows.append({"type": str(rate["TaxType"]), "name": str(rate.get("Name") or rate["TaxType"]),
                     "rate": str(to_decimal(percent or 0)), "status": str(rate.get("Status") or "ACTIVE"),
                     "report": str(rate.get("ReportTaxType") or ""),
                     "applies": [c for c in CLASSES if rate.get(_APPLIES[c]) is True]})
    return rows


def _is_usable(row: dict) -> bool:
    return row["status"] == "ACTIVE" and "EXPENSE" in row["applies"]


def tax_code_models(rows: Iterable[dict]) -> tuple[TaxCode, ...]:
    return tuple(TaxCode(tax_code_id=r["type"], name=r["name"], rate=Decimal(r["rate"]), is_active=_is_usable(r))
                 for r in rows)


def charges_tax(pays_tax: bool, rows: Iterable[dict]) -> bool:
    return pays_tax and any(_is_usable(r) and Decimal(r["rate"]) > 0 for r in rows)


def no_tax_type(rows: Iterable[dict]) -> str | None:
    """The type a taxed entry's untaxed lines carry: NONE when the organisation has it active."""
    return NO_VAT if any(r["type"] == NO_VAT and r["status"] == "ACTIVE" for r in rows) else None


def classes_by_type(rows: Iterable[dict]) -> dict[str, frozenset[str]]:
    """Which account classes each tax type may be used on (Xero refuses a line otherwise)."""
    return {r["type"]: frozenset(r["applies"]) for r in rows}


def line_amount_types(tax_codes: Iterable[str | None]) -> str:
    return INCLUSIVE if any(code is not None for code in tax_codes) else NO_TAX


def line_tax(tax_code_id: str | None, tax: Decimal | None, untaxed_type: str | None) -> dict[str, Any]:
    """A taxed entry's line fields: `TaxType`, and `TaxAmount` (signed like the line) when we know it.
    Amounts stay Decimal here; the wire turns them into JSON numbers."""
    if tax_code_id is None:
        return {"TaxType": untaxed_type} if untaxed_type else {}
    fields: dict[str, Any] = {"TaxType": tax_code_id}
    if tax is not None:
        fields["TaxAmount"] = tax
    return fields


def net_and_tax(line: dict, types: str) -> tuple[Decimal, Decimal]:
    """A saved line's net and tax, signed like its LineAmount."""
    amount = to_decimal(line.get("LineAmount", 0))
    if types == NO_TAX:
        return amount, ZERO
    tax = to_decimal(line.get("TaxAmount") or 0)
    return (amount - tax, tax) if types == INCLUSIVE else (amount, tax)
