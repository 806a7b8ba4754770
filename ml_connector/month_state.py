"""A month's state as the posting ledger holds it, for the whole month rather than for one run.

Metadata, checks and the command line report this, so a re-run that posted nothing shows the same month it
left: every entry the month's records need, how many are posted (now and earlier), held, rejected or still
unresolved, the receipts still owed, and signed totals per currency (refunds negative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.month import MonthPlan
from ml_connector.store import postings, receipts
from ml_connector.store.schema import posting_ledger, posting_records
from ml_connector.store.target import LedgerTarget


@dataclass
class MonthState:
    month: str
    target: LedgerTarget
    entries: int = 0  # entries the month's drafted records need
    posted: int = 0
    unresolved: dict[str, str] = field(default_factory=dict)  # key -> why its outcome is not known yet
    rejected: dict[str, str] = field(default_factory=dict)  # key -> the ledger's reason
    held_entries: dict[str, str] = field(default_factory=dict)  # key -> why it is held for review
    records_drafted: int = 0
    records_held: int = 0
    receipts: dict[str, int] = field(default_factory=dict)  # status -> count
    receipts_missing: dict[str, list[dict]] = field(default_factory=dict)  # key -> missing files
    posted_totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> signed total posted
    drafted_totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> signed total to post
    links: dict[str, str] = field(default_factory=dict)  # key -> link into the ledger's app

    @property
    def is_complete(self) -> bool:
        """Every entry is posted, held or rejected: nothing is left whose outcome is unknown."""
        return not self.unresolved and self.posted + len(self.rejected) + len(self.held_entries) >= self.entries

    @property
    def is_fully_posted(self) -> bool:
        return self.is_complete and not self.rejected


def month_state(engine: Engine, target: LedgerTarget, plan: MonthPlan) -> MonthState:
    """The month's entries: those this plan's records need, and every entry of the month the store holds as
    posted or still pending (a source read incrementally, like Expensify, does not show its exported reports
    again, but their entries are still the month's). Rejected entries the plan no longer drafts (their records
    changed or moved) are superseded, not counted."""
    month_rows = {r["posting_key"]: r for r in postings.month_rows(engine, target, plan.month)}
    needed = plan.keys() | {k for k, r in month_rows.items() if r["status"] in ("posted", "pending")}
    keys = sorted(needed | set(plan.changed_carriers))
    rows = {k: month_rows[k] for k in keys if k in month_rows}
    rows.update(postings.rows_for_keys(engine, target, [k for k in keys if k not in month_rows]))
    state = MonthState(month=plan.month, target=target, entries=len(needed - set(plan.changed_carriers)),
                       records_drafted=len(plan.mapped), records_held=len(plan.exceptions),
                       drafted_totals=plan.totals_by_currency())
    for key in keys:
        row = rows.get(key)
        if key in plan.changed_carriers:
            continue  # counted as held below
        if row is None:
            state.unresolved[key] = "not attempted yet"
        elif row["status"] == "posted":
            state.posted += 1
            if row["ledger_url"]:
                state.links[key] = row["ledger_url"]
        elif row["status"] == "failed":
            state.rejected[key] = row["last_error"] or "rejected"
        elif row["status"] == "flagged":
            state.held_entries[key] = row["last_error"] or "held for review"
        else:
            state.unresolved[key] = row["last_error"] or "claimed, outcome not known yet"
    for key in plan.changed_carriers:  # posted entries held for review: counted as held, not as posted
        state.held_entries.setdefault(key, "carries a record that changed after it was posted")
    summary = receipts.month_summary(engine, target, plan.month)
    state.receipts, state.receipts_missing = summary["counts"], summary["missing"]
    state.posted_totals = posted_totals(engine, target, plan.month)
    return state


def posted_totals(engine: Engine, target: LedgerTarget, month: str) -> dict[str, Decimal]:
    """Signed totals per currency of the records posted in the month (refunds negative)."""
    statement = (sa.select(posting_records.c.amount, posting_records.c.currency)
                 .join(posting_ledger, (posting_ledger.c.posting_key == posting_records.c.posting_key)
                       & (posting_ledger.c.ledger_system == posting_records.c.ledger_system)
                       & (posting_ledger.c.ledger_org == posting_records.c.ledger_org))
                 .where((posting_records.c.ledger_system == target.system)
                        & (posting_records.c.ledger_org == target.org) & (posting_records.c.month == month)
                        & (posting_ledger.c.status == "posted") & posting_records.c.amount.is_not(None)))
    totals: dict[str, Decimal] = {}
    with engine.connect() as connection:
        for amount, currency in connection.execute(statement):
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)
    return totals
