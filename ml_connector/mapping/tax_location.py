"""Tax codes and business locations for each combination of mapped fields, and each record's tax.

Only for organisations that need them: tax when the ledger charges tax on purchases (`tax_required`: UK VAT),
a location when it has several business locations (`location_required`). Elsewhere these columns stay empty
and nothing about a record's posting changes.

A combination's tax code is the first of: the code its source states (renamed through `tax.codes`, or a
ledger tax of that name or id); `tax.categories.<source>.<category>`; `tax.accounts.<expense account>`;
`tax.default`. Each record's tax is then its gross amount split the way the ledger computes tax
(`ml_connector.tax`); a tax the source states (Expensify's receipt VAT) must agree with it to one minor unit,
or the record is held: the ledger's rate would book another amount than the receipt shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_connector.mapping.rules import MappingRules
from ml_connector.models import ReferenceData
from ml_connector.money import quantum
from ml_connector.tax import split_gross

TAX_COLUMNS = ("tax_code_id", "tax_name", "tax_rate", "tax_wanted", "tax_origin", "tax_state")
LOCATION_COLUMNS = ("business_location_id", "business_location_name", "business_location_wanted",
                    "business_location_origin", "business_location_state")


def _key(value: object) -> str | None:
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None


def _tax_lookup(reference: ReferenceData) -> dict[str, object]:
    """Ledger taxes by id and by name (casefolded); an active tax wins over an inactive one of the same name."""
    found: dict[str, object] = {}
    for tax in sorted(reference.tax_codes, key=lambda t: t.is_active):
        found[tax.name.strip().casefold()] = tax
    for tax in reference.tax_codes:
        found[tax.tax_code_id.strip().casefold()] = tax
    return found


def resolve_tax(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> pd.DataFrame:
    """TAX_COLUMNS for every combination (tax_state: None, "missing", "unknown" or "inactive")."""
    frame = frame.copy()
    if not reference.tax_required:
        for name in TAX_COLUMNS:
            frame[name] = None
        return frame
    taxes, tax = _tax_lookup(reference), rules.tax
    renamed = {_key(k): v for k, v in tax.codes.items()}
    by_category = {(source, _key(c)): v for source, table in tax.categories.items() for c, v in table.items()}
    by_account = {_key(k): v for k, v in tax.accounts.items()}
    out = {name: [] for name in TAX_COLUMNS}
    for source, category, stated, code, name in zip(
            frame["source"], frame["category"], frame["tax_code"], frame["debit_account_code"],
            frame["debit_account_name"], strict=True):
        wanted, origin = None, None
        if _key(stated):
            wanted, origin = renamed.get(_key(stated), stated), f"the {source} tax code '{stated}'"
            if _key(stated) in renamed:
                origin = f"tax.codes.{stated}"
        elif (source, _key(category)) in by_category:
            wanted, origin = by_category[(source, _key(category))], f"tax.categories.{source}.{category}"
        elif _key(code) in by_account or _key(name) in by_account:
            wanted = by_account.get(_key(code)) or by_account[_key(name)]
            origin = f"tax.accounts.{code if _key(code) in by_account else name}"
        elif tax.default is not None:
            wanted, origin = tax.default, "tax.default"
        found = taxes.get(_key(wanted)) if wanted is not None else None
        state = _state(wanted, found)
        usable = found if state is None else None
        out["tax_code_id"].append(usable.tax_code_id if usable else None)
        out["tax_name"].append(found.name if found else None)
        out["tax_rate"].append(usable.rate if usable else None)
        out["tax_wanted"].append(wanted)
        out["tax_origin"].append(origin)
        out["tax_state"].append(state)
    for name, column in out.items():
        frame[name] = pd.Series(column, index=frame.index, dtype=object)
    return frame


def _state(wanted: str | None, found) -> str | None:
    """Why a wanted tax code or location cannot be used: None when it can."""
    if wanted is None:
        return "missing"
    if found is None:
        return "unknown"
    return None if found.is_active else "inactive"


def resolve_location(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> pd.DataFrame:
    """LOCATION_COLUMNS for every combination (business_location_state: None, "missing", "unknown" or
    "inactive"). Named apart from the `location` dimension, a reporting tag."""
    frame = frame.copy()
    if not reference.location_required:
        for name in LOCATION_COLUMNS:
            frame[name] = None
        return frame
    rule = rules.business_location
    locations = {}
    for location in sorted(reference.locations, key=lambda loc: loc.is_active):
        locations[location.name.strip().casefold()] = location
    renamed = {_key(k): v for k, v in rule.values.items()}
    out = {name: [] for name in LOCATION_COLUMNS}
    for value in frame[rule.field]:
        wanted = renamed.get(_key(value), value if _key(value) else None)
        origin = f"the record's {rule.field}"
        if _key(value) in renamed:
            origin = f"business_location.values.{value}"
        if wanted is None or (_key(wanted) not in locations and rule.default is not None):
            if rule.default is not None:
                wanted, origin = rule.default, "business_location.default"
        found = locations.get(_key(wanted)) if wanted is not None else None
        state = _state(wanted, found)
        out["business_location_id"].append(found.location_id if found is not None and state is None else None)
        out["business_location_name"].append(found.name if found is not None else None)
        out["business_location_wanted"].append(wanted)
        out["business_location_origin"].append(origin)
        out["business_location_state"].append(state)
    for name, column in out.items():
        frame[name] = pd.Series(column, index=frame.index, dtype=object)
    return frame


def record_taxes(amounts: np.ndarray, currencies: np.ndarray, rates: np.ndarray, kinds: np.ndarray,
                 stated: np.ndarray, reference: ReferenceData) -> tuple[np.ndarray, np.ndarray]:
    """Each record's tax (None where untaxed) as the ledger will book it, and whether the tax its source
    states differs from that by more than one minor unit."""
    tax = np.full(len(amounts), None, dtype=object)
    mismatch = np.zeros(len(amounts), dtype=bool)
    taxed = np.flatnonzero(pd.notna(rates))
    for at in taxed:
        amount, currency = amounts[at], currencies[at]
        _, tax[at] = split_gross(amount, rates[at], currency, reference.tax_basis(kinds[at]))
        if stated[at] is not None and not pd.isna(stated[at]):
            mismatch[at] = abs(stated[at] - tax[at]) > quantum(currency)
    return tax, mismatch
