"""Approval requests: create, decide exactly once, expire fail-closed, report.

Services flush, never commit. Every decision is a conditional UPDATE (`WHERE status = 'pending'
AND not expired`) whose row count says who won, so of two concurrent decisions exactly one takes
effect, on SQLite and PostgreSQL alike; the winner audits it in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from autopack.approvals.payload import payload_sha256
from autopack.approvals.schemas import ApprovalRequestIn
from autopack.audit import service as audit
from autopack.core.errors import BadRequest
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest
from autopack.events import log as events
from autopack.telegram import messages, notifier
from autopack.telegram.notifier import Delivery
from autopack.telegram.sending import DeliveryResult

AUTO_REASON = "Auto-approved (AUTO_APPROVE_BUILD113=true)"
AUTO_RESPONSE_REASON = "Auto-approved (BUILD-117 - auto-approve mode enabled)"
TIMEOUT_REJECT_REASON = "Auto-rejected after timeout"
TIMEOUT_APPROVE_IGNORED = "Timed out; not approved (APPROVAL_DEFAULT_ON_TIMEOUT=approve: a timeout never approves)"
TIMEOUT_ACTOR = "system:approval-timeout-worker"
TARGET = "approval_request"
DecisionHook = Callable[[Session, ApprovalRequest, "int | None"], None]
_decision_hooks: dict[str, DecisionHook] = {}


@dataclass
class Created:
    """A new request and what became of its notification (filled in after the commit)."""

    approval: ApprovalRequest
    delivery: Delivery | None
    timeout_minutes: int
    default_on_timeout: str


@dataclass(frozen=True)
class Decision:
    """The result of a decision attempt: the row (None if unknown), whether this call decided it."""

    row: ApprovalRequest | None
    decided: bool
    status: str | None


def _audit(session: Session, action: str, actor: str, row: ApprovalRequest, **details) -> None:
    audit.append_event(session, action=action, actor=actor, target_type=TARGET, target_id=str(row.id),
                       details={"run_id": row.run_id, "phase_id": row.phase_id,
                                "payload_sha256": row.payload_sha256, **details})
    events.record(session, action, run_id=row.run_id, payload={
        "approval_id": row.id, "phase_id": row.phase_id, "status": row.status, "actor": actor})


def register_decision_hook(context: str, hook: DecisionHook) -> None:
    """Call `hook(session, row, amount)` in the transaction that decides or expires a request of `context`."""
    _decision_hooks[context] = hook


def _after_decision(session: Session, row: ApprovalRequest, amount: int | None) -> None:
    hook = _decision_hooks.get(row.context)
    if hook is not None:
        hook(session, row, amount)


def auto_approve_enabled() -> bool:
    """AUTO_APPROVE_BUILD113, which production never honours (DECISIONS §3.10)."""
    settings = get_settings()
    return settings.auto_approve_build113 and not settings.is_production


def create_request(session: Session, body: ApprovalRequestIn, actor: str) -> Created:
    """Store a pending request (or approve it in auto mode) and queue its Telegram message."""
    settings, now = get_settings(), utcnow()
    patch = body.patch_preview if body.patch_preview is not None else body.patch
    decision_info = body.decision_info or {}
    row = ApprovalRequest(
        run_id=body.run_id, phase_id=body.phase_id, context=body.context, decision_info=decision_info,
        deletion_info=body.deletion_info, patch_preview=patch,
        payload_sha256=payload_sha256(decision_info, body.deletion_info, patch), requested_at=now,
        timeout_at=now + timedelta(minutes=settings.approval_timeout_minutes), status="pending",
        requested_by=actor, telegram_sent=False, notify_state="skipped", notify_attempts=0)
    session.add(row)
    session.flush()
    created = Created(row, None, settings.approval_timeout_minutes, settings.approval_default_on_timeout)
    if auto_approve_enabled():
        row.status, row.response_method, row.approval_reason = "approved", "auto", AUTO_REASON
        row.responded_at, row.decided_by = now, "auto"
        _audit(session, "approval.requested", actor, row, context=row.context)
        _audit(session, "approval.approved", "system:auto-approve", row, method="auto", reason=AUTO_REASON)
        return created
    text = messages.approval_text(
        approval_id=row.id, run_id=row.run_id, phase_id=row.phase_id, context=row.context,
        decision_info=decision_info, deletion_info=body.deletion_info, payload_sha256=row.payload_sha256,
        timeout_at=row.timeout_at, sent_at=now, patch_preview=patch)
    created.delivery = notifier.notify_pending(
        session, kind="approval", ref_id=row.id, text=text,
        buttons=[("✅ Approve", f"pr_approve:{row.id}"), ("❌ Reject", f"pr_reject:{row.id}")])
    row.notify_state = "pending" if created.delivery.outbox_id is not None else "skipped"
    row.telegram_error = created.delivery.error
    _audit(session, "approval.requested", actor, row, context=row.context)
    return created


def request_response(created: Created) -> dict:
    """The reference's answer to POST /approval/request (after the commit and the first send)."""
    row = created.approval
    if row.status == "approved":
        return {"status": "approved", "reason": AUTO_RESPONSE_REASON, "approval_id": row.id,
                "payload_sha256": row.payload_sha256}
    return {"status": "pending",
            "reason": (f"Awaiting human approval (timeout in {created.timeout_minutes} minutes, "
                       f"default: {created.default_on_timeout})"),
            "approval_id": row.id, "telegram_sent": bool(created.delivery and created.delivery.sent),
            "timeout_at": row.timeout_at, "payload_sha256": row.payload_sha256}


