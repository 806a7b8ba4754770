"""The audit trail: who did what, in which run, to which record, with which result. Append-only.

Details pass through `redact` before they are stored, so a careless caller cannot write a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_connector.redact import redact
from ml_connector.store.schema import audit_events, utc_now


@dataclass(frozen=True)
class AuditEvent:
    actor: str
    action: str
    outcome: str
    run_id: str | None = None
    month: str | None = None
    posting_key: str | None = None
    source_system: str | None = None
    source_id: str | None = None
    ledger_entity_id: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"occurred_at": utc_now(), "actor": self.actor, "action": self.action, "outcome": self.outcome,
                "run_id": self.run_id, "month": self.month, "posting_key": self.posting_key,
                "source_system": self.source_system, "source_id": self.source_id,
                "ledger_entity_id": self.ledger_entity_id, "request_id": self.request_id,
                "detail": redact(self.detail)}


def record(target: Engine | Connection, *events: AuditEvent) -> None:
    """Append events; inside the caller's transaction when given a Connection."""
    if not events:
        return
    rows = [event.row() for event in events]
    if isinstance(target, Engine):
        with target.begin() as connection:
            connection.execute(audit_events.insert(), rows)
    else:
        target.execute(audit_events.insert(), rows)


def query(engine: Engine, *, month: str | None = None, posting_key: str | None = None,
          action_prefix: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Events oldest first, filtered by month, posting key and action prefix."""
    statement = sa.select(audit_events).order_by(audit_events.c.id)
    if month:
        statement = statement.where(audit_events.c.month == month)
    if posting_key:
        statement = statement.where(audit_events.c.posting_key == posting_key)
    if action_prefix:
        statement = statement.where(audit_events.c.action.startswith(action_prefix))
    if limit:
        statement = statement.limit(limit)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]
