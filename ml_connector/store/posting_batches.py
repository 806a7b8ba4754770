"""Posting-ledger writes for many entries at once, and the one write each call needs before it is sent.

A posting run used to spend five store transactions on every entry (claim, lease renewal, attempt, audit,
result), more CPU than the HTTP call itself. Here:
- `claim_many` claims a chunk of entries in one transaction, with multi-row inserts. A claimed entry whose call
  never happened (the run died first) is a pending row of a dead run, exactly like an entry whose answer was
  lost: the next run takes it over and searches the ledger for its key before sending anything (`Claim
  .must_search_first`), so claiming ahead can cost a search after a crash, never a duplicate. Rows that exist,
  or a chunk whose insert collides (a record another posting carries, a key another process claimed meanwhile),
  are claimed one at a time with `postings.claim_in` in the same transaction: the same answers as `claim`.
- `begin_attempt` is the write right before a call, in one transaction: the fence (the month's lease renewed,
  or `LeaseLost`), the attempt counted (only while this run still holds the claim) and its audit event.
  It is never batched: it is what tells a later run, and the audit trail, that a call may have been sent.
- `record_posted_many` writes the results of many posted entries in one transaction. A result write that is
  lost (a crash before it) leaves the entry's claim pending, with its attempt counted, under a lease that dies
  with the run: the next run takes the claim over and finds the entry in the ledger by its key, and records it
  then. Exactly-once does not depend on the result being written; only how soon `status` shows it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.leases import MonthLease, live_owners
from ml_connector.store.postings import (
    Claim,
    Posting,
    Saved,
    claim_existing,
    claim_in,
    ledger_row,
    record_rows,
)
from ml_connector.store.schema import audit_events, posting_ledger, posting_records, utc_now
from ml_connector.store.sql import chunks, for_update
from ml_connector.store.target import LedgerTarget

# Built once: the hot statements run for every entry, and a statement object reused skips SQLAlchemy's
# cache-key walk. Bound parameters are prefixed so they never collide with column names.
_KEY = ((posting_ledger.c.ledger_system == sa.bindparam("p_system"))
        & (posting_ledger.c.ledger_org == sa.bindparam("p_org"))
        & (posting_ledger.c.posting_key == sa.bindparam("p_key")))
_ATTEMPT = posting_ledger.update().where(
    _KEY & (posting_ledger.c.claim_owner == sa.bindparam("p_owner")) & (posting_ledger.c.status == "pending")
).values(attempt_count=posting_ledger.c.attempt_count + 1, updated_at=sa.bindparam("p_now")).returning(
    posting_ledger.c.attempt_count)
_POSTED = dict(status="posted", ledger_entity_id=sa.bindparam("p_entity"), ledger_number=sa.bindparam("p_number"),
               ledger_url=sa.bindparam("p_url"), last_error=None, claim_owner=None,
               posted_at=sa.bindparam("p_now"), updated_at=sa.bindparam("p_now"),
               run_id=sa.func.coalesce(sa.bindparam("p_run", type_=sa.String), posting_ledger.c.run_id))
_RECORD_POSTED = posting_ledger.update().where(_KEY).values(**_POSTED)
_RECORD_POSTED_WITH_LINES = posting_ledger.update().where(_KEY).values(
    **_POSTED, saved_lines=sa.bindparam("p_lines", type_=posting_ledger.c.saved_lines.type),
    ledger_modified_at=sa.bindparam("p_modified"), ledger_total=sa.bindparam("p_total"))

_AUDIT = audit_events.insert()  # rows from `AuditEvent.row`, which redacts details as `audit.record` does

OnClaimed = Callable[[Connection, list[Claim]], None]


def claim_many(engine: Engine, target: LedgerTarget, batch: Sequence[Posting], *, owner: str, run_id: str | None,
               on_claimed: OnClaimed | None = None) -> list[Claim]:
    """Claim every posting of `batch` in one transaction; the claims in `batch` order. `on_claimed(connection,
    claims)` runs in the same transaction (receipts owed by the bills claimed are written with their claims)."""
    with write_transaction(engine) as connection:
        rows = _locked_rows(connection, target, [p.posting_key for p in batch])
        claims: dict[str, Claim] = {}
        fresh = [p for p in batch if p.posting_key not in rows]
        if fresh:
            claims.update(_claim_fresh(connection, target, fresh, owner=owner, run_id=run_id))
        held_by = {r["claim_owner"] for r in rows.values() if r["status"] == "pending"} - {None, owner}
        live = live_owners(connection, held_by)
        for posting in batch:
            if posting.posting_key not in claims:
                claims[posting.posting_key] = claim_existing(connection, target, posting, rows[posting.posting_key],
                                                             owner=owner, run_id=run_id, live=live)
        ordered = [claims[p.posting_key] for p in batch]
        if on_claimed is not None:
            on_claimed(connection, ordered)
        return ordered


def _claim_fresh(connection: Connection, target: LedgerTarget, fresh: list[Posting], *, owner: str,
                 run_id: str | None) -> dict[str, Claim]:
    """Keys without a row: all inserted at once, or, when the insert collides, one at a time as `claim` does."""
    now = utc_now()
    new_rows = [ledger_row(target, p, owner=owner, run_id=run_id, now=now) for p in fresh]
    carried = [row for p in fresh for row in record_rows(target, p)]
    try:
        with connection.begin_nested():
            connection.execute(posting_ledger.insert(), new_rows)
            if carried:
                connection.execute(posting_records.insert(), carried)
    except sa.exc.IntegrityError:
        claims: dict[str, Claim] = {}
        for posting in fresh:  # a repeated key in the chunk resumes its own claim, as two `claim` calls would
            claims[posting.posting_key] = claim_in(connection, target, posting, owner=owner, run_id=run_id)
        return claims
    return {row["posting_key"]: Claim("claimed", row) for row in new_rows}


def _locked_rows(connection: Connection, target: LedgerTarget, keys: list[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(keys))):
        statement = sa.select(posting_ledger).where(
            (posting_ledger.c.ledger_system == target.system) & (posting_ledger.c.ledger_org == target.org)
            & posting_ledger.c.posting_key.in_(list(chunk)))
        for row in connection.execute(for_update(statement, connection)):
            rows[row.posting_key] = dict(row._mapping)
    return rows


def begin_attempt(connection: Connection, lease: MonthLease, posting_key: str,
                  audit: Callable[[int], AuditEvent]) -> int:
    """Right before a call, in one transaction on `connection` (a poster keeps one for these, sparing a pool
    checkout per call): the fence (the month's lease renewed, or `LeaseLost` when another run took the month
    over), the attempt counted (only while this run still holds the entry's claim) and its audit event.
    Returns the attempt's number; 0 when the claim passed to another run (nothing may be sent)."""
    target = lease.target
    with connection.begin():
        lease.renew_in(connection)
        attempt = connection.execute(_ATTEMPT, {
            "p_system": target.system, "p_org": target.org, "p_key": posting_key, "p_owner": lease.owner,
            "p_now": utc_now()}).scalar() or 0
        if attempt:
            connection.execute(_AUDIT, [audit(attempt).row()])
    return attempt


def record_posted_many(connection: Connection, target: LedgerTarget, results: Sequence[tuple[str, Saved]],
                       run_id: str | None) -> None:
    """`postings.record_posted` for many entries, in the caller's transaction (see the module docstring for
    why a lost batch of results is safe)."""
    now = utc_now()
    plain, with_lines = [], []
    for posting_key, saved in results:
        values = {"p_system": target.system, "p_org": target.org, "p_key": posting_key,
                  "p_entity": saved.ledger_entity_id, "p_number": saved.ledger_number, "p_url": saved.url,
                  "p_now": now, "p_run": run_id}
        if saved.lines is None:
            plain.append(values)
        else:
            with_lines.append(values | {"p_lines": saved.lines, "p_modified": saved.modified_at,
                                        "p_total": saved.total})
    if plain:
        connection.execute(_RECORD_POSTED, plain)
    if with_lines:
        connection.execute(_RECORD_POSTED_WITH_LINES, with_lines)


def write_results(engine: Engine, target: LedgerTarget, results: Sequence[tuple[str, Saved]],
                  events: Sequence[AuditEvent], run_id: str | None) -> None:
    """Many posted entries and their audit events, in one transaction."""
    if not results and not events:
        return
    with engine.begin() as connection:
        record_posted_many(connection, target, results, run_id)
        record(connection, *events)
