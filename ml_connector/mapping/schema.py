"""The declared schemas of the mapping frames: column names and dtypes, in one place.

Text, dates and money are `object` columns on purpose: money stays `Decimal` (never float), dates stay
`datetime.date`, and missing values are `None` rather than NaN so drafts can read them as they are.
"""

from __future__ import annotations

import pandas as pd

DIMENSIONS = ("department", "location", "project")

MAPPED_COLUMNS: dict[str, str] = {
    "source": "object",  # "brex" | "expensify"
    "source_id": "object",
    "parent_id": "object",  # Brex card transaction / Expensify report id
    "version": "object",  # SpendRecord.version fingerprint
    "record_date": "object",  # datetime.date
    "posting_kind": "object",  # "journal" | "bill"
    "posting_mode": "object",  # "per_record" | "per_day" | "per_report" | "bill"
    "currency": "object",
    "amount": "object",  # Decimal rounded to the currency's precision; negative = refund
    "exchange_rate": "object",  # Decimal | None
    "debit_account_id": "object",  # the expense account (credited instead for a refund)
    "debit_account_code": "object",
    "debit_account_name": "object",
    "credit_account_id": "object",  # card liability / reimbursements; None for bills (the ledger's payable)
    "vendor_name": "object",
    "vendor_id": "object",  # None when the vendor does not exist yet and must be created
    **{f"{dim}_{part}": "object" for dim in DIMENSIONS
       for part in ("tag_id", "tag_name", "option_id", "option_name")},
    "project": "object",
    "category": "object",
    "merchant": "object",
    "employee_name": "object",
    "card_account": "object",
    "description": "object",
    "source_url": "object",
    "receipt_urls": "object",  # tuple[str, ...]
    "original_amount": "object",  # Decimal | None: the same spend in another currency (Brex: the card's settled)
    "original_currency": "object",
    # Where the ledger charges tax (UK VAT): the line's tax code and the tax inside `amount`, as the ledger books
    # it; and, where it has several business locations, the entry's. None elsewhere.
    "tax_code_id": "object",
    "tax_name": "object",
    "tax_rate": "object",  # Decimal percent
    "tax_amount": "object",  # Decimal, part of `amount`, signed like it
    "business_location_id": "object",
    "business_location_name": "object",
}

EXCEPTION_COLUMNS: dict[str, str] = {
    "source": "object",
    "source_id": "object",
    "parent_id": "object",
    "version": "object",
    "record_date": "object",
    "currency": "object",
    "amount": "object",  # Decimal, as the source sent it
    "category": "object",
    "merchant": "object",
    "reason": "object",  # one of REASONS
    "reason_text": "object",  # names the field and the fix
}

REASONS: dict[str, str] = {
    "source_not_configured": "the mapping file has no section for the record's source",
    "unknown_currency": "the ledger does not have the record's currency",
    "zero_amount": "the amount rounds to zero in the currency's precision",
    "locked_period": "the record date is on or before the ledger's lock date",
    "unmapped_category": "no rule maps the record's category to an account",
    "unknown_account": "a rule names an account that is not in the ledger",
    "inactive_account": "a rule names an account that is inactive in the ledger",
    "missing_mandatory_tag": "a required reporting tag has no option for the record",
    "unknown_vendor": "the vendor is not in the ledger and vendors.create_missing is false",
    "changed_after_posting": "the record changed after it was posted; it is held for review, never reposted",
    "missing_tax_code": "the ledger charges tax and no rule gives the record's line a tax code",
    "unknown_tax_code": "a rule or the source names a tax that is not in the ledger",
    "inactive_tax_code": "a rule or the source names a tax that is inactive in the ledger",
    "tax_mismatch": "the tax the source states differs from what the ledger's rate books",
    "missing_location": "the ledger has several business locations and the record selects none",
    "unknown_location": "the record's business location is not in the ledger",
    "inactive_location": "the record's business location is inactive in the ledger",
}


def conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Exactly the declared columns, in order, with declared dtypes and None for missing values."""
    out = frame.reindex(columns=list(columns)).astype(columns)
    return out.where(out.notna(), None).reset_index(drop=True)


def empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
