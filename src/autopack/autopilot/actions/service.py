"""Autopilot actions: queue (enforcement, then the approval policy), approve, dismiss, read."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.autopilot.actions import repository as repo
from autopack.autopilot.actions.policy import ApprovalDecision, PolicyContext, decide
from autopack.autopilot.actions.transitions import (
    InvalidTransition,
    bulk_approve,
    record_created,
    record_transition,
)
from autopack.autopilot.enforcement.service import evaluate
from autopack.autopilot.proposals import ActionProposal
from autopack.autopilot.settings import get_autopilot_settings
from autopack.core.errors import EnvelopeError
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction, AutopilotSettings
from autopack.db.models.autopilot import new_uuid

__all__ = ["InvalidTransition", "QueueOutcome", "action_view", "approve", "approve_all", "dismiss",
           "get_action", "list_actions", "queue_action", "record_transition", "summary"]

AUTOPILOT_ACTOR = "autopilot"
STATUSES = ("queued", "approved", "applying", "applied", "failed", "dismissed")
CORE_TYPES = ("budget_increase", "budget_decrease", "pause_campaign", "enable_campaign")


def parse_action_id(raw: str) -> str:
    """The canonical UUID string, or 400 INVALID_ACTION_ID."""
    try:
        return str(uuid.UUID(str(raw)))
    except (ValueError, AttributeError, TypeError):
        raise EnvelopeError(400, "INVALID_ACTION_ID", "Invalid action ID format", {"action_id": str(raw)[:64]})


def action_view(action: AutopilotAction) -> dict[str, Any]:
    """An action as the contract shows it, plus its approval bookkeeping."""
    return {
        "id": action.id, "date": action.date.isoformat(), "action_type": action.action_type,
        "entity_type": action.entity_type, "entity_id": action.entity_id, "entity_name": action.entity_name,
        "platform": action.platform, "action_json": action.action_json or {},
        "before_value": action.before_value, "after_value": action.after_value, "status": action.status,
        "created_at": action.created_at, "approved_at": action.approved_at, "applied_at": action.applied_at,
        "error": action.error, "requires_approval": action.requires_approval,
        "auto_approved": action.auto_approved, "reason": action.reason, "warnings": action.warnings or [],
        "created_by": action.created_by, "approved_by": action.approved_by,
        "dismissed_at": action.dismissed_at, "dismissed_by": action.dismissed_by,
    }


def get_action(session: Session, tenant_id: int, raw_id: str) -> AutopilotAction:
    """The tenant's action, 400 INVALID_ACTION_ID for a malformed id, 404 ACTION_NOT_FOUND otherwise."""
    action = repo.get(session, tenant_id, parse_action_id(raw_id))
    if action is None:
        raise EnvelopeError(404, "ACTION_NOT_FOUND", "Action not found")
    return action


def _frozen(settings: AutopilotSettings) -> EnvelopeError:
    return EnvelopeError(409, "AUTOPILOT_FROZEN", "Autopilot is frozen for this tenant; unfreeze it to approve "
                         "actions", {"frozen_at": settings.frozen_at, "frozen_reason": settings.frozen_reason})


@dataclass
class QueueOutcome:
    """POST /actions: the queued action and its decision, or the enforcement error to answer."""

    action: AutopilotAction | None = None
    decision: ApprovalDecision | None = None
    warnings: list[str] = field(default_factory=list)
    enforcement: dict[str, Any] = field(default_factory=dict)
    cooldown_ends_at: str | None = None  # a min_hours_between_changes violation let through (advisory)
    error: EnvelopeError | None = None  # answered after commit: the intervention audit row must persist


