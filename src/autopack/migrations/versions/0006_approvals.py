"""approvals: approval_requests, the Telegram outbox and handled updates

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0006"
down_revision = "0001"
branch_labels = ("approvals",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _approval_requests() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("phase_id", sa.String(length=128), nullable=False),
        sa.Column("context", sa.String(length=128), nullable=False),
        sa.Column("decision_info", JSON, nullable=True),
        sa.Column("deletion_info", JSON, nullable=True),
        sa.Column("patch_preview", sa.Text(), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("responded_at", TS, nullable=True),
        sa.Column("timeout_at", TS, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_method", sa.String(length=16), nullable=True),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("telegram_message_id", sa.String(length=64), nullable=True),
        sa.Column("telegram_sent", sa.Boolean(), nullable=False),
        sa.Column("telegram_error", sa.Text(), nullable=True),
        sa.Column("notify_state", sa.String(length=16), nullable=False),
        sa.Column("notify_attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'timeout')",
                           name=op.f("ck_approval_requests_status")),
        sa.CheckConstraint("notify_state IN ('pending', 'sent', 'failed', 'skipped')",
                           name=op.f("ck_approval_requests_notify_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index("ix_approval_requests_status_timeout_at", ["status", "timeout_at"], unique=False)
        batch_op.create_index("ix_approval_requests_phase_id_status", ["phase_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_requests_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_requests_requested_at"), ["requested_at"], unique=False)


def _telegram() -> None:
    op.create_table(
        "telegram_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_markup", JSON, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claim_expires_at", TS, nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')",
                           name=op.f("ck_telegram_outbox_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_outbox")),
    )
    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_outbox_state_next_attempt_at", ["state", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_telegram_outbox_kind_ref_id", ["kind", "ref_id"], unique=False)

    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("callback_data", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_updates_received_at"), ["received_at"], unique=False)


def upgrade() -> None:
    _approval_requests()
    _telegram()


def downgrade() -> None:
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_updates_received_at"))
    op.drop_table("telegram_updates")
    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_outbox_kind_ref_id")
        batch_op.drop_index("ix_telegram_outbox_state_next_attempt_at")
    op.drop_table("telegram_outbox")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_requests_requested_at"))
        batch_op.drop_index(batch_op.f("ix_approval_requests_run_id"))
        batch_op.drop_index("ix_approval_requests_phase_id_status")
        batch_op.drop_index("ix_approval_requests_status_timeout_at")
    op.drop_table("approval_requests")
