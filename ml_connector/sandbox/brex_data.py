"""The Brex sandbox's records: card expenses and the settled card transactions they post as.

Each month is generated on first use from `month_rng(seed, "brex", month)`, so a month has the same
expenses whatever else was asked before, and a server with 100,000 expenses a month only pays for the
months a client touches. Lists are kept sorted (expenses by `purchased_at`, transactions by posting
date) so that date filters are bisections and pages are slices.

Money stays in integer minor units here, as Brex sends it; only the Accounting API renders major units.

Card spend bills and settles in the organisation's base currency (USD in "us", GBP in "uk"): the rule, its
sources and the conversion are in brex_billing.py. `billing_minor`, `settled_billing_minor` and the card rows
(the month's rewards credit and autopay included) are in that currency.
"""

from __future__ import annotations

import bisect
import gc
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ml_connector.sandbox.brex_billing import billing_currency, to_billing_minor
from ml_connector.sandbox.catalog import (
    UNMAPPED_BREX_CATEGORY,
    Company,
    Employee,
    Merchant,
    month_days,
    month_rng,
    stable_id,
)

# Merchants that carry the deliberately broken categories are drawn less often: ~2% of spend each.
_RARE_CATEGORIES = frozenset({UNMAPPED_BREX_CATEGORY, "FLOWERS"})
_MEMOS = ("Team lunch", "Monthly subscription", "Customer visit", "Conference travel", "Office restock",
          "Offsite planning", "Q4 campaign", "Hardware for new hire", None, None)
REFUND_SHARE = 0.02


@dataclass(slots=True)
class CardExpense:
    """One Brex card expense. Fields a control route may edit are plain attributes; `version` counts edits."""

    id: str
    month: str
    user: Employee
    merchant: Merchant
    card_id: str
    purchased_at: datetime
    payment_posted_at: datetime | None
    submitted_at: datetime | None
    approved_at: datetime | None
    updated_at: datetime
    purchased_minor: int  # in the merchant's currency
    billing_minor: int  # in the billing currency (the organisation's base currency), what the company is charged
    settled_billing_minor: int  # what the card transaction shows; later edits do not change it
    category: str
    memo: str | None
    status: str
    payment_status: str
    receipt_ids: tuple[str, ...]
    is_refund: bool
    version: int = 1

    @property
    def currency(self) -> str:
        return self.merchant.currency

    @property
    def is_settled(self) -> bool:
        return self.payment_posted_at is not None


@dataclass(slots=True)
class CardTransaction:
    """One settled row of the primary card account; purchases and refunds point at their expense."""

    id: str
    type: str  # PURCHASE, REFUND, COLLECTION, REWARDS_CREDIT
    description: str
    amount_minor: int  # in the billing currency, signed: purchases positive, refunds and credits negative
    initiated_at: date
    posted_at: date
    expense: CardExpense | None = None


def _at(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time(0, tzinfo=UTC)) + timedelta(seconds=seconds)


