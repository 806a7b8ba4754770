"""Every record's outcome: drafted under a posting key, or held with a reason; and, with the posting ledger,
what `ml-connector status` shows for every record of a month (posted, pending, rejected or held, and why)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.mapping.columns import values
from ml_connector.month import MonthPlan
from ml_connector.sources.registry import SOURCES
from ml_connector.store import bulk, postings, receipts
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.schema import record_outcomes, utc_now
from ml_connector.store.target import LedgerTarget


def save_outcomes(engine: Engine, plan: MonthPlan, run_id: str | None) -> None:
    """Replace the month's record outcomes with this plan's, in one transaction of multi-row statements."""
    key_of = dict(plan.posted_earlier)
    key_of.update(plan.drafts.key_of_records())
    now = utc_now()
    rows = _outcomes(plan.month, plan.mapped, "drafted", key_of, run_id, now)
    rows += _outcomes(plan.month, plan.exceptions, "exception", None, run_id, now)
    full = [name for name in plan.sources_read if SOURCES[name].reread == "full"]
    with engine.begin() as connection:
        # A source read in full this run replaces its month; one read incrementally keeps earlier outcomes.
        if full:
            connection.execute(record_outcomes.delete().where(
                (record_outcomes.c.month == plan.month) & record_outcomes.c.source_system.in_(full)))
        # Upserted on (source system, source id): a record whose date moved to another month leaves it.
        bulk.upsert(connection, record_outcomes, rows, key=("source_system", "source_id"), replaced=_REPLACED)
        record(connection, AuditEvent(actor="dagster", action="map", outcome="ok", run_id=run_id, month=plan.month,
                                      detail={"drafted": len(plan.mapped), "exceptions": len(plan.exceptions),
                                              "drafts": len(plan.drafts),
                                              "reasons": plan.exceptions["reason"].value_counts().to_dict()}))


_REPLACED = ("month", "parent_id", "source_version", "record_date", "amount", "currency", "outcome", "reason_code",
             "reason", "posting_key", "run_id", "updated_at")


def _outcomes(month: str, frame: pd.DataFrame, outcome: str, key_of: dict[str, str] | None, run_id: str | None,
              now) -> list[dict]:
    """The frame's records as outcome rows, built from its columns (one dict per record, nothing else)."""
    if frame.empty:
        return []
    column = {name: values(frame, name) for name in OUTCOME_FIELDS}
    ids = column["source_id"]
    keys = [key_of.get(i) for i in ids] if key_of is not None else [None] * len(ids)
    reason_codes = values(frame, "reason") if key_of is None else [None] * len(ids)
    reasons = values(frame, "reason_text") if key_of is None else [None] * len(ids)
    return [{"month": month, "source_system": source, "source_id": source_id, "parent_id": parent,
             "source_version": version, "record_date": day, "amount": str(amount), "currency": currency,
             "outcome": outcome, "reason_code": code, "reason": reason, "posting_key": key, "run_id": run_id,
             "updated_at": now}
            for source, source_id, parent, version, day, amount, currency, code, reason, key in zip(
                column["source"], ids, column["parent_id"], column["version"], column["record_date"],
                column["amount"], column["currency"], reason_codes, reasons, keys, strict=True)]


OUTCOME_FIELDS = ("source", "source_id", "parent_id", "version", "record_date", "amount", "currency")


def month_status(engine: Engine, target: LedgerTarget, month: str) -> list[dict]:
    """Every record of the month: posted (with the ledger id), pending, rejected or held, with its reason, and
    the receipts its entry still misses."""
    with engine.connect() as connection:
        outcomes = [dict(r._mapping) for r in connection.execute(
            sa.select(record_outcomes).where(record_outcomes.c.month == month)
            .order_by(record_outcomes.c.source_system, record_outcomes.c.record_date, record_outcomes.c.source_id))]
    rows = postings.rows_for_keys(engine, target, [o["posting_key"] for o in outcomes if o["posting_key"]])
    missing = receipts.month_summary(engine, target, month)["missing"]
    status = []
    for o in outcomes:
        posting = rows.get(o["posting_key"] or "")
        if o["outcome"] == "exception":
            state, reason, ledger_id = "held", f"{o['reason_code']}: {o['reason']}", None
        elif posting is None:
            state, reason, ledger_id = "pending", "drafted, not yet posted", None
        else:
            state = {"failed": "rejected", "flagged": "held"}.get(posting["status"], posting["status"])
            reason, ledger_id = posting["last_error"], posting["ledger_entity_id"]
        status.append({"source": o["source_system"], "source_id": o["source_id"], "parent_id": o["parent_id"],
                       "date": o["record_date"].isoformat(), "amount": o["amount"], "currency": o["currency"],
                       "status": state, "ledger_id": ledger_id, "posting_key": o["posting_key"], "reason": reason,
                       "receipts_missing": [m["file"] for m in missing.get(o["posting_key"] or "", [])]})
    return status
