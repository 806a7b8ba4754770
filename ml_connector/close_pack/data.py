"""The month-close pack's figures, gathered from the store: nothing here calls a ledger or a source.

- Sources and counts: every record of the month (`outcomes.month_status`), by source and state.
- Entries: every entry of the month in the posting ledger, with its state, the ledger's number and the link
  into the ledger's app.
- The tie-out: the one the month's last posting run made (the `ledger_postings` value the store keeps), row by
  row as that run's check showed it, with debit and credit totals per currency. A month whose last run did not
  get as far as the tie-out has none, and the pack says so.
- Held records with their reason and the fix (the mapping's reason text names the fix after "; fix: "),
  receipts owed and not attached, and the drift report handed in.
- Spend by category (the expense account the records post to: Brex and Expensify name categories
  differently, the account is what the books show) and by cost center (the department dimension), this month
  against the three before, from the plans the store keeps for each month (`journal_drafts`): records that post,
  not held ones; refunds net. A month never run shows no bar.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.engine import Engine

from ml_connector.drift import DriftReport
from ml_connector.mapping.schema import REASONS
from ml_connector.month import MonthPlan
from ml_connector.outcomes import month_status
from ml_connector.store import asset_values, postings, receipts
from ml_connector.store.target import LedgerTarget

HISTORY = 3  # months shown before the pack's month
NO_CATEGORY, NO_COST_CENTER = "(no account)", "(no cost center)"
STATES = ("posted", "pending", "rejected", "held")
CODE = re.compile(r"[a-z][a-z0-9_]{2,39}")


@dataclass(frozen=True)
class TieOutRow:
    account: str
    dimensions: str
    currency: str
    source: Decimal
    ledger: Decimal
    difference: Decimal


@dataclass(frozen=True)
class Totals:
    """One side of a currency's tie-out: what the source and the ledger put on it, and the difference."""

    source: Decimal
    ledger: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ledger - self.source


@dataclass
class TieOutView:
    ties_out: bool
    entries_expected: int
    entries_found: int
    rows: list[TieOutRow]
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, Totals]]:
        """Per currency: the debits (positive net rows) and credits (negative ones, as positive amounts)."""
        out: dict[str, dict[str, Totals]] = {}
        for currency in sorted({r.currency for r in self.rows}):
            rows = [r for r in self.rows if r.currency == currency]
            out[currency] = {
                "debits": Totals(sum((r.source for r in rows if r.source > 0), Decimal(0)),
                                 sum((r.ledger for r in rows if r.ledger > 0), Decimal(0))),
                "credits": Totals(sum((-r.source for r in rows if r.source < 0), Decimal(0)),
                                  sum((-r.ledger for r in rows if r.ledger < 0), Decimal(0)))}
        return out


@dataclass
class SpendSeries:
    """One chart: amounts per label per month (oldest first), in one currency."""

    title: str
    currency: str
    months: list[str]
    months_with_data: list[str]
    values: dict[str, list[Decimal]]  # label -> one amount per month


@dataclass
class PackData:
    month: str
    ledger_name: str
    ledger: str
    generated_at: str
    sources: list[dict]  # source, records, and a count per state
    states: dict[str, int]
    record_totals: dict[str, Decimal]  # currency -> signed total of the month's records
    entries: list[dict]
    tie_out: TieOutView | None
    held: list[dict]
    receipts_missing: list[dict]
    drift: DriftReport | None
    charts: list[SpendSeries]

    @property
    def posted_entries(self) -> list[dict]:
        return [e for e in self.entries if e["status"] == "posted"]


def gather(engine: Engine, target: LedgerTarget, month: str, *, ledger_name: str,
           drift: DriftReport | None = None) -> PackData:
    status = month_status(engine, target, month)
    sources: dict[str, dict] = {}
    states = dict.fromkeys(STATES, 0)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in status:
        counts = sources.setdefault(row["source"], {"source": row["source"], "records": 0, **dict.fromkeys(STATES, 0)})
        counts["records"] += 1
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        states[row["status"]] = states.get(row["status"], 0) + 1
        totals[row["currency"]] += Decimal(row["amount"])
    return PackData(
        month=month, ledger_name=ledger_name, ledger=str(target),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), sources=list(sources.values()),
        states=states, record_totals=dict(sorted(totals.items())), entries=_entries(engine, target, month),
        tie_out=_tie_out(engine, target, month), held=[_held(row) for row in status if row["status"] == "held"],
        receipts_missing=[{"posting_key": key, **missing} for key, files in sorted(
            receipts.month_summary(engine, target, month)["missing"].items()) for missing in files],
        drift=drift, charts=_charts(engine, target, month))


