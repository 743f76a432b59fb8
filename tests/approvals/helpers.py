"""Helpers for approval tests: create through the API, read and write rows directly, audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from autopack.approvals.payload import payload_sha256
from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest, AuditEvent

DECISION = {"risk_level": "high", "risk_score": 80, "description": "delete the legacy module"}
DELETION = {"net_deletion": 120, "loc_removed": 150, "loc_added": 30, "risk_level": "high",
            "risk_score": 80, "files": ["src/a.py", "src/b.py", "src/c.py", "src/d.py"]}


def request_body(**overrides) -> dict:
    """A typical executor request (a risky decision with a patch preview)."""
    body = {"run_id": "run-1", "phase_id": "F1.1", "context": "build113_risky_decision",
            "decision_info": dict(DECISION), "deletion_info": dict(DELETION),
            "patch_preview": "--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-old\n+new\n"}
    body.update(overrides)
    return body


def create(client, **overrides) -> dict:
    """POST /approval/request; asserts 200 and returns the JSON."""
    response = client.post("/approval/request", json=request_body(**overrides))
    assert response.status_code == 200, response.text
    return response.json()


def row(approval_id: int) -> ApprovalRequest:
    """The stored request (detached, fresh)."""
    with session_scope(writer=False) as session:
        return session.get(ApprovalRequest, approval_id)


def insert_pending(*, timeout_at: datetime | None = None, phase_id: str = "F1.1", run_id: str = "run-1",
                   requested_at: datetime | None = None, telegram_sent: bool = False) -> int:
    """A pending request written straight into the database (e.g. while no server runs)."""
    now = utcnow()
    with session_scope() as session:
        item = ApprovalRequest(run_id=run_id, phase_id=phase_id, context="unknown", decision_info={},
                               payload_sha256=payload_sha256({}, None, None),
                               requested_at=requested_at or now,
                               timeout_at=timeout_at or now + timedelta(minutes=15), status="pending",
                               telegram_sent=telegram_sent, notify_state="sent" if telegram_sent else "skipped",
                               notify_attempts=0)
        session.add(item)
        session.flush()
        return item.id


def audit_trail(approval_id: int | None = None) -> list[tuple[str, str]]:
    """(action, actor) of the approval events in the ledger, in order."""
    with session_scope(writer=False) as session:
        query = select(AuditEvent).where(AuditEvent.target_type == "approval_request")
        if approval_id is not None:
            query = query.where(AuditEvent.target_id == str(approval_id))
        return [(e.action, e.actor) for e in session.scalars(query.order_by(AuditEvent.global_seq))]
