"""governance: who raised a request (a user never decides a request that user raised)

Revision ID: 0015
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("governance_requests") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("governance_requests") as batch:
        batch.drop_column("requested_by")
