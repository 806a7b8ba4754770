"""Taxes of the sandbox organisation: `GET /settings/taxes[/{tax_id}]`, and the VAT on bill and journal lines.

The "us" organisation has tax off: the list is empty, exactly as recorded from a live US org
(recorded-nango list-taxes), and tax fields on lines are ignored as before. The "uk" organisation has
UK VAT purchase rates: Standard Rate 20%, Reduced Rate 5%, Zero Rate 0%, Exempt 0%, Out of Scope 0%, and
one inactive rate, "Standard Rate (17.5%)".

Shapes (taxes.yml, list-taxes.test.json): list rows carry the OAS list keys plus `country`/`country_code`
(the OAS's UK-only keys) and `status`; `page_context` is the recorded one (`report_name` "Taxes",
`applied_filter` "Taxes.Active", `as_of_date`/`to_date` today, sorted by `tax_name` A). `filter_by`
takes Taxes.Active (default: inactive taxes are hidden, as the recorded applied_filter implies),
Taxes.Inactive or Taxes.All. `GET /settings/taxes/{tax_id}` answers `{"tax": {...}}`, one object like
every other Books get (the OAS types `tax` as an array; no recording shows a get).
UNCONFIRMED, chosen in Zoho's style:
- the key `status` ("active" | "inactive") on tax objects, and the filter_by values besides Taxes.Active;
- Exempt and Out of Scope as 0% taxes chosen by `tax_id`: taxes.yml offers tax exemptions
  (`/settings/taxexemptions`, `tax_exemption_id` on lines) to the US, IN, AU and CA editions only, so a
  UK line names its VAT treatment through `tax_id` alone.

Tax on lines (uk). Rounding: each line's tax is rounded to the currency's precision with ROUND_HALF_UP,
and totals are sums of rounded lines; bills say so with `tax_rounding: "item_level"`. (The recorded US
bill shows Zoho's default "entity_level", rounding once per bill and tax; its exact rule is not in the
references, so the sandbox rounds per line and labels the bill truthfully.)
- Bill lines: `tax_id` is required on every line ("Required when tax calculations are enabled",
  bills.yml). `is_inclusive_tax` false: `rate` x `quantity` is the net `item_total` and the tax is added;
  true: it is the gross, tax = gross x p / (100 + p), `item_total` = gross - tax. Every line carries
  `item_total` (net), `item_total_inclusive_of_tax` (gross) and its tax in `line_item_taxes`
  [{tax_id, tax_name, tax_amount}]; the bill carries `sub_total` (sum of nets), `tax_total`, `total`,
  `sub_total_inclusive_of_tax` (sum of grosses when inclusive, else 0 as recorded) and `taxes`
  [{tax_id, tax_name, tax_amount}] per tax.
- Journal lines: `tax_id` is optional (journals.yml does not require it). A taxed line's `amount` is net;
  its tax, amount x p / 100, is booked on the same side to the VAT control account, so debits plus
  debit-side tax must equal credits plus credit-side tax. `total` is debits with their tax;
  `line_item_total` is debits without; `taxes` lists [{tax_name, tax_amount, debit_or_credit,
  tax_account: true}] per tax and side.
Errors (HTTP 400): a line without tax_id -> code 2 "tax_id is required for line item N: tax is enabled
for this organization. ..."; an unknown tax -> code 1002 "Tax does not exist."; an inactive tax ->
code 2 "The tax '<name>' on line item N is inactive. ..." (codes and texts UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.catalog import OrgProfile, numeric_id
from ml_connector.sandbox.zoho_records import ZohoError, invalid, not_found_in_body, not_found_in_path
from ml_connector.sandbox.zoho_reference import to_wire_number

TAX_FILTERS = {"Taxes.Active": True, "Taxes.Inactive": False, "Taxes.All": None}


@dataclass(frozen=True)
class ZohoTax:
    tax_id: str
    name: str
    percentage: Decimal
    kind: str
    is_active: bool

    def row(self, profile: OrgProfile) -> dict:
        return {
            "tax_id": self.tax_id, "tax_name": self.name, "tax_percentage": to_wire_number(self.percentage),
            "tax_type": "tax", "is_value_added": self.kind != "out_of_scope",
            "is_default_tax": self.kind == "standard" and self.is_active, "is_editable": True,
            # taxes.yml's UK-edition keys, with its own example values
            **({"country": "United Kingdom", "country_code": "UK"} if profile.key == "uk" else {}),
            "status": "active" if self.is_active else "inactive",
        }


def build_taxes(seed: int, profile: OrgProfile) -> dict[str, ZohoTax]:
    return {tax_id: ZohoTax(tax_id, r.name, r.percentage, r.kind, r.is_active)
            for r in profile.vat_rates for tax_id in (numeric_id(seed, "tax", profile.key, r.key),)}


def list_taxes(taxes: Mapping[str, ZohoTax], profile: OrgProfile, params: Mapping[str, str],
               today: date) -> tuple[list[dict], dict]:
    applied = params.get("filter_by", "Taxes.Active")
    if applied not in TAX_FILTERS:
        raise invalid("filter_by", f"Use one of: {', '.join(TAX_FILTERS)}.")
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 200))
    except ValueError:
        raise invalid("page", "page and per_page must be whole numbers.") from None
    if page < 1 or per_page < 1:
        raise invalid("page", "page and per_page start at 1.")
    wanted = TAX_FILTERS[applied]
    rows = sorted((t.row(profile) for t in taxes.values() if wanted is None or t.is_active == wanted),
                  key=lambda row: row["tax_name"].lower())
    start = (page - 1) * per_page
    context = {"page": page, "per_page": per_page, "has_more_page": len(rows) > start + per_page,
               "report_name": "Taxes", "applied_filter": applied, "as_of_date": today.isoformat(),
               "to_date": today.isoformat(), "sort_column": "tax_name", "sort_order": "A"}
    return rows[start:start + per_page], context


def tax_detail(taxes: Mapping[str, ZohoTax], profile: OrgProfile, tax_id: str) -> dict:
    tax = taxes.get(tax_id)
    if tax is None:
        raise not_found_in_path("Tax")
    return tax.row(profile)


def line_tax(taxes: Mapping[str, ZohoTax], raw: object, where: str, required: bool) -> ZohoTax | None:
    """The active tax a line names, or None when it names none and none is required."""
    tax_id = str(raw or "").strip()
    if not tax_id:
        if required:
            raise ZohoError(400, 2, f"tax_id is required for {where}: tax is enabled for this organization. "
                                    "Send the tax_id of a tax from GET /settings/taxes.")
        return None
    tax = taxes.get(tax_id)
    if tax is None:
        raise not_found_in_body("Tax")
    if not tax.is_active:
        raise invalid("tax_id", f"The tax '{tax.name}' on {where} is inactive. Choose an active tax.")
    return tax


def _round(amount: Decimal, precision: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def tax_on_net(net: Decimal, tax: ZohoTax | None, precision: int) -> Decimal:
    return _round(net * (tax.percentage if tax else 0) / 100, precision)


def split_amount(amount: Decimal, tax: ZohoTax | None, inclusive: bool, precision: int) -> tuple[Decimal, Decimal]:
    """(net, tax) of a line amount that is net (exclusive) or gross (inclusive)."""
    if tax is None:
        return amount, Decimal(0)
    if not inclusive:
        return amount, tax_on_net(amount, tax, precision)
    tax_amount = _round(amount * tax.percentage / (100 + tax.percentage), precision)
    return amount - tax_amount, tax_amount


def line_tax_fields(tax: ZohoTax | None, tax_amount: Decimal) -> dict:
    """The tax keys of a saved line (bill or journal)."""
    if tax is None:
        return {"tax_id": "", "tax_name": "", "tax_type": "tax", "tax_percentage": 0, "line_item_taxes": []}
    return {"tax_id": tax.tax_id, "tax_name": tax.name, "tax_type": "tax",
            "tax_percentage": to_wire_number(tax.percentage),
            "line_item_taxes": [{"tax_id": tax.tax_id, "tax_name": tax.name,
                                 "tax_amount": to_wire_number(tax_amount)}]}


def bill_tax_summary(lines: list[tuple[ZohoTax | None, Decimal]]) -> list[dict]:
    """`taxes` of a bill: one entry per tax used, in first-use order."""
    totals: dict[str, list] = {}
    for tax, amount in lines:
        if tax is not None:
            totals.setdefault(tax.tax_id, [tax, Decimal(0)])[1] += amount
    return [{"tax_id": tax.tax_id, "tax_name": tax.name, "tax_amount": to_wire_number(amount)}
            for tax, amount in totals.values()]


def journal_tax_summary(lines: list[tuple[ZohoTax | None, str, Decimal]]) -> list[dict]:
    """`taxes` of a journal: one entry per tax and side."""
    totals: dict[tuple[str, str], list] = {}
    for tax, side, amount in lines:
        if tax is not None:
            totals.setdefault((tax.tax_id, side), [tax, side, Decimal(0)])[2] += amount
    return [{"tax_name": tax.name, "tax_amount": to_wire_number(amount), "debit_or_credit": side,
             "tax_account": True} for tax, side, amount in totals.values()]