def generate_month(company: Company, month: str, count: int, org: str = "us") -> list[CardExpense]:
    """`count` card expenses purchased in `month`, sorted by purchase time, billed in the organisation's
    currency. Deterministic per month: the draws do not depend on `org`, only the billed amounts do."""
    rng = month_rng(company.seed, "brex", month)
    days = month_days(month)
    weights = [0.5 if m.category in _RARE_CATEGORIES else 1.0 for m in company.merchants]
    merchants = rng.choices(company.merchants, weights=weights, k=count)
    drafts = []
    for merchant in merchants:
        user = company.employees[rng.randrange(len(company.employees))]
        purchased_at = _at(days[rng.randrange(len(days))], rng.randrange(86_400))
        drafts.append((purchased_at, merchant, user, rng.random(), rng.random(), rng.random(),
                       rng.randint(merchant.low_cents, merchant.high_cents), rng.randrange(len(_MEMOS))))
    drafts.sort(key=lambda d: d[0])

    expenses = []
    for index, (purchased_at, merchant, user, status_draw, change_draw, receipt_draw, amount,
                memo_index) in enumerate(drafts):
        is_refund = change_draw < REFUND_SHARE
        sign = -1 if is_refund else 1
        purchased_minor = sign * amount
        billing_minor = sign * to_billing_minor(company, amount, merchant.currency, org)
        status, payment_status = _status(status_draw, is_refund)
        is_pending = payment_status == "PROCESSING"
        payment_posted_at = None if is_pending else purchased_at + timedelta(hours=20 + int(status_draw * 1000) % 50)
        submitted_at = None if status == "DRAFT" else purchased_at + timedelta(hours=2 + memo_index)
        approved_at = (submitted_at + timedelta(hours=6 + memo_index)
                       if status in ("APPROVED", "SETTLED") and submitted_at else None)
        last_touch = max(t for t in (purchased_at, payment_posted_at, submitted_at, approved_at) if t)
        # A fifth of expenses keep changing for weeks after purchase (memo, receipt, coding).
        weeks_later = change_draw > 0.8
        updated_at = last_touch + timedelta(days=int(change_draw * 100) % 25 + 1) if weeks_later else last_touch
        expense_id = stable_id("expense_", company.seed, month, index)
        expenses.append(CardExpense(
            id=expense_id,
            month=month,
            user=user,
            merchant=merchant,
            card_id=stable_id("ncard_", company.seed, user.user_id),
            purchased_at=purchased_at,
            payment_posted_at=payment_posted_at,
            submitted_at=submitted_at,
            approved_at=approved_at,
            updated_at=updated_at,
            purchased_minor=purchased_minor,
            billing_minor=billing_minor,
            settled_billing_minor=billing_minor,
            category=merchant.category,
            memo=_MEMOS[memo_index],
            status=status,
            payment_status=payment_status,
            receipt_ids=(stable_id("receipt_", company.seed, expense_id),) if receipt_draw < 0.85 else (),
            is_refund=is_refund,
            version=1 + (2 if weeks_later else 0) + (1 if approved_at else 0),
        ))
    return expenses


def _status(draw: float, is_refund: bool) -> tuple[str, str]:
    """Expense status and payment status: mostly approved or settled, a few not yet approved."""
    if is_refund:
        return "SETTLED", "CREDITED"
    if draw < 0.015:
        return "DRAFT", "PROCESSING"  # still pending at the card network: no transaction yet
    if draw < 0.03:
        return "DRAFT", "CLEARED"
    if draw < 0.08:
        return "SUBMITTED", "CLEARED"
    if draw < 0.30:
        return "APPROVED", "CLEARED"
    return "SETTLED", "CLEARED"


