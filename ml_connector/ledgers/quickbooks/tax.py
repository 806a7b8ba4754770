"""VAT in QuickBooks Online (UK, and any company outside the US that charges tax on purchases): which tax codes
a purchase line can carry, how a taxed line goes on the wire, and what a saved line says it booked.

Intuit's vocabulary (TaxCode, TaxRate, PurchaseTaxRateList, TaxCodeRef, TaxApplicableOn, TaxAmount,
TaxInclusiveAmt, GlobalTaxCalculation) stays here. Shapes follow the XSD (Finance.xsd: TaxCode, TaxRate,
JournalEntryLineDetail, AccountBasedExpenseLineDetail, GlobalTaxCalculationEnum, TaxApplicableOnEnum).

- Whether the company charges VAT: Preferences `TaxPrefs.UsingSalesTax` in a company whose CompanyInfo
  `Country` is not US. A US company's sales tax never applies to purchase lines (the XSD keeps tax codes on
  journal lines "For Non US/CA Companies"), so a US company is never asked for codes.
- The codes a purchase line can carry: every TaxCode whose `PurchaseTaxRateList` names exactly one TaxRate (its
  `RateValue` is the code's percent, active when both the code and the rate are), and a code with no rates at
  all ("No VAT", out of scope: 0%). A code with sales rates only is for sales forms and is left out, and so is
  a tax group with several purchase rates (a line's tax would be the sum of each rate's own rounding, which
  the engine's one-percent model does not reproduce): a mapping naming either gets unknown_tax_code.
- Journal entries have no tax-inclusive mode: a line's `Amount` is net and QuickBooks books `TaxAmount` on the
  same side, so a gross goes as the net (or the two nets, `ml_connector.tax.nets_for_gross`) whose amount plus
  tax is the gross, `TaxApplicableOn` "Purchase" (the enum is Purchase/Sales: spend and its refunds are
  purchases, whatever the line's side), and `TaxAmount` = round half up(net x percent / 100) stated by us:
  whether QuickBooks computes a journal line's VAT when it is left out is UNCONFIRMED, and stating it means
  the ledger books exactly what the tie-out expects or refuses the entry.
- Bills go `GlobalTaxCalculation` "TaxInclusive": each line's `Amount` is the receipt's gross and QuickBooks takes
  the VAT out of it (round half up per line, as the sandbox does; per line rather than per rate group is
  UNCONFIRMED). `TaxAmount` is left for QuickBooks to compute, as a bill has a tax model for that.
- Read back, a line's `Amount` is the net and its VAT the line's `TaxAmount`; a bill line without one gives
  `TaxInclusiveAmt` - `Amount` (which of the two real QuickBooks answers is UNCONFIRMED; with neither the
  line's VAT reads as 0, and the tie-out's tax row shows the difference instead of hiding it).
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.models import TaxCode
from ml_connector.money import to_decimal
from ml_connector.tax import nets_for_gross, tax_on_net

PURCHASE = "Purchase"  # TaxApplicableOnEnum
INCLUSIVE = "TaxInclusive"  # GlobalTaxCalculationEnum
TAXED_MODELS = ("TaxInclusive", "TaxExcluded")


def charges_vat(uses_sales_tax: bool, country: str) -> bool:
    return uses_sales_tax and country != "US"


def _rate_ids(code: dict, part: str) -> list[str]:
    details = ((code.get(part) or {}).get("TaxRateDetail")) or []
    return [str(d["TaxRateRef"]["value"]) for d in details if (d.get("TaxRateRef") or {}).get("value") is not None]


def purchase_codes(codes: list[dict], rates: list[dict]) -> list[dict]:
    """The codes a purchase line can carry, as plain values for the store's cache (`tax_code_models`)."""
    by_id = {str(r["Id"]): r for r in rates}
    out = []
    for code in codes:
        purchase, sales = _rate_ids(code, "PurchaseTaxRateList"), _rate_ids(code, "SalesTaxRateList")
        active = bool(code.get("Active", True))
        if len(purchase) == 1 and purchase[0] in by_id:
            rate = by_id[purchase[0]]
            percent = str(to_decimal(rate.get("RateValue", 0)))
            active = active and bool(rate.get("Active", True))
        elif not purchase and not sales:
            percent = "0"  # no rates at all: out of scope ("No VAT")
        else:
            continue  # sales only, a group, or a rate the company does not list
        out.append({"tax_code_id": str(code["Id"]), "name": str(code.get("Name") or ""), "rate": percent,
                    "is_active": active})
    return out


def tax_code_models(values: list[dict]) -> tuple[TaxCode, ...]:
    return tuple(TaxCode(tax_code_id=v["tax_code_id"], name=v["name"], rate=Decimal(v["rate"]),
                         is_active=v["is_active"]) for v in values)


def journal_nets(gross: Decimal, rate: Decimal, currency: str) -> list[tuple[Decimal, Decimal]]:
    """(net, VAT) of each journal line carrying a taxed gross: the nets plus their VAT are exactly the gross."""
    return [(net, tax_on_net(net, rate, currency)) for net in nets_for_gross(gross, rate, currency)]


def line_tax(detail: dict, line: dict, *, taxed: bool = True) -> tuple[Decimal, str | None]:
    """(the VAT a saved line booked, its tax code id). `taxed` is False for a bill whose tax model is
    NotApplicable or absent (a US company, whose bill lines still show the pseudo-code "NON"): no VAT, no code."""
    if not taxed:
        return Decimal(0), None
    code = (detail.get("TaxCodeRef") or {}).get("value")
    if code is None:
        return Decimal(0), None
    if detail.get("TaxAmount") is not None:
        return abs(to_decimal(detail["TaxAmount"])), str(code)
    if detail.get("TaxInclusiveAmt") is not None:
        return abs(to_decimal(detail["TaxInclusiveAmt"]) - to_decimal(line.get("Amount", 0))), str(code)
    return Decimal(0), str(code)
