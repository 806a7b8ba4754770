"""Map a month of spend records to draft lines or exceptions, as joins over whole frames.

Records, rules and reference data each become a frame once; every lookup is a merge on a normalised key,
so a month of 100,000 records costs a handful of joins, not 100,000 dictionary walks. Every record ends in
exactly one of the two frames: `mapped` (ready for drafts) or `exceptions` (with a reason and a fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP

import numpy as np
import pandas as pd

from ml_connector.mapping.frames import (
    account_lookup,
    category_rules,
    dimension_options,
    merchant_overrides,
    records_frame,
    source_settings,
    vendor_aliases,
    vendor_lookup,
)
from ml_connector.mapping.names import normalise_names
from ml_connector.mapping.reasons import reason_checks
from ml_connector.mapping.rules import MappingRules
from ml_connector.mapping.schema import DIMENSIONS, EXCEPTION_COLUMNS, MAPPED_COLUMNS, empty
from ml_connector.mapping.tax_location import LOCATION_COLUMNS, TAX_COLUMNS, record_taxes, resolve_location, resolve_tax
from ml_connector.models import ReferenceData, SpendRecord
from ml_connector.money import quantum


@dataclass(frozen=True)
class MappingResult:
    mapped: pd.DataFrame  # MAPPED_COLUMNS
    exceptions: pd.DataFrame  # EXCEPTION_COLUMNS

    def reason_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.exceptions["reason"].value_counts().items()}


def map_records(records: list[SpendRecord], rules: MappingRules, reference: ReferenceData) -> MappingResult:
    return map_frame(records_frame(records), rules, reference)


# The fields every mapping decision reads. A month of 100,000 card swipes has a few thousand distinct
# combinations of them (merchants, categories, departments repeat), so the joins run on those combinations and
# each record takes its combination's result: mapping costs a factorize and a take per record, not a join.
KEY_FIELDS = ("source", "category", "gl_code", "merchant", "department", "location", "project", "employee_name",
              "currency", "tax_code")
# What a record carries of its own, beside its combination.
RECORD_FIELDS = ("source_id", "parent_id", "version", "record_date", "amount", "exchange_rate", "card_account",
                 "memo", "source_url", "receipt_urls", "original_amount", "original_currency")


def map_frame(records: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> MappingResult:
    """Map a records frame (see `frames.records_frame`)."""
    if records.empty:
        return MappingResult(empty(MAPPED_COLUMNS), empty(EXCEPTION_COLUMNS))
    records = records.reset_index(drop=True)
    for name in ("tax_code", "tax_amount"):  # frames from before sources stated tax
        if name not in records.columns:
            records[name] = None
    codes, combos = _combinations(records)
    keyed = _map_combinations(combos, rules, reference)
    column = {name: keyed[name].to_numpy(dtype=object) for name in keyed.columns}  # per combination

    amount = _round_amounts(records["amount"], pd.Series(column["currency"][codes]))
    own = pd.DataFrame({"amount": records["amount"].to_numpy(dtype=object), "amount_rounded": amount.to_numpy(),
                        "currency": column["currency"][codes], "record_date": records["record_date"].to_numpy()})
    tax = None
    if reference.tax_required:
        stated = records["tax_amount"].to_numpy(dtype=object)
        tax, mismatch = record_taxes(amount.to_numpy(), column["currency"][codes], column["tax_rate"][codes],
                                     column["posting_kind"][codes], stated, reference)
        own = own.assign(tax_mismatch=mismatch, stated_tax=stated, tax_amount=tax, tax_name=column["tax_name"][codes],
                         tax_rate=column["tax_rate"][codes])
    reason, text = (r.to_numpy(dtype=object) for r in _per_record_reasons(own, reference))
    early, late = column["early_reason"][codes], column["late_reason"][codes]
    first, second = pd.notna(early), pd.notna(reason)
    reason = np.where(first, early, np.where(second, reason, late))
    text = np.where(first, column["early_text"][codes], np.where(second, text, column["late_text"][codes]))
    held = pd.notna(reason)
    mapped_at, held_at = np.flatnonzero(~held), np.flatnonzero(held)

    mapped = _build(MAPPED_COLUMNS, column, codes[mapped_at], records, mapped_at)
    mapped["amount"] = amount.to_numpy()[mapped_at]
    mapped["tax_amount"] = tax[mapped_at] if tax is not None else None
    parts = pd.DataFrame({"merchant": column["merchant"][codes[mapped_at]],
                          "memo": records["memo"].take(mapped_at).to_numpy(),
                          "source_url": records["source_url"].take(mapped_at).to_numpy()})
    mapped["description"] = _with_record_parts(pd.Series(column["description"][codes[mapped_at]], dtype=object),
                                               parts).to_numpy()
    exceptions = _build(EXCEPTION_COLUMNS, column, codes[held_at], records, held_at)
    exceptions["reason"], exceptions["reason_text"] = reason[held_at], text[held_at]
    assert len(mapped) + len(exceptions) == len(records), "a record was lost or duplicated in mapping"
    return MappingResult(_conform(mapped, MAPPED_COLUMNS), _conform(exceptions, EXCEPTION_COLUMNS))


def _build(columns: dict[str, str], per_combination: dict[str, np.ndarray], codes: np.ndarray,
           records: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The rows at `positions`: a combination's columns taken by its number, a record's own from the record."""
    data = {}
    for name in columns:
        if name in per_combination:
            # A combination's value, as a category: an integer per record, not a reference per record.
            at, values = pd.factorize(per_combination[name], use_na_sentinel=True)
            data[name] = pd.Categorical.from_codes(at[codes], categories=pd.Index(values, dtype=object))
        elif name in records.columns:
            data[name] = records[name].take(positions).reset_index(drop=True)
        else:
            data[name] = np.full(len(positions), None, dtype=object)
    return pd.DataFrame(data)


