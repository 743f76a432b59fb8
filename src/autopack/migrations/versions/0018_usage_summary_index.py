"""usage: an index that answers GET /dashboard/usage per (provider, model) from the index alone

Revision ID: 0018
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0001"
branch_labels = ("usage",)
depends_on = None

INDEX = "ix_llm_usage_events_provider_model_created_at"
COLUMNS = ["provider", "model", "created_at", "total_tokens", "prompt_tokens", "completion_tokens"]


def upgrade() -> None:
    with op.batch_alter_table("llm_usage_events", schema=None) as batch_op:
        batch_op.create_index(INDEX, COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("llm_usage_events", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
