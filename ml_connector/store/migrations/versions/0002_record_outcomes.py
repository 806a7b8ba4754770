"""Record outcomes: what mapping decided for every source record of a month (drafted or held, and why).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ml_connector.store.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("source_system", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("parent_id", sa.String(128)),
        sa.Column("source_version", sa.String(64), nullable=False),
        sa.Column("record_date", sa.Date, nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(40)),
        sa.Column("reason", sa.Text),
        sa.Column("posting_key", sa.String(100)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("source_system", "source_id", name="uq_record_outcomes_source"),
        sa.CheckConstraint("outcome IN ('drafted', 'exception')", name="record_outcome_known"),
    )
    op.create_index("ix_record_outcomes_month", "record_outcomes", ["month", "source_system"])


def downgrade() -> None:
    op.drop_table("record_outcomes")
