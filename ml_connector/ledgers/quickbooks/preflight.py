"""What a QuickBooks company would refuse of a mapped month, found before anything posts.

Each check is a vectorised mask over the mapped frame; a record keeps the first reason that applies (the
engine drops later ones), so the order below is the order to fix things in. Every text names the QuickBooks
setting (or the mapping key) and the fix.

- `vat_codes_required`: a company outside the US that charges VAT needs a VAT code on every expense line; the
  connector does not map VAT codes yet, so nothing of such a company is posted (every record is held).
- `class_tracking_off`: a record is on a class (a dimension the mapping file points at tag "Class") while the
  company does not track classes per line: its plan has none (Simple Start, Essentials), tracking is off, or
  classes are assigned one per transaction (the connector sets a class on each line).
- `department_tracking_off`: a record is on a department (QuickBooks calls them locations in the US
  edition) while the company does not track them.
- `multicurrency_off`: a record in a currency other than the home currency while multicurrency is off.
- `dimension_slot_taken`: two dimensions of the mapping file name the same QuickBooks slot on one record.
- `bill_departments_differ`: a report's records name different departments, and a bill has one.
- `negative_bill_line`: a bill line would be negative (refunds outweigh spend on one account and class):
  QuickBooks refuses negative bill lines (2290), and a vendor credit is not what the connector posts.
- `vendor_currency_differs`: a report in another currency than its vendor's. A QuickBooks vendor has one
  currency and its bills are in it (notes section 9); vendors the connector creates are in the home currency.
Bill holds take the whole report, as the engine holds Expensify reports whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from ml_connector.ledgers.quickbooks.wire import CLASS, DEPARTMENT, TAG_NAMES
from ml_connector.mapping.schema import DIMENSIONS

COLUMNS = ["source_id", "reason", "reason_text"]
CATEGORIES = "Settings > Account and settings > Advanced > Categories"


@dataclass(frozen=True)
class CompanySettings:
    """The Preferences (and CompanyInfo) facts the checks need."""

    realm_id: str
    country: str
    home_currency: str
    uses_sales_tax: bool
    class_per_line: bool
    class_per_transaction: bool
    tracks_departments: bool
    department_label: str  # what the company calls departments ("Location", "Business", ...)
    multicurrency: bool

    @classmethod
    def from_wire(cls, realm_id: str, preferences: dict, company: dict) -> CompanySettings:
        accounting = preferences.get("AccountingInfoPrefs", {})
        currency = preferences.get("CurrencyPrefs", {})
        return cls(realm_id=realm_id, country=str(company.get("Country") or ""),
                   home_currency=str((currency.get("HomeCurrency") or {}).get("value") or "USD"),
                   uses_sales_tax=bool(preferences.get("TaxPrefs", {}).get("UsingSalesTax")),
                   class_per_line=bool(accounting.get("ClassTrackingPerTxnLine")),
                   class_per_transaction=bool(accounting.get("ClassTrackingPerTxn")),
                   tracks_departments=bool(accounting.get("TrackDepartments")),
                   department_label=str(accounting.get("DepartmentTerminology") or "Location"),
                   multicurrency=bool(currency.get("MultiCurrencyEnabled")))

    @property
    def needs_vat_codes(self) -> bool:
        return self.uses_sales_tax and self.country not in ("", "US")


@dataclass(frozen=True)
class Slot:
    """Per record: how many dimensions land on one QuickBooks slot, and the first one's option and name."""

    count: pd.Series
    option_id: pd.Series
    option_name: pd.Series
    dimension: pd.Series


def _slot(mapped: pd.DataFrame, tag_id: str) -> Slot:
    count = pd.Series(0, index=mapped.index)
    firsts = {part: pd.Series(None, index=mapped.index, dtype=object) for part in ("id", "name", "dim")}
    for dim in DIMENSIONS:
        on = mapped[f"{dim}_tag_id"].eq(tag_id) & mapped[f"{dim}_option_id"].notna()
        count += on.astype(int)
        take = on & firsts["id"].isna()
        firsts["id"] = firsts["id"].where(~take, mapped[f"{dim}_option_id"])
        firsts["name"] = firsts["name"].where(~take, mapped[f"{dim}_option_name"])
        firsts["dim"] = firsts["dim"].where(~take, dim)
    return Slot(count, firsts["id"], firsts["name"], firsts["dim"])


def _bill_groups(mapped: pd.DataFrame) -> pd.Series:
    """Which bill each bill record lands on (a report, split by currency); None for journal records."""
    report = mapped["parent_id"].where(mapped["parent_id"].notna(), mapped["source_id"]).astype(str)
    return (report + "|" + mapped["currency"].astype(str)).where(mapped["posting_kind"].eq("bill"))


def _whole_bills(groups: pd.Series, bad: set) -> pd.Series:
    return groups.isin(list(bad)) & groups.notna()


def foreign_bill_vendors(mapped: pd.DataFrame, home_currency: str) -> set[str]:
    """The vendors of bills in another currency than the home currency: whose currency `holds` must know."""
    foreign = mapped["posting_kind"].eq("bill") & mapped["currency"].ne(home_currency) & mapped["vendor_id"].notna()
    return set(mapped.loc[foreign, "vendor_id"].astype(str))


