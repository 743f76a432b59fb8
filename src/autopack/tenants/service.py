"""Tenants and memberships; every change is audited in the same transaction."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit import service as audit
from autopack.auth import service as users
from autopack.core.errors import EnvelopeError
from autopack.db.models import Tenant, TenantMembership, User
from autopack.db.scope import scoped

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$|^[a-z0-9]$")


def _not_found(what: str, ident) -> EnvelopeError:
    return EnvelopeError(404, f"{what.upper()}_NOT_FOUND", f"{what.capitalize()} {ident} not found")


def create_tenant(session: Session, *, slug: str, name: str, actor: str) -> Tenant:
    """Create a tenant with a unique slug."""
    if not SLUG.match(slug):
        raise EnvelopeError(422, "VALIDATION_ERROR", "slug must be lowercase letters, digits and dashes")
    tenant = Tenant(slug=slug, name=name)
    try:
        with session.begin_nested():
            session.add(tenant)
    except IntegrityError:
        raise EnvelopeError(409, "TENANT_ALREADY_EXISTS", f"Tenant '{slug}' already exists") from None
    audit.append_event(session, action="tenant.created", actor=actor, tenant_id=str(tenant.id),
                       target_type="tenant", target_id=str(tenant.id), details={"slug": slug})
    return tenant


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    """A tenant, or 404."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise _not_found("tenant", tenant_id)
    return tenant


def find_tenant(session: Session, ref: str) -> Tenant | None:
    """A tenant by id or slug (CLI convenience)."""
    if ref.isdigit():
        return session.get(Tenant, int(ref))
    return session.scalars(select(Tenant).where(Tenant.slug == ref)).one_or_none()


def list_tenants(session: Session, limit: int, offset: int) -> tuple[list[Tenant], int]:
    """Tenants in id order, with the total."""
    total = session.scalar(select(func.count()).select_from(Tenant))
    rows = session.scalars(select(Tenant).order_by(Tenant.id).limit(limit).offset(offset)).all()
    return list(rows), total


def set_member(session: Session, tenant: Tenant, user: User, role: str, actor: str) -> TenantMembership:
    """Add a member or change their role (audited as `tenant.member_added` / `tenant.role_changed`)."""
    if role not in ROLE_RANK:
        raise EnvelopeError(422, "VALIDATION_ERROR", f"role must be one of {', '.join(ROLES)}")
    membership = session.scalars(
        scoped(TenantMembership, tenant.id).where(TenantMembership.user_id == user.id).with_for_update()
    ).one_or_none()
    if membership is None:
        membership = TenantMembership(tenant_id=tenant.id, user_id=user.id, role=role)
        session.add(membership)
        action, details = "tenant.member_added", {"user": user.username, "role": role}
    else:
        action, details = "tenant.role_changed", {"user": user.username, "from": membership.role, "to": role}
        membership.role = role
    session.flush()
    audit.append_event(session, action=action, actor=actor, tenant_id=str(tenant.id),
                       target_type="user", target_id=str(user.id), details=details)
    return membership


def remove_member(session: Session, tenant: Tenant, user_id: int, actor: str) -> None:
    """Remove a member; takes effect on their next request."""
    membership = session.scalars(
        scoped(TenantMembership, tenant.id).where(TenantMembership.user_id == user_id)
    ).one_or_none()
    if membership is None:
        raise _not_found("membership", f"of user {user_id}")
    session.delete(membership)
    audit.append_event(session, action="tenant.member_removed", actor=actor, tenant_id=str(tenant.id),
                       target_type="user", target_id=str(user_id), details={"role": membership.role})


def list_members(session: Session, tenant: Tenant, limit: int, offset: int) -> tuple[list[tuple], int]:
    """(membership, user) pairs with the total."""
    total = session.scalar(scoped(select(func.count()).select_from(TenantMembership), tenant.id))
    rows = session.execute(
        scoped(select(TenantMembership, User).join(User, User.id == TenantMembership.user_id), tenant.id)
        .order_by(TenantMembership.id).limit(limit).offset(offset)
    ).all()
    return [tuple(r) for r in rows], total


def resolve_user(session: Session, *, user_id: int | None, username: str | None) -> User:
    """A user by id or username, or 404."""
    user = session.get(User, user_id) if user_id is not None else (
        users.find_user(session, username) if username else None)
    if user is None:
        raise _not_found("user", user_id if user_id is not None else username)
    return user
