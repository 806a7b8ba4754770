"""The first store: posting ledger, audit events, webhook inbox, credentials, token state.

Written out in full rather than from `schema.metadata`, so that later changes to the schema module
land as new revisions and never rewrite this one.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from ml_connector.store.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY_SQLITE = """
CREATE TRIGGER audit_events_no_{op} BEFORE {OP} ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""

_APPEND_ONLY_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "posting_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("posting_key", sa.String(100), nullable=False, unique=True),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("source_ids", sa.JSON, nullable=False),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("ledger_system", sa.String(32), nullable=False),
        sa.Column("ledger_entity_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("run_id", sa.String(64)),
        sa.Column("amount", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'posted', 'failed', 'flagged')", name="posting_status_known"),
    )
    op.create_index("ix_posting_ledger_month_status", "posting_ledger", ["month", "status"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("month", sa.String(7)),
        sa.Column("posting_key", sa.String(100)),
        sa.Column("source_system", sa.String(32)),
        sa.Column("source_id", sa.String(128)),
        sa.Column("ledger_entity_id", sa.String(64)),
        sa.Column("request_id", sa.String(128)),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_audit_events_posting_key", "audit_events", ["posting_key"])
    op.create_index("ix_audit_events_month", "audit_events", ["month"])

    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("month", sa.String(7)),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("processed_at", UtcDateTime),
    )

    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("system", "name", name="uq_credentials_system_name"),
    )

    op.create_table(
        "token_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("access_token_ciphertext", sa.LargeBinary),
        sa.Column("api_domain", sa.String(255)),
        sa.Column("expires_at", UtcDateTime),
        sa.Column("refreshed_at", UtcDateTime),
        sa.Column("refresh_count", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", UtcDateTime),
        sa.UniqueConstraint("system", "account", name="uq_token_state_system_account"),
    )

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for kind in ("update", "delete"):
            op.execute(sa.text(_APPEND_ONLY_SQLITE.format(op=kind, OP=kind.upper())))
    elif bind.dialect.name == "postgresql":
        op.execute(sa.text(_APPEND_ONLY_POSTGRES_FUNCTION))
        op.execute(sa.text(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP FUNCTION IF EXISTS audit_events_append_only() CASCADE"))
    for name in ("token_state", "credentials", "webhook_inbox", "audit_events", "posting_ledger"):
        op.drop_table(name)
