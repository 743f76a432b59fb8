"""research: sessions, notes and sources kept in the database

Revision ID: 0025
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0025"
down_revision = "0001"
branch_labels = ("research",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "research_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_sessions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("research_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_research_sessions_created_at"), ["created_at"], unique=False)
    op.create_table(
        "research_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["research_sessions.id"], ondelete="CASCADE",
                                name=op.f("fk_research_notes_session_id_research_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_notes")),
    )
    with op.batch_alter_table("research_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_research_notes_session_id"), ["session_id"], unique=False)
    op.create_table(
        "research_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["research_notes.id"], ondelete="CASCADE",
                                name=op.f("fk_research_sources_note_id_research_notes")),
        sa.ForeignKeyConstraint(["session_id"], ["research_sessions.id"], ondelete="CASCADE",
                                name=op.f("fk_research_sources_session_id_research_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_sources")),
    )
    with op.batch_alter_table("research_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_research_sources_note_id"), ["note_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_research_sources_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("research_sources")
    op.drop_table("research_notes")
    op.drop_table("research_sessions")
