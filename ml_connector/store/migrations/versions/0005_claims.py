"""Exactly once across processes: posting keys unique per ledger organisation, the records each posting
carries (one live posting per record), month leases, a shared rate budget, receipts owed, vendor claims,
a reference-data cache, the values the Dagster shell keeps between steps, and the sealed token state.

Rows written before this revision keep their posting keys (a key is forever: nothing is reposted after an
upgrade). Their ledger organisation is unknown here, so it is left empty and adopted by the first run that
names its organisation (`store.postings.adopt_legacy_rows`).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from ml_connector.store.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LEDGER_COLUMNS = ("id", "posting_key", "source_system", "source_ids", "source_version", "source_versions", "month",
                   "ledger_system", "ledger_entity_id", "status", "attempt_count", "last_error", "run_id", "amount",
                   "currency", "payload_hash", "created_at", "updated_at")


def _posting_ledger(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("posting_key", sa.String(100), nullable=False),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("source_ids", sa.JSON, nullable=False),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("source_versions", sa.JSON),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("ledger_system", sa.String(32), nullable=False),
        sa.Column("ledger_org", sa.String(64), nullable=False, server_default=""),
        sa.Column("kind", sa.String(16)),
        sa.Column("ledger_entity_id", sa.String(64)),
        sa.Column("ledger_number", sa.String(64)),
        sa.Column("ledger_url", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("run_id", sa.String(64)),
        sa.Column("claim_owner", sa.String(64)),
        sa.Column("amount", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.Column("payload_hash", sa.String(64)),
        sa.Column("saved_lines", sa.JSON),
        sa.Column("ledger_modified_at", sa.String(64)),
        sa.Column("ledger_total", sa.String(40)),
        sa.Column("posted_at", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'posted', 'failed', 'flagged')",
                           name="posting_status_known"),
        sa.UniqueConstraint("ledger_system", "ledger_org", "posting_key", name="uq_posting_ledger_key"),
    )


def upgrade() -> None:
    # posting_ledger: the key becomes unique per ledger organisation. Rebuilt as a new table and copied,
    # the one way that drops the old single-column unique constraint on SQLite and PostgreSQL alike.
    _posting_ledger("posting_ledger_0005")
    columns = ", ".join(_LEDGER_COLUMNS)
    op.execute(f"INSERT INTO posting_ledger_0005 ({columns}, ledger_org) SELECT {columns}, '' FROM posting_ledger")
    op.drop_table("posting_ledger")
    op.rename_table("posting_ledger_0005", "posting_ledger")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('posting_ledger', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM posting_ledger), 0) + 1, false)")
    op.create_index("ix_posting_ledger_month_status", "posting_ledger", ["month", "status"])

    records = op.create_table(
        "posting_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ledger_system", sa.String(32), nullable=False),
        sa.Column("ledger_org", sa.String(64), nullable=False),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("posting_key", sa.String(100), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.UniqueConstraint("ledger_system", "ledger_org", "source_system", "source_id",
                            name="uq_posting_records_source"),
    )
    op.create_index("ix_posting_records_key", "posting_records", ["ledger_system", "ledger_org", "posting_key"])
    op.create_index("ix_posting_records_month", "posting_records", ["ledger_system", "ledger_org", "month"])
    _backfill_records(records)

    op.create_table(
        "month_leases",
        sa.Column("ledger_system", sa.String(32), primary_key=True),
        sa.Column("ledger_org", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("launched_by", sa.String(64)),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("acquired_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_month_leases_owner", "month_leases", ["owner"])

    op.create_table(
        "rate_budgets",
        sa.Column("system", sa.String(32), primary_key=True),
        sa.Column("budget_key", sa.String(128), primary_key=True),
        sa.Column("recent", sa.JSON, nullable=False),
        sa.Column("paused_until", sa.Float, nullable=False),
    )

    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ledger_system", sa.String(32), nullable=False),
        sa.Column("ledger_org", sa.String(64), nullable=False),
        sa.Column("posting_key", sa.String(100), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_digest", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("status IN ('owed', 'uncertain', 'attached', 'failed', 'refused')",
                           name="receipt_status_known"),
        sa.UniqueConstraint("ledger_system", "ledger_org", "posting_key", "url_digest", name="uq_receipts_url"),
    )
    op.create_index("ix_receipts_month", "receipts", ["ledger_system", "ledger_org", "month", "status"])

    op.create_table(
        "vendor_claims",
        sa.Column("ledger_system", sa.String(32), primary_key=True),
        sa.Column("ledger_org", sa.String(64), primary_key=True),
        sa.Column("name_key", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vendor_id", sa.String(64)),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "reference_cache",
        sa.Column("ledger_system", sa.String(32), primary_key=True),
        sa.Column("ledger_org", sa.String(64), primary_key=True),
        sa.Column("part", sa.String(32), primary_key=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("fetched_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "asset_values",
        sa.Column("asset_key", sa.String(255), primary_key=True),
        sa.Column("partition_key", sa.String(64), primary_key=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("stored_at", UtcDateTime, nullable=False),
    )

    with op.batch_alter_table("token_state") as batch:
        batch.add_column(sa.Column("sealed", sa.LargeBinary))
    # Token rows written before sealing are dropped: the next run refreshes once and seals the result.
    op.execute("UPDATE token_state SET access_token_ciphertext = NULL, api_domain = NULL, expires_at = NULL")


def _backfill_records(records: sa.Table) -> None:
    """The records each live posting carries, from its JSON columns; amounts from the record outcomes."""
    bind = op.get_bind()
    ledger = sa.table("posting_ledger", sa.column("posting_key"), sa.column("source_system"),
                      sa.column("source_ids", sa.JSON), sa.column("source_versions", sa.JSON), sa.column("month"),
                      sa.column("ledger_system"), sa.column("status"), sa.column("currency"), sa.column("id"))
    outcomes = sa.table("record_outcomes", sa.column("source_system"), sa.column("source_id"), sa.column("amount"),
                        sa.column("currency"))
    amounts = {(r.source_system, r.source_id): (r.amount, r.currency)
               for r in bind.execute(sa.select(outcomes.c.source_system, outcomes.c.source_id, outcomes.c.amount,
                                               outcomes.c.currency))}
    seen: set[tuple[str, str, str]] = set()
    rows = []
    # Posted rows first, so that where an earlier bug posted a record twice the posted row keeps it.
    statement = sa.select(ledger).where(ledger.c.status.in_(("posted", "pending"))).order_by(
        sa.case((ledger.c.status == "posted", 0), else_=1), ledger.c.id)
    for posting in bind.execute(statement):
        versions = posting.source_versions or {}
        for source_id in posting.source_ids or []:
            key = (posting.ledger_system, posting.source_system, source_id)
            if key in seen:
                continue
            seen.add(key)
            amount, currency = amounts.get((posting.source_system, source_id), (None, posting.currency))
            rows.append({"ledger_system": posting.ledger_system, "ledger_org": "",
                         "source_system": posting.source_system, "source_id": source_id,
                         "source_version": versions.get(source_id, ""), "posting_key": posting.posting_key,
                         "month": posting.month, "amount": amount, "currency": currency})
    for start in range(0, len(rows), 1000):
        op.bulk_insert(records, rows[start:start + 1000])


def downgrade() -> None:
    raise NotImplementedError("0005 cannot be undone: posting keys are unique per ledger organisation from here on")
