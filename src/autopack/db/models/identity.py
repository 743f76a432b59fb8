"""Users, API keys, tenants and tenant memberships."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, utcnow

ROLES = ("viewer", "operator", "admin")


def new_token_key() -> str:
    """A fresh random per-user value that every access token of the user must carry."""
    return secrets.token_hex(16)


class User(Base):
    """A person who logs in (reference table `users`, plus a case-folded unique username)."""

    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted user's id to the next user, and the old
    # user's tokens would name the new one (PostgreSQL sequences never go back).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    username_key: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    hashed_password: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # In every token as "uk": a token whose user was deleted and whose id came back names nobody.
    token_key: Mapped[str] = mapped_column(String(32), nullable=False, default=new_token_key)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class Tenant(Base):
    """An isolated customer space (autopilot data is scoped to one)."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class TenantMembership(Base):
    """A user's role in a tenant."""

    __tablename__ = "tenant_memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint("role IN ('viewer', 'operator', 'admin')", name="role_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """A database-backed API key: only its HMAC-SHA256 hash is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IS NULL OR role IN ('viewer', 'operator', 'admin')", name="role_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                                  nullable=True, index=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False, default="cli")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