def transactions_posted_in(company: Company, month: str, candidates: list[CardExpense],
                           closes_month: bool = True) -> list[CardTransaction]:
    """The primary card account's settled rows posted in `month`, sorted by posting date.

    `candidates` are the expenses that may post in the month (this month's and last month's). A closed
    month ends with a REWARDS_CREDIT and an autopay COLLECTION, both negative, like Brex's own example;
    the month after the last one only holds purchases still settling.
    """
    rows = []
    for expense in candidates:
        posted = expense.payment_posted_at
        if posted is None or f"{posted.year:04d}-{posted.month:02d}" != month:
            continue
        rows.append(CardTransaction(
            id=stable_id("pste_", company.seed, expense.id),
            type="REFUND" if expense.is_refund else "PURCHASE",
            description=expense.merchant.descriptor,
            amount_minor=expense.settled_billing_minor,
            initiated_at=expense.purchased_at.date(),
            posted_at=posted.date(),
            expense=expense,
        ))
    rows.sort(key=lambda row: (row.posted_at, row.id))
    days = month_days(month)
    spend = sum(row.amount_minor for row in rows)
    if rows and closes_month:
        rows.append(CardTransaction(
            id=stable_id("pste_", company.seed, month, "rewards"), type="REWARDS_CREDIT",
            description="Brex Rewards statement credit", amount_minor=-max(1, spend // 100),
            initiated_at=days[-1], posted_at=days[-1]))
        rows.append(CardTransaction(
            id=stable_id("pste_", company.seed, month, "collection"), type="COLLECTION",
            description="Brex Card autopay", amount_minor=-spend,
            initiated_at=days[-1], posted_at=days[-1]))
    return rows


@dataclass
class Segment:
    """A sorted list of one month, seen through a [start, stop) window."""

    items: list
    start: int
    stop: int


@dataclass
class Chain:
    """Consecutive month segments read as one list: `slice` touches only the segments a page needs."""

    segments: list[Segment] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(s.stop - s.start for s in self.segments)

    def __iter__(self):
        for segment in self.segments:
            yield from segment.items[segment.start:segment.stop]

    def slice(self, offset: int, limit: int) -> list:
        page: list = []
        for segment in self.segments:
            size = segment.stop - segment.start
            if offset >= size:
                offset -= size
                continue
            take = segment.items[segment.start + offset:min(segment.stop, segment.start + offset + limit - len(page))]
            page.extend(take)
            offset = 0
            if len(page) >= limit:
                break
        return page


def next_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


class BrexRecords:
    """Lazily generated, cached months of expenses and transactions, with the indexes the routes need."""

    def __init__(self, company: Company, months: list[str], per_month: int, org: str = "us") -> None:
        self.company = company
        self.org = org
        self.billing_currency = billing_currency(org)
        self.months = list(months)
        self.per_month = per_month
        # Card rows post a day or two after purchase, so the month after the last one holds spillover.
        self.transaction_months = self.months + [next_month(self.months[-1])] if self.months else []
        self._expenses: dict[str, list[CardExpense]] = {}
        self._purchase_keys: dict[str, list[datetime]] = {}
        self._transactions: dict[str, list[CardTransaction]] = {}
        self._posted_keys: dict[str, list[date]] = {}
        self._by_id: dict[str, CardExpense] = {}
        self.edits: dict[str, dict] = {}  # expense id -> edited fields, kept for --state
        self.created: dict[str, dict] = {}  # expense id -> how a control route created it, kept for --state
        self.edit_count = 0  # part of every cached filter result's key: an edit can change what matches

    # -- expenses ----------------------------------------------------------------------------------

    def month_expenses(self, month: str) -> list[CardExpense]:
        if month not in self._expenses:
            if month not in self.months:
                return []
            expenses = generate_month(self.company, month, self.per_month, self.org)
            expenses += [created_expense(self.company, expense_id, spec, self.org)
                         for expense_id, spec in self.created.items() if spec["month"] == month]
            expenses.sort(key=lambda e: e.purchased_at)
            for expense in expenses:
                self._by_id[expense.id] = expense
                if expense.id in self.edits:
                    apply_edit(expense, self.edits[expense.id])
            self._expenses[month] = expenses
            self._purchase_keys[month] = [e.purchased_at for e in expenses]
            # A month lives as long as the server: keep the collector from re-scanning it on every page.
            gc.freeze()
        return self._expenses[month]

    def generated_months(self) -> list[str]:
        """Months generated so far: a request only pays for the months it touches."""
        return sorted(self._expenses)

    def expense(self, expense_id: str) -> CardExpense | None:
        if expense_id not in self._by_id:
            # Ids are opaque; find the month by generating the ones not yet generated (a few at most).
            for month in self.months:
                if month not in self._expenses:
                    self.month_expenses(month)
                    if expense_id in self._by_id:
                        break
        return self._by_id.get(expense_id)

    def all_expenses(self) -> list[CardExpense]:
        return [e for month in self.months for e in self.month_expenses(month)]

    def expenses_purchased(self, start: datetime | None, end: datetime | None) -> Chain:
        """Expenses purchased in [start, end], in purchase order, without generating months outside it."""
        chain = Chain()
        for month in self.months:
            first_day, last_day = _month_bounds(month)
            if (start and last_day < start) or (end and first_day > end):
                continue
            items = self.month_expenses(month)
            keys = self._purchase_keys[month]
            lo = bisect.bisect_left(keys, start) if start else 0
            hi = bisect.bisect_right(keys, end) if end else len(items)
            if hi > lo:
                chain.segments.append(Segment(items, lo, hi))
        return chain

    def create(self, spec: dict) -> CardExpense:
        """A new card purchase still pending at the card network (no settled transaction yet), as if an
        employee had just swiped. `spec`: month, purchased_at (ISO), amount (minor units of the merchant's
        currency), merchant (name), user_id, memo."""
        expense_id = stable_id("expense_", self.company.seed, "created", len(self.created))
        self.created[expense_id] = dict(spec)
        month = spec["month"]
        if month in self._expenses:
            expense = created_expense(self.company, expense_id, spec, self.org)
            index = bisect.bisect_right(self._purchase_keys[month], expense.purchased_at)
            self._expenses[month].insert(index, expense)
            self._purchase_keys[month].insert(index, expense.purchased_at)
            self._by_id[expense_id] = expense
        self.edit_count += 1
        self.month_expenses(month)  # generates the month, this expense included, if not done yet
        return self._by_id[expense_id]

    def to_billing_minor(self, amount_minor: int, currency: str) -> int:
        """What Brex bills for `amount_minor` of `currency`, in minor units of the billing currency."""
        return to_billing_minor(self.company, amount_minor, currency, self.org)

    def edit(self, expense: CardExpense, changes: dict, now: datetime) -> None:
        """Record an edit (amount, memo, category) so it survives a restart, and bump updated_at."""
        changes = dict(changes, updated_at=max(now, expense.updated_at + timedelta(seconds=1)).isoformat())
        changes["version"] = expense.version + 1
        self.edits[expense.id] = {**self.edits.get(expense.id, {}), **changes}
        apply_edit(expense, self.edits[expense.id])
        self.edit_count += 1

    # -- transactions ------------------------------------------------------------------------------

    def month_transactions(self, month: str) -> list[CardTransaction]:
        if month not in self._transactions:
            candidates = self.month_expenses(previous_month(month)) + self.month_expenses(month)
            rows = transactions_posted_in(self.company, month, candidates, closes_month=month in self.months)
            self._transactions[month] = rows
            self._posted_keys[month] = [row.posted_at for row in rows]
        return self._transactions[month]

    def transactions_posted(self, start: date | None) -> Chain:
        chain = Chain()
        for month in self.transaction_months:
            if start and _month_bounds(month)[1].date() < start:
                continue
            rows = self.month_transactions(month)
            lo = bisect.bisect_left(self._posted_keys[month], start) if start else 0
            if len(rows) > lo:
                chain.segments.append(Segment(rows, lo, len(rows)))
        return chain

    def all_transactions(self) -> list[CardTransaction]:
        return [row for month in self.transaction_months for row in self.month_transactions(month)]


def created_expense(company: Company, expense_id: str, spec: dict, org: str = "us") -> CardExpense:
    merchant = next(m for m in company.merchants if m.name == spec["merchant"])
    user = next(e for e in company.employees if e.user_id == spec["user_id"])
    purchased_at = datetime.fromisoformat(spec["purchased_at"])
    amount = int(spec["amount"])
    billed = to_billing_minor(company, amount, merchant.currency, org)
    return CardExpense(
        id=expense_id, month=spec["month"], user=user, merchant=merchant,
        card_id=stable_id("ncard_", company.seed, user.user_id), purchased_at=purchased_at,
        payment_posted_at=None, submitted_at=None, approved_at=None, updated_at=purchased_at,
        purchased_minor=amount, billing_minor=billed, settled_billing_minor=billed, category=merchant.category,
        memo=spec.get("memo"), status="DRAFT", payment_status="PROCESSING", receipt_ids=(), is_refund=amount < 0)


def apply_edit(expense: CardExpense, changes: dict) -> None:
    if "purchased_minor" in changes:
        expense.purchased_minor = int(changes["purchased_minor"])
    if "billing_minor" in changes:
        expense.billing_minor = int(changes["billing_minor"])
    if "memo" in changes:
        expense.memo = changes["memo"]
    if "category" in changes:
        expense.category = changes["category"]
    if "status" in changes:
        expense.status = changes["status"]
    if "updated_at" in changes:
        expense.updated_at = datetime.fromisoformat(changes["updated_at"])
    if "version" in changes:
        expense.version = int(changes["version"])


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    days = month_days(month)
    return _at(days[0], 0), _at(days[-1], 86_399) + timedelta(microseconds=999_999)
