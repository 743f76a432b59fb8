"""governance: governance requests (protected-path patches awaiting a human decision)

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0005"
down_revision = "0001"
branch_labels = ("governance",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "governance_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("phase_id", sa.String(length=128), nullable=False),
        sa.Column("requested_paths", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("auto_approved", sa.Boolean(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("patch_content", sa.Text(), nullable=True),
        sa.Column("patch_sha256", sa.String(length=64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("apply_error", sa.Text(), nullable=True),
        sa.Column("workspace_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("allowed_paths", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_governance_requests_run_id_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_governance_requests_request_id")),
    )
    with op.batch_alter_table("governance_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_governance_requests_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_governance_requests_approved_created_at", ["approved", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("governance_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_governance_requests_approved_created_at")
        batch_op.drop_index(batch_op.f("ix_governance_requests_run_id"))
    op.drop_table("governance_requests")
