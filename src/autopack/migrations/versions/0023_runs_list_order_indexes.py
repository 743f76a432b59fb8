"""runs: indexes in the runs list's order, whole and per state (the console's inbox and GET /runs)

The list is ordered by (created_at, id), newest first. With an index on created_at alone, SQLite sorts
every tie group and a state filter sorts every run of that state; these two indexes give the order
directly, so a page (a deep one too) is read from the index instead of a sort of 10,000 rows.

Revision ID: 0023
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None

INDEXES = {"ix_runs_created_at_id": ["created_at", "id"], "ix_runs_state_created_at_id": ["state", "created_at", "id"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "runs", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="runs")
