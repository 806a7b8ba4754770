"""Tax in the sandbox Expensify account when the company is the UK organisation (`SandboxConfig.org="uk"`).

In the "us" organisation nothing here is used: policies answer `tax: {}` and expenses `hasTax: false`,
byte for byte as before. In "uk" both policies track UK VAT and every expense carries it.

Policy getter `tax` (notes §5): `{"name": "VAT", "default": <rateID>, "rates": [{"rateID", "name",
"rate"}]}` with the active rates of the UK VAT table in `catalog` (Standard Rate 20, Reduced Rate 5, Zero
Rate 0, Exempt 0, Out of Scope 0). Rate IDs follow Expensify's own style (`id_TAX_EXEMPT` is Expensify's
built-in exempt rate; the others are `id_TAX_RATE_<n>`).

Expense fields (notes §4 names; "set only if hasTax is true"): `hasTax` true, `taxName` (the policy's tax
name), `taxRateName`, `taxCode` (the rateID), `taxRate`, `taxAmount` and `modifiedTaxAmount` ("" when
unmodified, like `modifiedAmount`). UNCONFIRMED units, chosen to match the rest of the export:
`taxAmount` is integer cents in the expense's own `currency`, like `amount`; `taxRate` (and the policy's
`rate`) is the percentage as a number (20 for 20%). Receipts show gross prices, so the tax is taken out of
the final amount (modifiedAmount, else amount): round_half_up(final x rate / (100 + rate)).

Which rate an expense carries (a sandbox choice): EUR expenses are Out of Scope (bought abroad); others by
category: Airfare Zero Rate (UK passenger transport), Shipping Exempt (postal services), everything else
Standard Rate.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.catalog import ORG_PROFILES, VatRate

TAX_NAME = "VAT"
RATE_IDS = {"standard": "id_TAX_RATE_1", "reduced": "id_TAX_RATE_2", "zero": "id_TAX_RATE_3",
            "exempt": "id_TAX_EXEMPT", "out_of_scope": "id_TAX_RATE_4"}
_KIND_BY_CATEGORY = {"Airfare": "zero", "Shipping": "exempt"}


def _rates(org: str) -> dict[str, VatRate]:
    return {r.kind: r for r in ORG_PROFILES[org].vat_rates if r.is_active}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def policy_tax(org: str) -> dict:
    """The policy getter's `tax` section: {} when the organisation has no tax."""
    rates = _rates(org)
    if not rates:
        return {}
    return {"name": TAX_NAME, "default": RATE_IDS["standard"],
            "rates": [{"rateID": RATE_IDS[kind], "name": r.name, "rate": _number(r.percentage)}
                      for kind, r in rates.items()]}


def expense_tax(org: str, category: str, currency: str, final_amount: int) -> dict:
    """The tax fields of one expense; {} when the organisation has no tax."""
    rates = _rates(org)
    if not rates:
        return {}
    kind = "out_of_scope" if currency == "EUR" else _KIND_BY_CATEGORY.get(category, "standard")
    rate = rates[kind]
    tax = (Decimal(final_amount) * rate.percentage / (100 + rate.percentage)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return {"hasTax": True, "taxName": TAX_NAME, "taxRateName": rate.name, "taxCode": RATE_IDS[kind],
            "taxRate": _number(rate.percentage), "taxAmount": int(tax), "modifiedTaxAmount": ""}
