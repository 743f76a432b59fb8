"""The intervention audit log: every enforcement decision and intervention, mirrored into the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core import statements
from autopack.core.database import flushed_connection
from autopack.core.errors import EnvelopeError
from autopack.db.base import utcnow
from autopack.db.models.enforcement import EnforcementAuditLog, new_uuid
from autopack.db.scope import scoped
from autopack.events import log as events

INTERVENTIONS = ("allowed", "warned", "confirmation_required", "confirmed", "blocked", "override_logged",
                 "auto_paused", "kill_switch_changed", "freeze_changed", "enforcement_disabled")
MAX_LIMIT = 500


_INSERT_LOG = insert(EnforcementAuditLog.__table__)


def record_intervention(session: Session, tenant_id: int, *, intervention_action: str, actor: str,
                        action_type: str, entity_type: str, entity_id: str, enforcement_mode: str | None,
                        violation_type: str | None = None, details: dict[str, Any] | None = None,
                        user_id: int | None = None, override_reason: str | None = None,
                        timestamp: datetime | None = None) -> str:
    """Write one enforcement_audit_logs row and the matching `enforcement.<intervention>` ledger event; its id."""
    row_id = new_uuid()
    # A Core insert on the session's connection: the ORM's unit of work cost more than the row.
    statements.execute(flushed_connection(session), _INSERT_LOG, {
        "id": row_id, "tenant_id": tenant_id, "timestamp": timestamp or utcnow(), "action_type": action_type,
        "entity_type": entity_type, "entity_id": entity_id, "violation_type": violation_type,
        "intervention_action": intervention_action, "enforcement_mode": enforcement_mode, "details": details or {},
        "actor": actor, "user_id": user_id, "override_reason": override_reason})
    append_event(session, action=f"enforcement.{intervention_action}", actor=actor, tenant_id=tenant_id,
                 target_type=entity_type, target_id=entity_id,
                 details={"audit_log_id": row_id, "action_type": action_type, "violation_type": violation_type,
                          "enforcement_mode": enforcement_mode, "override_reason": override_reason,
                          **(details or {})})
    # Kill switch and freeze changes are interventions too: enforcement.kill_switch_changed, .freeze_changed.
    events.record(session, f"enforcement.{intervention_action}", tenant_id=tenant_id, payload={
        "audit_log_id": row_id, "action_type": action_type, "entity_type": entity_type, "entity_id": entity_id,
        "violation_type": violation_type, "enforcement_mode": enforcement_mode, "actor": actor,
        **{key: value for key, value in (details or {}).items() if key in ("enabled", "frozen")}})
    return row_id


def log_dict(row: EnforcementAuditLog) -> dict[str, Any]:
    """The contract's log entry (plus `actor`)."""
    return {"id": row.id, "timestamp": row.timestamp, "action_type": row.action_type,
            "entity_type": row.entity_type, "entity_id": row.entity_id, "violation_type": row.violation_type,
            "intervention_action": row.intervention_action, "enforcement_mode": row.enforcement_mode,
            "details": row.details or {}, "user_id": row.user_id, "override_reason": row.override_reason,
            "actor": row.actor}


def list_logs(session: Session, tenant_id: int, *, days: int = 30, limit: int = 100, cursor: str | None = None,
              filters: dict[str, str | None] | None = None) -> tuple[list[EnforcementAuditLog], str | None]:
    """Newest first within `days`; `cursor` is the id of the last row of the previous page."""
    limit = max(1, min(limit, MAX_LIMIT))
    log = EnforcementAuditLog
    stmt = scoped(select(log).where(log.timestamp >= utcnow() - timedelta(days=days)), tenant_id)
    for name, value in (filters or {}).items():
        if value is not None:
            stmt = stmt.where(getattr(log, name) == value)
    if cursor is not None:
        anchor = session.execute(scoped(select(log.timestamp, log.id).where(log.id == cursor), tenant_id)).first()
        if anchor is None:
            raise EnvelopeError(422, "VALIDATION_ERROR", "Unknown cursor", {"field": "cursor"})
        stmt = stmt.where(or_(log.timestamp < anchor.timestamp,
                              and_(log.timestamp == anchor.timestamp, log.id < anchor.id)))
    rows = list(session.scalars(stmt.order_by(log.timestamp.desc(), log.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor
