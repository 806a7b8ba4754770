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
    Float,
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


# pending: claimed by a posting run (the call may be in flight, or its outcome is not known yet);
# posted: the ledger holds it; failed: the ledger rejected it (with its reason); flagged: held for review.
POSTING_STATUSES = ("pending", "posted", "failed", "flagged")
POSTING_KINDS = ("journal", "bill")

metadata = MetaData()

# One row per posting key and ledger organisation: the source of truth for what reached the ledger. A row
# is written (claimed) before anything is sent, so a crash at any line leaves evidence to resolve.
posting_ledger = Table(
    "posting_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("posting_key", String(100), nullable=False),
    Column("source_system", String(32), nullable=False),
    Column("source_ids", JSON, nullable=False),  # the source records this posting carries
    Column("source_version", String(64), nullable=False),  # a digest of source_versions, for display
    Column("source_versions", JSON),  # {source id: version} of every record the posting carries
    Column("month", String(7), nullable=False),  # YYYY-MM partition
    Column("ledger_system", String(32), nullable=False),
    Column("ledger_org", String(64), nullable=False, default=""),  # the ledger organisation (realm, tenant)
    Column("kind", String(16)),  # journal or bill (NULL on rows older than migration 0005)
    Column("ledger_entity_id", String(64)),
    Column("ledger_number", String(64)),
    Column("ledger_url", Text),
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("run_id", String(64)),
    Column("claim_owner", String(64)),  # the month lease holder that claimed it (see month_leases)
    Column("amount", String(40)),  # signed net of the records (Decimal as text: exact on every backend)
    Column("currency", String(3)),
    Column("payload_hash", String(64)),
    # What the ledger answered when it saved the entry (or when we last read it), for the tie-out and drift:
    # the lines as LedgerLine dicts, and the ledger's own modification time and total.
    Column("saved_lines", JSON),
    Column("ledger_modified_at", String(64)),
    Column("ledger_total", String(40)),
    Column("posted_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now),
    CheckConstraint("status IN ('pending', 'posted', 'failed', 'flagged')", name="posting_status_known"),
    UniqueConstraint("ledger_system", "ledger_org", "posting_key", name="uq_posting_ledger_key"),
    Index("ix_posting_ledger_month_status", "month", "status"),
)

# Which posting carries each source record, per ledger organisation: a record is carried by at most one
# live posting (pending or posted), whatever the posting mode grouped it into. The unique constraint is
# what makes "posted once" a property of the store rather than of the code that drafts.
posting_records = Table(
    "posting_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ledger_system", String(32), nullable=False),
    Column("ledger_org", String(64), nullable=False),
    Column("source_system", String(32), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("source_version", String(64), nullable=False),
    Column("posting_key", String(100), nullable=False),
    Column("month", String(7), nullable=False),
    Column("amount", String(40)),  # the record's signed amount, in `currency`
    Column("currency", String(3)),
    UniqueConstraint("ledger_system", "ledger_org", "source_system", "source_id", name="uq_posting_records_source"),
    Index("ix_posting_records_key", "ledger_system", "ledger_org", "posting_key"),
    Index("ix_posting_records_month", "ledger_system", "ledger_org", "month"),
)

# One posting run per ledger organisation and month at a time, whoever launched it. The holder renews
# `expires_at` while it runs; a row whose expiry has passed belongs to a dead run.
month_leases = Table(
    "month_leases",
    metadata,
    Column("ledger_system", String(32), primary_key=True),
    Column("ledger_org", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("owner", String(64), nullable=False),  # a token unique to the holding run
    Column("run_id", String(64)),
    Column("launched_by", String(64)),  # cli, dagster, sensor, schedule, backfill, replay
    Column("host", String(255)),
    Column("pid", Integer),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_month_leases_owner", "owner"),
)

# A rate budget per (system, organisation) shared by every process: the start times of the last window's
# requests, in seconds since the epoch (wall clock: every process agrees).
rate_budgets = Table(
    "rate_budgets",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("budget_key", String(128), primary_key=True),
    Column("recent", JSON, nullable=False),
    Column("paused_until", Float, nullable=False, default=0.0),
)

# Every receipt a posted bill owes, each on its own row until it is attached (or refused for a reason).
receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ledger_system", String(32), nullable=False),
    Column("ledger_org", String(64), nullable=False),
    Column("posting_key", String(100), nullable=False),
    Column("month", String(7), nullable=False),
    Column("source_system", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("url_digest", String(64), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # owed, uncertain, attached, failed, refused
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now),
    CheckConstraint("status IN ('owed', 'uncertain', 'attached', 'failed', 'refused')", name="receipt_status_known"),
    UniqueConstraint("ledger_system", "ledger_org", "posting_key", "url_digest", name="uq_receipts_url"),
    Index("ix_receipts_month", "ledger_system", "ledger_org", "month", "status"),
)

# A vendor being created in a ledger: claimed first, so two runs never create one vendor twice.
vendor_claims = Table(
    "vendor_claims",
    metadata,
    Column("ledger_system", String(32), primary_key=True),
    Column("ledger_org", String(64), primary_key=True),
    Column("name_key", String(255), primary_key=True),  # the name as the ledger compares it
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # creating, created
    Column("vendor_id", String(64)),
    Column("owner", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("role", String(16)),  # "employee": the vendor reimburses a person; empty: a supplier
)

# What the Dagster shell keeps between steps (records, reference data, month plans), in the store rather
# than pickled on a local disk: any run worker on any machine reads it, and no personal data sits in
# DAGSTER_HOME. One value per asset and partition; the newest materialisation wins.
asset_values = Table(
    "asset_values",
    metadata,
    Column("asset_key", String(255), primary_key=True),
    Column("partition_key", String(64), primary_key=True),  # "" for an unpartitioned asset
    Column("format", String(32), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("run_id", String(64)),
    Column("stored_at", UtcDateTime, nullable=False),
)

# Reference data that changes slowly (accounts, tags, currencies), cached between runs for a short while.
reference_cache = Table(
    "reference_cache",
    metadata,
    Column("ledger_system", String(32), primary_key=True),
    Column("ledger_org", String(64), primary_key=True),
    Column("part", String(32), primary_key=True),
    Column("payload", JSON, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
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
    Column("month", String(7)),  # the partition the event affects, when known (the first of `months`)
    Column("received_at", UtcDateTime, nullable=False, default=utc_now),
    Column("processed_at", UtcDateTime),  # when the sensor handled it; NULL while it waits
    Column("handled_run_key", String(255)),  # the run key of the sensor tick that took it
    Column("months", JSON),  # every month partition it affects, once handled ([] for none)
    Column("handled_note", Text),  # why a handled event affects no month (not posted, not found, ...)
    Index("ix_webhook_inbox_processed_at", "processed_at", "id"),
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
    Column("access_token_ciphertext", LargeBinary),  # unused since 0005: see `sealed`
    # The whole token state (access token, api_domain, expiry, a rotated refresh token) in one authenticated,
    # encrypted blob, so editing the row cannot send a token elsewhere or swap in another one.
    Column("sealed", LargeBinary),
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
