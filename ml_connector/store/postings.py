"""The posting ledger: one row per posting key and ledger organisation, claimed before anything is sent.

`claim` is the heart of exactly-once. In one transaction it either writes a new row (status pending, the
claiming run's lease owner, attempt 0) together with one `posting_records` row per source record the entry
carries, or reports why it may not: the entry is already posted or held, another live run holds it, or a
record it carries is already carried by another posting (a different grouping of the same records). A
pending row whose owner's lease has expired belongs to a dead run: it is taken over, and the caller must
search the ledger for the key before sending anything again. A posting run claims a chunk of entries in one
transaction, and writes results many at a time (`store.posting_batches`, which says why both stay exactly-once).

Every write names the ledger organisation, so keys are unique per (ledger system, organisation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.store.db import write_transaction
from ml_connector.store.leases import live_owners
from ml_connector.store.schema import POSTING_STATUSES, posting_ledger, posting_records, utc_now
from ml_connector.store.sql import chunks, for_update
from ml_connector.store.target import LedgerTarget

ClaimOutcome = Literal["claimed", "resumed", "posted", "flagged", "busy", "conflict"]


@dataclass(frozen=True)
class Posting:
    """What the posting ledger records about one entry before it is sent."""

    posting_key: str
    kind: str  # journal or bill
    source_system: str
    source_ids: tuple[str, ...]
    source_versions: tuple[str, ...]
    month: str
    amount: Decimal  # signed net of the records
    currency: str
    record_amounts: tuple[Decimal, ...] = ()  # each record's signed amount, in source_ids order


@dataclass(frozen=True)
class Conflict:
    """A record this entry carries that another live posting already carries."""

    source_id: str
    posting_key: str
    status: str
    same_version: bool


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    row: dict[str, Any] | None = None
    conflicts: tuple[Conflict, ...] = field(default_factory=tuple)

    @property
    def may_send(self) -> bool:
        return self.outcome in ("claimed", "resumed")

    @property
    def must_search_first(self) -> bool:
        """A row left by an earlier attempt (dead run, rejection, lost answer): the entry may have landed."""
        return self.outcome == "resumed"


def _where(target: LedgerTarget, posting_key: str | None = None):
    clause = (posting_ledger.c.ledger_system == target.system) & (posting_ledger.c.ledger_org == target.org)
    if posting_key is not None:
        clause = clause & (posting_ledger.c.posting_key == posting_key)
    return clause


def versions_digest(source_versions: tuple[str, ...] | list[str]) -> str:
    return hashlib.sha256(",".join(source_versions).encode()).hexdigest()[:16]


def adopt_legacy_rows(engine: Engine, target: LedgerTarget) -> int:
    """Rows written before keys were kept per organisation (migration 0005) name no organisation: the first
    run that knows its organisation adopts them, so their entries stay recognised as posted."""
    with write_transaction(engine) as connection:
        adopted = connection.execute(posting_ledger.update().where(
            (posting_ledger.c.ledger_system == target.system) & (posting_ledger.c.ledger_org == ""))
            .values(ledger_org=target.org)).rowcount
        connection.execute(posting_records.update().where(
            (posting_records.c.ledger_system == target.system) & (posting_records.c.ledger_org == ""))
            .values(ledger_org=target.org))
    return adopted


# -- claiming ------------------------------------------------------------------------------------


def claim(engine: Engine, target: LedgerTarget, posting: Posting, *, owner: str, run_id: str | None) -> Claim:
    """Claim `posting` for the run whose lease owner is `owner` (see the module docstring). Many at once:
    `store.posting_batches.claim_many`."""
    with write_transaction(engine) as connection:
        return claim_in(connection, target, posting, owner=owner, run_id=run_id)


def claim_in(connection: Connection, target: LedgerTarget, posting: Posting, *, owner: str,
             run_id: str | None) -> Claim:
    """`claim`, inside the caller's write transaction."""
    row = _locked_row(connection, target, posting.posting_key)
    if row is None:
        try:
            with connection.begin_nested():
                _insert(connection, target, posting, owner=owner, run_id=run_id)
                _carry(connection, target, posting)
            return Claim("claimed", _row(connection, target, posting.posting_key))
        except sa.exc.IntegrityError:
            row = _row(connection, target, posting.posting_key)
            if row is None:  # the key is free: one of its records is carried by another posting
                return Claim("conflict", None, tuple(_conflicts(connection, target, posting)))
    return claim_existing(connection, target, posting, row, owner=owner, run_id=run_id)


