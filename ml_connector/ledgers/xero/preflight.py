"""Before anything posts to Xero: the records it would refuse, and what a month will cost in calls.

Held (reasons of Xero's own; archived accounts and lock dates are mapping's `inactive_account` and
`locked_period`, fed by `reference`):
- `journal_currency_not_base`: Xero's manual journals have no currency field (OAS `ManualJournal`): they are in
  the organisation's base currency, so a journal record in another currency cannot be posted as it is.
- `too_many_tracking_categories`: a line holds at most two tracking elements (OAS `ManualJournalLine`,
  `LineItem`), and Xero at most two active categories.
- `tracking_category_twice`: a line holds one option of each category, so two dimensions on one category
  cannot both be kept.
- `tax_type_not_for_account`: a line's tax type cannot be used on its account's class (a TaxRate's
  `CanApplyTo*`, OAS); Xero refuses the line ("The TaxType code 'X' cannot be used with account code 'Y'",
  3p observed, Xero-Java#336) and with it every other record of the entry.
- `bill_total_negative`: a report whose bill would total below zero (more refunds than spend); Xero keeps
  that as a supplier credit note, not a bill (UNCONFIRMED: the sandbox refuses it, the references are silent;
  held rather than sent to be refused).

Advice: a PUT per entry and per receipt, a contact per new vendor, a list page per hundred entries of each
kind, and a few reference reads per run, against the calls the organisation has left today.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import Draft

RUN_CALLS = 8  # reference data and the tie-out's first list pages, per run
COLUMNS = ["source_id", "reason", "reason_text"]


def held_records(mapped: pd.DataFrame, base_currency: str, *, tax_classes: dict[str, frozenset[str]] | None = None,
                 account_classes: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows (source_id, reason, reason_text) of the mapped records Xero would refuse. `tax_classes`: the account
    classes each tax type may be used on; `account_classes`: account id -> class (both for taxed records)."""
    if mapped.empty:
        return pd.DataFrame(columns=COLUMNS)
    foreign = mapped["posting_kind"].astype(object).eq("journal") & mapped["currency"].astype(object).ne(base_currency)
    chosen = pd.DataFrame({dim: mapped[f"{dim}_tag_id"].where(mapped[f"{dim}_option_id"].notna())
                           for dim in DIMENSIONS})
    categories, dimensions = chosen.nunique(axis=1), chosen.notna().sum(axis=1)
    parts = []
    if foreign.any():
        rows = mapped[foreign]
        parts.append(pd.DataFrame({
            "source_id": rows["source_id"], "reason": "journal_currency_not_base",
            "reason_text": "the record is in " + rows["currency"].astype(str) + ", and Xero manual journals are in "
            f"the organisation's base currency ({base_currency}) only; fix: enter it in Xero by hand, or post "
            "this source as bills"}))
    too_many = ~foreign & categories.gt(2)
    if too_many.any():
        parts.append(pd.DataFrame({
            "source_id": mapped.loc[too_many, "source_id"], "reason": "too_many_tracking_categories",
            "reason_text": [f"the record has options of {n} tracking categories ("
                            + ", ".join(f"dimensions.{d}" for d in DIMENSIONS if pd.notna(row[d]))
                            + ") and Xero holds at most two per line; fix: map at most two dimensions in the "
                            "mapping file" for n, (_, row) in zip(categories[too_many], chosen[too_many].iterrows(),
                                                                  strict=True)]}))
    twice = ~foreign & ~too_many & categories.lt(dimensions)
    if twice.any():
        parts.append(pd.DataFrame({
            "source_id": mapped.loc[twice, "source_id"], "reason": "tracking_category_twice",
            "reason_text": [", ".join(f"dimensions.{d}" for d in DIMENSIONS if pd.notna(row[d]))
                            + " map to the same Xero tracking category, and a line holds one option of each "
                            "category; fix: give each dimension a tracking category of its own in the mapping file"
                            for _, row in chosen[twice].iterrows()]}))
    if tax_classes and account_classes:
        refused = _tax_not_for_account(mapped[~foreign], tax_classes, account_classes)
        if not refused.empty:
            parts.append(refused)
    is_bill = mapped["posting_kind"].astype(object).eq("bill")
    if is_bill.any():
        bills = mapped[is_bill]
        parent = bills["parent_id"].astype(object)
        report = (parent.where(parent.notna(), bills["source_id"].astype(object)).astype(str) + "|"
                  + bills["currency"].astype(str))
        total = bills["amount"].groupby(report).transform(lambda amounts: sum(amounts, Decimal(0)))
        negative = bills[total.lt(0)]
        if not negative.empty:
            parts.append(pd.DataFrame({
                "source_id": negative["source_id"], "reason": "bill_total_negative",
                "reason_text": "report " + negative["parent_id"].astype(str) + " totals below zero in "
                + negative["currency"].astype(str) + ", and a Xero bill cannot; fix: enter it in Xero as a "
                "supplier credit note by hand"}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def _tax_not_for_account(mapped: pd.DataFrame, tax_classes: dict[str, frozenset[str]],
                         account_classes: dict[str, str]) -> pd.DataFrame:
    rows = mapped[mapped["tax_code_id"].notna()] if "tax_code_id" in mapped.columns else mapped.iloc[:0]
    kind = rows["debit_account_id"].astype(object).map(account_classes)
    allowed = rows["tax_code_id"].astype(object).map(tax_classes)
    refused = kind.notna() & allowed.notna() & pd.Series(
        [k not in a if isinstance(a, frozenset) else False for k, a in zip(kind, allowed, strict=True)],
        index=rows.index, dtype=bool)
    rows, kind = rows[refused], kind[refused]
    tax = rows["tax_code_id"].astype(str)
    name = rows["tax_name"].astype(object).where(rows["tax_name"].notna(), tax).astype(str) \
        if "tax_name" in rows.columns else tax
    code = rows["debit_account_code"].astype(object).where(rows["debit_account_code"].notna(),
                                                           rows["debit_account_name"]).astype(str)
    return pd.DataFrame({
        "source_id": rows["source_id"], "reason": "tax_type_not_for_account",
        "reason_text": "the tax type " + tax + " (" + name + ") cannot be used on account " + code + " ("
        + rows["debit_account_name"].astype(str) + ", class " + kind.astype(str) + ") in Xero; fix: map the "
        "record to an expense account, or give it a tax type Xero allows there (tax.accounts." + code
        + " in the mapping file)"}, columns=COLUMNS)


@dataclass(frozen=True)
class MonthShape:
    """What the calls of a month depend on."""

    entries: int
    journals: int
    receipts: int
    new_vendors: int
    single_brex_journals: int  # per_record Brex journals (one expense each)
    days_of_single_journals: int


def month_shape(drafts: Sequence[Draft]) -> MonthShape:
    """From the drafts' columns when they are a `DraftTable` (no object per line is built), else from the drafts."""
    entries = getattr(drafts, "entries", None)
    if isinstance(entries, pd.DataFrame):
        members = drafts.members["entry"].value_counts()
        single = (entries["kind"].astype(object).eq("journal") & entries["source"].astype(object).eq("brex")
                  & pd.Series(range(len(entries)), index=entries.index).map(members).eq(1))
        return MonthShape(len(entries), int(entries["kind"].astype(object).eq("journal").sum()),
                          sum(len(urls) for urls in entries["receipt_urls"] if isinstance(urls, tuple | list)),
                          len(drafts.missing_vendors()), int(single.sum()),
                          entries.loc[single, "entry_date"].nunique())
    singles = [d for d in drafts if d.kind == "journal" and d.source == "brex" and len(d.source_ids) == 1]
    return MonthShape(len(drafts), sum(d.kind == "journal" for d in drafts),
                      sum(len(getattr(d, "receipt_urls", ())) for d in drafts),
                      len(set().union(*(d.missing_vendors() for d in drafts))) if drafts else 0, len(singles),
                      len({d.entry_date for d in singles}))


def estimated_calls(shape: MonthShape) -> int:
    """The fewest calls posting a month of this shape takes."""
    pages = math.ceil(shape.journals / 100) + math.ceil((shape.entries - shape.journals) / 100)
    return shape.entries + shape.receipts + shape.new_vendors + pages + RUN_CALLS


def advice_for(drafts: Sequence[Draft], *, daily: int, left_today: int, per_minute: float) -> list[str]:
    """What a person should know before the month posts: a month the day's calls cannot hold (and the mode
    that needs fewer), and a run that will take hours at the minute limit. `per_minute`: the pace kept."""
    shape = month_shape(drafts)
    calls = estimated_calls(shape)
    advice = []
    if calls > left_today:
        days = 1 + math.ceil(max(0, calls - left_today) / daily)
        text = (f"{shape.entries:,} entries need about {calls:,} Xero calls, and the organisation has "
                f"{left_today:,} of its {daily:,} a day left: posting pauses when the day's calls are used up and "
                f"continues the next day (about {days} days in all).")
        if shape.single_brex_journals:
            text += (f" Brex posting_mode per_day posts one journal per day and card account instead of one per "
                     f"expense: about {shape.days_of_single_journals} journals per card account for these "
                     f"{shape.single_brex_journals:,} expenses.")
        advice.append(text)
    minutes = calls / max(1.0, per_minute)
    if minutes > 60:
        advice.append(f"At {per_minute:.0f} calls a minute (Xero allows 60) these {calls:,} calls take at least "
                      f"{minutes / 60:.1f} hours.")
    return advice
