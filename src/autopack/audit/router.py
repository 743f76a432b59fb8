"""Audit ledger endpoints: verify the hash chains, read the events (superusers only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from autopack.audit import service
from autopack.audit.schemas import AuditEventPage, VerifyReport
from autopack.auth.deps import require_superuser
from autopack.core.database import ReadSession

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require_superuser)])

TenantQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/verify", response_model=VerifyReport)
def verify(session: ReadSession, tenant_id: TenantQuery = None):
    """Re-check every chain (or one tenant's) and report the first broken link."""
    return service.verify_ledger(session, tenant_id=tenant_id)


@router.get("/events", response_model=AuditEventPage)
def list_events(session: ReadSession, tenant_id: TenantQuery = None,
                action: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
                cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
                order: Literal["asc", "desc"] = "asc"):
    """Events in global order, filtered by tenant and action; page on with `next_cursor`."""
    return service.list_events(session, tenant_id=tenant_id, action=action, cursor=cursor, limit=limit,
                               newest_first=order == "desc")
