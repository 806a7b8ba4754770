"""The month's drafts as columns: entries, their lines and the records they carry, built once per run.

A month of a million card records in per_day mode is a few hundred entries with a million lines; nothing
here makes a Python object per line until an entry is about to be posted (`draft(i)`, or iterating), and
then only for that entry. Everything the engine asks of the drafts before posting (their keys, the records
each carries, the vendors they lack, whether they balance) is answered from the columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd

from ml_connector.mapping.columns import values
from ml_connector.models import BillDraft, BillLine, Draft, JournalDraft, JournalLine, LineTag
from ml_connector.money import quantum

ENTRY_COLUMNS = ("posting_key", "kind", "source", "entry_date", "currency", "exchange_rate", "notes", "bill_number",
                 "vendor_id", "vendor_name", "due_date", "receipt_urls", "location_id")
LINE_COLUMNS = ("entry", "account_id", "side", "amount", "description", "vendor_id", "vendor_name", "project_id",
                "tag_set", "source_id", "source_ids", "tax_code_id", "tax_amount")
MEMBER_COLUMNS = ("entry", "source_id", "version", "amount")
ZERO = Decimal(0)


@dataclass(frozen=True)
class DraftTable:
    """Entries (one row each), lines and members (rows keyed by the entry's position), sorted by entry."""

    entries: pd.DataFrame
    lines: pd.DataFrame
    members: pd.DataFrame
    tag_sets: tuple[tuple[LineTag, ...], ...] = ((),)  # the distinct dimension choices lines refer to

    # -- what the engine asks of the whole month ---------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return len(self.entries) > 0

    def keys(self) -> list[str]:
        return list(self.entries["posting_key"])

    def __iter__(self) -> Iterator[Draft]:
        for index in range(len(self.entries)):
            yield self.draft(index)

    def key_of_records(self) -> dict[str, str]:
        """source id -> the posting key of the entry that carries it."""
        keys = self.entries["posting_key"].to_numpy(dtype=object)
        return dict(zip(self.members["source_id"], keys[self.members["entry"].to_numpy(dtype=np.int64)], strict=True))

    def record_count(self) -> int:
        return len(self.members)

    def missing_vendors(self) -> set[str]:
        """Vendor names these drafts need ids for before they can post."""
        names = set()
        for frame in (self.lines, self.entries):
            lacking = frame["vendor_id"].isna() & frame["vendor_name"].notna()
            names.update(frame.loc[lacking, "vendor_name"])
        return names

    def unbalanced(self) -> list[str]:
        """Keys of journals whose debits and credits differ, or whose line amounts are finer than their
        currency allows."""
        journal_entries = np.flatnonzero(self.entries["kind"].to_numpy(dtype=object) == "journal")
        if not len(journal_entries) or self.lines.empty:
            return []
        lines = self.lines[self.lines["entry"].isin(journal_entries)]
        signed = np.where(lines["side"].to_numpy(dtype=object) == "debit", lines["amount"].to_numpy(dtype=object),
                          -lines["amount"].to_numpy(dtype=object))
        entry = lines["entry"].to_numpy(dtype=np.int64)
        net = pd.Series(signed, dtype=object).groupby(entry).sum()
        currency = self.entries["currency"].to_numpy(dtype=object)[entry]
        units = {code: quantum(code) for code in set(currency)}
        finer = {entry for entry, amount, code in zip(lines["entry"], lines["amount"], currency, strict=True)
                 if amount != amount.quantize(units[code])}
        bad = {entry for entry, total in net.items() if total != ZERO} | finer
        keys = self.entries["posting_key"].to_numpy(dtype=object)
        return [keys[i] for i in sorted(bad)]

    def restricted(self, keys: set[str]) -> DraftTable:
        """Only the entries with these keys (a replay of some entries of a month)."""
        chosen = np.flatnonzero(self.entries["posting_key"].isin(list(keys)).to_numpy())
        renumber = np.full(len(self.entries), -1, dtype=np.int64)
        renumber[chosen] = np.arange(len(chosen))
        entries = self.entries.iloc[chosen].reset_index(drop=True)
        lines = self.lines[self.lines["entry"].isin(chosen)].assign(
            entry=lambda f: renumber[f["entry"].to_numpy(dtype=np.int64)]).reset_index(drop=True)
        members = self.members[self.members["entry"].isin(chosen)].assign(
            entry=lambda f: renumber[f["entry"].to_numpy(dtype=np.int64)]).reset_index(drop=True)
        return DraftTable(entries, lines, members, self.tag_sets)

    # -- one entry, as the object that posts -----------------------------------------------------------

    @cached_property
    def _columns(self) -> dict[str, dict[str, np.ndarray]]:
        return {"entries": {c: _values(self.entries, c) for c in ENTRY_COLUMNS},
                "lines": {c: _values(self.lines, c) for c in LINE_COLUMNS},
                "members": {c: values(self.members, c) for c in MEMBER_COLUMNS}}

    @cached_property
    def _spans(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        spans = {}
        for part in ("lines", "members"):
            entry = getattr(self, part)["entry"].to_numpy(dtype=np.int64)
            start = np.searchsorted(entry, np.arange(len(self.entries)), side="left")
            end = np.searchsorted(entry, np.arange(len(self.entries)), side="right")
            spans[part] = (start, end)
        return spans

    def draft(self, index: int) -> Draft:
        e = {c: v[index] for c, v in self._columns["entries"].items()}
        lines, members = self._columns["lines"], self._columns["members"]
        (line_start, line_end), (member_start, member_end) = self._spans["lines"], self._spans["members"]
        at = slice(line_start[index], line_end[index])
        mine = slice(member_start[index], member_end[index])
        common = dict(posting_key=e["posting_key"], source=e["source"], source_ids=tuple(members["source_id"][mine]),
                      source_versions=tuple(members["version"][mine]), record_amounts=tuple(members["amount"][mine]),
                      entry_date=e["entry_date"], currency=e["currency"], exchange_rate=e["exchange_rate"],
                      notes=e["notes"] or "", location_id=e["location_id"])
        if e["kind"] == "bill":
            bill_lines = tuple(BillLine(account_id=a, amount=m, description=d or "", project_id=p,
                                        tags=self.tag_sets[t], source_ids=tuple(s or ()), tax_code_id=c, tax_amount=x)
                               for a, m, d, p, t, s, c, x in zip(
                                   lines["account_id"][at], lines["amount"][at], lines["description"][at],
                                   lines["project_id"][at], lines["tag_set"][at], lines["source_ids"][at],
                                   lines["tax_code_id"][at], lines["tax_amount"][at], strict=True))
            return BillDraft(**common, bill_number=e["bill_number"], vendor_id=e["vendor_id"],
                             vendor_name=e["vendor_name"], due_date=e["due_date"], lines=bill_lines,
                             receipt_urls=tuple(e["receipt_urls"] or ()))
        journal_lines = tuple(
            JournalLine(account_id=a, side=side, amount=m, description=d or "", vendor_id=v, vendor_name=n,
                        project_id=p, tags=self.tag_sets[t], source_id=s, tax_code_id=c, tax_amount=x)
            for a, side, m, d, v, n, p, t, s, c, x in zip(
                lines["account_id"][at], lines["side"][at], lines["amount"][at], lines["description"][at],
                lines["vendor_id"][at], lines["vendor_name"][at], lines["project_id"][at], lines["tag_set"][at],
                lines["source_id"][at], lines["tax_code_id"][at], lines["tax_amount"][at], strict=True))
        return JournalDraft(**common, lines=journal_lines)

    # -- building -------------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> DraftTable:
        return cls(_frame([], ENTRY_COLUMNS), _frame([], LINE_COLUMNS), _frame([], MEMBER_COLUMNS))

    @classmethod
    def from_drafts(cls, drafts: list[Draft]) -> DraftTable:
        """A table of drafts made one by one (bills, which are few; tests)."""
        tag_sets: dict[tuple[LineTag, ...], int] = {(): 0}
        entries, lines, members = [], [], []
        for index, d in enumerate(drafts):
            bill = d.kind == "bill"
            entries.append({"posting_key": d.posting_key, "kind": d.kind, "source": d.source,
                            "entry_date": d.entry_date, "currency": d.currency, "exchange_rate": d.exchange_rate,
                            "notes": d.notes, "bill_number": d.bill_number if bill else None,
                            "vendor_id": d.vendor_id if bill else None, "vendor_name": d.vendor_name if bill else None,
                            "due_date": d.due_date if bill else None,
                            "receipt_urls": d.receipt_urls if bill else (), "location_id": d.location_id})
            for line in d.lines:
                tag_set = tag_sets.setdefault(line.tags, len(tag_sets))
                lines.append({"entry": index, "account_id": line.account_id, "side": getattr(line, "side", "debit"),
                              "amount": line.amount, "description": line.description,
                              "vendor_id": getattr(line, "vendor_id", None),
                              "vendor_name": getattr(line, "vendor_name", None), "project_id": line.project_id,
                              "tag_set": tag_set, "source_id": getattr(line, "source_id", None),
                              "source_ids": getattr(line, "source_ids", None), "tax_code_id": line.tax_code_id,
                              "tax_amount": line.tax_amount})
            members += [{"entry": index, "source_id": s, "version": v, "amount": a}
                        for s, v, a in zip(d.source_ids, d.source_versions, d.record_amounts, strict=True)]
        return cls(_frame(entries, ENTRY_COLUMNS), _frame(lines, LINE_COLUMNS), _frame(members, MEMBER_COLUMNS),
                   tuple(tag_sets))

    @classmethod
    def concat(cls, tables: list[DraftTable]) -> DraftTable:
        """Tables together, entries ordered by (date, key) as the posting step takes them."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        all_sets: list[tuple[LineTag, ...]] = []
        index_of: dict[tuple[LineTag, ...], int] = {}
        entries, lines, members, offset = [], [], [], 0
        for table in tables:
            remap = np.array([index_of.setdefault(s, len(index_of)) for s in table.tag_sets], dtype=np.int64)
            entries.append(table.entries)
            lines.append(table.lines.assign(entry=table.lines["entry"].to_numpy() + offset,
                                            tag_set=remap[table.lines["tag_set"].to_numpy(dtype=np.int64)]))
            members.append(table.members.assign(entry=table.members["entry"].to_numpy() + offset))
            offset += len(table.entries)
        all_sets = list(index_of)
        entries_frame = pd.concat(entries, ignore_index=True)
        order = np.lexsort((entries_frame["posting_key"].to_numpy(dtype=object).astype(str),
                            _date_rank(entries_frame["entry_date"].to_numpy(dtype=object))))
        renumber = np.empty(len(order), dtype=np.int64)
        renumber[order] = np.arange(len(order))
        lines_frame = pd.concat(lines, ignore_index=True)
        lines_frame["entry"] = renumber[lines_frame["entry"].to_numpy(dtype=np.int64)]
        members_frame = pd.concat(members, ignore_index=True)
        members_frame["entry"] = renumber[members_frame["entry"].to_numpy(dtype=np.int64)]
        return cls(entries_frame.iloc[order].reset_index(drop=True), _by_entry(lines_frame),
                   _by_entry(members_frame), tuple(all_sets))


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """`values`, or all None for a column tables stored before it existed lack (tax, location)."""
    return values(frame, name) if name in frame.columns else np.full(len(frame), None, dtype=object)


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype(object).where(frame.notna(), None).astype({"entry": np.int64} if "entry" in columns else {})


def _by_entry(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable sort by entry (lines keep their order within an entry)."""
    order = np.argsort(frame["entry"].to_numpy(dtype=np.int64), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _date_rank(dates: np.ndarray) -> np.ndarray:
    codes, _ = pd.factorize(dates, sort=True)
    return codes