def claim_existing(connection: Connection, target: LedgerTarget, posting: Posting, row: dict, *, owner: str,
                   run_id: str | None, live: set[str] | None = None) -> Claim:
    """The claim of a key that already has a row (locked by the caller); `live`: the lease owners known alive,
    when the caller asked for many at once."""
    status = row["status"]
    if status == "posted":
        return Claim("posted", row)
    if status == "flagged":
        return Claim("flagged", row)
    holder = row["claim_owner"]
    if status == "pending" and holder not in (None, owner) \
            and (holder in live if live is not None else live_owners(connection, {holder})):
        return Claim("busy", row)
    # A pending row of a dead run (or of this run, from an earlier round), or a rejected one: take it.
    if status == "failed":
        try:
            with connection.begin_nested():
                _carry(connection, target, posting)
        except sa.exc.IntegrityError:
            return Claim("conflict", row, tuple(_conflicts(connection, target, posting)))
    connection.execute(posting_ledger.update().where(_where(target, posting.posting_key)).values(
        status="pending", claim_owner=owner, run_id=run_id, kind=posting.kind, updated_at=utc_now()))
    return Claim("resumed", _row(connection, target, posting.posting_key))


def _locked_row(connection: Connection, target: LedgerTarget, posting_key: str) -> dict | None:
    found = connection.execute(for_update(sa.select(posting_ledger).where(_where(target, posting_key)),
                                          connection)).first()
    return dict(found._mapping) if found else None


def _row(connection: Connection, target: LedgerTarget, posting_key: str) -> dict | None:
    found = connection.execute(sa.select(posting_ledger).where(_where(target, posting_key))).first()
    return dict(found._mapping) if found else None


def ledger_row(target: LedgerTarget, posting: Posting, *, owner: str | None, run_id: str | None,
               status: str = "pending", error: str | None = None, now=None) -> dict[str, Any]:
    """The posting ledger's row for a new claim (or a new flagged entry)."""
    now = now or utc_now()
    return dict(
        posting_key=posting.posting_key, kind=posting.kind, source_system=posting.source_system,
        source_ids=list(posting.source_ids), source_version=versions_digest(posting.source_versions),
        source_versions=dict(zip(posting.source_ids, posting.source_versions, strict=True)), month=posting.month,
        ledger_system=target.system, ledger_org=target.org, status=status, attempt_count=0, run_id=run_id,
        claim_owner=owner, amount=str(posting.amount), currency=posting.currency, last_error=error,
        created_at=now, updated_at=now)


def record_rows(target: LedgerTarget, posting: Posting) -> list[dict[str, Any]]:
    """One posting_records row per record the entry carries."""
    amounts = posting.record_amounts or (None,) * len(posting.source_ids)
    return [{"ledger_system": target.system, "ledger_org": target.org, "source_system": posting.source_system,
             "source_id": source_id, "source_version": version, "posting_key": posting.posting_key,
             "month": posting.month, "amount": None if amount is None else str(amount), "currency": posting.currency}
            for source_id, version, amount in zip(posting.source_ids, posting.source_versions, amounts, strict=True)]


def _insert(connection: Connection, target: LedgerTarget, posting: Posting, *, owner: str | None,
            run_id: str | None, status: str = "pending", error: str | None = None) -> None:
    connection.execute(posting_ledger.insert().values(
        **ledger_row(target, posting, owner=owner, run_id=run_id, status=status, error=error)))


def _carry(connection: Connection, target: LedgerTarget, posting: Posting) -> None:
    """One posting_records row per record: fails (IntegrityError) if another posting carries one of them."""
    connection.execute(posting_records.insert(), record_rows(target, posting))


def _release(connection: Connection, target: LedgerTarget, posting_key: str) -> None:
    connection.execute(posting_records.delete().where(
        (posting_records.c.ledger_system == target.system) & (posting_records.c.ledger_org == target.org)
        & (posting_records.c.posting_key == posting_key)))


def _conflicts(connection: Connection, target: LedgerTarget, posting: Posting) -> list[Conflict]:
    wanted = dict(zip(posting.source_ids, posting.source_versions, strict=True))
    rows = connection.execute(
        sa.select(posting_records.c.source_id, posting_records.c.source_version, posting_records.c.posting_key,
                  posting_ledger.c.status)
        .join(posting_ledger, (posting_ledger.c.posting_key == posting_records.c.posting_key)
              & (posting_ledger.c.ledger_system == posting_records.c.ledger_system)
              & (posting_ledger.c.ledger_org == posting_records.c.ledger_org))
        .where((posting_records.c.ledger_system == target.system) & (posting_records.c.ledger_org == target.org)
               & (posting_records.c.source_system == posting.source_system)
               & posting_records.c.source_id.in_(list(wanted))))
    return [Conflict(r.source_id, r.posting_key, r.status, r.source_version == wanted[r.source_id]) for r in rows]


