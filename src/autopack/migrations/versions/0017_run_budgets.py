"""runs: budgets that act (usage tokens, time budget end, the hold awaiting a human decision)

Revision ID: 0017
Revises: 0001
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0017"
down_revision = "0001"
branch_labels = ("budgets",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("usage_tokens", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("budget_deadline_at", TS, nullable=True))
        batch.add_column(sa.Column("budget_hold", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("budget_held_at", TS, nullable=True))
        batch.add_column(sa.Column("budget_approval_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_runs_budget_deadline_at"), ["budget_deadline_at"], unique=False)
    # Unfinished runs get their time budget's end; finished ones never need it.
    runs = sa.table("runs", sa.column("id", sa.String()), sa.column("state", sa.String()),
                    sa.column("started_at", TS), sa.column("max_duration_minutes", sa.Integer()),
                    sa.column("budget_deadline_at", TS))
    conn = op.get_bind()
    rows = conn.execute(sa.select(runs.c.id, runs.c.started_at, runs.c.max_duration_minutes)
                        .where(runs.c.state.not_like("DONE_%"), runs.c.started_at.is_not(None))).all()
    if rows:
        conn.execute(runs.update().where(runs.c.id == sa.bindparam("rid"))
                     .values(budget_deadline_at=sa.bindparam("deadline")),
                     [{"rid": r.id, "deadline": r.started_at + timedelta(minutes=r.max_duration_minutes or 120)}
                      for r in rows])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_budget_deadline_at"))
        for name in ("budget_approval_id", "budget_held_at", "budget_hold", "budget_deadline_at",
                     "usage_tokens"):
            batch.drop_column(name)