def serialize_status(row: ApprovalRequest) -> dict:
    """`GET /approval/status/{id}`: the reference's fields plus payload_sha256 and decided_by."""
    return {"approval_id": row.id, "run_id": row.run_id, "phase_id": row.phase_id, "status": row.status,
            "requested_at": row.requested_at, "responded_at": row.responded_at, "timeout_at": row.timeout_at,
            "approval_reason": row.approval_reason, "rejected_reason": row.rejected_reason,
            "response_method": row.response_method, "payload_sha256": row.payload_sha256,
            "decided_by": row.decided_by}


def get_request(session: Session, approval_id: int) -> ApprovalRequest | None:
    """One request by id."""
    return session.get(ApprovalRequest, approval_id)


def list_pending(session: Session, *, limit: int = 100, offset: int = 0) -> dict:
    """Pending requests, newest first, one page; `count` is the number pending."""
    pending = ApprovalRequest.status == "pending"
    count = session.scalar(select(func.count()).select_from(ApprovalRequest).where(pending))
    rows = session.scalars(select(ApprovalRequest).where(pending)
                           .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc())
                           .limit(limit).offset(offset))
    return {"count": count, "requests": [
        {"id": r.id, "run_id": r.run_id, "phase_id": r.phase_id, "context": r.context,
         "requested_at": r.requested_at, "timeout_at": r.timeout_at, "decision_info": r.decision_info,
         "deletion_info": r.deletion_info, "telegram_sent": r.telegram_sent,
         "payload_sha256": r.payload_sha256, "patch_preview": r.patch_preview} for r in rows]}


def decide(session: Session, approval_id: int, *, approve: bool, actor: str, reason: str | None,
           method: str, check_raiser: Callable[[str | None], None] | None = None,
           amount: int | None = None) -> Decision:
    """Approve or reject a pending, unexpired request; a no-op (decided=False) for any other.

    `amount` is for requests whose decision hook takes one (a budget extension); 400 for any other.
    """
    if check_raiser is not None or amount is not None:
        found = session.execute(select(ApprovalRequest.requested_by, ApprovalRequest.context)
                                .where(ApprovalRequest.id == approval_id)).first()
        if found is not None and check_raiser is not None:  # four-eyes: raises for the request's raiser
            check_raiser(found.requested_by)
        if found is not None and amount is not None and (not approve or found.context not in _decision_hooks):
            raise BadRequest("amount applies only when approving a budget extension request")
    now = utcnow()
    status = "approved" if approve else "rejected"
    reason = reason or f"{'Approved' if approve else 'Rejected'} by {actor}"
    values = {"status": status, "responded_at": now, "response_method": method, "decided_by": actor,
              "approval_reason" if approve else "rejected_reason": reason}
    won = session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id, ApprovalRequest.status == "pending",
               or_(ApprovalRequest.timeout_at.is_(None), ApprovalRequest.timeout_at > now))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    row = session.get(ApprovalRequest, approval_id, populate_existing=True)
    if row is None:
        return Decision(None, False, None)
    if won:
        _audit(session, f"approval.{status}", actor, row, method=method, reason=reason[:500],
               **({"amount": amount} if amount is not None else {}))
        _after_decision(session, row, amount)
        return Decision(row, True, status)
    if row.status == "pending":  # past its timeout, not yet swept: fail closed, sweep it now
        expire_row(session, approval_id, now)  # refreshes `row` (same identity) with its new status
    return Decision(row, False, row.status)


def expire_row(session: Session, approval_id: int, now: datetime) -> bool:
    """Move one pending request whose time is up to `timeout` (never approved); False if not ours."""
    default = get_settings().approval_default_on_timeout
    reason = TIMEOUT_REJECT_REASON if default == "reject" else TIMEOUT_APPROVE_IGNORED
    won = session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval_id, ApprovalRequest.status == "pending",
               ApprovalRequest.timeout_at <= now)
        .values(status="timeout", responded_at=now, response_method="timeout", rejected_reason=reason)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        return False
    row = session.get(ApprovalRequest, approval_id, populate_existing=True)
    _audit(session, "approval.timed_out", TIMEOUT_ACTOR, row, reason=reason)
    _after_decision(session, row, None)
    if row.telegram_sent:
        notifier.notify_pending(session, kind="approval_timeout", ref_id=row.id,
                                text=messages.timeout_text(approval_id=row.id, phase_id=row.phase_id,
                                                           default_on_timeout=default))
    return True


def record_notification(session: Session, result: DeliveryResult) -> None:
    """Mirror an outbox delivery round onto its request (the reference's telegram_* columns)."""
    row = session.get(ApprovalRequest, int(result.ref_id))
    if row is None:
        return
    row.telegram_sent = result.state == "sent"
    row.telegram_error = result.error
    if result.message_id is not None:
        row.telegram_message_id = str(result.message_id)
    row.notify_state = result.state if result.state in ("sent", "failed") else "pending"
    row.notify_attempts = result.attempts


notifier.register_delivery_hook("approval", record_notification)
