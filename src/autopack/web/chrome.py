"""The header of every page: the signed-in user, role, tenant switcher, kill-switch and freeze banners."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.auth import privileges
from autopack.auth.deps import Principal
from autopack.autopilot.enforcement.service import get_enforcement_settings
from autopack.autopilot.settings import get_autopilot_settings
from autopack.core.database import session_scope
from autopack.db.models import Tenant, TenantMembership
from autopack.tenants.service import list_tenants
from autopack.web import session as web_session
from autopack.web.nav import entries_for

MAX_TENANTS = 50  # the switcher's length; banners are checked for these tenants
BANNER_TENANTS = 20


def visible_tenants(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The tenants a user reaches (superusers: all, as admin), by id, at most MAX_TENANTS."""
    if principal.is_superuser:
        tenants, _ = list_tenants(session, MAX_TENANTS, 0)
        return [{"id": t.id, "name": t.name, "role": "admin"} for t in tenants]
    if principal.user_id is None:
        return []
    roles = dict(session.execute(
        select(TenantMembership.tenant_id, TenantMembership.role)
        .where(TenantMembership.user_id == principal.user_id).limit(MAX_TENANTS)).all())
    names = dict(session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(list(roles)))).all())
    return [{"id": tid, "name": names.get(tid, str(tid)), "role": roles[tid]} for tid in sorted(roles)]


def banners(session: Session, tenants: list[dict[str, Any]]) -> list[str]:
    """A line per tenant whose enforcement kill switch is on or whose autopilot is frozen."""
    lines = []
    for tenant in tenants[:BANNER_TENANTS]:
        if not get_enforcement_settings(session, tenant["id"]).enforcement_enabled:
            lines.append(f"Kill switch on: enforcement is off for tenant {tenant['name']}")
        settings = get_autopilot_settings(session, tenant["id"])
        if settings.frozen:
            reason = f" ({settings.frozen_reason})" if settings.frozen_reason else ""
            lines.append(f"Autopilot frozen for tenant {tenant['name']}{reason}")
    return lines


def chrome(session: Session, principal: Principal, csrf: str, tenant_id: int | None = None) -> dict[str, Any]:
    """The header's context for a page."""
    tenants = visible_tenants(session, principal)
    if principal.is_superuser:
        role = "superuser"
    elif principal.user_id is not None:
        role = ", ".join(privileges.roles_of(session, principal.user_id)) or "user"
    else:
        role = principal.role or "key"
    current = next((t for t in tenants if t["id"] == tenant_id), None)
    return {"user": principal.username or principal.actor, "role": role, "tenants": tenants,
            "tenant": current, "banners": banners(session, tenants), "csrf": csrf,
            "nav": entries_for(principal.is_superuser)}


def chrome_for_request(request: Request) -> dict[str, Any] | None:
    """The header for an error page: None when nobody is signed in (or the database is out of reach)."""
    token = web_session.session_token(request)
    principal = web_session.principal_of(request, token) if token else None
    if principal is None:
        return None
    try:
        with session_scope(writer=False) as session:
            tenant = request.path_params.get("tenant_id")
            return chrome(session, principal, web_session.csrf_for(token),
                          int(tenant) if isinstance(tenant, str) and tenant.isdigit() else None)
    except Exception:  # noqa: BLE001 - the error page itself must render
        return None
