"""Database-backed API keys: shown once, stored as HMAC-SHA256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.core.errors import BadRequest, NotFound
from autopack.core.secrets import derive_key
from autopack.db.base import utcnow
from autopack.db.models import ApiKey, Tenant

# Recognisable by secret scanners: fixed prefix, fixed length, url-safe body.
KEY_PREFIX = "autopack_sk_"


def hash_key(raw: str) -> str:
    """HMAC-SHA256 of a raw key under the server secret."""
    return hmac.new(derive_key("api-keys"), raw.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `raw` is shown once and never stored."""

    record: ApiKey
    raw: str


def create_key(session: Session, *, name: str, tenant_id: int | None = None, role: str | None = None,
               is_superuser: bool = False, created_by: str = "cli") -> CreatedKey:
    """Create a key, optionally scoped to a tenant with a role."""
    if tenant_id is not None:
        if session.get(Tenant, tenant_id) is None:
            raise NotFound(f"Tenant {tenant_id} not found")
        if role is None:
            raise BadRequest("A tenant-scoped key needs a role (viewer, operator or admin)")
        if is_superuser:
            raise BadRequest("A tenant-scoped key cannot be a superuser key")
    elif role is not None:
        raise BadRequest("A role needs a tenant")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name, prefix=raw[: len(KEY_PREFIX) + 6], key_hash=hash_key(raw),
                    tenant_id=tenant_id, role=role, is_superuser=is_superuser, created_by=created_by)
    session.add(record)
    session.flush()
    return CreatedKey(record, raw)


def lookup(session: Session, raw: str) -> ApiKey | None:
    """The active key matching `raw`, or None."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    digest = hash_key(raw)
    record = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).one_or_none()
    if record is None or record.revoked_at is not None:
        return None
    return record if hmac.compare_digest(record.key_hash, digest) else None


def list_keys(session: Session, *, include_revoked: bool = False, limit: int = 100,
              offset: int = 0) -> list[ApiKey]:
    """Keys, newest first (never their secrets)."""
    stmt = select(ApiKey).order_by(ApiKey.id.desc()).limit(limit).offset(offset)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key at once (every instance checks the database on each request)."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} not found")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return record
