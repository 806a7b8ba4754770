"""The webhook inbox, ready for the sensor: which run took each event, the months it affects, why it
affects none, and an index for the unhandled scan.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.add_column(sa.Column("handled_run_key", sa.String(255)))
        batch.add_column(sa.Column("months", sa.JSON))
        batch.add_column(sa.Column("handled_note", sa.Text))
    op.create_index("ix_webhook_inbox_processed_at", "webhook_inbox", ["processed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_inbox_processed_at", table_name="webhook_inbox")
    with op.batch_alter_table("webhook_inbox") as batch:
        batch.drop_column("handled_note")
        batch.drop_column("months")
        batch.drop_column("handled_run_key")