def take_over(engine: Engine, target: LedgerTarget, posting_key: str, *, owner: str,
              run_id: str | None) -> dict | None:
    """Take a pending row whose claiming run is dead; None when a live run still holds it."""
    with write_transaction(engine) as connection:
        row = _locked_row(connection, target, posting_key)
        if row is None or row["status"] != "pending":
            return None
        if row["claim_owner"] not in (None, owner) and live_owners(connection, {row["claim_owner"]}):
            return None
        connection.execute(posting_ledger.update().where(_where(target, posting_key)).values(
            claim_owner=owner, run_id=run_id, updated_at=utc_now()))
        return row


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """What the ledger said about a posted entry."""

    ledger_entity_id: str
    ledger_number: str | None = None
    url: str | None = None
    lines: list[dict] | None = None  # LedgerLine dicts as the ledger saved them
    modified_at: str | None = None
    total: str | None = None


def record_posted(connection: Connection, target: LedgerTarget, posting_key: str, saved: Saved,
                  run_id: str | None) -> None:
    values: dict[str, Any] = {"status": "posted", "ledger_entity_id": saved.ledger_entity_id,
                              "ledger_number": saved.ledger_number, "ledger_url": saved.url, "last_error": None,
                              "claim_owner": None, "posted_at": utc_now(), "updated_at": utc_now()}
    if run_id is not None:
        values["run_id"] = run_id
    if saved.lines is not None:
        values.update(saved_lines=saved.lines, ledger_modified_at=saved.modified_at, ledger_total=saved.total)
    connection.execute(posting_ledger.update().where(_where(target, posting_key)).values(**values))


def record_rejected(connection: Connection, target: LedgerTarget, posting_key: str, reason: str,
                    run_id: str | None) -> None:
    """The ledger refused the entry: nothing landed, so its records are free for a corrected entry."""
    connection.execute(posting_ledger.update().where(_where(target, posting_key)).values(
        status="failed", last_error=reason, claim_owner=None, run_id=run_id, updated_at=utc_now()))
    _release(connection, target, posting_key)


def record_unresolved(connection: Connection, target: LedgerTarget, posting_key: str, reason: str) -> None:
    """The outcome is still unknown: the row stays pending (and its records carried) until a search settles it."""
    connection.execute(posting_ledger.update().where(_where(target, posting_key)).values(
        last_error=reason, updated_at=utc_now()))


def flag(connection: Connection, target: LedgerTarget, posting: Posting, run_id: str | None, reason: str) -> None:
    """Hold an entry for review (a record changed after it was posted elsewhere). Never posted by us."""
    if _row(connection, target, posting.posting_key) is None:
        _insert(connection, target, posting, owner=None, run_id=run_id, status="flagged", error=reason)
    else:
        connection.execute(posting_ledger.update().where(_where(target, posting.posting_key)).values(
            status="flagged", last_error=reason, claim_owner=None, run_id=run_id, updated_at=utc_now()))


def record_readback(connection: Connection, target: LedgerTarget, posting_key: str, saved: Saved) -> None:
    """What a read of the ledger showed for a posted entry (lines, modification time, total)."""
    connection.execute(posting_ledger.update().where(_where(target, posting_key)).values(
        saved_lines=saved.lines, ledger_modified_at=saved.modified_at, ledger_total=saved.total,
        updated_at=utc_now()))


# -- reads ---------------------------------------------------------------------------------------


def rows_for_keys(engine: Engine, target: LedgerTarget, posting_keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for chunk in chunks(sorted(set(posting_keys))):
            for row in connection.execute(sa.select(posting_ledger).where(
                    _where(target) & posting_ledger.c.posting_key.in_(list(chunk)))):
                found[row.posting_key] = dict(row._mapping)
    return found


def month_rows(engine: Engine, target: LedgerTarget, month: str) -> list[dict[str, Any]]:
    statement = (sa.select(posting_ledger).where(_where(target) & (posting_ledger.c.month == month))
                 .order_by(posting_ledger.c.posting_key))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(POSTING_STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1
    return counts
