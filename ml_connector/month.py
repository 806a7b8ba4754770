"""A month of spend, from records to a posted and tied-out ledger: the steps the Dagster assets call.

Each function does one step and is usable without Dagster: hold what cannot post yet, map, record every
record's outcome, create missing vendors once, post with the exactly-once protocol, tie out.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.errors import ConnectorError, Uncertain
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.ledgers.base import Ledger
from ml_connector.mapping import (
    EXCEPTION_COLUMNS,
    MappingRules,
    build_bill_drafts,
    build_journal_drafts,
    map_records,
    vendors_to_create,
)
from ml_connector.mapping.drafts import PENDING_VENDOR_PREFIX
from ml_connector.mapping.schema import conform
from ml_connector.models import BillDraft, JournalDraft, ReferenceData, SpendRecord
from ml_connector.posting import Poster, PostingReport
from ml_connector.store import ledger as ledger_table
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.schema import record_outcomes, utc_now
from ml_connector.tieout import TieOut, tie_out

APPROVED_BREX_STATUSES = ("APPROVED", "SETTLED")
HOLD_REASONS = {"not_approved": "the expense is not approved in Brex yet; it posts once it is approved"}


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(p) for p in month.split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


@dataclass(frozen=True)
class MonthPlan:
    """What mapping decided for a month: lines ready to draft, and exceptions with reasons."""

    month: str
    mapped: pd.DataFrame
    exceptions: pd.DataFrame
    record_count: int

    def drafts(self, vendor_ids: dict[str, str] | None = None,
               posted: dict[str, str] | None = None) -> list[JournalDraft | BillDraft]:
        """Drafts for the records not yet posted (`posted`: source id -> posting key, see posted_keys).
        Without vendor ids (a preview) bills name vendors still to be created as pending, with the same
        posting keys as the drafts that post."""
        rows = self.mapped[~self.mapped["source_id"].isin(list(posted or {}))]
        journals: list[JournalDraft | BillDraft] = list(build_journal_drafts(rows, vendor_ids=vendor_ids))
        return journals + list(build_bill_drafts(rows, vendor_ids=vendor_ids,
                                                 allow_pending_vendors=vendor_ids is None))

    def totals_by_currency(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for currency, amount in zip(self.mapped["currency"], self.mapped["amount"], strict=True):
            totals[currency] += amount
        return dict(totals)


def hold_unapproved(records: list[SpendRecord]) -> tuple[list[SpendRecord], pd.DataFrame]:
    """Brex expenses not yet approved wait (an exception with a reason); everything else goes to mapping."""
    ready, held = [], []
    for r in records:
        if r.source == "brex" and r.status not in APPROVED_BREX_STATUSES:
            held.append({"source": r.source, "source_id": r.source_id, "parent_id": r.parent_id,
                         "version": r.version, "record_date": r.record_date, "currency": r.currency,
                         "amount": r.amount, "category": r.category, "merchant": r.merchant,
                         "reason": "not_approved",
                         "reason_text": f"Brex expense {r.source_id} is {r.status}: "
                                        + HOLD_REASONS["not_approved"]})
        else:
            ready.append(r)
    return ready, conform(pd.DataFrame(held, columns=list(EXCEPTION_COLUMNS)), EXCEPTION_COLUMNS)


def plan_month(month: str, records: list[SpendRecord], rules: MappingRules, reference: ReferenceData) -> MonthPlan:
    ready, held = hold_unapproved(records)
    result = map_records(ready, rules, reference)
    mapped, held_with_report = hold_whole_reports(result.mapped, result.exceptions)
    frames = [df for df in (held, result.exceptions, held_with_report) if not df.empty]
    exceptions = pd.concat(frames, ignore_index=True) if frames else held
    return MonthPlan(month=month, mapped=mapped, exceptions=exceptions, record_count=len(records))


def hold_whole_reports(mapped: pd.DataFrame, exceptions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An Expensify report posts whole or not at all: one held expense holds its report, so a bill is never
    posted short and then duplicated (same bill number) once the held line is fixed."""
    held_reports = set(exceptions.loc[exceptions["source"] == "expensify", "parent_id"].dropna())
    if not held_reports:
        return mapped, pd.DataFrame(columns=list(EXCEPTION_COLUMNS))
    is_held = (mapped["source"] == "expensify") & mapped["parent_id"].isin(held_reports)
    moved = mapped[is_held].assign(
        reason="held_with_report",
        reason_text=lambda f: "report " + f["parent_id"].astype(str) + " has a held expense; it posts whole once "
                              "that expense is fixed (see the report's other exceptions)")
    return mapped[~is_held].reset_index(drop=True), conform(moved, EXCEPTION_COLUMNS)


