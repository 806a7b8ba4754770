"""What the engine needs from a general ledger. Zoho Books implements it first; QuickBooks Online and
Xero implement the same protocol later, so nothing above `ledgers/` knows which ledger it talks to."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ml_connector.models import BillDraft, JournalDraft, LedgerLine, PostingResult, ReferenceData, Vendor


class Ledger(Protocol):
    system: str  # "zoho_books"

    def reference_data(self) -> ReferenceData:
        """Accounts, vendors, tag options, currencies and the lock date, read fresh."""

    def find_vendor(self, name: str) -> Vendor | None:
        """The vendor of exactly that name, if the ledger has one."""

    def create_vendor(self, name: str) -> Vendor:
        """Create a vendor; raises ValidationRejected when one of that name exists."""

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        """Search the ledger for an entry carrying `posting_key` (kind "journal" or "bill")."""

    def post_journal(self, draft: JournalDraft) -> PostingResult:
        """Create the journal; raises Uncertain when it may have landed without us hearing."""

    def post_bill(self, draft: BillDraft) -> PostingResult:
        """Create the bill; raises Uncertain when it may have landed without us hearing."""

    def attach_receipt(self, bill_id: str, filename: str, content: bytes, content_type: str) -> None:
        """Attach a receipt file to a posted bill."""

    def posted_lines(self, start: date, end: date, posting_keys: set[str] | None = None) -> list[LedgerLine]:
        """Every line of our entries dated within [start, end], read back for the tie-out."""

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        """A link a person can open to see the posted entry."""
