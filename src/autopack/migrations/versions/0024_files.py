"""files: uploaded files (name, digest, size, optional run)

Revision ID: 0024
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0024"
down_revision = "0001"
branch_labels = ("files",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploaded_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("stored_as", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("relative_path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("run_id", sa.String(length=128), nullable=True),
        sa.Column("uploaded_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="SET NULL",
                                name=op.f("fk_uploaded_files_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploaded_files")),
        sa.UniqueConstraint("stored_as", name=op.f("uq_uploaded_files_stored_as")),
    )
    with op.batch_alter_table("uploaded_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploaded_files_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploaded_files_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("uploaded_files")
