"""usage: totals per (provider, model, hour), kept as events are stored, backfilled from the events

Revision ID: 0020
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autopack.db.base

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
TOKENS = sa.BigInteger().with_variant(sa.Numeric(), "postgresql")

# The hour of an event, in the text SQLAlchemy writes for a datetime on SQLite (naive UTC, microseconds),
# so backfilled buckets and those written by the application are the same keys and compare as text.
_HOUR = {
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', created_at)",
    "postgresql": "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
_BACKFILL = """
INSERT INTO llm_usage_hourly (provider, model, hour, total_tokens, prompt_tokens, completion_tokens, events)
SELECT provider, model, {hour}, SUM(total_tokens), COALESCE(SUM(prompt_tokens), 0),
    COALESCE(SUM(completion_tokens), 0), COUNT(*)
FROM llm_usage_events GROUP BY provider, model, {hour}
"""


def upgrade() -> None:
    op.create_table(
        "llm_usage_hourly",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("total_tokens", TOKENS, nullable=False),
        sa.Column("prompt_tokens", TOKENS, nullable=False),
        sa.Column("completion_tokens", TOKENS, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "model", "hour", name=op.f("pk_llm_usage_hourly")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    bind.exec_driver_sql(_BACKFILL.format(hour=_HOUR[bind.dialect.name]))


def downgrade() -> None:
    op.drop_table("llm_usage_hourly")