def holds(mapped: pd.DataFrame, company: CompanySettings,
          vendor_currencies: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of (source_id, reason, reason_text) for the records this company would refuse. `vendor_currencies`:
    vendor id -> currency, for the vendors `foreign_bill_vendors` names."""
    if mapped.empty:
        return pd.DataFrame(columns=COLUMNS)
    parts: list[pd.DataFrame] = []

    def hold(mask: pd.Series, reason: str, text: pd.Series | str) -> None:
        if mask.any():
            texts = text[mask] if isinstance(text, pd.Series) else text
            parts.append(pd.DataFrame({"source_id": mapped.loc[mask, "source_id"], "reason": reason,
                                       "reason_text": texts}))

    realm = f"QuickBooks company {company.realm_id}"
    if company.needs_vat_codes:
        hold(pd.Series(True, index=mapped.index), "vat_codes_required",
             f"{realm} charges VAT ({company.country}; Taxes > VAT is set up), so QuickBooks needs a VAT code on "
             f"every expense line, and this connector does not map VAT codes yet. Fix: post this company's spend "
             f"by hand for now; turn VAT off in QuickBooks only if the company is not VAT-registered.")

    classes, departments = _slot(mapped, CLASS), _slot(mapped, DEPARTMENT)
    if not company.class_per_line:
        how = ("assigns classes one to each transaction (Track classes > Assign classes), and the connector puts "
               "a class on each line" if company.class_per_transaction else
               "does not track classes (Track classes is off, or the plan has no classes: Simple Start and "
               "Essentials have none)")
        hold(classes.count > 0, "class_tracking_off",
             "the mapping puts this record on class '" + classes.option_name.astype(str) + "' (dimensions."
             + classes.dimension.astype(str) + f".tag: {TAG_NAMES[CLASS]}), but {realm} {how}. Fix: in "
             f"QuickBooks turn on {CATEGORIES} > Track classes with 'One to each row in transaction' "
             f"(QuickBooks Online Plus or Advanced), or remove the dimension whose tag is '{TAG_NAMES[CLASS]}' "
             f"from the mapping file.")
    if not company.tracks_departments:
        hold(departments.count > 0, "department_tracking_off",
             "the mapping puts this record on department '" + departments.option_name.astype(str)
             + "' (dimensions." + departments.dimension.astype(str)
             + f".tag: {TAG_NAMES[DEPARTMENT]}), but {realm} does not track departments ("
             f"{company.department_label.lower()}s). Fix: in QuickBooks turn on {CATEGORIES} > Track "
             f"locations, or remove the dimension whose tag is '{TAG_NAMES[DEPARTMENT]}' from the mapping file.")
    if not company.multicurrency:
        foreign = mapped["currency"].ne(company.home_currency)
        hold(foreign, "multicurrency_off",
             "the record is in " + mapped["currency"].astype(str) + f", but {realm} has multicurrency off and "
             f"keeps only {company.home_currency}. Fix: turn on Settings > Account and settings > Advanced > "
             f"Currency > Multicurrency (it cannot be turned off again) and add the currency, or post the "
             f"record in {company.home_currency} at the source.")
    for slot, tag_id in ((classes, CLASS), (departments, DEPARTMENT)):
        hold(slot.count > 1, "dimension_slot_taken",
             f"two dimensions of the mapping file point at tag '{TAG_NAMES[tag_id]}', and a QuickBooks line has "
             f"one {TAG_NAMES[tag_id].lower()}. Fix: point only one of dimensions.department, location and "
             f"project at '{TAG_NAMES[tag_id]}'.")

    groups = _bill_groups(mapped)
    is_bill = groups.notna()
    if is_bill.any():
        distinct = departments.option_id[is_bill].fillna("").groupby(groups[is_bill]).nunique()
        mixed = set(distinct[distinct > 1].index)
        hold(_whole_bills(groups, mixed), "bill_departments_differ",
             "the records of this report name different departments, and a QuickBooks bill has one department "
             "for all its lines. Fix: give the report's expenses one location at the source, or remove the "
             f"dimension whose tag is '{TAG_NAMES[DEPARTMENT]}' from the mapping file.")
        tags = ["debit_account_id", *(f"{dim}_option_id" for dim in DIMENSIONS)]
        keyed = mapped[is_bill].assign(_bill=groups[is_bill])[["_bill", *tags, "amount"]].fillna("")
        nets = keyed.groupby(["_bill", *tags])["amount"].agg(lambda amounts: sum(amounts, Decimal(0)))
        negative = {bill for (bill, *_), net in nets.items() if net < 0}
        hold(_whole_bills(groups, negative), "negative_bill_line",
             "refunds outweigh spend on one account and class of this report, so its bill would carry a negative "
             "line, which QuickBooks refuses. Fix: enter the refund in QuickBooks as a vendor credit by hand, or "
             "correct the report at the source.")
        known = vendor_currencies or {}
        vendor_currency = mapped["vendor_id"].map(lambda v: known.get(str(v), company.home_currency)
                                                  if v is not None else company.home_currency)
        differs = is_bill & mapped["currency"].ne(vendor_currency)
        hold(_whole_bills(groups, set(groups[differs])), "vendor_currency_differs",
             "the report is in " + mapped["currency"].astype(str) + ", but its vendor '"
             + mapped["vendor_name"].astype(str) + "' is in " + vendor_currency.astype(str)
             + " (vendors the connector creates are in the home currency), and a QuickBooks vendor's bills are in "
             "its own currency. Fix: have the report reimbursed in " + vendor_currency.astype(str)
             + " at the source, or enter this bill by hand against a vendor kept in the report's currency.")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
