"""Group mapped lines into balanced journal drafts (Brex, Expensify in journal mode) and vendor bills
(Expensify reports), each under a deterministic posting key.

Amounts in the mapped frame are already rounded to the currency's precision, and every balancing line is
the sum of the lines it balances, so each draft balances to the last minor unit by construction.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from typing import Literal

import pandas as pd

from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import BillDraft, BillLine, JournalDraft, JournalLine, LineTag
from ml_connector.posting_keys import posting_key_for

JournalMode = Literal["per_record", "per_day", "per_report"]
ZERO = Decimal(0)


def vendors_to_create(mapped: pd.DataFrame) -> list[str]:
    """Vendor names the ledger lacks: create them, then pass their ids to the draft builders."""
    missing = mapped.loc[mapped["vendor_id"].isna() & mapped["vendor_name"].notna(), "vendor_name"]
    return sorted(set(missing))


def build_journal_drafts(mapped: pd.DataFrame, mode: JournalMode | None = None) -> list[JournalDraft]:
    """Journals for every mapped row that posts as a journal.

    `mode` overrides the rows' posting_mode (which the mapping file chose): per_record is one journal per
    record, per_day one per (day, card account, currency), per_report one per Expensify report.
    """
    rows = mapped[mapped["posting_kind"] == "journal"]
    if rows.empty:
        return []
    modes = pd.Series(mode, index=rows.index) if mode else rows["posting_mode"]
    rate = _text(rows["exchange_rate"])
    keys = rows["source"] + "|" + modes + "|" + rows["currency"] + "|" + _text(rows["credit_account_id"]) + "|"
    per_record = rows["source_id"]
    per_day = _text(rows["record_date"]) + "|" + _text(rows["card_account"]) + "|" + rate
    per_report = _text(rows["parent_id"].fillna(rows["source_id"])) + "|" + rate
    group = keys + per_record.where(modes == "per_record", per_day.where(modes == "per_day", per_report))
    ordered = rows.assign(_group=group, _mode=modes).sort_values(["_group", "source_id"])
    drafts = [_journal(list(members)) for _, members in groupby(ordered.to_dict("records"), key=lambda r: r["_group"])]
    return sorted(drafts, key=lambda d: (d.entry_date, d.posting_key))


def _text(series: pd.Series) -> pd.Series:
    """Text for a grouping key: missing values as "" (pandas would keep them missing, and NaN never groups)."""
    return series.astype(object).where(series.notna(), "").astype(str).astype(object)


_TAG_COLUMNS = tuple((f"{d}_tag_id", f"{d}_option_id", f"{d}_tag_name", f"{d}_option_name") for d in DIMENSIONS)


def _tags(row: dict) -> tuple[LineTag, ...]:
    return tuple(_line_tag(row[tag], row[option], row[tag_name], row[option_name])
                 for tag, option, tag_name, option_name in _TAG_COLUMNS if row[option] is not None)


@lru_cache(maxsize=4096)
def _line_tag(tag_id: str, option_id: str, tag_name: str | None, option_name: str | None) -> LineTag:
    # A month has a handful of distinct tag choices: build each (frozen) LineTag once.
    return LineTag(tag_id=tag_id, option_id=option_id, tag_name=tag_name or "", option_name=option_name or "")


def _journal(members: list[dict]) -> JournalDraft:
    first, mode = members[0], members[0]["_mode"]
    lines: list[JournalLine] = []
    balance: dict[tuple[LineTag, ...], Decimal] = defaultdict(lambda: ZERO)
    for row in members:
        amount, tags = row["amount"], _tags(row)
        lines.append(JournalLine(account_id=row["debit_account_id"], side="debit" if amount > 0 else "credit",
                                 amount=abs(amount), description=row["description"], vendor_id=row["vendor_id"],
                                 vendor_name=row["vendor_name"], tags=tags, source_id=row["source_id"]))
        balance[tags] += amount  # the liability side is split by tags: every journal line must carry them
    label = _label(first, mode, len(members))
    for tags, net in balance.items():
        if net != ZERO:
            lines.append(JournalLine(account_id=first["credit_account_id"], side="credit" if net > 0 else "debit",
                                     amount=abs(net), description=label, tags=tags))
    kind = {"per_record": "record", "per_day": "day", "per_report": "report"}[mode]
    return JournalDraft(
        posting_key=posting_key_for(first["source"], kind, ((r["source_id"], r["version"]) for r in members)),
        source=first["source"], source_ids=tuple(r["source_id"] for r in members),
        source_versions=tuple(r["version"] for r in members), record_amounts=tuple(r["amount"] for r in members),
        entry_date=max(r["record_date"] for r in members), currency=first["currency"], exchange_rate=_rate(members),
        notes=label, lines=tuple(lines))


def _label(first: dict, mode: str, count: int) -> str:
    if mode == "per_record":
        return first["description"] or first["source_id"]
    if mode == "per_day":
        card = f" card {first['card_account']}" if first["card_account"] else ""
        return f"{first['source'].capitalize()} spend {first['record_date']}{card}: {count} records"
    return (f"{first['source'].capitalize()} report {first['parent_id']} "
            f"({first['employee_name'] or 'unknown employee'}): {count} expenses")


def _rate(members: list[dict]) -> Decimal | None:
    return next((r["exchange_rate"] for r in members if r["exchange_rate"] is not None), None)


def build_bill_drafts(mapped: pd.DataFrame) -> list[BillDraft]:
    """One bill per report (and currency), one line per account and tag set with its total.

    The vendor is the row's vendor_id, or, for a vendor the ledger does not have yet, its name only: the
    posting step creates it and fills the id in. Keys do not depend on the vendor id.
    """
    rows = mapped[mapped["posting_kind"] == "bill"]
    if rows.empty:
        return []
    report = rows["parent_id"].fillna(rows["source_id"])
    currencies_per_report = rows.groupby(report)["currency"].transform("nunique")
    ordered = rows.assign(_report=report, _split=currencies_per_report > 1).sort_values(
        ["_report", "currency", "source_id"])
    drafts = [_bill(list(members))
              for _, members in groupby(ordered.to_dict("records"), key=lambda r: (r["_report"], r["currency"]))]
    return sorted(drafts, key=lambda d: (d.entry_date, d.bill_number))


def _bill(members: list[dict]) -> BillDraft:
    first = members[0]
    totals: dict[tuple, list[dict]] = defaultdict(list)
    for row in members:
        totals[(row["debit_account_id"], _tags(row))].append(row)
    lines = []
    for (account_id, tags), rows in totals.items():
        categories = sorted({r["category"] or r["debit_account_name"] or "" for r in rows})
        lines.append(BillLine(account_id=account_id, amount=sum((r["amount"] for r in rows), ZERO),
                              description=f"{', '.join(categories)} ({len(rows)} expenses)", tags=tags,
                              source_ids=tuple(r["source_id"] for r in rows)))
    number = f"EXP-{first['_report']}" + (f"-{first['currency']}" if first["_split"] else "")
    receipts = tuple(dict.fromkeys(url for r in members for url in (r["receipt_urls"] or ())))
    return BillDraft(
        posting_key=posting_key_for(first["source"], "bill", ((r["source_id"], r["version"]) for r in members)),
        bill_number=number, source=first["source"], source_ids=tuple(r["source_id"] for r in members),
        source_versions=tuple(r["version"] for r in members), record_amounts=tuple(r["amount"] for r in members),
        vendor_id=first["vendor_id"], vendor_name=first["vendor_name"],
        entry_date=max(r["record_date"] for r in members), currency=first["currency"], exchange_rate=_rate(members),
        notes=f"{first['source'].capitalize()} report {first['_report']} "
              f"({first['employee_name'] or first['vendor_name']})",
        lines=tuple(lines), receipt_urls=receipts)
