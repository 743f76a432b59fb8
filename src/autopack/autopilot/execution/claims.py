"""Claims on approved actions, through the database: safe with any number of workers and instances.

A claim is CORE's guarded transition `approved → applying` (a conditional UPDATE: of many claimers
exactly one wins) carrying a fresh claim token and `claimed_at`. On PostgreSQL the candidate row is
also locked `FOR UPDATE SKIP LOCKED`, so instances re-validate disjoint actions. An `applying` action
whose claim is older than the lease belonged to a worker that died; the ledger decides what happens:
no request (or a refused one) → back to `approved`; confirmed → `applied`; sent → reconcile.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select, update

from autopack.autopilot.actions.service import InvalidTransition, record_transition
from autopack.autopilot.actions.transitions import event_row
from autopack.autopilot.execution import ledger
from autopack.autopilot.execution.adapters.base import PlannedChange
from autopack.autopilot.execution.service import ACTOR, Verdict, revalidate
from autopack.core.database import session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction, AutopilotActionEvent

BATCH = 20
log = get_logger(__name__)


@dataclass(frozen=True)
class Claim:
    """An action this worker holds in `applying` under `token`."""

    action_id: str
    tenant_id: int
    platform: str
    token: str


def _candidates(skip: set[str]) -> list[str]:
    stmt = select(AutopilotAction.id).where(AutopilotAction.status == "approved")
    if skip:
        stmt = stmt.where(AutopilotAction.id.notin_(skip))
    with session_scope(writer=False) as session:  # idle ticks take no write lock
        return list(session.scalars(stmt.order_by(AutopilotAction.approved_at, AutopilotAction.id).limit(BATCH)))


def _hold(session, action: AutopilotAction, reason: str) -> None:
    """Leave the action approved; record the reason once (not on every poll)."""
    if action.error == reason:
        return
    session.execute(update(AutopilotAction).where(AutopilotAction.id == action.id,
                                                  AutopilotAction.status == "approved")
                    .values(error=reason, updated_at=utcnow()).execution_options(synchronize_session=False))
    session.execute(insert(AutopilotActionEvent), [event_row(action.id, action.tenant_id, "approved", "approved",
                                                             ACTOR, {"held": reason})])


def _verdict(session, action: AutopilotAction) -> Verdict:
    """Re-validate, bounded: an action claimed max-attempts times without an outcome fails."""
    limit = get_settings().autopilot_max_attempts
    if action.attempts >= limit:
        return Verdict("fail", f"Execution abandoned after {action.attempts} claims without an outcome")
    try:
        return revalidate(session, action)
    except Exception as exc:  # noqa: BLE001 - one broken action must not block the ones behind it
        log.warning("autopilot_revalidate_error", action_id=action.id, error_type=type(exc).__name__,
                    error=str(exc)[:200])
        return Verdict("hold", f"Re-validation error ({type(exc).__name__}) - action deferred")


def claim_next(skip: set[str], counts: dict[str, int]) -> Claim | None:
    """Re-validate approved actions oldest first; claim the first that may run (holds and fails the rest)."""
    while ids := _candidates(skip):
        for action_id in ids:
            skip.add(action_id)
            with session_scope() as session:
                action = session.scalar(
                    select(AutopilotAction).where(AutopilotAction.id == action_id, AutopilotAction.status == "approved")
                    .with_for_update(skip_locked=True).execution_options(populate_existing=True))
                if action is None:
                    continue  # taken, changed or locked by another instance
                verdict = _verdict(session, action)
                try:
                    if verdict.kind == "hold":
                        _hold(session, action, verdict.reason or "held")
                        counts["held"] = counts.get("held", 0) + 1
                    elif verdict.kind == "fail":
                        record_transition(session, action, "failed", ACTOR, {"reason": verdict.reason},
                                          error=verdict.reason)
                        counts["failed"] = counts.get("failed", 0) + 1
                    else:
                        token = secrets.token_hex(16)
                        record_transition(session, action, "applying", ACTOR,
                                          {"attempt": action.attempts + 1, "warnings": verdict.warnings},
                                          claim_token=token, claimed_at=utcnow(), attempts=action.attempts + 1,
                                          error=None)
                        return Claim(action.id, action.tenant_id, action.platform, token)
                except InvalidTransition:
                    continue  # another worker moved it first
    return None


def owned(session, claim: Claim) -> AutopilotAction | None:
    """The action if it is still `applying` under this claim's token (None: the lease was lost)."""
    return session.scalar(select(AutopilotAction).where(
        AutopilotAction.id == claim.action_id, AutopilotAction.status == "applying",
        AutopilotAction.claim_token == claim.token).execution_options(populate_existing=True))


def reclaim_expired(lease_seconds: float) -> list[tuple[Claim, PlannedChange]]:
    """Settle abandoned claims; returns those whose request may have been sent (to reconcile)."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    expired = (AutopilotAction.status == "applying", AutopilotAction.claimed_at < cutoff)
    with session_scope(writer=False) as session:
        ids = list(session.scalars(select(AutopilotAction.id).where(*expired).limit(BATCH)))
    uncertain: list[tuple[Claim, PlannedChange]] = []
    for action_id in ids:
        with session_scope() as session:
            action = session.scalar(select(AutopilotAction).where(AutopilotAction.id == action_id, *expired)
                                    .with_for_update(skip_locked=True).execution_options(populate_existing=True))
            if action is None:
                continue
            row = ledger.get(session, action_id)
            if row is None or row.state == "failed":
                reason = "no request was sent" if row is None else "the platform refused the last request"
                record_transition(session, action, "approved", ACTOR,
                                  {"reclaimed": True, "reason": f"claim expired; {reason}"},
                                  claim_token=None, claimed_at=None)
            elif row.state == "confirmed":
                summary = row.response_summary or {}
                record_transition(session, action, "applied", ACTOR, {"reclaimed": True, "ledger": "confirmed"},
                                  after_value=summary.get("after_value"), claim_token=None)
            else:
                token = secrets.token_hex(16)
                session.execute(update(AutopilotAction).where(AutopilotAction.id == action_id,
                                                              AutopilotAction.status == "applying")
                                .values(claim_token=token, claimed_at=utcnow())
                                .execution_options(synchronize_session=False))
                claim = Claim(action.id, action.tenant_id, action.platform, token)
                uncertain.append((claim, ledger.change_of(row, action)))
    return uncertain
