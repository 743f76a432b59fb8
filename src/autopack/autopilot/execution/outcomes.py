"""Storing an execution's outcome: applied, failed or released, each through CORE's guarded transitions."""

from __future__ import annotations

from typing import Any

from autopack.audit.service import append_event
from autopack.autopilot.actions.service import record_transition
from autopack.autopilot.execution import claims, ledger
from autopack.autopilot.execution.adapters.base import ApplyResult
from autopack.autopilot.execution.service import ACTOR, public_state
from autopack.core.database import session_scope
from autopack.db.base import utcnow


def after_send(action_id: str) -> None:
    """Runs after the platform accepted a change and before the outcome is stored (a crash-test seam)."""


def audit(session, claim: claims.Claim, status: str, details: dict[str, Any]) -> None:
    append_event(session, action=f"autopilot.action_{status}", actor=ACTOR, tenant_id=claim.tenant_id,
                 target_type="autopilot_action", target_id=claim.action_id, details=details)


def finish_applied(claim: claims.Claim, before: dict | None, result: ApplyResult, adapter: str) -> str:
    """Store `applied` (after_value, applied_at) and confirm the ledger row; 'lost' if the lease was lost."""
    with session_scope() as session:
        action = claims.owned(session, claim)
        if action is None:
            return "lost"  # whoever reclaimed it reconciles from the ledger and the platform
        after = public_state(result.after_value)
        ledger.finish(session, claim.action_id, "confirmed",
                      response={"after_value": after, "platform_reference": result.platform_reference,
                                **result.response})
        values: dict[str, Any] = {"after_value": after, "applied_at": utcnow()}
        if before is not None:
            values["before_value"] = public_state(before)
        record_transition(session, action, "applied", ACTOR,
                          {"adapter": adapter, "platform_reference": result.platform_reference,
                           "queued_before_value": action.before_value}, **values)
        audit(session, claim, "applied", {"adapter": adapter, "after_value": after})
    return "applied"


def finish_failed(claim: claims.Claim, error: str, *, ledger_state: str | None = None,
                  summary: dict | None = None) -> str:
    """Store `failed` with the error (and the ledger row's outcome when given)."""
    with session_scope() as session:
        action = claims.owned(session, claim)
        if action is None:
            return "lost"
        if ledger_state is not None:
            ledger.finish(session, claim.action_id, ledger_state, response=summary, error=error)
        record_transition(session, action, "failed", ACTOR, {"error": error}, error=error)
        audit(session, claim, "failed", {"error": error[:500]})
    return "failed"


def release(claim: claims.Claim, reason: str, *, ledger_failed: str | None = None) -> str:
    """`applying → approved`: nothing was applied; the next claim re-validates and tries again."""
    with session_scope() as session:
        action = claims.owned(session, claim)
        if action is None:
            return "lost"
        if ledger_failed is not None:
            ledger.finish(session, claim.action_id, "failed", error=ledger_failed)
        record_transition(session, action, "approved", ACTOR, {"released": reason}, claim_token=None,
                          claimed_at=None)
    return "released"
