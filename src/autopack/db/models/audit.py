"""The append-only audit ledger: events in hash chains, and the head of every chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

# Tenant chain fields are all set (the event belongs to a tenant) or all absent.
TENANT_CHAIN_FIELDS_CHECK = (
    "(tenant_id IS NULL AND tenant_seq IS NULL AND tenant_prev_hash IS NULL AND tenant_hash IS NULL)"
    " OR (tenant_id IS NOT NULL AND tenant_seq IS NOT NULL AND tenant_prev_hash IS NOT NULL"
    " AND tenant_hash IS NOT NULL)"
)


class AuditEvent(Base):
    """One security-relevant event, linked into the global chain and, with a tenant, its tenant's chain.

    `details` must never hold secrets: callers pass already-redacted details (no passwords, tokens,
    API keys or their hashes), because the ledger is append-only and cannot be scrubbed later.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # Last line of defence against forks: two events can never share a place in a chain.
        UniqueConstraint("global_seq"),
        UniqueConstraint("tenant_id", "tenant_seq"),
        CheckConstraint(TENANT_CHAIN_FIELDS_CHECK, name="tenant_chain_fields"),
        Index("ix_audit_events_action_global_seq", "action", "global_seq"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    action: Mapped[str] = mapped_column(String(128), nullable=False)
    # Tenants are integer ids rendered as strings; no foreign key so the ledger outlives its tenants.
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    global_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    global_prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    global_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    tenant_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tenant_prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tenant_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditChainHead(Base):
    """The last link of one chain ("global" or "tenant:<id>"); its row lock serialises appends."""

    __tablename__ = "audit_chain_heads"

    chain_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # HMAC of (chain, last_seq, last_hash) under a key derived from the server secret: whoever can
    # only write to the database cannot re-seal a rewritten chain.
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
