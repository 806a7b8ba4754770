"""Which ledger organisation a row of the store belongs to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LedgerTarget:
    """A ledger system ("zoho_books", "quickbooks", "xero") and one organisation in it (Zoho organization id,
    QuickBooks realm id, Xero tenant id). Posting keys, claims, leases and receipts are kept per target, so a
    second destination, or a move from one ledger to another, never collides with the first."""

    system: str
    org: str

    def __str__(self) -> str:
        return f"{self.system}/{self.org}"
