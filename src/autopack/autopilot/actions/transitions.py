"""The action state machine: guarded transitions, each one stored as an event row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from autopack.core import statements
from autopack.core.database import flushed_connection
from autopack.core.errors import EnvelopeError
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction, AutopilotActionEvent
from autopack.db.scope import scoped_update
from autopack.events import log as events

# queued → approved (person or level-1 auto) → applying (worker claim) → applied | failed.
# applying → approved releases a claim (crash or retry); approved → queued sends an action back to
# a person (a soft block at execution time); approved → failed rejects it at re-validation.
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"approved", "dismissed"}),
    "approved": frozenset({"applying", "queued", "failed"}),
    "applying": frozenset({"applied", "failed", "approved"}),
    "applied": frozenset(),
    "failed": frozenset(),
    "dismissed": frozenset(),
}
_ACTIONS = AutopilotAction.__table__
_INSERT_ACTION = insert(_ACTIONS)
_INSERT_EVENT = insert(AutopilotActionEvent.__table__)
# The transition's UPDATE, built once: the changed columns' parameters make its SET clause (the tenant's
# parameter is not named tenant_id, which would be taken for a column to set).
_TRANSITION = scoped_update(_ACTIONS, bindparam("scope_tenant")).where(
    _ACTIONS.c.id == bindparam("action_id"), _ACTIONS.c.status == bindparam("from_status"))
_STAMPS = {"approved": ("approved_at", "approved_by"), "dismissed": ("dismissed_at", "dismissed_by"),
           "applied": ("applied_at", None)}


class InvalidTransition(EnvelopeError):
    """400 INVALID_STATUS_TRANSITION: the action is not in a state that allows this change."""

    def __init__(self, action: AutopilotAction, to_status: str):
        super().__init__(400, "INVALID_STATUS_TRANSITION",
                         f"Action is {action.status}; it cannot become {to_status}",
                         {"current_status": action.status, "requested_status": to_status,
                          "applied_at": action.applied_at})
        self.current_status = action.status


def event_row(action_id: str, tenant_id: int, from_status: str | None, to_status: str, actor: str,
              details: dict[str, Any] | None, at=None) -> dict[str, Any]:
    """The insert values of one event row."""
    return {"action_id": action_id, "tenant_id": tenant_id, "from_status": from_status,
            "to_status": to_status, "actor": actor, "details": details, "created_at": at or utcnow()}


def log_event(session: Session, tenant_id: int, action_id: str, from_status: str | None, to_status: str,
              actor: str) -> None:
    """The control-plane event of an action's change (`autopilot.action.<status>`)."""
    events.record(session, f"autopilot.action.{to_status}", tenant_id=tenant_id, payload={
        "action_id": action_id, "from": from_status, "to": to_status, "actor": actor})


def record_created(session: Session, action: AutopilotAction, actor: str, details: dict | None = None) -> None:
    """Insert a new action (the columns set on it, as the ORM would) and its first event (nothing → queued).

    The action stays out of the session: one Core insert costs less than the unit of work.
    """
    conn = flushed_connection(session)
    statements.execute(conn, _INSERT_ACTION, dict(inspect(action).dict))
    statements.execute(conn, _INSERT_EVENT, event_row(action.id, action.tenant_id, None, action.status, actor,
                                                      details))
    log_event(session, action.tenant_id, action.id, None, action.status, actor)


def record_transition(session: Session, action: AutopilotAction, to_status: str, actor: str,
                      details: dict[str, Any] | None = None, **values: Any) -> AutopilotAction:
    """Move `action` to `to_status` if it is still where we last saw it; store the event; flush.

    The UPDATE is conditional on the current status, so of many concurrent callers exactly one wins;
    the others get InvalidTransition with the status they lost to. `values` sets other columns too
    (after_value, error, claim_token, ...). Never commits.
    """
    from_status = action.status
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        raise InvalidTransition(action, to_status)
    now = utcnow()
    changes: dict[str, Any] = {"status": to_status, "updated_at": now, **values}
    if to_status in _STAMPS:
        at_column, by_column = _STAMPS[to_status]
        changes.setdefault(at_column, now)
        if by_column:
            changes.setdefault(by_column, actor)
    conn = flushed_connection(session)  # by the driver on the connection: the ORM's execute doubled the cost
    changed = statements.execute(conn, _TRANSITION, {
        **changes, "scope_tenant": action.tenant_id, "action_id": action.id, "from_status": from_status})
    if changed != 1:
        session.refresh(action)
        raise InvalidTransition(action, to_status)
    for key, value in changes.items():
        set_committed_value(action, key, value)
    statements.execute(conn, _INSERT_EVENT, event_row(action.id, action.tenant_id, from_status, to_status, actor,
                                                      details, now))
    log_event(session, action.tenant_id, action.id, from_status, to_status, actor)
    return action


def bulk_approve(session: Session, tenant_id: int, ids: list[str], actor: str,
                 details: dict[str, Any] | None = None) -> list[str]:
    """queued → approved for those of `ids` still queued, in one UPDATE; one event each. Returns them."""
    now = utcnow()
    stmt = (scoped_update(AutopilotAction, tenant_id)
            .where(AutopilotAction.id.in_(ids), AutopilotAction.status == "queued")
            .values(status="approved", approved_at=now, approved_by=actor, updated_at=now)
            .returning(AutopilotAction.id).execution_options(synchronize_session=False))
    approved = list(session.scalars(stmt))
    if approved:
        session.execute(insert(AutopilotActionEvent),
                        [event_row(i, tenant_id, "queued", "approved", actor, details, now) for i in approved])
        for action_id in approved:
            log_event(session, tenant_id, action_id, "queued", "approved", actor)
    return approved
