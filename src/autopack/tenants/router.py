"""Tenant administration (superusers) and the caller's own membership (members)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from autopack.auth.deps import Principal, require_superuser
from autopack.core.answers import Envelope, documented
from autopack.core.database import ReadSession, WriteSession
from autopack.core.responses import json_response
from autopack.tenants import service
from autopack.tenants.deps import TenantContext, TenantId, tenant_access
from autopack.tenants.schemas import (
    MemberOut,
    MemberPage,
    MemberRemoved,
    MemberSet,
    Membership,
    TenantCreate,
    TenantOut,
    TenantPage,
)

router = APIRouter(prefix="/api/v1", tags=["tenants"])
Superuser = Annotated[Principal, Depends(require_superuser)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def ok(data, status: int = 200):
    """The contract's success envelope."""
    return json_response({"success": True, "data": data}, status)


def _member(membership, user) -> dict:
    return MemberOut(user_id=user.id, username=user.username, role=membership.role,
                     created_at=membership.created_at, updated_at=membership.updated_at).model_dump()


@router.post("/tenants", status_code=201, responses=documented(Envelope[TenantOut], 201))
def create_tenant(body: TenantCreate, session: WriteSession, principal: Superuser):
    """Create a tenant."""
    tenant = service.create_tenant(session, slug=body.slug, name=body.name, actor=principal.actor)
    return ok(TenantOut.model_validate(tenant).model_dump(), 201)


@router.get("/tenants", responses=documented(Envelope[TenantPage]))
def list_tenants(session: ReadSession, principal: Superuser, limit: Limit = 50, offset: Offset = 0):
    """Every tenant, paginated."""
    rows, total = service.list_tenants(session, limit, offset)
    return ok({"tenants": [TenantOut.model_validate(t).model_dump() for t in rows],
               "total": total, "limit": limit, "offset": offset})


@router.get("/tenants/{tenant_id}", responses=documented(Envelope[TenantOut]))
def get_tenant(session: ReadSession, principal: Superuser, tenant_id: int = TenantId):
    """One tenant."""
    return ok(TenantOut.model_validate(service.get_tenant(session, tenant_id)).model_dump())


@router.get("/tenants/{tenant_id}/members", responses=documented(Envelope[MemberPage]))
def list_members(session: ReadSession, principal: Superuser, tenant_id: int = TenantId,
                 limit: Limit = 50, offset: Offset = 0):
    """A tenant's members and roles, paginated."""
    tenant = service.get_tenant(session, tenant_id)
    rows, total = service.list_members(session, tenant, limit, offset)
    return ok({"members": [_member(m, u) for m, u in rows], "total": total, "limit": limit,
               "offset": offset})


@router.put("/tenants/{tenant_id}/members", responses=documented(Envelope[MemberOut]))
def set_member(body: MemberSet, session: WriteSession, principal: Superuser, tenant_id: int = TenantId):
    """Add a member or change a member's role."""
    tenant = service.get_tenant(session, tenant_id)
    user = service.resolve_user(session, user_id=body.user_id, username=body.username)
    membership = service.set_member(session, tenant, user, body.role, principal.actor)
    return ok(_member(membership, user))


@router.delete("/tenants/{tenant_id}/members/{user_id}", responses=documented(Envelope[MemberRemoved]))
def remove_member(session: WriteSession, principal: Superuser, tenant_id: int = TenantId,
                  user_id: int = Path(ge=1, le=2**31 - 1)):
    """Remove a member (effective on their next request)."""
    tenant = service.get_tenant(session, tenant_id)
    service.remove_member(session, tenant, user_id, principal.actor)
    return ok({"removed": True, "user_id": user_id})


@router.get("/tenant/{tenant_id}/membership", responses=documented(Envelope[Membership]))
def my_membership(context: Annotated[TenantContext, Depends(tenant_access("viewer"))]):
    """The caller's role in the tenant."""
    return ok({"tenant_id": context.tenant_id, "role": context.role, "actor": context.actor})
