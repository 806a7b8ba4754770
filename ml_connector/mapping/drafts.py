"""Group mapped lines into balanced journal drafts (Brex, Expensify in journal mode) and vendor bills
(Expensify reports), each under a deterministic posting key.

Amounts in the mapped frame are already rounded to the currency's precision, and every balancing line is
the sum of the lines it balances, so each draft balances to the last minor unit by construction.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from typing import Literal

import numpy as np
import pandas as pd

from ml_connector.mapping.columns import boundaries, codes, group_codes, rank, values
from ml_connector.mapping.columns import rows as rows_of
from ml_connector.mapping.draft_table import DraftTable
from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import BillDraft, BillLine, JournalDraft, LineTag
from ml_connector.posting_keys import KEY_PREFIX, posting_key_for

JournalMode = Literal["per_record", "per_day", "per_report"]
ZERO = Decimal(0)


def vendors_to_create(mapped: pd.DataFrame) -> list[str]:
    """Vendor names the ledger lacks: create them, then pass their ids to the draft builders."""
    missing = mapped.loc[mapped["vendor_id"].isna() & mapped["vendor_name"].notna(), "vendor_name"]
    return sorted(set(missing))


def build_drafts(mapped: pd.DataFrame) -> DraftTable:
    """Every draft of the month (journals and bills) as one table, in the order they post."""
    return DraftTable.concat([journal_table(mapped), DraftTable.from_drafts(build_bill_drafts(mapped))])


def build_journal_drafts(mapped: pd.DataFrame, mode: JournalMode | None = None) -> list[JournalDraft]:
    """Journals for every mapped row that posts as a journal, as objects (see `journal_table`)."""
    return list(journal_table(mapped, mode))


def journal_table(mapped: pd.DataFrame, mode: JournalMode | None = None) -> DraftTable:
    """Journals for every mapped row that posts as a journal, built over columns.

    `mode` overrides the rows' posting_mode (which the mapping file chose): per_record is one journal per
    record, per_day one per (day, card account, currency), per_report one per report. Each journal debits
    every record's expense account (a refund credits it) and balances each set of dimension options with one
    line on the liability account, so every line carries its options. Keys, lines and order are those
    `posting_keys.posting_key_for` and the mapping have always given: a key is forever.
    """
    journal = values(mapped, "posting_kind") == "journal"
    rows = mapped if journal.all() else mapped[journal]
    if rows.empty:
        return DraftTable.empty()
    modes = np.full(len(rows), mode, dtype=object) if mode else values(rows, "posting_mode")
    is_record, is_day = modes == "per_record", modes == "per_day"
    mode_code = np.where(is_record, 0, np.where(is_day, 1, 2))
    none = np.full(len(rows), -1, dtype=np.int64)
    source_id = values(rows, "source_id")
    report = codes(rows.assign(_report=rows["parent_id"].fillna(rows["source_id"])), "_report")
    group = group_codes([codes(rows, "source"), mode_code, codes(rows, "currency"), codes(rows, "credit_account_id"),
                         _optional_codes(rows, "business_location_id"),
                         np.where(is_record, np.arange(len(rows)), none),
                         np.where(is_day, codes(rows, "record_date"), none),
                         np.where(is_day, codes(rows, "card_account"), none),
                         np.where(is_record, none, codes(rows, "exchange_rate")),
                         np.where(~is_record & ~is_day, report, none)])
    order = np.lexsort((rank(source_id), group))
    group, modes = group[order], modes[order]
    starts, ends = boundaries(group)
    entry = np.repeat(np.arange(len(starts)), ends - starts)
    line = {name: _column(rows, name)[order] for name in LINE_FIELDS}  # a value per line
    line["source_id"] = source_id[order]
    first = {name: _column(rows.iloc[order[starts]], name) for name in FIRST_FIELDS}  # a value per journal

    tag_of, tag_sets = _tag_sets(rows, order)
    amounts = line["amount"]
    positive = np.array([a > 0 for a in amounts], dtype=bool)
    absolute = np.array([abs(a) for a in amounts], dtype=object)
    counts = ends - starts
    labels = [_label(first, i, modes[s], int(n)) for i, (s, n) in enumerate(zip(starts, counts, strict=True))]
    keys = _keys(first["source"], modes[starts], line["source_id"], line["version"], starts, ends)

    debit = _objects({"entry": entry, "account_id": line["debit_account_id"],
                          "side": np.where(positive, "debit", "credit").astype(object), "amount": absolute,
                          "description": line["description"], "vendor_id": line["vendor_id"],
                          "vendor_name": line["vendor_name"], "project_id": None, "tag_set": tag_of,
                          "source_id": line["source_id"], "source_ids": None, "tax_code_id": line["tax_code_id"],
                          "tax_amount": _magnitudes(line["tax_amount"]), "_order": 0})
    net = pd.Series(amounts, dtype=object).groupby([entry, tag_of], sort=False).sum()
    net = net[net != ZERO]
    net_entry = net.index.get_level_values(0).to_numpy()
    balance = _objects({
        "entry": net_entry, "account_id": first["credit_account_id"][net_entry],
        "side": np.where([n > 0 for n in net], "credit", "debit").astype(object),
        "amount": np.array([abs(n) for n in net], dtype=object),
        "description": np.array(labels, dtype=object)[net_entry], "vendor_id": None, "vendor_name": None,
        "project_id": None, "tag_set": net.index.get_level_values(1).to_numpy(), "source_id": None,
        "source_ids": None, "tax_code_id": None, "tax_amount": None, "_order": 1})
    lines = pd.concat([debit, balance], ignore_index=True)
    lines = lines.iloc[np.lexsort((np.arange(len(lines)), lines["_order"].to_numpy(), lines["entry"].to_numpy()))]
    rates = pd.Series(values(rows, "exchange_rate")[order], dtype=object).groupby(entry).first()
    entries = pd.DataFrame({
        "posting_key": keys, "kind": "journal", "source": first["source"],
        "entry_date": _latest(values(rows, "record_date")[order], starts), "currency": first["currency"],
        "exchange_rate": rates.reindex(range(len(starts))).astype(object).where(lambda s: s.notna(), None).to_numpy(),
        "notes": labels, "bill_number": None, "vendor_id": None, "vendor_name": None, "due_date": None,
        "receipt_urls": [()] * len(starts), "location_id": first["business_location_id"]})
    members = _objects({"entry": entry, "source_id": line["source_id"], "version": line["version"],
                        "amount": amounts})
    table = DraftTable(entries, lines.drop(columns="_order").reset_index(drop=True), members, tag_sets)
    return DraftTable.concat([table])


def _objects(columns: dict) -> pd.DataFrame:
    """A frame that keeps the builders' object arrays as they are (pandas would turn text into its own string
    arrays, a second copy of every line's text)."""
    return pd.DataFrame({name: pd.Series(value, dtype=np.int64 if name in ("entry", "tag_set", "_order") else object)
                         if isinstance(value, np.ndarray) else value for name, value in columns.items()})


