"""The tie-out: per GL account and cost center, what we meant to post equals what the ledger holds.

Source totals come from the records that were posted; ledger totals from the entries that carry them,
read back from the ledger by posting key. Both are net debits (debit positive, credit negative) per
(account, tag options, currency), so a line that is missing, doubled or changed shows as a difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import LedgerLine

Key = tuple[str, tuple[str, ...], str]  # account id, sorted tag option ids, currency


@dataclass(frozen=True)
class TieOutRow:
    account_id: str
    tag_option_ids: tuple[str, ...]
    currency: str
    source_total: Decimal
    ledger_total: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ledger_total - self.source_total


@dataclass(frozen=True)
class TieOut:
    rows: tuple[TieOutRow, ...]
    entries_expected: int
    entries_found: int

    @property
    def ties_out(self) -> bool:
        return self.entries_expected == self.entries_found and all(r.difference == 0 for r in self.rows)

    @property
    def mismatches(self) -> list[TieOutRow]:
        return [r for r in self.rows if r.difference != 0]


def source_totals(records: pd.DataFrame) -> dict[Key, Decimal]:
    """Net debits per (account, tag options, currency) from mapped records: a journal record debits its
    expense account and credits its liability with the same tags; a bill record debits its expense account
    (the payable side is the ledger's own). Independent of how records were grouped into entries."""
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    option_columns = [f"{dim}_option_id" for dim in DIMENSIONS]
    for row in records.to_dict("records"):
        tags = tuple(sorted(row[c] for c in option_columns if row.get(c)))
        totals[(row["debit_account_id"], tags, row["currency"])] += row["amount"]
        if row["posting_kind"] == "journal":
            totals[(row["credit_account_id"], tags, row["currency"])] -= row["amount"]
    return dict(totals)


def ledger_totals(lines: Iterable[LedgerLine]) -> dict[Key, Decimal]:
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for line in lines:
        key = (line.account_id, tuple(sorted(line.tag_option_ids)), line.currency)
        totals[key] += line.amount if line.side == "debit" else -line.amount
    return dict(totals)


def tie_out(posted_records: pd.DataFrame, ledger_lines: list[LedgerLine], posting_keys: set[str]) -> TieOut:
    source = source_totals(posted_records)
    ledger = ledger_totals(ledger_lines)
    rows = tuple(TieOutRow(account, tags, currency, source.get((account, tags, currency), Decimal("0")),
                           ledger.get((account, tags, currency), Decimal("0")))
                 for account, tags, currency in sorted(set(source) | set(ledger)))
    return TieOut(rows=rows, entries_expected=len(posting_keys),
                  entries_found=len({line.posting_key for line in ledger_lines}))
