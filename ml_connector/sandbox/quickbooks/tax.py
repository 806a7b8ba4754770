"""UK VAT on journal and bill lines, and the `TxnTaxDetail` QuickBooks reports for a transaction.

A line's VAT is its rate applied to that line, rounded half-up to the currency's minor unit:
- net lines (journal lines; bills with GlobalTaxCalculation TaxExcluded, the default): tax = net x rate;
- TaxInclusive bills: the line's gross is what the client sent as Amount (or TaxInclusiveAmt, which wins
  when both are present, so a bill read back and sent again keeps its totals); tax = gross x rate / (1 +
  rate), net = gross - tax. The line then echoes Amount = net and TaxInclusiveAmt = gross.
- NotApplicable bills compute no tax.
`TxnTaxDetail` has one TaxLine per TaxRate used (Amount = the rate's VAT, NetAmountTaxable = its net),
and TotalTax = their sum, so lines and header tie to the penny. Whether QuickBooks rounds per line or per
rate group is UNCONFIRMED; per line is chosen because the UK edition shows VAT per line.

A client-supplied TaxAmount must equal the computed one exactly, else 6000 (UNCONFIRMED and stricter:
QuickBooks lets a person override VAT in the app; leave TaxAmount out to let the sandbox compute it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.reference import TaxCodeSpec

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineTax:
    rate_id: str
    percent: Decimal
    net: Decimal
    tax: Decimal


def quantize(value: Decimal, precision: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def line_tax(spec: TaxCodeSpec, applicable_on: str, entered: Decimal, inclusive: bool, precision: int,
             supplied: Decimal | None, line: int) -> LineTax | None:
    """The VAT of one line (None for a code without a rate, e.g. "No VAT")."""
    rate_id = spec.rate_id(applicable_on)
    if rate_id is None:
        if supplied:
            raise errors.business(f"Line {line}: tax code {spec.name} carries no VAT; TaxAmount must be 0.",
                                  "TaxAmount")
        return None
    rate = spec.percent / HUNDRED
    if inclusive:
        tax = quantize(entered * rate / (1 + rate), precision)
        net = entered - tax
    else:
        net = entered
        tax = quantize(entered * rate, precision)
    if supplied is not None and supplied != tax:
        raise errors.business(f"Line {line}: TaxAmount {supplied} does not match {spec.name} on {net} "
                              f"({tax}). Leave TaxAmount out to have it computed.", "TaxAmount")
    return LineTax(rate_id, spec.percent, net, tax)


def txn_tax_detail(taxes: list[LineTax]) -> dict:
    """One TaxLine per rate, in first-use order, and their total."""
    groups: dict[str, list[LineTax]] = {}
    for item in taxes:
        groups.setdefault(item.rate_id, []).append(item)
    lines = []
    for rate_id, items in groups.items():
        lines.append({"Amount": sum((i.tax for i in items), Decimal(0)), "DetailType": "TaxLineDetail",
                      "TaxLineDetail": {"TaxRateRef": {"value": rate_id}, "PercentBased": True,
                                        "TaxPercent": items[0].percent,
                                        "NetAmountTaxable": sum((i.net for i in items), Decimal(0))}})
    return {"TotalTax": sum((i.tax for i in taxes), Decimal(0)), "TaxLine": lines}
