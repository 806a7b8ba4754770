"""Posting a planned month: one run per ledger organisation and month, whoever launched it.

Under the month's lease (`store.leases`), in order: entries left pending by a dead run are settled by
searching the ledger; vendors the ledger lacks are created once; the plan's drafts are posted with the
exactly-once protocol (`posting.Poster`); the receipts the month's bills owe are attached; and the month is
read back and tied out. The lease is released at the end whatever happened, so the next run never waits
for a finished one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from ml_connector.ledgers.base import Ledger
from ml_connector.month import MonthPlan
from ml_connector.posting import Poster, PostingReport, saved_of
from ml_connector.readback import ReadBack, read_back
from ml_connector.receipts import Fetch, ReceiptReport, attach_owed
from ml_connector.store import postings
from ml_connector.store.leases import Holder, MonthLease
from ml_connector.tieout import TieOut, tie_out
from ml_connector.vendors import ensure_vendors


@dataclass(frozen=True)
class MonthPosting:
    report: PostingReport
    receipts: ReceiptReport
    tie_out: TieOut | None  # None when some outcomes are still unknown: the month cannot tie out yet
    read_back: ReadBack | None
    waited_for: Holder | None
    calls: int  # ledger requests this run made


def post_month(engine: Engine, ledger: Ledger, plan: MonthPlan, fetch: Fetch, *, run_id: str | None,
               launched_by: str, wait_seconds: float, progress: Callable[[str], None] | None = None,
               on_wait: Callable[[Holder], None] | None = None) -> MonthPosting:
    calls_before = ledger.calls
    postings.adopt_legacy_rows(engine, ledger.target)
    lease = MonthLease(engine, ledger.target, plan.month, run_id=run_id, launched_by=launched_by,
                       wait_seconds=wait_seconds)
    lease.acquire(on_wait)
    try:
        settle_abandoned(engine, ledger, plan, lease, run_id)
        ids = ensure_vendors(engine, ledger, plan.drafts.missing_vendors(), owner=lease.owner, run_id=run_id,
                             month=plan.month, employees=employee_vendors(plan.mapped))
        # One entry at a time becomes an object, with its new vendors' ids, right before it posts.
        drafts = (d.with_vendor_ids(ids) for d in plan.drafts)
        report = Poster(engine, ledger, lease, run_id=run_id, progress=progress).post(drafts, plan.drafts.keys())
        receipts = attach_owed(engine, ledger, plan.month, fetch, run_id=run_id)
        result, back = tie_out_month(engine, ledger, plan) if report.is_complete else (None, None)
    finally:
        lease.release()
    return MonthPosting(report, receipts, result, back, lease.waited_for, ledger.calls - calls_before)


def settle_abandoned(engine: Engine, ledger: Ledger, plan: MonthPlan, lease: MonthLease, run_id: str | None) -> None:
    """Entries of the month left pending by a dead run under a key this plan does not draft (the records were
    grouped differently since): search the ledger for each. Found, it is posted; not found, nothing landed,
    and its records are released for this plan's entries."""
    drafted = set(plan.drafts.keys())
    for row in postings.month_rows(engine, ledger.target, plan.month):
        if row["status"] != "pending" or row["posting_key"] in drafted:
            continue
        claim = postings.take_over(engine, ledger.target, row["posting_key"], owner=lease.owner, run_id=run_id)
        if claim is None:
            continue  # a live run holds it
        found = ledger.find_posted(row["posting_key"], row["kind"] or "journal")
        if found is None and row["kind"] is None:
            found = ledger.find_posted(row["posting_key"], "bill")
        with engine.begin() as connection:
            if found is not None:
                postings.record_posted(connection, ledger.target, row["posting_key"], saved_of(found), run_id)
            else:
                postings.record_rejected(connection, ledger.target, row["posting_key"],
                                         "abandoned by a run that stopped before sending it; not in the ledger",
                                         run_id)


def tie_out_month(engine: Engine, ledger: Ledger, plan: MonthPlan) -> tuple[TieOut, ReadBack]:
    """Every drafted record of the month against the entries that carry (or should carry) them."""
    held = set(plan.changed_carriers)
    keys = plan.keys() - held
    in_scope = plan.mapped
    if held:
        carried_by_held = {sid for sid, key in plan.posted_earlier.items() if key in held}
        in_scope = in_scope[~in_scope["source_id"].isin(list(carried_by_held))]
    known = {row["posting_key"] for row in postings.month_rows(engine, ledger.target, plan.month)}
    back = read_back(engine, ledger, plan.month, keys, known_keys=known)
    counts = {key: back.count(key) for key in keys}
    unexpected = [row.posting_key or "" for row in back.unknown]
    return tie_out(in_scope, back.lines, counts, unexpected=unexpected, held_for_review=held), back


def employee_vendors(mapped: pd.DataFrame) -> set[str]:
    """Vendor names that are the record's own employee: a report billed to the person it reimburses."""
    if mapped.empty or "employee_name" not in mapped.columns:
        return set()
    vendor, employee = mapped["vendor_name"].astype(object), mapped["employee_name"].astype(object)
    return set(vendor[vendor.notna() & (vendor == employee)])