LINE_FIELDS = ("version", "amount", "debit_account_id", "vendor_id", "vendor_name", "description", "tax_code_id",
               "tax_amount")
FIRST_FIELDS = ("source", "source_id", "parent_id", "record_date", "currency", "credit_account_id", "description",
                "card_account", "employee_name", "business_location_id")


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    """`values`, or all None for a tax or location column a frame from before them lacks."""
    return values(rows, name) if name in rows.columns else np.full(len(rows), None, dtype=object)


def _optional_codes(rows: pd.DataFrame, name: str) -> np.ndarray:
    """Codes of a column frames from before it existed may lack (all equal then)."""
    return codes(rows, name) if name in rows.columns else np.zeros(len(rows), dtype=np.int64)


def _magnitudes(amounts: np.ndarray) -> np.ndarray:
    """Absolute values where present (a line's side carries the sign), None elsewhere."""
    out = np.full(len(amounts), None, dtype=object)
    present = pd.notna(amounts)
    if present.any():
        out[present] = [abs(a) for a in amounts[present]]
    return out


def _keys(sources: np.ndarray, modes: np.ndarray, source_ids: np.ndarray, versions: np.ndarray, starts: np.ndarray,
          ends: np.ndarray) -> list[str]:
    """posting_key_for each group (members already sorted by id within it)."""
    member = [f"{sid}:{version}" for sid, version in zip(source_ids, versions, strict=True)]
    out = []
    for source, mode, start, end in zip(sources, modes, starts, ends, strict=True):
        material = "|".join([source, _KIND[mode], *member[start:end]])
        out.append(KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:20])
    return out


_KIND = {"per_record": "record", "per_day": "day", "per_report": "report"}


