"""The tie-out: per GL account and dimension, what the month's records should have put in the ledger
equals what the ledger holds, and every entry they need is there exactly once.

Source totals come from every drafted record of the month (drafted now or posted earlier), not only from
what was posted: an entry the ledger rejected, or never received, shows as a difference, so a month that was
rejected entirely does not tie out. Ledger totals come from the entries carrying those records, read back
(`readback`). Both are net debits (debit positive, credit negative) per (account, dimension options,
currency). A taxed line puts its net on its account and its tax on a row of its own per tax code
(`tax:<tax code id>`, no dimensions): the tax the records should reclaim against the tax the ledger booked.
Entries held for review (a record changed after it was posted) are left out of both sides and listed, since
what they should hold is for a person to decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from ml_connector.mapping.columns import group_codes, values
from ml_connector.mapping.schema import DIMENSIONS
from ml_connector.models import LedgerLine

Key = tuple[str, tuple[str, ...], str]  # account id, sorted dimension option ids, currency
ZERO = Decimal(0)


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
    missing: tuple[str, ...] = ()  # keys with no entry in the ledger
    duplicated: tuple[str, ...] = ()  # keys carried by more than one entry
    unexpected: tuple[str, ...] = ()  # entries carrying our key format that the store never posted
    held_for_review: tuple[str, ...] = ()  # entries left out: a record they carry changed since

    @property
    def ties_out(self) -> bool:
        return (not self.missing and not self.duplicated and not self.unexpected
                and all(r.difference == 0 for r in self.rows))

    @property
    def mismatches(self) -> list[TieOutRow]:
        return [r for r in self.rows if r.difference != 0]


def source_totals(records: pd.DataFrame) -> dict[Key, Decimal]:
    """Net debits per (account, options, currency) from mapped records: a journal record debits its expense
    account and credits its liability with the same options; a bill record debits its expense account (the
    payable side is the ledger's own). Independent of how records were grouped into entries."""
    if records.empty:
        return {}
    options = [values(records, f"{dim}_option_id") for dim in DIMENSIONS]
    signature = group_codes(options)  # a month has a handful of distinct option sets: sort each once
    distinct, first = np.unique(signature, return_index=True)
    tag_of = {code: tuple(sorted(o[at] for o in options if o[at])) for code, at in zip(distinct, first, strict=True)}
    account, currency, amount = (values(records, c) for c in ("debit_account_id", "currency", "amount"))
    journal = values(records, "posting_kind") == "journal"
    tax = values(records, "tax_amount") if "tax_amount" in records.columns else np.full(len(records), None)
    taxed = pd.notna(tax)
    net = amount
    if taxed.any():  # a taxed line's net goes to its account, its tax to the tax code's row
        net = amount.copy()
        net[taxed] = amount[taxed] - tax[taxed]
    tag_of[-1] = ()  # tax rows carry no dimensions
    tax_account = np.array([f"tax:{code}" for code in values(records, "tax_code_id")[taxed]]
                           if taxed.any() else [], dtype=object)
    frame = pd.DataFrame({"account": np.concatenate([account, values(records, "credit_account_id")[journal],
                                                     tax_account]),
                          "tags": np.concatenate([signature, signature[journal], np.full(len(tax_account), -1)]),
                          "currency": np.concatenate([currency, currency[journal], currency[taxed]]),
                          "amount": np.concatenate([net, np.array([-a for a in amount[journal]], dtype=object),
                                                    tax[taxed]])})
    sums = frame.groupby(["account", "tags", "currency"], sort=False)["amount"].sum()
    return {(account_id, tag_of[tags], code): total for (account_id, tags, code), total in sums.items()}


def ledger_totals(lines: Iterable[LedgerLine]) -> dict[Key, Decimal]:
    totals: dict[Key, Decimal] = {}
    for line in lines:
        key = (line.account_id, tuple(sorted(line.tag_option_ids)), line.currency)
        totals[key] = totals.get(key, ZERO) + (line.amount if line.side == "debit" else -line.amount)
        if line.tax_code_id is not None and line.tax_amount:
            key = (f"tax:{line.tax_code_id}", (), line.currency)
            totals[key] = totals.get(key, ZERO) + (line.tax_amount if line.side == "debit" else -line.tax_amount)
    return totals


def tie_out(records: pd.DataFrame, lines: list[LedgerLine], counts: dict[str, int], *,
            unexpected: Iterable[str] = (), held_for_review: Iterable[str] = ()) -> TieOut:
    """`counts`: for every key the records need, how many ledger entries carry it."""
    source = source_totals(records)
    ledger = ledger_totals(lines)
    rows = tuple(TieOutRow(account, tags, currency, source.get((account, tags, currency), ZERO),
                           ledger.get((account, tags, currency), ZERO))
                 for account, tags, currency in sorted(set(source) | set(ledger)))
    return TieOut(rows=rows, entries_expected=len(counts), entries_found=sum(1 for n in counts.values() if n),
                  missing=tuple(sorted(k for k, n in counts.items() if n == 0)),
                  duplicated=tuple(sorted(k for k, n in counts.items() if n > 1)),
                  unexpected=tuple(sorted(set(unexpected))), held_for_review=tuple(sorted(set(held_for_review))))
