"""The webhook inbox: each verified event stored once, keyed by its Webhook-Id, until a sensor handles it.

Any number of receivers write to one store: `INSERT ... ON CONFLICT (event_id) DO NOTHING` makes the
first insert of an id win and every retry or replay a no-op, on SQLite and PostgreSQL alike. A replay
with the same id and a different body keeps the first body (only Brex can sign either, and Svix sends the
same body on every retry).

For the sensor: `unhandled_events` reads what waits, in id order; `mark_handled` records, for each event,
when it was handled, the run key of the tick that took it, every month it affects (or why none). Ids are
allocated at insert and concurrent receivers can commit them out of order, so an event can appear
*behind* a cursor taken from the last id seen: `processed_at IS NULL` is the state to trust, and a
cursor (`after_id`) is only an optimisation that must lag (e.g. the oldest id still unhandled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ml_connector.errors import ConfigError
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import utc_now, webhook_inbox

BREX = "brex"
UPDATE_CHUNK = 500


@dataclass(frozen=True)
class InboxEvent:
    id: int  # the row id: increasing in insert order
    event_id: str  # the Webhook-Id
    source_system: str
    event_type: str
    payload: dict
    received_at: datetime
    processed_at: datetime | None
    handled_run_key: str | None
    months: list[str] | None  # None until handled
    handled_note: str | None

    @property
    def is_handled(self) -> bool:
        return self.processed_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "event_id": self.event_id, "source_system": self.source_system,
                "event_type": self.event_type, "payload": self.payload,
                "received_at": self.received_at.isoformat(),
                "processed_at": self.processed_at.isoformat() if self.processed_at else None,
                "handled_run_key": self.handled_run_key, "months": self.months, "handled_note": self.handled_note}


def _event(row: sa.Row) -> InboxEvent:
    m = row._mapping
    return InboxEvent(id=m["id"], event_id=m["event_id"], source_system=m["source_system"],
                      event_type=m["event_type"], payload=m["payload"], received_at=m["received_at"],
                      processed_at=m["processed_at"], handled_run_key=m["handled_run_key"], months=m["months"],
                      handled_note=m["handled_note"])


def _insert_once(engine: Engine, values: dict[str, Any]):
    dialect = engine.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(webhook_inbox)
    elif dialect == "sqlite":
        statement = sqlite.insert(webhook_inbox)
    else:
        raise ConfigError(f"the webhook inbox supports SQLite and PostgreSQL, not {dialect}.",
                          setting="ML_CONNECTOR_DATABASE_URL", fix="use a postgresql:// URL, or unset it for SQLite")
    return (statement.values(**values).on_conflict_do_nothing(index_elements=["event_id"])
            .returning(webhook_inbox.c.id))


def insert_event(engine: Engine, event_id: str, event_type: str, payload: dict, *, source_system: str = BREX,
                 received_at: datetime | None = None) -> bool:
    """Store an event unless its id is already there. True when this call stored it."""
    values = {"event_id": event_id, "source_system": source_system, "event_type": event_type[:64],
              "payload": payload, "received_at": received_at or utc_now()}
    with engine.begin() as connection:
        return connection.execute(_insert_once(engine, values)).first() is not None


def unhandled_events(engine: Engine, *, after_id: int = 0, limit: int = 500,
                     source_system: str = BREX) -> list[InboxEvent]:
    """Events not yet handled with a row id above `after_id`, oldest first (see the module note on cursors)."""
    statement = (sa.select(webhook_inbox)
                 .where(webhook_inbox.c.processed_at.is_(None), webhook_inbox.c.id > after_id,
                        webhook_inbox.c.source_system == source_system)
                 .order_by(webhook_inbox.c.id).limit(limit))
    with engine.connect() as connection:
        return [_event(row) for row in connection.execute(statement)]


def mark_handled(engine: Engine, event_ids: Iterable[str], *, run_key: str | None,
                 months: Mapping[str, Sequence[str]] | None = None,
                 notes: Mapping[str, str] | None = None) -> int:
    """Mark events handled by the tick whose run key is `run_key` (None when it requested no run), with the
    months each affects (`months[event_id]`, default none) and why it affects none (`notes[event_id]`).
    Events already handled are left as they are, so a repeated tick changes nothing. Returns how many
    events this call marked."""
    months, notes = months or {}, notes or {}
    ids = list(dict.fromkeys(event_ids))
    now = utc_now()
    column = webhook_inbox.c
    statement = (sa.update(webhook_inbox)
                 .where(column.event_id == sa.bindparam("b_event_id"), column.processed_at.is_(None))
                 .values(processed_at=now, handled_run_key=run_key, months=sa.bindparam("b_months"),
                         month=sa.bindparam("b_month"), handled_note=sa.bindparam("b_note")))
    marked = 0
    # Counted, then written: on SQLite the write lock is taken at BEGIN, or a receiver inserting at the same
    # moment makes the upgrade from read to write fail at once ("database is locked").
    with write_transaction(engine) as connection:
        for start in range(0, len(ids), UPDATE_CHUNK):
            chunk = ids[start:start + UPDATE_CHUNK]
            # Counted first: executemany row counts are not reliable on every driver.
            marked += connection.execute(sa.select(sa.func.count()).select_from(webhook_inbox).where(
                column.event_id.in_(chunk), column.processed_at.is_(None))).scalar_one()
            rows = []
            for event_id in chunk:
                event_months = sorted(set(months.get(event_id, ())))
                rows.append({"b_event_id": event_id, "b_months": event_months,
                             "b_month": event_months[0] if event_months else None,
                             "b_note": notes.get(event_id)})
            if rows:
                connection.execute(statement, rows)
    return marked


def list_events(engine: Engine, *, month: str | None = None, unhandled_only: bool = False,
                limit: int = 100) -> list[InboxEvent]:
    """The newest events first, for the command line. `month` keeps events handled for that month."""
    statement = sa.select(webhook_inbox).order_by(webhook_inbox.c.id.desc())
    if unhandled_only:
        statement = statement.where(webhook_inbox.c.processed_at.is_(None))
    if month:
        # `month` holds the first of `months`; an event of several months is found by reading `months`.
        statement = statement.where(webhook_inbox.c.months.is_not(None))
    events: list[InboxEvent] = []
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=500).execute(statement):
            event = _event(row)
            if month and month not in (event.months or []):
                continue
            events.append(event)
            if len(events) >= limit:
                break
    return events


@dataclass(frozen=True)
class Backlog:
    unhandled: int
    newest_received_at: datetime | None


def backlog(engine: Engine) -> Backlog:
    """How many events wait for the sensor, and when the newest event arrived (for /metrics)."""
    with engine.connect() as connection:
        unhandled = connection.execute(sa.select(sa.func.count()).select_from(webhook_inbox).where(
            webhook_inbox.c.processed_at.is_(None))).scalar_one()
        newest = connection.execute(sa.select(webhook_inbox.c.received_at).order_by(
            webhook_inbox.c.id.desc()).limit(1)).scalar()
    return Backlog(unhandled, newest)


def ping(engine: Engine) -> None:
    """Raises when the store cannot be reached."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