def posted_keys(engine: Engine, plan: MonthPlan) -> dict[str, str]:
    """Records of the plan already posted at their current version: source id -> posting key. They are
    never drafted again, whatever the posting mode is now."""
    posted: dict[str, str] = {}
    for source in set(plan.mapped["source"]):
        rows = ledger_table.posted_by_source_id(engine, source)
        for source_id, version in zip(plan.mapped["source_id"], plan.mapped["version"], strict=True):
            row = rows.get(source_id)
            if row and row["status"] == "posted" and (row.get("source_versions") or {}).get(source_id) == version:
                posted[source_id] = row["posting_key"]
    return posted


def save_outcomes(engine: Engine, plan: MonthPlan, drafts: list[JournalDraft | BillDraft],
                  run_id: str | None, posted: dict[str, str] | None = None) -> None:
    """Replace the month's record outcomes: each record is drafted under a key or held with a reason."""
    key_of = dict(posted or {})
    key_of.update({sid: d.posting_key for d in drafts for sid in d.source_ids})
    now = utc_now()
    rows = []
    for row in plan.mapped.to_dict("records"):
        rows.append(_outcome(plan.month, row, "drafted", None, None, key_of.get(row["source_id"]), run_id, now))
    for row in plan.exceptions.to_dict("records"):
        rows.append(_outcome(plan.month, row, "exception", row["reason"], row["reason_text"], None, run_id, now))
    with engine.begin() as connection:
        # Brex is re-read in full every run, so its month is replaced; Expensify skips reports already
        # exported, so its earlier outcomes stay and only this run's records are replaced.
        connection.execute(record_outcomes.delete().where(
            (record_outcomes.c.month == plan.month) & (record_outcomes.c.source_system == "brex")))
        # A record whose date moved to another month must not stay there too.
        ids = [r["source_id"] for r in rows]
        for start in range(0, len(ids), 500):
            connection.execute(record_outcomes.delete().where(record_outcomes.c.source_id.in_(ids[start:start + 500])))
        if rows:
            connection.execute(record_outcomes.insert(), rows)
        record(connection, AuditEvent(actor="dagster", action="map", outcome="ok", run_id=run_id, month=plan.month,
                                      detail={"drafted": len(plan.mapped), "exceptions": len(plan.exceptions),
                                              "reasons": plan.exceptions["reason"].value_counts().to_dict()}))


def _outcome(month, row, outcome, reason_code, reason, posting_key, run_id, now) -> dict:
    return {"month": month, "source_system": row["source"], "source_id": row["source_id"],
            "parent_id": row.get("parent_id"), "source_version": row["version"], "record_date": row["record_date"],
            "amount": str(row["amount"]), "currency": row["currency"], "outcome": outcome,
            "reason_code": reason_code, "reason": reason, "posting_key": posting_key, "run_id": run_id,
            "updated_at": now}


def ensure_vendors(engine: Engine, ledger: Ledger, names: list[str], run_id: str | None) -> dict[str, str]:
    """Ids for vendor names, creating each missing vendor once: look first, create, and after an
    uncertain create look again rather than create twice."""
    ids: dict[str, str] = {}
    for name in names:
        vendor = ledger.find_vendor(name)
        outcome = "found"
        if vendor is None:
            try:
                vendor = ledger.create_vendor(name)
                outcome = "created"
            except Uncertain:
                vendor = ledger.find_vendor(name)
                if vendor is None:
                    vendor = ledger.create_vendor(name)
                outcome = "created"
        ids[name] = vendor.vendor_id
        record(engine, AuditEvent(actor="dagster", action="vendor.ensure", outcome=outcome, run_id=run_id,
                                  ledger_entity_id=vendor.vendor_id, detail={"name": name}))
    return ids


def post_plan(engine: Engine, ledger: Ledger, plan: MonthPlan, run_id: str | None,
              vendor_ids: dict[str, str]) -> tuple[list[JournalDraft | BillDraft], PostingReport]:
    posted = posted_keys(engine, plan)
    unposted = plan.mapped[~plan.mapped["source_id"].isin(list(posted))]
    all_ids = dict(vendor_ids)
    all_ids.update(ensure_vendors(engine, ledger, vendors_to_create(unposted), run_id))
    drafts = plan.drafts(all_ids, posted)
    pending = [d.posting_key for d in drafts if isinstance(d, BillDraft) and d.vendor_id.startswith(
        PENDING_VENDOR_PREFIX)]
    if pending:
        raise RuntimeError(f"bills {pending[:5]} have no vendor in the ledger yet; nothing was posted for them")
    return drafts, Poster(engine, ledger, run_id=run_id).post(drafts)


