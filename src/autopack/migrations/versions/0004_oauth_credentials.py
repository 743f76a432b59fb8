"""oauth: credentials (secrets encrypted at rest) and credential events

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0004"
down_revision = "0001"
branch_labels = ("oauth",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "oauth_credentials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("token_url", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("access_token_encrypted", sa.Text(), nullable=True),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("last_refresh", TS, nullable=True),
        sa.Column("last_refresh_result", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("total_refreshes", sa.Integer(), nullable=False),
        sa.Column("total_failures", sa.Integer(), nullable=False),
        sa.Column("refresh_state", sa.String(length=16), nullable=False),
        sa.Column("refresh_max_retries", sa.Integer(), nullable=False),
        sa.Column("refresh_requested_at", TS, nullable=True),
        sa.Column("refresh_requested_by", sa.String(length=255), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claim_expires_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "refresh_state IN ('idle', 'requested', 'running')",
            name=op.f("ck_oauth_credentials_refresh_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_credentials")),
        sa.UniqueConstraint("provider", name=op.f("uq_oauth_credentials_provider")),
    )
    with op.batch_alter_table("oauth_credentials", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_credentials_refresh_state", ["refresh_state"], unique=False)

    op.create_table(
        "oauth_credential_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_credential_events")),
    )
    with op.batch_alter_table("oauth_credential_events", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_credential_events_provider_id", ["provider", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth_credential_events_timestamp"), ["timestamp"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_credential_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_credential_events_timestamp"))
        batch_op.drop_index("ix_oauth_credential_events_provider_id")
    op.drop_table("oauth_credential_events")
    with op.batch_alter_table("oauth_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_credentials_refresh_state")
    op.drop_table("oauth_credentials")
