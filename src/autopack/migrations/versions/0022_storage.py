"""storage: scans, cleanup candidates, approval decisions, execution checkpoints, learned rules

Revision ID: 0022
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0022"
down_revision = "0001"
branch_labels = ("storage",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "storage_scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("scan_type", sa.String(length=20), nullable=False),
        sa.Column("scan_target", sa.Text(), nullable=False),
        sa.Column("max_depth", sa.Integer(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("total_items_scanned", sa.Integer(), nullable=False),
        sa.Column("total_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("cleanup_candidates_count", sa.Integer(), nullable=False),
        sa.Column("potential_savings_bytes", sa.BigInteger(), nullable=False),
        sa.Column("scan_duration_seconds", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("skipped_entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_scans")),
    )
    with op.batch_alter_table("storage_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storage_scans_timestamp"), ["timestamp"], unique=False)
        batch_op.create_index("ix_storage_scans_status_id", ["status", "id"], unique=False)
    op.create_table(
        "cleanup_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=True),
        sa.Column("last_modified", TS, nullable=True),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("approval_status", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("execution_status", sa.String(length=20), nullable=True),
        sa.Column("executed_at", TS, nullable=True),
        sa.Column("execution_error", sa.Text(), nullable=True),
        sa.Column("compressed", sa.Boolean(), nullable=False),
        sa.Column("compressed_path", sa.Text(), nullable=True),
        sa.Column("compression_ratio", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("compression_duration_seconds", sa.Integer(), nullable=True),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("is_folder", sa.Boolean(), nullable=False),
        sa.Column("trash_path", sa.Text(), nullable=True),
        sa.Column("restored_at", TS, nullable=True),
        _fk("cleanup_candidates", "scan_id", "storage_scans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleanup_candidates")),
    )
    with op.batch_alter_table("cleanup_candidates", schema=None) as batch_op:
        batch_op.create_index("ix_cleanup_candidates_scan_id_size_bytes", ["scan_id", "size_bytes"], unique=False)
    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=False),
        sa.Column("approved_at", TS, nullable=False),
        sa.Column("approval_method", sa.String(length=50), nullable=False),
        sa.Column("total_candidates", sa.Integer(), nullable=False),
        sa.Column("total_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("principal", sa.String(length=255), nullable=True),
        _fk("approval_decisions", "scan_id", "storage_scans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_decisions")),
    )
    with op.batch_alter_table("approval_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_decisions_scan_id"), ["scan_id"], unique=False)
    op.create_table(
        "execution_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("trash_path", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("timestamp", TS, nullable=False),
        _fk("execution_checkpoints", "scan_id", "storage_scans"),
        _fk("execution_checkpoints", "candidate_id", "cleanup_candidates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_checkpoints")),
    )
    with op.batch_alter_table("execution_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_execution_checkpoints_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_execution_checkpoints_scan_id"), ["scan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_execution_checkpoints_candidate_id"), ["candidate_id"], unique=False)
    op.create_table(
        "learned_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("pattern_type", sa.String(length=50), nullable=False),
        sa.Column("pattern_value", sa.Text(), nullable=False),
        sa.Column("suggested_category", sa.String(length=50), nullable=False),
        sa.Column("confidence_score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("based_on_approvals", sa.Integer(), nullable=False),
        sa.Column("based_on_rejections", sa.Integer(), nullable=False),
        sa.Column("sample_paths", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reviewed_by", sa.String(length=255), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("applied_to_policy_version", sa.String(length=50), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_rules")),
    )


def downgrade() -> None:
    op.drop_table("learned_rules")
    op.drop_table("execution_checkpoints")
    op.drop_table("approval_decisions")
    op.drop_table("cleanup_candidates")
    op.drop_table("storage_scans")
