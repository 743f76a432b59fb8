"""Enforcement endpoints, mounted under `/api/v1/tenant/{tenant_id}/autopilot` (thin: the service decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from autopack.autopilot.api import AdminKillSwitch, AdminWrite, OperatorConfirm, OperatorWrite, ViewerRead, ok
from autopack.autopilot.enforcement import admin, audit, config, service
from autopack.autopilot.enforcement.engine import MODE_DESCRIPTIONS
from autopack.autopilot.enforcement.schemas import (
    CheckRequest,
    CheckResult,
    ConfirmationAccepted,
    ConfirmRequest,
    InterventionLogPage,
    KillSwitchChanged,
    KillSwitchRequest,
    Mode,
    RuleAdded,
    RuleCreate,
    RuleDeleted,
    SettingsRead,
    SettingsUpdate,
    SettingsUpdated,
)
from autopack.autopilot.settings import RuleSpec
from autopack.core.answers import Envelope, documented
from autopack.core.database import ReadSession, WriteSession, run_in_write_transaction
from autopack.tenants.deps import TenantContext

router = APIRouter(prefix="/enforcement", tags=["autopilot-enforcement"])
Filter = Annotated[str | None, Query(min_length=1, max_length=255)]


@router.get("/settings", responses=documented(Envelope[SettingsRead]))
def get_settings(context: ViewerRead, session: ReadSession):
    """The tenant's enforcement settings and rules (defaults when nothing is stored)."""
    snapshot = service.get_enforcement_settings(session, context.tenant_id)
    return ok({"settings": config.settings_dict(snapshot), "modes": MODE_DESCRIPTIONS})


@router.put("/settings", responses=documented(Envelope[SettingsUpdated]))
def put_settings(body: SettingsUpdate, context: AdminWrite, session: WriteSession):
    """Partial update; explicit null clears a nullable cap."""
    snapshot = admin.update_settings(session, context.tenant_id, body.changes(), actor=context.actor,
                                     user_id=context.user_id)
    return ok({"message": "Settings updated successfully", "settings": config.settings_dict(snapshot)})


@router.post("/check", responses=documented(Envelope[CheckResult]))
async def check(body: CheckRequest, context: OperatorWrite):
    """Would this action be allowed? Soft blocks return a confirmation token."""
    return await run_in_write_transaction(_check, body, context)


def _check(session: Session, body: CheckRequest, context: TenantContext):
    result = service.evaluate(session, context.tenant_id, body.proposal(), actor=context.actor,
                              metrics=body.metrics, user_id=context.user_id)
    return ok({"allowed": result.allowed, "mode": result.mode, "outcome": result.outcome,
               "violations": result.violations, "warnings": result.warnings,
               "requires_confirmation": result.requires_confirmation,
               "confirmation_token": result.confirmation_token, "audit_log_id": result.audit_log_id})


@router.post("/confirm", responses=documented(Envelope[ConfirmationAccepted]))
def confirm(body: ConfirmRequest, context: OperatorConfirm, session: WriteSession):
    """Confirm a soft-blocked action (single use; 403 KILL_SWITCH_DISABLED while enforcement is off)."""
    return ok(admin.confirm(session, context.tenant_id, body.confirmation_token,
                            override_reason=body.override_reason, actor=context.actor, user_id=context.user_id))


@router.post("/kill-switch", responses=documented(Envelope[KillSwitchChanged]))
def kill_switch(body: KillSwitchRequest, context: AdminKillSwitch, session: WriteSession):
    """Turn enforcement on or off for the tenant (reason required, audited)."""
    audit_log_id = admin.set_kill_switch(session, context.tenant_id, enabled=body.enabled, reason=body.reason,
                                         actor=context.actor, user_id=context.user_id)
    state = "enabled" if body.enabled else "disabled"
    return ok({"message": f"Enforcement {state} for tenant", "enforcement_enabled": body.enabled,
               "changed_by_user_id": context.user_id, "changed_by": context.actor, "reason": body.reason,
               "audit_log_id": audit_log_id})


@router.get("/audit-log", responses=documented(Envelope[InterventionLogPage]))
def audit_log(context: ViewerRead, session: ReadSession,
              days: Annotated[int, Query(ge=1, le=90)] = 30,
              limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
              cursor: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
              intervention_action: Filter = None, enforcement_mode: Mode | None = None,
              action_type: Filter = None, entity_id: Filter = None, violation_type: Filter = None):
    """Intervention log, newest first; `next_cursor` pages on."""
    filters = {"intervention_action": intervention_action, "enforcement_mode": enforcement_mode,
               "action_type": action_type, "entity_id": entity_id, "violation_type": violation_type}
    rows, next_cursor = audit.list_logs(session, context.tenant_id, days=days, limit=limit, cursor=cursor,
                                        filters=filters)
    return ok({"logs": [audit.log_dict(r) for r in rows], "count": len(rows), "next_cursor": next_cursor,
               "filters": {"days": days, "limit": limit, "cursor": cursor,
                           **{k: v for k, v in filters.items() if v is not None}}})


@router.post("/rules", status_code=201, responses=documented(Envelope[RuleAdded], 201))
def add_rule(body: RuleCreate, context: AdminWrite, session: WriteSession):
    """Add a custom rule (201; 409 RULE_ALREADY_EXISTS; 403 FEATURE_NOT_ENABLED)."""
    spec = admin.add_rule(session, context.tenant_id, RuleSpec(**body.model_dump()), actor=context.actor)
    return ok({"message": f"Rule '{spec.rule_id}' added successfully", "rule": config.rule_dict(spec)}, 201)


@router.delete("/rules/{rule_id}", responses=documented(Envelope[RuleDeleted]))
def delete_rule(context: AdminWrite, session: WriteSession,
                rule_id: Annotated[str, Path(min_length=1, max_length=100)]):
    """Delete a custom rule (404 RULE_NOT_FOUND)."""
    admin.delete_rule(session, context.tenant_id, rule_id, actor=context.actor)
    return ok({"message": f"Rule '{rule_id}' deleted successfully"})