def _entries(engine: Engine, target: LedgerTarget, month: str) -> list[dict]:
    state = {"failed": "rejected", "flagged": "held"}
    return [{"posting_key": r["posting_key"], "kind": r["kind"] or "journal", "status": state.get(r["status"],
             r["status"]), "number": r["ledger_number"] or r["ledger_entity_id"] or "", "url": r["ledger_url"],
             "amount": Decimal(r["amount"]) if r["amount"] else None, "currency": r["currency"] or "",
             "records": len(r["source_ids"] or []), "reason": r["last_error"] or ""}
            for r in postings.month_rows(engine, target, month)]


def _tie_out(engine: Engine, target: LedgerTarget, month: str) -> TieOutView | None:
    try:
        summary = asset_values.get(engine, "ledger_postings", f"{month}-01")
    except KeyError:
        return None
    if not isinstance(summary, dict) or summary.get("ledger") != str(target) or not summary.get("tie_out"):
        return None  # kept by a run for another ledger organisation
    tie = summary["tie_out"]
    return TieOutView(
        ties_out=bool(tie["ties_out"]), entries_expected=tie["entries_expected"], entries_found=tie["entries_found"],
        missing=list(tie["missing"]), duplicated=list(tie["duplicated"]), unexpected=list(tie["unexpected"]),
        rows=[TieOutRow(r["account"], r["dimensions"], r["currency"], Decimal(r["source"]), Decimal(r["ledger"]),
                        Decimal(r["difference"]))
              for r in sorted(tie["rows"], key=lambda r: (r["currency"], r["account"], r["dimensions"]))])


def _held(row: dict) -> dict:
    text = row["reason"] or "held for review"
    code, _, rest = text.partition(": ")
    if not (code in REASONS or CODE.fullmatch(code)):  # a reason code (mapping's, or a source's own hold)
        code, rest = "held_for_review", text
    reason, _, fix = rest.partition("; fix: ")
    if not fix and "review it" in reason:
        reason, _, fix = reason.partition(": review it")
        fix = "review it" + fix
    return {"source": row["source"], "source_id": row["source_id"], "parent_id": row["parent_id"] or "",
            "date": row["date"], "amount": Decimal(row["amount"]), "currency": row["currency"], "code": code,
            "reason": reason.strip(), "fix": fix.strip().rstrip(".") or "see the reason"}


def previous_months(month: str, count: int = HISTORY) -> list[str]:
    """`count` months before `month` and `month` itself, oldest first."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count, index + 1)]


def _plan(engine: Engine, target: LedgerTarget, month: str) -> MonthPlan | None:
    try:
        plan = asset_values.get(engine, "journal_drafts", f"{month}-01")
    except KeyError:
        return None
    return plan if isinstance(plan, MonthPlan) and plan.target == target else None


def _charts(engine: Engine, target: LedgerTarget, month: str) -> list[SpendSeries]:
    months = previous_months(month)
    plans = {m: _plan(engine, target, m) for m in months}
    sums: dict[tuple[str, str], dict[str, list[Decimal]]] = {}
    for at, m in enumerate(months):
        plan = plans[m]
        if plan is None or plan.mapped.empty:
            continue
        frame = plan.mapped
        accounts = [_account(code, name) for code, name in zip(frame["debit_account_code"],
                                                                frame["debit_account_name"], strict=True)]
        for dimension, labels in (("category", accounts),
                                  ("cost_center", [v or NO_COST_CENTER for v in frame["department_option_name"]])):
            for label, currency, amount in zip(labels, frame["currency"], frame["amount"], strict=True):
                series = sums.setdefault((dimension, currency), {})
                series.setdefault(label, [Decimal(0)] * len(months))[at] += amount
    with_data = [m for m in months if plans[m] is not None]
    # Only currencies the pack's month has: a currency seen in earlier months alone has nothing to compare.
    current = set(plans[month].mapped["currency"]) if plans[month] is not None else set()
    return [SpendSeries(title="Spend by category (expense account)" if dimension == "category" else
                        "Spend by cost center", currency=currency, months=months, months_with_data=with_data,
                        values=values)
            for (dimension, currency), values in sorted(sums.items(), key=lambda item: (item[0][1], item[0][0]))
            if currency in current]


def _account(code: str | None, name: str | None) -> str:
    if not name:
        return code or NO_CATEGORY
    return f"{code} {name}" if code else name
