"""The normalised models every layer speaks: spend records in, drafts out, posting results back.

Vendor vocabulary stays at the edge (sources/, ledgers/); these names are the engine's own.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ml_connector.money import precision

SourceSystem = str  # a source module's name: "brex", "expensify"
Side = Literal["debit", "credit"]
DraftKind = Literal["journal", "bill"]


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
    # The tax the source itself states (Expensify's `taxAmount` and rate, when `hasTax`): part of `amount`.
    tax_amount: Decimal | None = None
    tax_code: str | None = None  # the source's own id of the rate (Expensify's rateID)

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
        if self.tax_amount is not None:  # only then: records without tax keep the versions they always had
            material.update(tax_amount=str(self.tax_amount), tax_code=self.tax_code)
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
    vendor_name: str | None = None  # the vendor to create when `vendor_id` is not known yet
    project_id: str | None = None
    tags: tuple[LineTag, ...] = ()
    source_id: str | None = None  # the record this line carries, for the tie-out
    tax_code_id: str | None = None  # the ledger's tax code; `amount` then includes the tax (gross)
    tax_amount: Decimal | None = None  # the tax within `amount`, as the source states it or its rate gives it


class BillLine(_Frozen):
    account_id: str
    amount: Decimal  # signed: a credit line (a refund on a report) is negative; gross when taxed
    description: str = ""
    project_id: str | None = None
    tags: tuple[LineTag, ...] = ()
    source_ids: tuple[str, ...] = ()
    tax_code_id: str | None = None
    tax_amount: Decimal | None = None


class Draft(_Frozen):
    """An entry waiting to be posted under `posting_key`: what every kind of entry has in common."""

    kind: DraftKind
    posting_key: str
    source: SourceSystem
    source_ids: tuple[str, ...]
    source_versions: tuple[str, ...]
    record_amounts: tuple[Decimal, ...]  # each record's signed amount, in source_ids order
    entry_date: date
    currency: str
    exchange_rate: Decimal | None = None
    notes: str = ""
    location_id: str | None = None  # the ledger's business location, where the organisation has several

    @property
    def month(self) -> str:
        return self.entry_date.strftime("%Y-%m")

    @property
    def amount(self) -> Decimal:
        """The signed net of the records: spend positive, refunds negative."""
        return sum(self.record_amounts, Decimal(0))

    def missing_vendors(self) -> set[str]:
        """Vendor names this draft needs ids for before it can post."""
        return set()

    def with_vendor_ids(self, ids: dict[str, str]) -> Draft:
        return self


class JournalDraft(Draft):
    """A balanced journal entry."""

    kind: Literal["journal"] = "journal"
    lines: tuple[JournalLine, ...]

    def totals(self) -> tuple[Decimal, Decimal]:
        debit = sum((line.amount for line in self.lines if line.side == "debit"), Decimal("0"))
        credit = sum((line.amount for line in self.lines if line.side == "credit"), Decimal("0"))
        return debit, credit

    def is_balanced(self) -> bool:
        debit, credit = self.totals()
        return debit == credit and all(
            line.amount == line.amount.quantize(Decimal(1).scaleb(-precision(self.currency))) for line in self.lines)

    def missing_vendors(self) -> set[str]:
        return {line.vendor_name for line in self.lines if line.vendor_id is None and line.vendor_name}

    def with_vendor_ids(self, ids: dict[str, str]) -> JournalDraft:
        lines = tuple(line.model_copy(update={"vendor_id": ids[line.vendor_name]})
                      if line.vendor_id is None and line.vendor_name in ids else line for line in self.lines)
        return self.model_copy(update={"lines": lines})


class BillDraft(Draft):
    """A vendor bill (one Expensify report)."""

    kind: Literal["bill"] = "bill"
    bill_number: str
    vendor_id: str | None = None
    vendor_name: str | None = None
    due_date: date | None = None
    lines: tuple[BillLine, ...]
    receipt_urls: tuple[str, ...] = ()

    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    def is_balanced(self) -> bool:
        """A bill balances against the payable by construction; its lines must be in the currency's units."""
        unit = Decimal(1).scaleb(-precision(self.currency))
        return all(line.amount == line.amount.quantize(unit) for line in self.lines)

    def missing_vendors(self) -> set[str]:
        return {self.vendor_name} if self.vendor_id is None and self.vendor_name else set()

    def with_vendor_ids(self, ids: dict[str, str]) -> BillDraft:
        if self.vendor_id is None and self.vendor_name in ids:
            return self.model_copy(update={"vendor_id": ids[self.vendor_name]})
        return self


AnyDraft = Annotated[JournalDraft | BillDraft, Field(discriminator="kind")]


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


class LedgerLine(_Frozen):
    """A posted journal or bill line as the ledger holds it, for the tie-out and drift."""

    ledger_entity_id: str
    posting_key: str
    entry_date: date
    account_id: str
    side: Side
    amount: Decimal  # net of tax when the line is taxed
    currency: str
    tag_option_ids: tuple[str, ...] = ()
    tax_amount: Decimal = Decimal(0)  # the tax the ledger booked for this line (on its own tax account)
    tax_code_id: str | None = None


class PostingResult(_Frozen):
    posting_key: str
    ledger_entity_id: str
    ledger_number: str | None = None  # the ledger's own number (Zoho entry_number, QuickBooks Id)
    url: str | None = None
    was_already_there: bool = False  # found by searching, not created by this call
    # What the ledger answered when it saved (or showed) the entry, when it said: its lines, its own
    # modification time and total. A later list page whose row still shows the same modification time
    # needs no second read.
    lines: tuple[LedgerLine, ...] | None = None
    modified_at: str | None = None
    total: Decimal | None = None


class EntrySummary(_Frozen):
    """A row of a ledger's list pages: enough to tell whether an entry changed since we last read it."""

    kind: DraftKind
    ledger_entity_id: str
    posting_key: str | None  # our key, when the entry carries one
    entry_date: date
    currency: str
    total: Decimal | None
    modified_at: str | None
    status: str  # the ledger's own status word (posted, void, draft...)
    is_void: bool = False


class TaxCode(_Frozen):
    """A tax (or exemption) of the ledger that a line can carry."""

    tax_code_id: str
    name: str
    rate: Decimal  # percent: 20 for 20%
    is_active: bool = True


class BusinessLocation(_Frozen):
    location_id: str
    name: str
    is_active: bool = True


class ReferenceData(_Frozen):
    """What the ledger knows that mapping needs: accounts, vendors, tags, currencies and the lock date."""

    accounts: tuple[Account, ...]
    vendors: tuple[Vendor, ...]
    tag_options: tuple[TagOption, ...]
    currencies: tuple[CurrencyInfo, ...]
    base_currency: str
    locked_through: date | None = None  # nothing on or before this date may be posted
    tax_codes: tuple[TaxCode, ...] = ()
    tax_required: bool = False  # the organisation charges tax: every expense line needs a tax code
    locations: tuple[BusinessLocation, ...] = ()
    location_required: bool = False  # several business locations: every entry needs one
    # How the ledger computes a taxed line's tax, per kind of entry (see `ml_connector.tax`): "gross" (inclusive)
    # or "net" (tax added to a net amount).
    journal_tax_basis: str = "gross"
    bill_tax_basis: str = "gross"

    def tax_basis(self, kind: str) -> str:
        return self.bill_tax_basis if kind == "bill" else self.journal_tax_basis

    def is_locked(self, day: date) -> bool:
        return self.locked_through is not None and day <= self.locked_through
