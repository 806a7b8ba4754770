"""The posting ledger: one row per posting key, the source of truth for what reached the ledger."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.store.schema import POSTING_STATUSES, posting_ledger, utc_now


def get(connection: Connection, posting_key: str) -> dict[str, Any] | None:
    row = connection.execute(sa.select(posting_ledger).where(posting_ledger.c.posting_key == posting_key)).first()
    return dict(row._mapping) if row else None


def rows_for_keys(engine: Engine, posting_keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for start in range(0, len(posting_keys), 500):  # keep IN lists short for every backend
            chunk = posting_keys[start:start + 500]
            for row in connection.execute(sa.select(posting_ledger).where(posting_ledger.c.posting_key.in_(chunk))):
                found[row.posting_key] = dict(row._mapping)
    return found


def versions_digest(source_versions: list[str]) -> str:
    return hashlib.sha256(",".join(source_versions).encode()).hexdigest()[:16]


def posted_by_source_id(engine: Engine, source_system: str) -> dict[str, dict[str, Any]]:
    """For every source id already posted (or with a post pending), the ledger row that carries it.
    `row["source_versions"][source_id]` is the version it was posted at."""
    statement = sa.select(posting_ledger).where(
        (posting_ledger.c.source_system == source_system) & posting_ledger.c.status.in_(("posted", "pending")))
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for row in connection.execute(statement):
            mapping = dict(row._mapping)
            for source_id in mapping["source_ids"]:
                out[source_id] = mapping
    return out


@dataclass(frozen=True)
class Posting:
    """What the posting ledger records about one entry before and after it is sent."""

    posting_key: str
    source_system: str
    source_ids: list[str]
    source_versions: list[str]
    month: str
    ledger_system: str
    amount: Decimal
    currency: str


def _insert(connection: Connection, posting: Posting, *, status: str, attempt_count: int, run_id: str | None,
            error: str | None = None) -> None:
    now = utc_now()
    connection.execute(posting_ledger.insert().values(
        posting_key=posting.posting_key, source_system=posting.source_system, source_ids=posting.source_ids,
        source_version=versions_digest(posting.source_versions),
        source_versions=dict(zip(posting.source_ids, posting.source_versions, strict=True)), month=posting.month,
        ledger_system=posting.ledger_system, status=status, attempt_count=attempt_count, run_id=run_id,
        amount=str(posting.amount), currency=posting.currency, last_error=error, created_at=now, updated_at=now))


def record_intent(connection: Connection, posting: Posting, run_id: str | None) -> dict[str, Any]:
    """Write (or bump) the pending row before the call: a crash after this leaves evidence to resolve."""
    existing = get(connection, posting.posting_key)
    if existing is None:
        _insert(connection, posting, status="pending", attempt_count=1, run_id=run_id)
    else:
        connection.execute(posting_ledger.update().where(posting_ledger.c.posting_key == posting.posting_key)
                           .values(status="pending", attempt_count=existing["attempt_count"] + 1, run_id=run_id,
                                   updated_at=utc_now()))
    return get(connection, posting.posting_key)  # type: ignore[return-value]


def record_result(connection: Connection, posting_key: str, *, status: str, ledger_entity_id: str | None = None,
                  error: str | None = None, run_id: str | None = None) -> None:
    if status not in POSTING_STATUSES:
        raise ValueError(f"unknown posting status {status!r}")
    values: dict[str, Any] = {"status": status, "updated_at": utc_now(), "last_error": error}
    if ledger_entity_id is not None:
        values["ledger_entity_id"] = ledger_entity_id
    if run_id is not None:
        values["run_id"] = run_id
    connection.execute(posting_ledger.update().where(posting_ledger.c.posting_key == posting_key).values(**values))


def flag(connection: Connection, posting: Posting, run_id: str | None, reason: str) -> None:
    """Hold a posting for review (a source record changed after it was posted). Never posted by us."""
    if get(connection, posting.posting_key) is None:
        _insert(connection, posting, status="flagged", attempt_count=0, run_id=run_id, error=reason)
    else:
        record_result(connection, posting.posting_key, status="flagged", error=reason, run_id=run_id)


def month_rows(engine: Engine, month: str) -> list[dict[str, Any]]:
    statement = (sa.select(posting_ledger).where(posting_ledger.c.month == month)
                 .order_by(posting_ledger.c.posting_key))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def month_summary(engine: Engine, month: str) -> dict[str, Any]:
    """Counts by status and posted totals by currency for one month."""
    counts = dict.fromkeys(POSTING_STATUSES, 0)
    posted_totals: dict[str, Decimal] = {}
    for row in month_rows(engine, month):
        counts[row["status"]] += 1
        if row["status"] == "posted" and row["amount"] is not None:
            currency = row["currency"] or "?"
            posted_totals[currency] = posted_totals.get(currency, Decimal("0")) + Decimal(row["amount"])
    return {"month": month, "counts": counts, "posted_totals": posted_totals}
