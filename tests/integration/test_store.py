"""The connector store on SQLite and PostgreSQL: migrations, the ledger's uniqueness, the append-only audit."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ml_connector.store import audit, db
from ml_connector.store.schema import posting_ledger, webhook_inbox


def test_upgrade_creates_every_table_at_the_newest_revision(store_url):
    engine = db.create_store_engine(store_url)
    assert db.upgrade(engine) == db.head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"posting_ledger", "audit_events", "webhook_inbox", "credentials", "token_state"} <= tables
    assert db.current_revision(engine) == db.head_revision()


def test_upgrade_twice_changes_nothing(store_url):
    engine = db.create_store_engine(store_url)
    db.upgrade(engine)
    audit.record(engine, audit.AuditEvent(actor="test", action="fetch", outcome="ok"))
    db.upgrade(engine)
    assert len(audit.query(engine)) == 1


def _ledger_row(key: str, org: str = "org-1", system: str = "zoho_books") -> dict:
    now = datetime.now(UTC)
    return {"posting_key": key, "source_system": "brex", "source_ids": ["expense_1"], "source_version": "v1",
            "month": "2026-10", "ledger_system": system, "ledger_org": org, "status": "pending",
            "attempt_count": 0, "created_at": now, "updated_at": now}


def test_posting_key_is_unique_per_ledger_organisation(store_url):
    engine = db.open_store(store_url)
    with engine.begin() as connection:
        connection.execute(posting_ledger.insert().values(**_ledger_row("brex:expense_1:v1")))
        connection.execute(posting_ledger.insert().values(**_ledger_row("brex:expense_1:v1", org="org-2")))
        connection.execute(posting_ledger.insert().values(**_ledger_row("brex:expense_1:v1", system="quickbooks")))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(posting_ledger.insert().values(**_ledger_row("brex:expense_1:v1")))


def test_unknown_posting_status_is_refused(store_url):
    engine = db.open_store(store_url)
    row = _ledger_row("brex:expense_2:v1") | {"status": "maybe"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(posting_ledger.insert().values(**row))


def test_audit_events_cannot_be_changed_or_deleted(store_url):
    engine = db.open_store(store_url)
    audit.record(engine, audit.AuditEvent(actor="test", action="post.attempt", outcome="ok", posting_key="k1"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_events SET outcome = 'failed'"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events"))
    assert [e["outcome"] for e in audit.query(engine, posting_key="k1")] == ["ok"]


def test_audit_details_never_keep_secret_values(store_url):
    engine = db.open_store(store_url)
    audit.record(engine, audit.AuditEvent(actor="test", action="fetch", outcome="ok",
                                          detail={"url": "/v1/expenses", "access_token": "tok-123456789",
                                                  "headers": {"Authorization": "Bearer tok-123456789"}}))
    stored = audit.query(engine)[0]["detail"]
    assert "tok-123456789" not in str(stored)
    assert stored["url"] == "/v1/expenses"


def test_webhook_event_is_stored_once(store_url):
    engine = db.open_store(store_url)
    row = {"event_id": "msg_1", "source_system": "brex", "event_type": "EXPENSE_PAYMENT_UPDATED",
           "payload": {"expense_id": "expense_1"}, "received_at": datetime.now(UTC)}
    with engine.begin() as connection:
        connection.execute(webhook_inbox.insert().values(**row))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(webhook_inbox.insert().values(**row))


def test_timestamps_come_back_with_a_zone(store_url):
    engine = db.open_store(store_url)
    audit.record(engine, audit.AuditEvent(actor="test", action="fetch", outcome="ok"))
    assert audit.query(engine)[0]["occurred_at"].tzinfo is not None
