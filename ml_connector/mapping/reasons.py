"""Why a record cannot be posted: each check is a vectorised mask with a message naming field and fix.

Checks run in order and a record keeps the first reason that applies, so the reason shown is the one
to fix first (a locked period makes a category question moot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import pandas as pd

from ml_connector.mapping.rules import MappingRules
from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import ReferenceData

# (reason code, which rows it applies to, the message for a frame of those rows). Messages are built only
# for the rows that take the reason: string work on every row of a month would dominate the mapping.
Check = tuple[str, pd.Series, Callable[[pd.DataFrame], pd.Series | str]]


def _s(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str)


def _choose(condition: pd.Series, if_true: pd.Series, if_false: pd.Series) -> pd.Series:
    return pd.Series(np.where(condition, if_true, if_false), index=condition.index, dtype=object)


PER_RECORD = ("zero_amount", "locked_period")  # the checks that look at a record's own amount and date


def reason_checks(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData,
                  phase: str = "all") -> Iterator[Check]:
    """The checks in order. Mapping runs them in three phases: "early" and "late" on each distinct combination
    of the fields mapping reads (source, category, merchant, ...), "per_record" on every record's amount and
    date; "all" runs them all on one frame."""
    if phase in ("all", "early"):
        yield from _early_checks(frame, reference)
    if phase in ("all", "per_record"):
        yield from _per_record_checks(frame, reference)
    if phase in ("all", "late"):
        yield ("unmapped_category", frame["account_ref"].isna(), _unmapped_text)
        yield from _account_checks(frame)
        yield from _tag_checks(frame, rules, reference)
        yield from _tax_checks(frame)
        yield from _location_checks(frame)
        yield from _vendor_checks(frame, rules)


def _early_checks(frame: pd.DataFrame, reference: ReferenceData) -> Iterator[Check]:
    yield ("source_not_configured", ~frame["is_configured"].eq(True),
           lambda f: "the mapping file has no '" + _s(f["source"]) + "' section; fix: add a '" + _s(f["source"])
           + ":' section (see config/mapping.example.yaml).")

    known = {c.code.upper() for c in reference.currencies} | {reference.base_currency.upper()}
    yield ("unknown_currency", ~frame["currency"].isin(known),
           lambda f: "currency '" + _s(f["currency"]) + "' is not enabled in the ledger; fix: add "
           + _s(f["currency"]) + " to the ledger's currencies, then map the month again.")


def _per_record_checks(frame: pd.DataFrame, reference: ReferenceData) -> Iterator[Check]:
    if "tax_mismatch" in frame.columns:
        yield ("tax_mismatch", frame["tax_mismatch"].astype(bool),
               lambda f: "the source states tax " + _s(f["stated_tax"]) + " " + _s(f["currency"]) + " in "
               + _s(f["amount"]) + ", but the ledger's '" + _s(f["tax_name"]) + "' (" + _s(f["tax_rate"])
               + "%) books " + _s(f["tax_amount"]) + "; fix: correct the tax rate of the expense at the source, "
               "or map its tax code to the ledger tax of the rate on the receipt under tax.codes.")
    yield ("zero_amount", frame["amount_rounded"].eq(0),
           lambda f: "amount " + _s(f["amount"]) + " " + _s(f["currency"]) + " rounds to zero; nothing to post; "
           "fix: none needed, or correct the amount at the source.")

    if reference.locked_through is not None:
        lock = reference.locked_through
        # A month has a few dozen distinct dates: compare each once.
        locked = frame["record_date"].map({d: d <= lock for d in frame["record_date"].unique()})
        yield ("locked_period", locked.astype(bool),
               lambda f: "record_date " + _s(f["record_date"]) + f" is on or before the ledger's lock date {lock}; "
               "fix: ask a ledger admin to unlock the period, or correct the date at the source.")


def _unmapped_text(frame: pd.DataFrame) -> pd.Series:
    source, category = _s(frame["source"]), _s(frame["category"])
    by_rule = ("category '" + category + "' has no rule; fix: add " + source + ".categories." + category
               + ": <account code> to the mapping file, or set " + source + ".default_account.")
    by_gl_code = ("category '" + category + "' (GL code '" + _s(frame["gl_code"]) + "') matches no ledger "
                  "account code and no rule; fix: give the category a ledger account code as its GL code in "
                  "the source, or add " + source + ".categories." + category + ": <account code> to the mapping "
                  "file.")
    text = _choose(frame["use_gl_codes"].eq(True), by_gl_code, by_rule)
    return text.where(frame["category"].notna(), "the record has no " + source + " category; fix: categorise it "
                      "at the source, or set " + source + ".default_account in the mapping file.")


def _account_checks(frame: pd.DataFrame) -> Iterator[Check]:
    has_credit = frame["posts_journal"].eq(True)
    yield ("unknown_account", frame["debit_account_id"].isna(),
           lambda f: _s(f["account_origin"]) + " names account '" + _s(f["account_ref"]) + "', which is not in the "
           "ledger's chart of accounts; fix: set " + _s(f["account_origin"]) + " to an existing account code or name.")
    yield ("unknown_account", has_credit & frame["credit_account_id"].isna(),
           lambda f: _s(f["credit_origin"]) + " names account '" + _s(f["credit_ref"]) + "', which is not in the "
           "ledger's chart of accounts; fix: set " + _s(f["credit_origin"]) + " to an existing account code or name.")
    yield ("inactive_account", frame["debit_is_active"].eq(False),
           lambda f: _s(f["account_origin"]) + " names account '" + _s(f["account_ref"]) + " "
           + _s(f["debit_account_name"]) + "', which is inactive in the ledger; fix: map it to an active account "
           "in the mapping file, or reactivate the account.")
    yield ("inactive_account", has_credit & frame["credit_is_active"].eq(False),
           lambda f: _s(f["credit_origin"]) + " names account '" + _s(f["credit_ref"]) + "', which is inactive in "
           "the ledger; fix: set " + _s(f["credit_origin"]) + " to an active account, or reactivate the account.")


def _tag_checks(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> Iterator[Check]:
    covered = set()
    for dim in DIMENSIONS:
        rule = getattr(rules.dimensions, dim)
        if rule is None:
            continue
        covered.add(rule.tag.casefold())
        yield ("missing_mandatory_tag", frame[f"{dim}_required"].eq(True) & frame[f"{dim}_option_id"].isna(),
               partial(_missing_tag_text, dim=dim, tag=rule.tag))
    mandatory = sorted({o.tag_name for o in reference.tag_options if o.is_mandatory})
    for tag in (t for t in mandatory if t.casefold() not in covered):
        yield ("missing_mandatory_tag", frame["posts_journal"].eq(True), lambda f, tag=tag:
               f"tag '{tag}' is mandatory on journals in the ledger but no dimension maps to it; fix: add "
               f"dimensions.department (or location, project) with tag: '{tag}' to the mapping file.")


def _missing_tag_text(f: pd.DataFrame, dim: str, tag: str) -> pd.Series:
    value, wanted = _s(f[dim]), _s(f[f"{dim}_wanted"])
    no_value = (f"the record has no {dim} and tag '{tag}' is required; fix: set the {dim} at the source, "
                f"or set dimensions.{dim}.default_option in the mapping file.")
    no_option = (f"{dim} '" + value + f"' matches no option of tag '{tag}' (looked for '" + wanted
                 + f"'); fix: add dimensions.{dim}.values.'" + value + "': <option name> to the mapping "
                 f"file, or create the option under '{tag}' in the ledger.")
    inactive = ("option '" + wanted + f"' of tag '{tag}' is inactive in the ledger; fix: reactivate "
                f"it, or map the {dim} to an active option under dimensions.{dim}.values.")
    text = _choose(f[f"{dim}_wanted"].isna(), pd.Series(no_value, index=f.index), no_option)
    return text.where(~f[f"{dim}_option_inactive"].eq(True), inactive)


def _tax_checks(frame: pd.DataFrame) -> Iterator[Check]:
    state = frame["tax_state"]
    yield ("missing_tax_code", state.eq("missing"), lambda f:
           "the ledger charges tax on purchases and no rule gives category '" + _s(f["category"]) + "' (account "
           + _s(f["debit_account_code"]) + ") a tax code; fix: add tax.categories." + _s(f["source"]) + "."
           + _s(f["category"]) + ", tax.accounts." + _s(f["debit_account_code"]) + " or tax.default to the "
           "mapping file.")
    yield ("unknown_tax_code", state.eq("unknown"), lambda f:
           _s(f["tax_origin"]) + " names tax '" + _s(f["tax_wanted"]) + "', which is not among the ledger's "
           "taxes (or only as an inactive one); fix: "
           "name one of the ledger's taxes there (by name or id), or add tax.codes.'" + _s(f["tax_wanted"])
           + "': <ledger tax name> to the mapping file.")
    yield ("inactive_tax_code", state.eq("inactive"), lambda f:
           _s(f["tax_origin"]) + " names tax '" + _s(f["tax_name"]) + "', which is inactive in the ledger; fix: "
           "map it to an active tax in the mapping file, or reactivate the tax.")


def _location_checks(frame: pd.DataFrame) -> Iterator[Check]:
    state = frame["business_location_state"]
    yield ("missing_location", state.eq("missing"), lambda f:
           "the ledger has several business locations and the record selects none; fix: set "
           "business_location.default in the mapping file, or give the record a location at the source.")
    yield ("unknown_location", state.eq("unknown"), lambda f:
           _s(f["business_location_origin"]) + " names business location '" + _s(f["business_location_wanted"])
           + "', which is not in the ledger; fix: add business_location.values.'" + _s(f["business_location_wanted"])
           + "': <ledger location name>, or set business_location.default in the mapping file.")
    yield ("inactive_location", state.eq("inactive"), lambda f:
           "business location '" + _s(f["business_location_name"]) + "' is inactive in the ledger; fix: map it to "
           "an active location under business_location.values, or reactivate it.")


def _vendor_checks(frame: pd.DataFrame, rules: MappingRules) -> Iterator[Check]:
    is_bill = frame["posting_kind"].eq("bill")
    yield ("unknown_vendor", is_bill & frame["vendor_name"].isna(), lambda f:
           "the report has no employee name to bill as the vendor; fix: set expensify.employees_as_vendors: "
           "false, or make sure the export carries the submitter's name.")
    if not rules.vendors.create_missing:
        yield ("unknown_vendor", frame["vendor_name"].notna() & frame["vendor_id"].isna(),
               lambda f: "vendor '" + _s(f["vendor_name"]) + "' is not in the ledger; fix: create it in the ledger, "
               "add a vendors.aliases entry to an existing vendor, or set vendors.create_missing: true.")
