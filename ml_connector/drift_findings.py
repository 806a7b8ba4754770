"""What ledger drift is, finding by finding: an entry we posted that a person changed, voided or deleted in the
ledger, or an entry carrying our key that we did not post.

An edited entry is compared with the lines the ledger answered when we posted it (or when we last read it),
as multisets, since ledgers may return lines in another order:
- amounts: the (side, amount, tax) of the lines differ;
- accounts: the accounts the lines post to differ (also when amounts moved between accounts);
- dimensions: the dimension options (reporting tags, classes, departments, tracking) differ;
- lines: lines were added or removed;
- date: the entry's date moved.
A finding's `key` names what was found and the ledger's state when it was found (its modification time), so the
same drift seen twice is one finding, and a second edit of the same entry is a new one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Literal

from ml_connector.models import LedgerLine
from ml_connector.money import money_text

DriftKind = Literal["edited", "voided", "deleted", "foreign", "duplicate"]
Change = Literal["amounts", "accounts", "dimensions", "lines", "date"]

WHAT_TO_DO: dict[str, str] = {
    "edited": "ask who changed it and why; the tie-out against the source no longer holds for this entry",
    "voided": "its records are no longer in the books; restore the entry in the ledger, or settle the records "
              "at the source (the connector never posts an entry twice)",
    "deleted": "its records are no longer in the books; restore the entry in the ledger, or settle the records "
               "at the source (the connector never posts an entry twice)",
    "foreign": "an entry made by hand or copied from one of ours; change its reference or remove it, or the "
               "tie-out counts it as unexpected",
    "duplicate": "a second entry with the key of one we posted: void or delete one of the two",
}


@dataclass(frozen=True)
class Finding:
    kind: DriftKind
    posting_key: str
    entry_kind: str  # journal or bill
    ledger_entity_id: str
    summary: str
    changes: tuple[str, ...] = ()
    ledger_number: str | None = None
    url: str | None = None
    currency: str | None = None
    saved_total: str | None = None  # money text, in the currency's precision
    ledger_total: str | None = None
    state: str = ""  # the ledger's modification time (or "gone") when found: part of the key
    detail: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The same for the same drift in the same ledger state: what makes a finding recorded once."""
        material = "|".join([self.kind, self.posting_key, self.entry_kind, self.ledger_entity_id, self.state,
                             ",".join(self.changes)])
        return "drift:" + hashlib.sha256(material.encode()).hexdigest()[:40]

    @property
    def what_to_do(self) -> str:
        return WHAT_TO_DO[self.kind]

    def to_dict(self) -> dict:
        return {**asdict(self), "changes": list(self.changes), "key": self.key, "what_to_do": self.what_to_do}

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        fields = {k: v for k, v in data.items() if k not in ("key", "what_to_do")}
        return cls(**{**fields, "changes": tuple(fields.get("changes", ()))})


def _amount_key(line: LedgerLine) -> tuple:
    return line.side, line.amount.normalize(), line.tax_amount.normalize(), line.currency


def line_changes(saved: Sequence[LedgerLine], current: Sequence[LedgerLine]) -> tuple[str, ...]:
    """What differs between the lines we saved and the lines the ledger holds now (empty: nothing)."""
    changes: list[str] = []
    if {line.entry_date for line in saved} != {line.entry_date for line in current}:
        changes.append("date")
    if len(saved) != len(current):
        changes.append("lines")
    if Counter(map(_amount_key, saved)) != Counter(map(_amount_key, current)):
        changes.append("amounts")
    whole = Counter((line.account_id, *_amount_key(line)) for line in saved) != \
        Counter((line.account_id, *_amount_key(line)) for line in current)
    if Counter(line.account_id for line in saved) != Counter(line.account_id for line in current) or (
            whole and not changes):
        changes.append("accounts")  # also amounts moved from one account to another
    if Counter(tuple(sorted(line.tag_option_ids)) for line in saved) != \
            Counter(tuple(sorted(line.tag_option_ids)) for line in current):
        changes.append("dimensions")
    return tuple(changes)


def entry_total(entry_kind: str, lines: Sequence[LedgerLine]) -> Decimal:
    """What an entry moves, tax included: a journal's debits; a bill's lines net (a credit line on a bill is a
    refund)."""
    debits = sum((line.amount + line.tax_amount for line in lines if line.side == "debit"), Decimal(0))
    if entry_kind == "journal":
        return debits
    return debits - sum((line.amount + line.tax_amount for line in lines if line.side == "credit"), Decimal(0))


def total_text(entry_kind: str, lines: Sequence[LedgerLine], currency: str | None) -> str | None:
    if not lines or not currency:
        return None
    return money_text(entry_total(entry_kind, lines), currency)