def attach_receipts(engine: Engine, ledger: Ledger, drafts: list[JournalDraft | BillDraft], report: PostingReport,
                    run_id: str | None, downloads: HttpClient | None = None) -> dict[str, list[str]]:
    """Attach each receipt of the bills posted now. Each download and upload is retried; a receipt that
    still fails is reported (audit and return value) and never fails or undoes its bill."""
    downloads = downloads or HttpClient("receipts", "", retry=RetryPolicy(max_attempts=4))
    bills = {d.posting_key: d for d in drafts if isinstance(d, BillDraft) and d.receipt_urls}
    failed: dict[str, list[str]] = {}
    for result in report.posted:
        bill = bills.get(result.posting_key)
        if bill is None:
            continue
        for index, url in enumerate(bill.receipt_urls, start=1):
            name = url.split("?")[0].rsplit("/", 1)[-1] or f"receipt-{index}"
            try:
                response = downloads.request("GET", url)
                ledger.attach_receipt(result.ledger_entity_id, name, response.content,
                                      response.headers.get("Content-Type", "application/octet-stream"))
                outcome, detail = "ok", {"file": name}
            except ConnectorError as exc:
                failed.setdefault(bill.posting_key, []).append(f"{name}: {type(exc).__name__}")
                outcome, detail = "failed", {"file": name, "error": type(exc).__name__}
            record(engine, AuditEvent(actor="dagster", action="receipt.attach", outcome=outcome, run_id=run_id,
                                      month=bill.month, posting_key=bill.posting_key, source_system=bill.source,
                                      ledger_entity_id=result.ledger_entity_id, detail=detail))
    return failed


def posted_reports(engine: Engine, plan: MonthPlan) -> list[str]:
    """Expensify reports whose every drafted expense is posted: safe to mark exported in Expensify."""
    rows = plan.mapped[plan.mapped["source"] == "expensify"]
    if rows.empty:
        return []
    with engine.connect() as connection:
        outcomes = {r.source_id: r.posting_key for r in connection.execute(
            sa.select(record_outcomes.c.source_id, record_outcomes.c.posting_key)
            .where(record_outcomes.c.source_id.in_(list(rows["source_id"]))))}
    status = ledger_table.rows_for_keys(engine, [k for k in outcomes.values() if k])
    done: dict[str, bool] = {}
    for report_id, source_id in zip(rows["parent_id"], rows["source_id"], strict=True):
        posted = status.get(outcomes.get(source_id) or "", {}).get("status") == "posted"
        done[report_id] = done.get(report_id, True) and posted
    return sorted(report for report, ok in done.items() if ok)


def tie_out_month(engine: Engine, ledger: Ledger, plan: MonthPlan) -> TieOut:
    """The month's posted records against the entries that carry them, read back from the ledger."""
    posted = posted_keys(engine, plan)
    rows = plan.mapped[plan.mapped["source_id"].isin(list(posted))]
    keys = set(posted.values())
    start, end = month_bounds(plan.month)
    lines = ledger.posted_lines(start, end, keys) if keys else []
    return tie_out(rows, lines, keys)


def month_status(engine: Engine, month: str) -> list[dict]:
    """Every record of the month: posted (with the ledger id), pending, failed or flagged, with its reason."""
    with engine.connect() as connection:
        outcomes = [dict(r._mapping) for r in connection.execute(
            sa.select(record_outcomes).where(record_outcomes.c.month == month)
            .order_by(record_outcomes.c.source_system, record_outcomes.c.record_date, record_outcomes.c.source_id))]
    postings = ledger_table.rows_for_keys(engine, [o["posting_key"] for o in outcomes if o["posting_key"]])
    status = []
    for o in outcomes:
        posting = postings.get(o["posting_key"] or "")
        if o["outcome"] == "exception":
            state, reason, ledger_id = "flagged", f"{o['reason_code']}: {o['reason']}", None
        elif posting is None:
            state, reason, ledger_id = "pending", "drafted, not yet posted", None
        else:
            state = posting["status"]  # posted, pending, failed or flagged
            reason, ledger_id = posting["last_error"], posting["ledger_entity_id"]
        status.append({"source": o["source_system"], "source_id": o["source_id"], "parent_id": o["parent_id"],
                       "date": o["record_date"].isoformat(), "amount": o["amount"], "currency": o["currency"],
                       "status": state, "ledger_id": ledger_id, "posting_key": o["posting_key"], "reason": reason})
    return status
