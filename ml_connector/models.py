"""The normalised models every layer speaks: spend records in, drafts out, posting results back.

Vendor vocabulary stays at the edge (sources/, ledgers/); these names are the engine's own.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ml_connector.money import precision

SourceSystem = Literal["brex", "expensify"]
Side = Literal["debit", "credit"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpendRecord(_Frozen):
    """One normalised line of spend from a source system."""

    source: SourceSystem
    source_id: str  # Brex expense id, Expensify transactionID
    parent_id: str | None = None  # Brex card transaction id, Expensify report id
    record_date: date  # the date the ledger books it on (settlement or expense date)
    merchant: str
    amount: Decimal  # positive = spend, negative = refund, in `currency`
    currency: str
    exchange_rate: Decimal | None = None  # units of the base currency per unit of `currency`, when known
    # The same spend in the other currency of a conversion (Brex: the card's settled amount), for the audit.
    original_amount: Decimal | None = None
    original_currency: str | None = None
    category: str | None = None  # Brex category or Expensify category name
    gl_code: str | None = None  # a GL code the source itself carries (Expensify categories)
    department: str | None = None
    location: str | None = None
    project: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    employee_id: str | None = None
    employee_name: str | None = None
    employee_email: str | None = None
    card_account: str | None = None
    memo: str | None = None
    receipt_urls: tuple[str, ...] = ()
    source_url: str | None = None
    status: str | None = None
    approved_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("currency", "original_currency")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @property
    def month(self) -> str:
        return self.record_date.strftime("%Y-%m")

    @property
    def version(self) -> str:
        """A fingerprint of what the ledger would show: it changes when an amount, date or coding changes."""
        material = {"amount": str(self.amount), "currency": self.currency, "date": self.record_date.isoformat(),
                    "category": self.category, "gl_code": self.gl_code, "department": self.department,
                    "location": self.location, "project": self.project, "merchant": self.merchant}
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


class LineTag(_Frozen):
    """A reporting-tag choice on a line: the ledger's tag id and option id."""

    tag_id: str
    option_id: str
    tag_name: str = ""
    option_name: str = ""


class JournalLine(_Frozen):
    account_id: str
    side: Side
    amount: Decimal  # always positive; `side` gives the direction
    description: str = ""
    vendor_id: str | None = None
    project_id: str | None = None
    tags: tuple[LineTag, ...] = ()
    source_id: str | None = None  # the record this line carries, for the tie-out


class JournalDraft(_Frozen):
    """A balanced journal entry waiting to be posted under `posting_key`."""

    posting_key: str
    source: SourceSystem
    source_ids: tuple[str, ...]
    source_versions: tuple[str, ...]
    entry_date: date
    currency: str
    exchange_rate: Decimal | None = None
    notes: str = ""
    lines: tuple[JournalLine, ...]

    @property
    def month(self) -> str:
        return self.entry_date.strftime("%Y-%m")

    def totals(self) -> tuple[Decimal, Decimal]:
        debit = sum((line.amount for line in self.lines if line.side == "debit"), Decimal("0"))
        credit = sum((line.amount for line in self.lines if line.side == "credit"), Decimal("0"))
        return debit, credit

    def is_balanced(self) -> bool:
        debit, credit = self.totals()
        return debit == credit and all(
            line.amount == line.amount.quantize(Decimal(1).scaleb(-precision(self.currency))) for line in self.lines)


class BillLine(_Frozen):
    account_id: str
    amount: Decimal
    description: str = ""
    project_id: str | None = None
    tags: tuple[LineTag, ...] = ()
    source_ids: tuple[str, ...] = ()


class BillDraft(_Frozen):
    """A vendor bill (one Expensify report) waiting to be posted under `posting_key`."""

    posting_key: str
    bill_number: str
    source: SourceSystem
    source_ids: tuple[str, ...]
    source_versions: tuple[str, ...]
    vendor_id: str
    bill_date: date
    currency: str
    exchange_rate: Decimal | None = None
    notes: str = ""
    lines: tuple[BillLine, ...]
    receipt_urls: tuple[str, ...] = ()

    @property
    def month(self) -> str:
        return self.bill_date.strftime("%Y-%m")

    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


class Account(_Frozen):
    account_id: str
    name: str
    code: str | None = None
    account_type: str
    is_active: bool = True


class Vendor(_Frozen):
    vendor_id: str
    name: str
    is_active: bool = True


class TagOption(_Frozen):
    tag_id: str
    tag_name: str
    option_id: str
    option_name: str
    is_mandatory: bool = False
    is_active: bool = True


class CurrencyInfo(_Frozen):
    currency_id: str
    code: str
    precision: int
    is_base: bool = False


class PostingResult(_Frozen):
    posting_key: str
    ledger_entity_id: str
    ledger_number: str | None = None  # the ledger's own number (Zoho entry_number)
    url: str | None = None
    was_already_there: bool = False  # found by searching, not created by this call


class ReferenceData(_Frozen):
    """What the ledger knows that mapping needs: accounts, vendors, tags, currencies and the lock date."""

    accounts: tuple[Account, ...]
    vendors: tuple[Vendor, ...]
    tag_options: tuple[TagOption, ...]
    currencies: tuple[CurrencyInfo, ...]
    base_currency: str
    locked_through: date | None = None  # nothing on or before this date may be posted

    def is_locked(self, day: date) -> bool:
        return self.locked_through is not None and day <= self.locked_through


class LedgerLine(_Frozen):
    """A posted journal or bill line read back from the ledger, for the tie-out."""

    ledger_entity_id: str
    posting_key: str
    entry_date: date
    account_id: str
    side: Side
    amount: Decimal
    currency: str
    tag_option_ids: tuple[str, ...] = ()