def _cooldown(violations: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(cooldown_ends_at, warning) when a cooldown violation was let through (edge case #8)."""
    for violation in violations:
        details = violation.get("details") or {}
        if details.get("cooldown_ends_at"):
            return details["cooldown_ends_at"], (
                f"Action queued but cooldown period active. {details['hours_remaining']:g} hours remaining "
                f"(until {details['cooldown_ends_at']}).")
    return None, None


def _enforcement_error(result) -> EnvelopeError | None:
    details = {"outcome": result.outcome, "violations": result.violations, "warnings": result.warnings,
               "audit_log_id": result.audit_log_id}
    if result.outcome == "hard_block":
        return EnvelopeError(403, "ENFORCEMENT_BLOCKED", "Action blocked by enforcement (hard_block)", details)
    if result.requires_confirmation:
        return EnvelopeError(403, "CONFIRMATION_REQUIRED", "Enforcement requires confirmation: confirm the "
                             "token, then queue the action again with it",
                             {**details, "confirmation_token": result.confirmation_token})
    return None


def queue_action(session: Session, tenant_id: int, proposal: ActionProposal, actor: str,
                 confirmation_token: str | None = None, user_id: int | None = None) -> QueueOutcome:
    """Run enforcement (§4.7), then the approval policy (§4.5, §4.6); queue and maybe auto-approve."""
    settings = get_autopilot_settings(session, tenant_id)
    result = evaluate(session, tenant_id, proposal, actor=actor, confirmation_token=confirmation_token,
                      record=True, user_id=user_id)
    error = _enforcement_error(result)
    if error is not None:
        return QueueOutcome(error=error)
    decision = decide(PolicyContext(proposal, settings, result.increase_limit_pct))
    cooldown_ends_at, cooldown_warning = _cooldown(result.violations)
    if cooldown_warning:
        result.warnings.append(cooldown_warning)
    now = utcnow()
    action = AutopilotAction(
        id=new_uuid(), tenant_id=tenant_id, date=now.date(), action_type=proposal.action_type,
        entity_type=proposal.entity_type, entity_id=proposal.entity_id, entity_name=proposal.entity_name or None,
        platform=proposal.platform, action_json=proposal.action_json, before_value=proposal.before_value,
        status="queued", requires_approval=not decision.auto_approved, auto_approved=decision.auto_approved,
        reason=decision.reason, warnings=list(result.warnings), created_by=actor, created_at=now,
        updated_at=now, proposed_hash=proposal.proposed_hash(), attempts=0,
        # the redeemed soft-block confirmation: execution-time re-validation honours it
        confirmation_jti=result.confirmation_jti if result.confirmed else None)
    record_created(session, action, actor, {"enforcement": result.outcome, "reason": decision.reason})
    if decision.auto_approved:
        record_transition(session, action, "approved", AUTOPILOT_ACTOR, {"auto": True, "level": settings.level})
        append_event(session, action="autopilot.action_approved", actor=AUTOPILOT_ACTOR, tenant_id=tenant_id,
                     target_type="autopilot_action", target_id=action.id,
                     details={"auto": True, "level": settings.level, "requested_by": actor})
    return QueueOutcome(action=action, decision=decision, warnings=list(result.warnings),
                        cooldown_ends_at=cooldown_ends_at, enforcement={"outcome": result.outcome, "confirmed": result.confirmed,
                                     "violations": result.violations, "audit_log_id": result.audit_log_id})


def approve(session: Session, tenant_id: int, raw_id: str, actor: str) -> AutopilotAction:
    """queued → approved by a person; 409 AUTOPILOT_FROZEN while frozen; audited in the ledger."""
    action = get_action(session, tenant_id, raw_id)
    if action.status != "queued":
        raise InvalidTransition(action, "approved")
    settings = get_autopilot_settings(session, tenant_id)
    if settings.frozen:
        raise _frozen(settings)
    record_transition(session, action, "approved", actor, {"via": "approve"})
    append_event(session, action="autopilot.action_approved", actor=actor, tenant_id=tenant_id,
                 target_type="autopilot_action", target_id=action.id, details={"auto": False})
    return action


def dismiss(session: Session, tenant_id: int, raw_id: str, actor: str) -> AutopilotAction:
    """queued → dismissed; audited in the ledger."""
    action = get_action(session, tenant_id, raw_id)
    record_transition(session, action, "dismissed", actor, {"via": "dismiss"})
    append_event(session, action="autopilot.action_dismissed", actor=actor, tenant_id=tenant_id,
                 target_type="autopilot_action", target_id=action.id, details={})
    return action


def approve_all(session: Session, tenant_id: int, raw_ids: list[str], actor: str) -> dict[str, Any]:
    """Approve the listed queued actions in one transaction; list the others in `skipped` (§4.16)."""
    bad = [str(raw)[:64] for raw in raw_ids if not _is_uuid(raw)]
    if bad:
        raise EnvelopeError(400, "INVALID_ACTION_ID", "Invalid action ID format", {"invalid_ids": bad[:20]})
    ids = list(dict.fromkeys(parse_action_id(raw) for raw in raw_ids))
    settings = get_autopilot_settings(session, tenant_id)
    if settings.frozen:
        raise _frozen(settings)
    approved = bulk_approve(session, tenant_id, ids, actor, {"via": "approve_all"})
    done = set(approved)
    rest = [i for i in ids if i not in done]
    current = repo.statuses(session, tenant_id, rest)
    skipped = [{"id": i, "reason": "not_queued" if i in current else "not_found",
                "current_status": current.get(i)} for i in rest]
    if approved:
        append_event(session, action="autopilot.actions_approved", actor=actor, tenant_id=tenant_id,
                     target_type="autopilot_action", target_id=f"batch:{len(approved)}",
                     details={"action_ids": approved, "skipped": len(skipped)})
    return {"approved_count": len(approved), "approved_ids": approved, "skipped": skipped,
            "message": f"Approved {len(approved)} actions for execution"}


def _is_uuid(raw: Any) -> bool:
    try:
        uuid.UUID(str(raw))
    except ValueError:
        return False
    return True


def summary(session: Session, tenant_id: int, days: int) -> dict[str, Any]:
    """Counts of actions created in the last `days` days, zero-filled (§4.11)."""
    by_status, by_type, pending = repo.counts_since(session, tenant_id, utcnow() - timedelta(days=days))
    return {
        "total": sum(by_status.values()),
        "by_status": {status: int(by_status.get(status, 0)) for status in STATUSES},
        "by_type": {**{kind: 0 for kind in CORE_TYPES}, **{k: int(v) for k, v in by_type.items()}},
        "pending_approval": pending,
        "days": days,
    }


def pending_count(session: Session, tenant_id: int) -> int:
    """Queued actions waiting for approval (all of them, not just today's)."""
    return repo.count_queued(session, tenant_id)


def approved_waiting(session: Session, tenant_id: int) -> dict[str, int]:
    """Approved actions waiting for the execution worker, per platform."""
    return repo.approved_by_platform(session, tenant_id)


def _encode_cursor(action: AutopilotAction) -> str:
    raw = orjson.dumps([action.created_at.isoformat(), action.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, action_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, str(uuid.UUID(action_id))
    except (ValueError, TypeError, orjson.JSONDecodeError, binascii.Error):
        raise EnvelopeError(422, "VALIDATION_ERROR", "Invalid cursor: pass back next_cursor unchanged",
                            {"field": "cursor"})


def list_actions(session: Session, tenant_id: int, *, on_date: date | None, status: str | None,
                 platform: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of actions, newest first; `next_cursor` continues after its last row (None at the end)."""
    after = _decode_cursor(cursor) if cursor else None
    rows = repo.page(session, tenant_id, on_date=on_date, status=status, platform=platform, limit=limit + 1,
                     after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "actions": [action_view(a) for a in rows],
        "count": len(rows),
        "filters": {"date": on_date.isoformat() if on_date else None, "status": status, "platform": platform},
        "limit": limit,
        "next_cursor": _encode_cursor(rows[-1]) if more and rows else None,
    }
