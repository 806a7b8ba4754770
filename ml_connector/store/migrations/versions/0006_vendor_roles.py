"""Vendor claims say whom a vendor pays: "employee" for a vendor created to reimburse a person (an Expensify
report billed to its employee), empty for a supplier. The vendor sync keeps employees out of Brex.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vendor_claims", sa.Column("role", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("vendor_claims") as batch:
        batch.drop_column("role")