def _latest(dates: np.ndarray, starts: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(dates, sort=True)
    latest = np.maximum.reduceat(codes, starts) if len(starts) else codes[:0]
    return np.asarray(uniques, dtype=object)[latest]


def _tag_sets(rows: pd.DataFrame, order: np.ndarray) -> tuple[np.ndarray, tuple[tuple[LineTag, ...], ...]]:
    """Each row's set of dimension choices as a number, and the distinct sets (built once each)."""
    names = [name for group in _TAG_COLUMNS for name in group]
    found = group_codes([codes(rows, name)[order] for name in names])
    distinct, first_at = np.unique(found, return_index=True)
    sets: list[tuple[LineTag, ...]] = [()] * len(distinct)
    picked = rows.iloc[order[first_at]]
    for code, row in zip(distinct, rows_of(picked, names), strict=True):
        sets[code] = _tags(row)
    return found, tuple(sets)


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


def _label(first: dict[str, np.ndarray], index: int, mode: str, count: int) -> str:
    """What a journal says of itself (its notes, and its balancing lines' description)."""
    value = {name: array[index] for name, array in first.items()}
    if mode == "per_record":
        return value["description"] or value["source_id"]
    if mode == "per_day":
        card = f" card {value['card_account']}" if value["card_account"] else ""
        return f"{value['source'].capitalize()} spend {value['record_date']}{card}: {count} records"
    return (f"{value['source'].capitalize()} report {value['parent_id']} "
            f"({value['employee_name'] or 'unknown employee'}): {count} expenses")


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
    location = (rows["business_location_id"] if "business_location_id" in rows.columns
                else pd.Series(None, index=rows.index, dtype=object))
    location = location.astype(object).where(location.notna(), "")
    currencies_per_report = rows.groupby(report)["currency"].transform("nunique")
    locations_per_report = location.groupby(report).transform("nunique")
    ordered = rows.assign(_report=report, _split=currencies_per_report > 1, _location=location,
                          _split_location=locations_per_report > 1).sort_values(
        ["_report", "currency", "_location", "source_id"])
    drafts = [_bill(list(members)) for _, members in groupby(
        rows_of(ordered), key=lambda r: (r["_report"], r["currency"], r["_location"]))]
    return sorted(drafts, key=lambda d: (d.entry_date, d.bill_number))


def _bill(members: list[dict]) -> BillDraft:
    first = members[0]
    totals: dict[tuple, list[dict]] = defaultdict(list)
    for row in members:
        # A taxed expense is a line of its own: the ledger rounds tax per line, and the tie-out per record.
        taxed = row.get("tax_code_id") is not None
        totals[(row["debit_account_id"], _tags(row), row.get("tax_code_id"), row["source_id"] if taxed else None)
               ].append(row)
    lines = []
    for (account_id, tags, tax_code_id, _), rows in totals.items():
        categories = sorted({r["category"] or r["debit_account_name"] or "" for r in rows})
        description = f"{', '.join(categories)} ({len(rows)} expenses)"
        if tax_code_id is not None:
            description = " | ".join(part for part in (categories[0], rows[0]["merchant"]) if part)
        lines.append(BillLine(account_id=account_id, amount=sum((r["amount"] for r in rows), ZERO),
                              description=description, tags=tags, source_ids=tuple(r["source_id"] for r in rows),
                              tax_code_id=tax_code_id,
                              tax_amount=sum((r["tax_amount"] for r in rows), ZERO) if tax_code_id else None))
    number = (f"EXP-{first['_report']}" + (f"-{first['currency']}" if first["_split"] else "")
              + (f"-{first['business_location_name']}" if first["_split_location"] else ""))
    receipts = tuple(dict.fromkeys(url for r in members for url in (r["receipt_urls"] or ())))
    return BillDraft(
        posting_key=posting_key_for(first["source"], "bill", ((r["source_id"], r["version"]) for r in members)),
        bill_number=number, source=first["source"], source_ids=tuple(r["source_id"] for r in members),
        source_versions=tuple(r["version"] for r in members), record_amounts=tuple(r["amount"] for r in members),
        vendor_id=first["vendor_id"], vendor_name=first["vendor_name"],
        entry_date=max(r["record_date"] for r in members), currency=first["currency"], exchange_rate=_rate(members),
        location_id=first.get("business_location_id"),
        notes=f"{first['source'].capitalize()} report {first['_report']} "
              f"({first['employee_name'] or first['vendor_name']})",
        lines=tuple(lines), receipt_urls=receipts)
