"""The connector store's tables, in SQLAlchemy Core. Alembic migrations create and upgrade them.

The posting ledger is the source of truth for what was posted; the audit trail is append-only (the
database refuses updates and deletes, see the first migration); credentials and tokens are encrypted
by the vault before they reach these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator):
    """Timestamps that always carry a zone: stored as UTC, read back as aware UTC (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps stored by the connector must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


POSTING_STATUSES = ("pending", "posted", "failed", "flagged")

metadata = MetaData()

posting_ledger = Table(
    "posting_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("posting_key", String(100), nullable=False, unique=True),
    Column("source_system", String(32), nullable=False),
    Column("source_ids", JSON, nullable=False),  # the source records this posting carries
    Column("source_version", String(64), nullable=False),  # a digest of source_versions, for display
    Column("source_versions", JSON),  # {source id: version} of every record the posting carries
    Column("month", String(7), nullable=False),  # YYYY-MM partition
    Column("ledger_system", String(32), nullable=False),
    Column("ledger_entity_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("run_id", String(64)),
    Column("amount", String(40)),  # Decimal as text: exact on every backend
    Column("currency", String(3)),
    Column("payload_hash", String(64)),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now),
    CheckConstraint("status IN ('pending', 'posted', 'failed', 'flagged')", name="posting_status_known"),
    Index("ix_posting_ledger_month_status", "month", "status"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime, nullable=False, default=utc_now),
    Column("actor", String(64), nullable=False),  # "dagster", "cli", "webhook-receiver"
    Column("action", String(64), nullable=False),  # "fetch", "map", "post.attempt", "credentials.set", ...
    Column("outcome", String(32), nullable=False),  # "ok", "failed", "uncertain", "skipped", ...
    Column("run_id", String(64)),
    Column("month", String(7)),
    Column("posting_key", String(100)),
    Column("source_system", String(32)),
    Column("source_id", String(128)),
    Column("ledger_entity_id", String(64)),
    Column("request_id", String(128)),
    Column("detail", JSON),
    Index("ix_audit_events_posting_key", "posting_key"),
    Index("ix_audit_events_month", "month"),
)

webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("source_system", String(32), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("month", String(7)),  # the partition the event affects, when known
    Column("received_at", UtcDateTime, nullable=False, default=utc_now),
    Column("processed_at", UtcDateTime),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now),
    UniqueConstraint("system", "name", name="uq_credentials_system_name"),
)

token_state = Table(
    "token_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("account", String(128), nullable=False),  # e.g. the OAuth client id: whose token this is
    Column("access_token_ciphertext", LargeBinary),
    Column("api_domain", String(255)),
    Column("expires_at", UtcDateTime),
    Column("refreshed_at", UtcDateTime),
    Column("refresh_count", Integer, nullable=False, default=0),
    # A refresh lease: only the holder refreshes, so the vendor's refresh cap is never hit.
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UtcDateTime),
    UniqueConstraint("system", "account", name="uq_token_state_system_account"),
)

# What mapping decided for each source record: drafted under a posting key, or an exception with a
# reason. With the posting ledger it answers "posted, pending or flagged, and why" for every record.
record_outcomes = Table(
    "record_outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False),
    Column("source_system", String(32), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("parent_id", String(128)),
    Column("source_version", String(64), nullable=False),
    Column("record_date", Date, nullable=False),
    Column("amount", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason_code", String(40)),
    Column("reason", Text),
    Column("posting_key", String(100)),
    Column("run_id", String(64)),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now),
    UniqueConstraint("source_system", "source_id", name="uq_record_outcomes_source"),
    CheckConstraint("outcome IN ('drafted', 'exception')", name="record_outcome_known"),
    Index("ix_record_outcomes_month", "month", "source_system"),
)
