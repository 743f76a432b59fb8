"""Inline-button decisions on approval requests: `pr_approve:<id>`, `pr_reject:<id>` and the
reference's phase forms `approve:<phase_id>` / `reject:<phase_id>` (latest pending of that phase).

The app registers them (`register`) where it is assembled.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.approvals import service
from autopack.core.ids import id_problem
from autopack.db.models import ApprovalRequest
from autopack.telegram import messages
from autopack.telegram.callbacks import CallbackContext, CallbackResult, malformed, register_callback

INT32 = 2**31 - 1
NOT_FOUND_BY_PHASE = "⚠️ Approval request not found or already processed"


def _outcome_text(row: ApprovalRequest) -> str:
    return messages.decision_text(approval_id=row.id, run_id=row.run_id, phase_id=row.phase_id,
                                  status=row.status, actor=row.decided_by or row.response_method or "timeout")


def _decide(session: Session, ctx: CallbackContext, approval_id: int, approve: bool) -> service.Decision:
    verb = "Approved" if approve else "Rejected"
    return service.decide(session, approval_id, approve=approve, actor=ctx.actor,
                          reason=f"{verb} by Telegram user {ctx.who}", method="telegram")


def _by_id(approve: bool):
    def handle(session: Session, ctx: CallbackContext) -> CallbackResult:
        """`pr_approve:<id>` / `pr_reject:<id>`: exactly that request, if it is still pending."""
        try:
            approval_id = int(ctx.argument)
        except ValueError:
            return malformed(f"invalid literal for int() with base 10: {ctx.argument[:64]!r}")
        if not -INT32 - 1 <= approval_id <= INT32:
            return malformed("approval id out of range")
        decision = _decide(session, ctx, approval_id, approve)
        if decision.row is None:
            return CallbackResult({"ok": True, "error": "approval_not_found"},
                                  answer="Approval request not found", outcome="not_found")
        if not decision.decided:  # nothing changes; the message is corrected to show the real state
            return CallbackResult({"ok": True, "error": "approval_not_found"},
                                  answer=f"Already decided: {decision.status}",
                                  edit_text=_outcome_text(decision.row), outcome=f"already_{decision.status}")
        return CallbackResult({"ok": True, "action": "approve" if approve else "reject",
                               "approval_id": approval_id},
                              answer="✅ Approved" if approve else "❌ Rejected",
                              edit_text=_outcome_text(decision.row), outcome=decision.status)
    return handle


def _by_phase(approve: bool):
    def handle(session: Session, ctx: CallbackContext) -> CallbackResult:
        """`approve:<phase_id>` / `reject:<phase_id>`: the phase's latest pending request."""
        problem = id_problem(ctx.argument, "phase_id")
        if problem:
            return malformed(problem)
        approval_id = session.scalar(
            select(ApprovalRequest.id)
            .where(ApprovalRequest.phase_id == ctx.argument, ApprovalRequest.status == "pending")
            .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc()).limit(1))
        decision = _decide(session, ctx, approval_id, approve) if approval_id is not None else None
        if decision is None or decision.row is None:
            return CallbackResult({"ok": True}, answer=NOT_FOUND_BY_PHASE, outcome="not_found")
        if not decision.decided:
            return CallbackResult({"ok": True}, answer=f"Already decided: {decision.status}",
                                  edit_text=_outcome_text(decision.row), outcome=f"already_{decision.status}")
        if ctx.message_id is not None:  # the reference records which message carried the decision
            decision.row.telegram_message_id = str(ctx.message_id)
        return CallbackResult({"ok": True}, answer="✅ Approved" if approve else "❌ Rejected",
                              edit_text=_outcome_text(decision.row), outcome=decision.status)
    return handle


def register() -> None:
    """Route the approval buttons (by request id and by phase) to their handlers."""
    register_callback("pr_approve", _by_id(True))
    register_callback("pr_reject", _by_id(False))
    register_callback("approve", _by_phase(True))
    register_callback("reject", _by_phase(False))
