"""dashboard: A/B test results, human notes, model overrides

Revision ID: 0011
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0011"
down_revision = "0001"
branch_labels = ("dashboard",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _run_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["runs.id"], ondelete=ondelete,
                                   name=op.f(f"fk_{table}_{column}_runs"))


def _ab_test_results() -> None:
    op.create_table(
        "ab_test_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("test_id", sa.String(length=128), nullable=False),
        sa.Column("control_run_id", sa.String(length=128), nullable=False),
        sa.Column("treatment_run_id", sa.String(length=128), nullable=False),
        sa.Column("control_commit_sha", sa.String(length=64), nullable=False),
        sa.Column("treatment_commit_sha", sa.String(length=64), nullable=False),
        sa.Column("control_model_hash", sa.String(length=128), nullable=False),
        sa.Column("treatment_model_hash", sa.String(length=128), nullable=False),
        sa.Column("is_valid", sa.Boolean(), nullable=False),
        sa.Column("validity_errors", JSON, nullable=True),
        sa.Column("validity_warnings", JSON, nullable=True),
        sa.Column("token_delta", sa.BigInteger(), nullable=True),
        sa.Column("time_delta_seconds", sa.Float(), nullable=True),
        sa.Column("success_rate_delta", sa.Float(), nullable=True),
        sa.Column("control_total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("control_phases_complete", sa.Integer(), nullable=True),
        sa.Column("control_phases_failed", sa.Integer(), nullable=True),
        sa.Column("control_total_phases", sa.Integer(), nullable=True),
        sa.Column("treatment_total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("treatment_phases_complete", sa.Integer(), nullable=True),
        sa.Column("treatment_phases_failed", sa.Integer(), nullable=True),
        sa.Column("treatment_total_phases", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        _run_fk("ab_test_results", "control_run_id", "CASCADE"),
        _run_fk("ab_test_results", "treatment_run_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_test_results")),
    )
    with op.batch_alter_table("ab_test_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ab_test_results_test_id"), ["test_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ab_test_results_control_run_id"), ["control_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ab_test_results_treatment_run_id"), ["treatment_run_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_ab_test_results_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_ab_test_results_is_valid_created_at", ["is_valid", "created_at"],
                              unique=False)


def _human_notes() -> None:
    op.create_table(
        "human_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        _run_fk("human_notes", "run_id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_notes")),
    )
    with op.batch_alter_table("human_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_human_notes_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_human_notes_created_at"), ["created_at"], unique=False)


def _model_overrides() -> None:
    op.create_table(
        "model_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=160), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("complexity", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "(scope = 'global' AND run_id IS NULL) OR (scope = 'run' AND run_id IS NOT NULL)",
            name=op.f("ck_model_overrides_scope_matches_run"),
        ),
        _run_fk("model_overrides", "run_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_overrides")),
        sa.UniqueConstraint("scope_key", "role", "category", "complexity",
                            name=op.f("uq_model_overrides_scope_key_role_category_complexity")),
    )
    with op.batch_alter_table("model_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_overrides_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_overrides_created_at"), ["created_at"], unique=False)


def upgrade() -> None:
    _ab_test_results()
    _human_notes()
    _model_overrides()


def downgrade() -> None:
    with op.batch_alter_table("model_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_overrides_created_at"))
        batch_op.drop_index(batch_op.f("ix_model_overrides_run_id"))
    op.drop_table("model_overrides")
    with op.batch_alter_table("human_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_human_notes_created_at"))
        batch_op.drop_index(batch_op.f("ix_human_notes_run_id"))
    op.drop_table("human_notes")
    with op.batch_alter_table("ab_test_results", schema=None) as batch_op:
        batch_op.drop_index("ix_ab_test_results_is_valid_created_at")
        batch_op.drop_index(batch_op.f("ix_ab_test_results_created_at"))
        batch_op.drop_index(batch_op.f("ix_ab_test_results_treatment_run_id"))
        batch_op.drop_index(batch_op.f("ix_ab_test_results_control_run_id"))
        batch_op.drop_index(batch_op.f("ix_ab_test_results_test_id"))
    op.drop_table("ab_test_results")
