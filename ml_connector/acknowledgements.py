"""What the ledger did with a month's records of one source, for that source's acknowledgement step
(Expensify markAsExported, Brex accounting export results)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ml_connector.month import MonthPlan
from ml_connector.sources.base import Accepted
from ml_connector.store import postings


def accepted(engine: Engine, plan: MonthPlan, source: str) -> Accepted:
    """Every record of `source` in the plan: posted (with its entry) or rejected (with the reason); and the
    parents (reports, transactions) whose every record is posted, the only ones safe to mark as done."""
    rows = plan.mapped[plan.mapped["source"] == source]
    key_of = dict(plan.posted_earlier)
    key_of.update(plan.drafts.key_of_records())
    entries = postings.rows_for_keys(engine, plan.target, [k for k in key_of.values() if k])
    posted: dict[str, dict] = {}
    rejected: dict[str, str] = {}
    done: dict[str, bool] = {}
    for source_id, parent_id in zip(rows["source_id"], rows["parent_id"], strict=True):
        entry = entries.get(key_of.get(source_id) or "")
        is_posted = entry is not None and entry["status"] == "posted"
        if is_posted:
            posted[source_id] = {"posting_key": entry["posting_key"], "ledger_entity_id": entry["ledger_entity_id"],
                                 "url": entry["ledger_url"], "parent_id": parent_id}
        elif entry is not None and entry["status"] == "failed":
            rejected[source_id] = entry["last_error"] or "rejected by the ledger"
        if parent_id:
            done[parent_id] = done.get(parent_id, True) and is_posted
    held_parents = set(plan.exceptions.loc[plan.exceptions["source"] == source, "parent_id"].dropna())
    complete = sorted(p for p, ok in done.items() if ok and p not in held_parents)
    return Accepted(month=plan.month, posted=posted, rejected=rejected, complete_parents=complete)