def _combinations(records: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each record's combination number, and one row per distinct combination of KEY_FIELDS."""
    codes = np.zeros(len(records), dtype=np.int64)
    for name in KEY_FIELDS:
        column, uniques = pd.factorize(records[name], use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + column
        codes, _ = pd.factorize(codes)  # keep the numbers small however many fields there are
    first = pd.Series(np.arange(len(records))).groupby(codes, sort=False).first()
    combos = records.loc[first.to_numpy(), list(KEY_FIELDS)].reset_index(drop=True)
    return codes, combos


def _map_combinations(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> pd.DataFrame:
    """Every decision that depends only on KEY_FIELDS, once per combination."""
    suffixes = rules.vendors.strip_suffixes
    frame = frame.copy()
    frame["merchant_key"] = normalise_names(frame["merchant"], suffixes)
    frame["category_key"] = frame["category"].str.strip().str.casefold()
    frame = _lookup(frame, source_settings(rules), on="source")
    frame = _lookup(frame, category_rules(rules), on=["source", "category_key"])
    frame = _lookup(frame, merchant_overrides(rules), on=["source", "merchant_key"])
    frame = _lookup(frame, vendor_aliases(rules), on="merchant_key")
    frame = _resolve_accounts(frame, reference)
    frame = resolve_tax(frame, rules, reference)
    frame = resolve_location(frame, rules, reference)
    frame = _resolve_dimensions(frame, rules, reference)
    frame = _resolve_vendor(frame, rules, reference)
    frame["description"] = _description(frame)  # what every record of the combination shares
    for phase in ("early", "late"):
        frame[f"{phase}_reason"], frame[f"{phase}_text"] = _reasons(frame, rules, reference, phase)
    wanted = (set(MAPPED_COLUMNS) | set(EXCEPTION_COLUMNS) | set(TAX_COLUMNS) | set(LOCATION_COLUMNS)
              | {"posting_kind", "describe_employee", "early_reason", "early_text", "late_reason", "late_text"})
    kept = frame[[c for c in frame.columns if c in wanted]]
    return kept.astype(object).where(kept.notna(), None)


def _per_record_reasons(frame: pd.DataFrame, reference: ReferenceData) -> tuple[pd.Series, pd.Series]:
    reason = pd.Series(None, index=frame.index, dtype=object)
    text = pd.Series(None, index=frame.index, dtype=object)
    for code, applies, message in reason_checks(frame, None, reference, phase="per_record"):
        take = reason.isna() & applies.eq(True)
        if take.any():
            reason[take] = code
            text[take] = message(frame[take])
    return reason, text


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Exactly the declared columns, in order, with None for missing values (combination columns already are)."""
    out = frame.reindex(columns=list(columns)).reset_index(drop=True)
    for name in columns:
        column = out[name]
        # Object columns already hold None for missing (combinations are cleaned once, record columns come
        # that way); typed columns (text kept as pandas strings) are converted only when something is missing.
        if column.dtype != object and column.hasnans:
            out[name] = column.astype(object).where(column.notna(), None)
    return out


def _lookup(frame: pd.DataFrame, table: pd.DataFrame, on: str | list[str]) -> pd.DataFrame:
    """A left join on keys that are unique in `table`, so no record is ever duplicated."""
    merged = frame.merge(table, how="left", on=on, validate="many_to_one")
    assert len(merged) == len(frame)
    return merged


def _first(*series: pd.Series) -> pd.Series:
    out = series[0]
    for more in series[1:]:
        out = out.where(out.notna(), more)
    return out


def _resolve_accounts(frame: pd.DataFrame, reference: ReferenceData) -> pd.DataFrame:
    accounts = account_lookup(reference)
    # Expensify categories carry GL codes: a code the ledger knows wins over the category table.
    gl_key = frame["gl_code"].str.strip().str.casefold()
    known_codes = accounts.loc[accounts["is_code"], "key"]
    gl_ref = frame["gl_code"].where(frame["use_gl_codes"].eq(True) & gl_key.isin(known_codes))
    frame["account_ref"] = _first(frame["override_account"], gl_ref, frame["category_account"],
                                  frame["default_account"])
    frame["account_origin"] = _first(
        frame["override_origin"].where(frame["override_account"].notna()),
        ("GL code " + frame["gl_code"].fillna("") + " of category '" + frame["category"].fillna("") + "'")
        .where(gl_ref.notna()),
        frame["category_origin"].where(frame["category_account"].notna()),
        frame["default_origin"].where(frame["default_account"].notna()))
    debit = accounts.drop(columns="is_code").add_prefix("debit_")
    frame["debit_key"] = frame["account_ref"].str.strip().str.casefold()
    frame = _lookup(frame, debit, on="debit_key")
    credit = accounts[["key", "account_id", "is_active"]].add_prefix("credit_")
    frame["credit_key"] = frame["credit_ref"].str.strip().str.casefold()
    return _lookup(frame, credit, on="credit_key")


def _resolve_dimensions(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> pd.DataFrame:
    options = dimension_options(reference)
    mandatory = {o.tag_name.casefold() for o in reference.tag_options if o.is_mandatory}
    for dim in DIMENSIONS:
        rule = getattr(rules.dimensions, dim)
        if rule is None:
            frame[f"{dim}_required"] = False
            continue
        value = frame[dim].str.strip()
        renamed = value.str.casefold().map({k.strip().casefold(): v for k, v in rule.values.items()})
        wanted = _first(renamed, value)
        if rule.default_option is not None:
            wanted = wanted.where(wanted.notna(), rule.default_option)
        frame[f"{dim}_wanted"] = wanted
        frame["tag_key"] = rule.tag.casefold()
        frame["option_key"] = wanted.str.casefold()
        found = options.add_prefix(f"{dim}_").rename(
            columns={f"{dim}_tag_key": "tag_key", f"{dim}_option_key": "option_key"})
        frame = _lookup(frame, found, on=["tag_key", "option_key"])
        # An inactive option cannot be posted: keep the fact for the reason text, drop the ids.
        inactive = frame[f"{dim}_option_id"].notna() & ~frame[f"{dim}_option_active"].eq(True)
        frame[f"{dim}_option_inactive"] = inactive
        for part in ("tag_id", "tag_name", "option_id", "option_name"):
            frame[f"{dim}_{part}"] = frame[f"{dim}_{part}"].where(~inactive)
        frame[f"{dim}_rule_tag"] = rule.tag
        is_mandatory = rule.tag.casefold() in mandatory
        frame[f"{dim}_required"] = rule.required | (is_mandatory & frame["posts_journal"].eq(True))
    return frame.drop(columns=["tag_key", "option_key"], errors="ignore")


def _resolve_vendor(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData) -> pd.DataFrame:
    by_employee = frame["employees_as_vendors"].eq(True)
    from_merchant = _first(frame["override_vendor"], frame["category_vendor"], frame["alias_vendor"],
                           frame["merchant"])
    frame["wanted_vendor"] = from_merchant.where(~by_employee, frame["employee_name"])
    frame["vendor_key"] = normalise_names(frame["wanted_vendor"], rules.vendors.strip_suffixes)
    frame = _lookup(frame, vendor_lookup(reference, rules.vendors.strip_suffixes), on="vendor_key")
    frame["vendor_name"] = _first(frame["ledger_vendor_name"], frame["wanted_vendor"])
    return frame


def _round_amounts(amounts: pd.Series, currencies: pd.Series) -> pd.Series:
    """Each amount rounded half up to its currency's precision (Decimal's own C quantize: ~1 µs a record)."""
    values, codes = amounts.to_numpy(dtype=object), currencies.to_numpy(dtype=object)
    rounded = np.empty(len(values), dtype=object)
    for code in pd.unique(codes):
        at = codes == code
        unit = quantum(code)
        rounded[at] = [amount.quantize(unit, rounding=ROUND_HALF_UP) for amount in values[at]]
    return pd.Series(rounded, index=amounts.index, dtype=object)


def _joined(base: pd.Series, part: pd.Series, sep: str = " | ") -> pd.Series:
    return base + np.where(part.notna(), sep + part.fillna("").astype(str), "")


def _description(frame: pd.DataFrame) -> pd.Series:
    """The part of a line's description every record of a combination shares (memo and link are added per
    record): merchant, project, employee."""
    text = frame["merchant"].astype(object).where(frame["merchant"].notna(), "").astype(str)
    text = _joined(text, "project " + frame["project"])  # ledgers without a project tag still see it
    return _joined(text, frame["employee_name"].where(frame["describe_employee"].eq(True)))


def _with_record_parts(shared: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """merchant | memo | project | employee | link: the memo goes after the merchant, the link last. Only the
    records that have a memo or a link pay for string work."""
    shared = shared.reset_index(drop=True)
    memo, link = frame["memo"].reset_index(drop=True), frame["source_url"].reset_index(drop=True)
    has = (memo.notna() | link.notna()).to_numpy()
    if not has.any():
        return shared
    out = shared.copy()
    names = frame["merchant"].reset_index(drop=True)[has]
    merchant = names.astype(object).where(names.notna(), "").astype(str)
    after_merchant = pd.Series([text[len(name):] for text, name in zip(shared[has], merchant, strict=True)],
                               index=merchant.index, dtype=object)
    out[has] = _joined(_joined(merchant, memo[has]) + after_merchant, link[has])
    return out


def _reasons(frame: pd.DataFrame, rules: MappingRules, reference: ReferenceData,
             phase: str) -> tuple[pd.Series, pd.Series]:
    """The first reason of the phase that applies to each row, with a text naming the field and the fix."""
    reason = pd.Series(None, index=frame.index, dtype=object)
    text = pd.Series(None, index=frame.index, dtype=object)
    for code, applies, message in reason_checks(frame, rules, reference, phase):
        take = reason.isna() & applies.eq(True)
        if take.any():
            reason[take] = code
            text[take] = message(frame[take])
    return reason, text
