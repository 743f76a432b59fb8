"""runs: phase counters per state bucket on tiers and runs (rollups from the one phase that changed)

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

BUCKETS = {"phases_pending": ("QUEUED",), "phases_in_progress": ("EXECUTING", "GATE", "CI_RUNNING"),
           "phases_completed": ("COMPLETE",), "phases_failed": ("FAILED",), "phases_skipped": ("SKIPPED",)}


def upgrade() -> None:
    for table, key in (("tiers", "tier_id = tiers.id"), ("runs", "run_id = runs.id")):
        with op.batch_alter_table(table) as batch:
            for name in BUCKETS:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        sets = ", ".join(
            f"{name} = (SELECT count(*) FROM phases WHERE {key} AND state IN "
            f"({', '.join(repr(s) for s in states)}))" for name, states in BUCKETS.items())
        op.execute(f"UPDATE {table} SET {sets}")


def downgrade() -> None:
    for table in ("tiers", "runs"):
        with op.batch_alter_table(table) as batch:
            for name in BUCKETS:
                batch.drop_column(name)
