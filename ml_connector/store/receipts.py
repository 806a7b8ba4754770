"""Receipts owed: every receipt a bill should carry has its own row, from the moment the bill is claimed.

Statuses: owed (not attached yet), uncertain (an upload may have landed: read the entry's attachments before
sending again), attached, failed (tried and failed; later runs try again), refused (never fetched: the link
is not one the connector trusts, or the file is not one the ledger takes; the reason says which and why).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.store.schema import receipts, utc_now
from ml_connector.store.sql import insert_ignoring_conflicts
from ml_connector.store.target import LedgerTarget

OPEN_STATUSES = ("owed", "uncertain", "failed")


@dataclass(frozen=True)
class Receipt:
    id: int
    posting_key: str
    month: str
    url: str
    file_name: str
    status: str
    attempts: int
    last_error: str | None


def digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def file_name_for(url: str, index: int) -> str:
    name = url.split("?")[0].rsplit("/", 1)[-1]
    return (name or f"receipt-{index}")[:200]


def owe(connection: Connection, target: LedgerTarget, posting_key: str, month: str, source_system: str,
        urls: tuple[str, ...]) -> None:
    """Record the receipts a bill owes (once per URL; a repeat claim adds nothing)."""
    now = utc_now()
    insert_ignoring_conflicts(connection, receipts, [
        {"ledger_system": target.system, "ledger_org": target.org, "posting_key": posting_key, "month": month,
         "source_system": source_system, "url": url, "url_digest": digest(url), "file_name": file_name_for(url, i),
         "status": "owed", "attempts": 0, "updated_at": now}
        for i, url in enumerate(dict.fromkeys(urls), start=1)],
        ["ledger_system", "ledger_org", "posting_key", "url_digest"])


def open_for(engine: Engine, target: LedgerTarget, *, month: str | None = None,
             posting_keys: list[str] | None = None) -> list[Receipt]:
    """Receipts still to attach (owed, uncertain or failed), for a month or for some entries."""
    clause = ((receipts.c.ledger_system == target.system) & (receipts.c.ledger_org == target.org)
              & receipts.c.status.in_(OPEN_STATUSES))
    if month is not None:
        clause = clause & (receipts.c.month == month)
    if posting_keys is not None:
        clause = clause & receipts.c.posting_key.in_(posting_keys)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(receipts).where(clause).order_by(receipts.c.id))
        return [Receipt(r.id, r.posting_key, r.month, r.url, r.file_name, r.status, r.attempts, r.last_error)
                for r in rows]


def mark(engine: Engine, receipt_id: int, status: str, error: str | None = None, *, attempted: bool = True) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": utc_now()}
    if attempted:
        values["attempts"] = receipts.c.attempts + 1
    with engine.begin() as connection:
        connection.execute(receipts.update().where(receipts.c.id == receipt_id).values(**values))


def month_summary(engine: Engine, target: LedgerTarget, month: str) -> dict[str, Any]:
    """Counts by status, and the receipts still missing per entry (with their last error)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(receipts).where(
            (receipts.c.ledger_system == target.system) & (receipts.c.ledger_org == target.org)
            & (receipts.c.month == month)).order_by(receipts.c.posting_key, receipts.c.id)).all()
    counts: dict[str, int] = {}
    missing: dict[str, list[dict]] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status != "attached":
            missing.setdefault(r.posting_key, []).append(
                {"file": r.file_name, "status": r.status, "attempts": r.attempts, "error": r.last_error})
    return {"counts": counts, "missing": missing}
