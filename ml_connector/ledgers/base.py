"""What the engine needs from a general ledger, and what each ledger declares about itself.

Zoho Books, QuickBooks Online and Xero each implement `Ledger` in a folder of their own under `ledgers/`;
nothing above `ledgers/` knows which one it talks to. Where they differ, the ledger says so in its
`Capabilities` (and in `preflight`) rather than the engine asking which ledger it is.

The posting key (`MLC-` and 20 hex digits, see `posting_keys`) is the engine's; how an entry carries it is
the ledger's business: Zoho in `reference_number`, QuickBooks in `DocNumber` (21 characters at most, so in
its compact form, `posting_keys.compact`), Xero in a manual journal's narration and a bill's reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Protocol

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.models import Draft, EntrySummary, PostingResult, ReferenceData, Vendor
from ml_connector.store import reference_cache
from ml_connector.store.target import LedgerTarget

DimensionSlot = Literal["line_tags", "class", "department", "tracking"]


@dataclass(frozen=True)
class Capabilities:
    """How one ledger differs from the others, in the engine's terms."""

    display_name: str  # "Zoho Books"
    key_field: str  # where an entry carries its posting key, for people reading the ledger: "reference_number"
    key_length: int  # characters that field holds
    native_idempotency: Literal["none", "requestid", "idempotency_key"]  # a retry the ledger itself dedupes
    text_limit: int  # characters in a line description or an entry's notes
    # Where reporting dimensions go and how many: Zoho reporting tags on every line (no fixed number),
    # QuickBooks a class per line and a department per transaction, Xero up to two tracking categories.
    dimension_slots: tuple[DimensionSlot, ...] = ("line_tags",)
    max_dimensions: int | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/bmp")
    attachments_per_entry: int | None = None
    bills_need_due_date: bool = False
    vendor_names_unique: bool = True  # the ledger refuses a second vendor of the same name
    # Journals in any currency the organisation has ("any"), or in its base currency only ("base": Xero's manual
    # journals): then a record whose source also gives its amount in the base currency posts that amount.
    journal_currencies: Literal["any", "base"] = "any"
    journal_line_vendors: bool = True  # journal lines name a vendor (Zoho, QuickBooks); else none is created
    bill_numbers_unique: bool = True  # the ledger refuses a second bill of the same number for a vendor
    requests_per_minute: int = 100
    requests_per_day: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Ledger(Protocol):
    system: str  # "zoho_books", "quickbooks", "xero"
    capabilities: Capabilities

    @property
    def target(self) -> LedgerTarget:
        """The ledger system and the organisation this instance posts to."""

    @property
    def calls(self) -> int:
        """Requests sent so far (for benchmarks and the posting step's metadata)."""

    def reference_data(self) -> ReferenceData:
        """Accounts, vendors, dimension options, currencies and the lock date."""

    def preflight(self, mapped: pd.DataFrame, reference: ReferenceData) -> pd.DataFrame:
        """Before anything posts: the mapped records this ledger would refuse for a reason of its own (a plan
        without classes, a currency the company cannot hold, a third dimension), as rows of `source_id`,
        `reason` and `reason_text` (naming the setting and the fix). Empty when there is nothing to hold."""

    def posting_advice(self, drafts: Sequence[Draft]) -> list[str]:
        """What a person should know before these drafts post (a daily quota the month would exceed, and the
        posting mode that fits it); shown with the mapping step's result. Empty when there is nothing to say."""

    def find_vendor(self, name: str) -> Vendor | None:
        """The vendor of exactly that name (as the ledger compares names), if the ledger has one."""

    def create_vendor(self, name: str) -> Vendor:
        """Create a vendor; ValidationRejected when the ledger refuses (e.g. the name is taken)."""

    def find_posted(self, posting_key: str, kind: str) -> PostingResult | None:
        """Search the ledger for an entry carrying `posting_key` (kind "journal" or "bill")."""

    def post(self, draft: Draft) -> PostingResult:
        """Create the entry; Uncertain when it may have landed without us hearing. The result carries the
        lines as the ledger saved them when its answer shows them."""

    def list_entries(self, start: date, end: date, kinds: tuple[str, ...] = ("journal", "bill")) -> list[EntrySummary]:
        """Every entry of these kinds dated within [start, end], from the list pages (ours carry their key)."""

    def read_entry(self, kind: str, ledger_entity_id: str) -> PostingResult | None:
        """One entry as the ledger holds it now, with its lines; None when it was deleted."""

    def attachment_names(self, kind: str, ledger_entity_id: str) -> list[str]:
        """File names already attached to an entry."""

    def attach_receipt(self, kind: str, ledger_entity_id: str, filename: str, content: bytes,
                       content_type: str) -> None:
        """Attach a receipt file to a posted entry; Uncertain when the upload may have landed unheard."""

    def entry_url(self, kind: str, ledger_entity_id: str) -> str | None:
        """A link a person can open to see the entry in the ledger's app."""


class ApiLedger:
    """What the ledgers reached over an HTTP API share: the organisation they post to, the requests made, the
    token source, and reference data cached in the store (`store.reference_cache`) for `cache_age`."""

    api: Any
    engine: Engine
    cache_age: timedelta
    _target: LedgerTarget

    @property
    def target(self) -> LedgerTarget:
        return self._target

    @property
    def calls(self) -> int:
        return self.api.http.calls

    @property
    def tokens(self):
        return self.api.tokens

    def _cached(self, part: str, read: Callable[[], Any]) -> Any:
        return reference_cache.get_or_read(self.engine, self._target, part, self.cache_age, read)
