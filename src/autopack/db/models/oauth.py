"""OAuth credentials (secrets encrypted at rest) and their lifecycle events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

REFRESH_STATES = ("idle", "requested", "running")


class OAuthCredential(Base):
    """One provider's OAuth client and tokens, with refresh bookkeeping and the worker's claim."""

    __tablename__ = "oauth_credentials"
    __table_args__ = (
        CheckConstraint("refresh_state IN ('idle', 'requested', 'running')", name="refresh_state"),
        Index("ix_oauth_credentials_refresh_state", "refresh_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    token_url: Mapped[str] = mapped_column(String(2048), nullable=False)
    client_id: Mapped[str] = mapped_column(String(512), nullable=False)
    scopes: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    # Fernet tokens (autopack.oauth.crypto); never the plaintext.
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_refresh: Mapped[datetime | None] = mapped_column(nullable=True)
    last_refresh_result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_refreshes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # idle → requested (POST /refresh) → running (claimed by a worker) → idle.
    refresh_state: Mapped[str] = mapped_column(String(16), nullable=False, default="idle")
    refresh_max_retries: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    refresh_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    refresh_requested_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class OAuthCredentialEvent(Base):
    """One lifecycle event of a credential; kept after the credential is removed."""

    __tablename__ = "oauth_credential_events"
    __table_args__ = (Index("ix_oauth_credential_events_provider_id", "provider", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    details: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    timestamp: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
