"""Every source version of a posting, in full (a per-day journal carries many records).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posting_ledger") as batch:
        batch.add_column(sa.Column("source_versions", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("posting_ledger") as batch:
        batch.drop_column("source_versions")
