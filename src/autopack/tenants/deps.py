"""Tenant access: principal, tenant membership and role, checked in the database on every request."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Path, Request
from sqlalchemy import bindparam, select

from autopack.auth.deps import AuthFailure, Credentials, Principal, resolve_principal
from autopack.core.errors import EnvelopeError
from autopack.core.rowread import read_row
from autopack.db.models import Tenant, TenantMembership
from autopack.db.scope import TENANT, belongs_to, scoped
from autopack.tenants.service import ROLE_RANK

TenantId = Path(ge=1, le=2**31 - 1, description="Tenant id")


@dataclass(frozen=True)
class TenantContext:
    """The tenant of the path and the caller's role in it."""

    tenant_id: int
    principal: Principal
    role: str

    @property
    def actor(self) -> str:
        """Audit actor string."""
        return self.principal.actor

    @property
    def user_id(self) -> int | None:
        """The user behind the call, if a user."""
        return self.principal.user_id


def _principal(request: Request) -> Principal:
    try:
        principal = resolve_principal(request)
    except AuthFailure:
        principal = None
    if principal is None:
        raise EnvelopeError(401, "UNAUTHORIZED", "Authentication required: a valid Bearer token or API key")
    return principal


# Read on every tenant request: one row each, no ORM session (core/rowread.py).
_TENANT_EXISTS = select(Tenant.id).where(Tenant.id == bindparam("id"))
_MEMBER_ROLE = scoped(select(TenantMembership.role).where(TenantMembership.user_id == bindparam("user_id")), TENANT)


def _role_in_tenant(principal: Principal, tenant_id: int) -> str | None:
    if principal.is_superuser:
        # Superusers reach every tenant, so the tenant's existence is checked here (members'
        # memberships imply it): no endpoint then writes rows for a tenant that does not exist.
        if read_row(_TENANT_EXISTS, {"id": tenant_id}) is None:
            raise EnvelopeError(404, "TENANT_NOT_FOUND", f"Tenant {tenant_id} not found")
        return "admin"
    if principal.kind == "api_key":
        return principal.role if belongs_to(principal.tenant_id, tenant_id) else None
    if principal.user_id is None:
        return None
    row = read_row(_MEMBER_ROLE, {"tenant_id": tenant_id, "user_id": principal.user_id})
    return None if row is None else row[0]


def tenant_access(min_role: str):
    """A dependency: 401 UNAUTHORIZED, 403 ACCESS_DENIED (not a member), 403 FORBIDDEN (role too low)."""
    needed = ROLE_RANK[min_role]

    def dependency(request: Request, tenant_id: int = TenantId, _: None = Credentials) -> TenantContext:
        principal = _principal(request)
        role = _role_in_tenant(principal, tenant_id)
        if role is None:
            raise EnvelopeError(403, "ACCESS_DENIED", "Access denied to this tenant")
        if ROLE_RANK[role] < needed:
            raise EnvelopeError(403, "FORBIDDEN", f"This action requires the {min_role} role",
                                {"required_role": min_role, "role": role})
        return TenantContext(tenant_id, principal, role)

    return dependency
