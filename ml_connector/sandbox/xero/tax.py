"""Tax rates of the two organisation profiles, and how Xero turns line amounts into tax and totals.

"us": one rate, `NONE` ("Tax Exempt", 0%): the catalog's US profile has no tax. "uk": the catalog's UK VAT rates
(`catalog.UK_VAT_RATES`) as Xero's UK purchase TaxTypes from the OAS `TaxType` enum: standard -> INPUT2 20%,
reduced -> RRINPUT 5%, zero -> ZERORATEDINPUT, exempt -> EXEMPTINPUT, out of scope -> NONE ("No VAT"); the
catalog's inactive 17.5% rate is the ARCHIVED custom rate TAX001 (Xero numbers custom rates TAX001...,
recorded update-invoice), refused on lines. Beside them the sales counterparts OUTPUT2, RROUTPUT,
ZERORATEDOUTPUT and EXEMPTOUTPUT, which a bill may not use. Display names follow Xero's UK rate names
(UNCONFIRMED: no UK TaxRates recording exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.catalog import VatRate

CENT = Decimal("0.01")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
EXPENSE_CLASS = "EXPENSE"


@dataclass(frozen=True)
class TaxRate:
    tax_type: str
    name: str
    rate: Decimal  # percent
    report_tax_type: str
    for_purchases: bool
    for_sales: bool
    applies_to: frozenset[str]  # account classes: ASSET, EQUITY, EXPENSE, LIABILITY, REVENUE
    component: str = "VAT"
    status: str = "ACTIVE"

    @property
    def is_usable(self) -> bool:
        return self.status == "ACTIVE"

    def wire(self) -> dict:
        return {"Name": self.name, "TaxType": self.tax_type, "ReportTaxType": self.report_tax_type,
                "CanApplyToAssets": "ASSET" in self.applies_to, "CanApplyToEquity": "EQUITY" in self.applies_to,
                "CanApplyToExpenses": "EXPENSE" in self.applies_to,
                "CanApplyToLiabilities": "LIABILITY" in self.applies_to,
                "CanApplyToRevenue": "REVENUE" in self.applies_to, "DisplayTaxRate": float(self.rate),
                "EffectiveRate": float(self.rate), "Status": self.status,
                "TaxComponents": [{"Name": self.component, "Rate": float(self.rate), "IsCompound": False,
                                   "IsNonRecoverable": False}]}


_ALL = frozenset({"ASSET", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE"})
_PURCHASE_SIDE = frozenset({"ASSET", "EQUITY", "EXPENSE", "LIABILITY"})
_SALES_SIDE = frozenset({"ASSET", "EQUITY", "LIABILITY", "REVENUE"})

US_RATES = (TaxRate("NONE", "Tax Exempt", Decimal(0), "NONE", True, True, _ALL, "Tax"),)

# catalog VatRate.kind -> (Xero TaxType, Xero's name, ReportTaxType)
PURCHASE_TYPES = {"standard": ("INPUT2", "20% (VAT on Expenses)", "INPUT"),
                  "reduced": ("RRINPUT", "5% (VAT on Expenses)", "INPUT"),
                  "zero": ("ZERORATEDINPUT", "Zero Rated Expenses", "INPUT"),
                  "exempt": ("EXEMPTINPUT", "Exempt Expenses", "EXEMPTINPUT"),
                  "out_of_scope": ("NONE", "No VAT", "NONE")}
UK_SALES_RATES = (
    TaxRate("OUTPUT2", "20% (VAT on Income)", Decimal(20), "OUTPUT", False, True, _SALES_SIDE),
    TaxRate("RROUTPUT", "5% (VAT on Income)", Decimal(5), "OUTPUT", False, True, _SALES_SIDE),
    TaxRate("ZERORATEDOUTPUT", "Zero Rated Income", Decimal(0), "OUTPUT", False, True, _SALES_SIDE),
    TaxRate("EXEMPTOUTPUT", "Exempt Income", Decimal(0), "EXEMPTOUTPUT", False, True, _SALES_SIDE),
)


def org_rates(vat_rates: tuple[VatRate, ...]) -> tuple[TaxRate, ...]:
    """Xero's tax rates for an organisation with the catalog's purchase VAT rates (none: the US profile)."""
    if not vat_rates:
        return US_RATES
    rates, custom = [], 0
    for vat in vat_rates:
        if vat.is_active:
            tax_type, name, report = PURCHASE_TYPES[vat.kind]
            applies = _ALL if tax_type == "NONE" else _PURCHASE_SIDE
            rates.append(TaxRate(tax_type, name, vat.percentage, report, True, tax_type == "NONE", applies))
        else:
            custom += 1
            rates.append(TaxRate(f"TAX{custom:03d}", f"{vat.percentage.normalize()}% (VAT on Expenses)",
                                 vat.percentage, "INPUT", True, False, _PURCHASE_SIDE, status="ARCHIVED"))
    return (*rates, *UK_SALES_RATES)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_tax(amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    if line_amount_types == "NoTax" or rate == 0:
        return Decimal("0.00")
    if line_amount_types == "Inclusive":
        return cents(amount * rate / (100 + rate))
    return cents(amount * rate / 100)


def totals(amounts: list[Decimal], taxes: list[Decimal], line_amount_types: str) -> dict[str, Decimal]:
    """SubTotal, TotalTax and Total of a document, to the penny."""
    gross = cents(sum(amounts, Decimal(0)))
    tax = cents(sum(taxes, Decimal(0)))
    if line_amount_types == "Inclusive":
        return {"SubTotal": gross - tax, "TotalTax": tax, "Total": gross}
    return {"SubTotal": gross, "TotalTax": tax, "Total": gross + tax}
