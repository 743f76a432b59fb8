"""Action endpoints: list, summary, queue, read, approve, approve-all, dismiss."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from autopack.autopilot.actions import service
from autopack.autopilot.actions.schemas import (
    ActionDecided,
    ActionPage,
    ActionQueued,
    ActionRead,
    ActionStatus,
    ActionSummary,
    ApproveAllRequest,
    ApproveAllResult,
    QueueActionRequest,
)
from autopack.autopilot.api import OperatorWrite, ViewerRead, ok
from autopack.autopilot.proposals import Platform
from autopack.core.answers import Envelope, documented
from autopack.core.database import ReadSession, WriteSession, run_in_write_transaction
from autopack.core.handlers import envelope
from autopack.tenants.deps import TenantContext

router = APIRouter(tags=["autopilot"])


@router.get("/actions", responses=documented(Envelope[ActionPage]))
def list_actions(ctx: ViewerRead, session: ReadSession,
                 on_date: Annotated[date | None, Query(alias="date", description="UTC day of creation")] = None,
                 status: ActionStatus | None = None, platform: Platform | None = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 cursor: Annotated[str | None, Query(max_length=512, description="a page's next_cursor")] = None):
    """List actions newest first, filtered, with keyset pagination."""
    return ok(service.list_actions(session, ctx.tenant_id, on_date=on_date, status=status, platform=platform,
                                   limit=limit, cursor=cursor))


# Registered before /actions/{action_id}, so "summary" is never taken for an id.
@router.get("/actions/summary", responses=documented(Envelope[ActionSummary]))
def actions_summary(ctx: ViewerRead, session: ReadSession, days: Annotated[int, Query(ge=1, le=30)] = 7):
    """Counts of the last `days` days' actions by status and type."""
    return ok(service.summary(session, ctx.tenant_id, days))


@router.post("/actions", status_code=201, responses=documented(Envelope[ActionQueued], 201))
async def queue_action(body: QueueActionRequest, ctx: OperatorWrite):
    """Queue an action: enforcement first, then the autopilot level decides on auto-approval."""
    return await run_in_write_transaction(_queue_action, body, ctx)


def _queue_action(session: Session, body: QueueActionRequest, ctx: TenantContext):
    outcome = service.queue_action(session, ctx.tenant_id, body.proposal(), ctx.actor, body.confirmation_token,
                                   ctx.user_id)
    if outcome.error is not None:  # answered without raising: the enforcement audit row is committed
        err = outcome.error
        return envelope(err.status_code, err.code, err.message, err.details)
    body = {"action": service.action_view(outcome.action), "auto_approved": outcome.decision.auto_approved,
            "requires_approval": not outcome.decision.auto_approved, "reason": outcome.decision.reason,
            "warnings": outcome.warnings, "enforcement": outcome.enforcement}
    if outcome.cooldown_ends_at is not None:
        body["cooldown_ends_at"] = outcome.cooldown_ends_at
    return ok(body, 201)


@router.post("/actions/approve-all", responses=documented(Envelope[ApproveAllResult]))
def approve_all(body: ApproveAllRequest, ctx: OperatorWrite, session: WriteSession):
    """Approve many queued actions in one transaction; the rest are listed in `skipped`."""
    return ok(service.approve_all(session, ctx.tenant_id, body.action_ids, ctx.actor))


@router.get("/actions/{action_id}", responses=documented(Envelope[ActionRead]))
def get_action(action_id: str, ctx: ViewerRead, session: ReadSession):
    """One action."""
    return ok({"action": service.action_view(service.get_action(session, ctx.tenant_id, action_id))})


@router.post("/actions/{action_id}/approve", responses=documented(Envelope[ActionDecided]))
async def approve_action(action_id: str, ctx: OperatorWrite):
    """queued → approved; the execution worker applies it."""
    return await run_in_write_transaction(_approve_action, action_id, ctx)


def _approve_action(session: Session, action_id: str, ctx: TenantContext):
    action = service.approve(session, ctx.tenant_id, action_id, ctx.actor)
    return ok({"action": service.action_view(action), "message": "Action approved for execution"})


@router.post("/actions/{action_id}/dismiss", responses=documented(Envelope[ActionDecided]))
async def dismiss_action(action_id: str, ctx: OperatorWrite):
    """queued → dismissed."""
    return await run_in_write_transaction(_dismiss_action, action_id, ctx)


def _dismiss_action(session: Session, action_id: str, ctx: TenantContext):
    action = service.dismiss(session, ctx.tenant_id, action_id, ctx.actor)
    return ok({"action": service.action_view(action), "message": "Action dismissed"})
