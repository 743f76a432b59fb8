"""Tenant access: principal, tenant membership and role, checked in the database on every request."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Path, Request

from autopack.auth.deps import AuthFailure, Credentials, Principal, resolve_principal
from autopack.core.database import session_scope
from autopack.core.errors import EnvelopeError
from autopack.db.models import Tenant
from autopack.db.scope import belongs_to
from autopack.tenants.service import ROLE_RANK, member_role

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


def _role_in_tenant(principal: Principal, tenant_id: int) -> str | None:
    if principal.is_superuser:
        # Superusers reach every tenant, so the tenant's existence is checked here (members'
        # memberships imply it): no endpoint then writes rows for a tenant that does not exist.
        with session_scope(writer=False) as session:
            if session.get(Tenant, tenant_id) is None:
                raise EnvelopeError(404, "TENANT_NOT_FOUND", f"Tenant {tenant_id} not found")
        return "admin"
    if principal.kind == "api_key":
        return principal.role if belongs_to(principal.tenant_id, tenant_id) else None
    if principal.user_id is None:
        return None
    with session_scope(writer=False) as session:
        return member_role(session, tenant_id, principal.user_id)


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
