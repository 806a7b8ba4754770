"""What a QuickBooks company would refuse of a mapped month, found before anything posts.

Each check is a vectorised mask over the mapped frame; a record keeps the first reason that applies (the
engine drops later ones), so the order below is the order to fix things in. Every text names the QuickBooks
setting (or the mapping key) and the fix.

VAT codes are the mapping's (its `tax:` section; missing, unknown and inactive codes are the engine's reasons),
and so are business locations: in a company that charges VAT (outside the US) and tracks departments, the
departments are its business locations (`CompanySettings.departments_are_locations`), since such a company
wants a department on every transaction (the sandbox's UK company refuses one without; UNCONFIRMED for
QuickBooks itself, and the stricter reading).

- `class_tracking_off`: a record is on a class (a dimension the mapping file points at tag "Class") while the
  company does not track classes per line: its plan has none (Simple Start, Essentials), tracking is off, or
  classes are assigned one per transaction (the connector sets a class on each line).
- `department_tracking_off`: a record is on a department (QuickBooks calls them locations in the US
  edition) while the company does not track them.
- `multicurrency_off`: a record in a currency other than the home currency while multicurrency is off.
- `dimension_slot_taken`: two dimensions of the mapping file name the same QuickBooks slot on one record.
- `department_is_location`: a record is on a department (a dimension whose tag is "Department") in a company
  whose departments are its business locations: the entry's department is its location (the mapping's
  `business_location` section), and one entry has one.
- `bill_departments_differ`: a report's records name different departments, and a bill has one.
- `negative_bill_line`: a bill line would be negative (refunds outweigh spend on one account and class, or a
  taxed refund, which is a line of its own): QuickBooks refuses negative bill lines (2290), and a vendor credit
  is not what the connector posts.
- `vendor_currency_differs`: a report in another currency than its vendor's. A QuickBooks vendor has one
  currency and its bills are in it (notes section 9); vendors the connector creates are in the home currency.
Bill holds take the whole report, as the engine holds Expensify reports whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from ml_connector.ledgers.quickbooks.tax import charges_vat
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
    def charges_vat(self) -> bool:
        """Every expense line needs a tax code (a company outside the US with tax on)."""
        return charges_vat(self.uses_sales_tax, self.country)

    @property
    def departments_are_locations(self) -> bool:
        """Its departments are its business locations: every entry carries one, as its header department."""
        return self.charges_vat and self.tracks_departments


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


def _column(mapped: pd.DataFrame, name: str) -> pd.Series:
    """A column frames of organisations without tax or locations may lack, as text ("" where missing)."""
    if name not in mapped.columns:
        return pd.Series("", index=mapped.index, dtype=object)
    return mapped[name].astype(object).where(mapped[name].notna(), "").astype(str)


def _bill_groups(mapped: pd.DataFrame) -> pd.Series:
    """Which bill each bill record lands on (a report, split by currency and business location); None for
    journal records."""
    report = mapped["parent_id"].where(mapped["parent_id"].notna(), mapped["source_id"]).astype(str)
    return (report + "|" + mapped["currency"].astype(str) + "|" + _column(mapped, "business_location_id")
            ).where(mapped["posting_kind"].eq("bill"))


def _bill_lines(mapped: pd.DataFrame) -> pd.Series:
    """Which line of its bill each bill record lands on: one per account and dimension options, and a taxed
    record on a line of its own (the engine's bill lines)."""
    tax_code = _column(mapped, "tax_code_id")
    own = mapped["source_id"].astype(str).where(tax_code.ne(""), "")
    parts = [mapped["debit_account_id"].astype(str), tax_code, own,
             *(_column(mapped, f"{dim}_option_id") for dim in DIMENSIONS)]
    line = parts[0]
    for part in parts[1:]:
        line = line + "|" + part
    return line


def _whole_bills(groups: pd.Series, bad: set) -> pd.Series:
    return groups.isin(list(bad)) & groups.notna()


def bill_vendors_to_check(mapped: pd.DataFrame, company: CompanySettings) -> set[str]:
    """The existing vendors of bills whose currency `holds` must know: with multicurrency on, every one (a vendor
    may keep another currency than the home one, and then refuses a home-currency bill too); without it, those of
    bills in another currency (every vendor is in the home currency then)."""
    has_vendor = mapped["posting_kind"].eq("bill") & mapped["vendor_id"].notna()
    if not company.multicurrency:
        has_vendor &= mapped["currency"].ne(company.home_currency)
    return set(mapped.loc[has_vendor, "vendor_id"].astype(str))


def holds(mapped: pd.DataFrame, company: CompanySettings,
          vendor_currencies: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of (source_id, reason, reason_text) for the records this company would refuse. `vendor_currencies`:
    vendor id -> currency, for the vendors `bill_vendors_to_check` names."""
    if mapped.empty:
        return pd.DataFrame(columns=COLUMNS)
    parts: list[pd.DataFrame] = []

    def hold(mask: pd.Series, reason: str, text: pd.Series | str) -> None:
        if mask.any():
            texts = text[mask] if isinstance(text, pd.Series) else text
            parts.append(pd.DataFrame({"source_id": mapped.loc[mask, "source_id"], "reason": reason,
                                       "reason_text": texts}))

    realm = f"QuickBooks company {company.realm_id}"
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
    if company.departments_are_locations:
        label = company.department_label.lower()
        hold(departments.count > 0, "department_is_location",
             "the mapping puts this record on department '" + departments.option_name.astype(str)
             + "' (dimensions." + departments.dimension.astype(str) + f".tag: {TAG_NAMES[DEPARTMENT]}), but in "
             f"{realm} (VAT, departments tracked as {label}s) the department of an entry is its business "
             f"location, one per entry. Fix: remove the dimension whose tag is '{TAG_NAMES[DEPARTMENT]}' from the "
             f"mapping file and map the record's location to a {label} under business_location.")

    groups = _bill_groups(mapped)
    is_bill = groups.notna()
    if is_bill.any() and not company.departments_are_locations:  # else the engine splits bills per location
        distinct = departments.option_id[is_bill].fillna("").groupby(groups[is_bill]).nunique()
        mixed = set(distinct[distinct > 1].index)
        hold(_whole_bills(groups, mixed), "bill_departments_differ",
             "the records of this report name different departments, and a QuickBooks bill has one department "
             "for all its lines. Fix: give the report's expenses one location at the source, or remove the "
             f"dimension whose tag is '{TAG_NAMES[DEPARTMENT]}' from the mapping file.")
    if is_bill.any():
        keyed = pd.DataFrame({"bill": groups[is_bill], "line": _bill_lines(mapped[is_bill]),
                              "amount": mapped.loc[is_bill, "amount"]})
        nets = keyed.groupby(["bill", "line"])["amount"].agg(lambda amounts: sum(amounts, Decimal(0)))
        negative = {bill for (bill, _), net in nets.items() if net < 0}
        hold(_whole_bills(groups, negative), "negative_bill_line",
             "refunds outweigh spend on one account and class of this report (or a refund carries VAT, and so is "
             "a bill line of its own), so its bill would carry a negative line, which QuickBooks refuses. Fix: "
             "enter the refund in QuickBooks as a vendor credit by hand, or correct the report at the source.")
        known = vendor_currencies or {}
        # Plain text columns: the mapped ones are categorical, and categoricals compare only with equal categories.
        vendor_currency = pd.Series([known.get(str(v), company.home_currency) if v is not None else
                                     company.home_currency for v in mapped["vendor_id"].astype(object)],
                                    index=mapped.index, dtype=object)
        differs = is_bill & (mapped["currency"].astype(object) != vendor_currency)
        hold(_whole_bills(groups, set(groups[differs])), "vendor_currency_differs",
             "the report is in " + mapped["currency"].astype(str) + ", but its vendor '"
             + mapped["vendor_name"].astype(str) + "' is in " + vendor_currency.astype(str)
             + " (vendors the connector creates are in the home currency), and a QuickBooks vendor's bills are in "
             "its own currency. Fix: have the report reimbursed in " + vendor_currency.astype(str)
             + " at the source, or enter this bill by hand against a vendor kept in the report's currency.")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
