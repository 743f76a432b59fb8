"""Applying a claimed action through an HTTP platform adapter, with safe retries and reconciliation.

The ledger row is committed as `sent` before each request. After an error the outcome is decided:
a refusal the platform reports as not applied (rate limit, unreachable) may be retried; a client or
auth error fails at once; a 5xx or a timeout is settled by reading the state back — the target value
means it was applied, the old value means it was not (retry), an unreadable state fails the action
without a retry (it may have been applied: never risk applying twice).
"""

from __future__ import annotations

import threading
from typing import Any

from autopack.autopilot.execution import claims, ledger, outcomes
from autopack.autopilot.execution.adapters.base import (
    ApplyResult,
    PlannedChange,
    PlatformAdapter,
    PlatformError,
    matches,
)
from autopack.autopilot.execution.service import PlanError, entity_of, make_adapter, plan_change
from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction


def _retry_wait(exc: PlatformError, attempt: int) -> tuple[float | None, str]:
    """Seconds to wait before the next attempt, or None with the reason to give up."""
    settings = get_settings()
    if attempt >= settings.autopilot_max_attempts:
        return None, f"gave up after {attempt} attempts"
    wait = exc.retry_after if exc.retry_after is not None else float(2 ** (attempt - 1))
    if wait > settings.autopilot_max_retry_wait_seconds:
        return None, f"retry after {wait:g}s exceeds the {settings.autopilot_max_retry_wait_seconds:g}s limit"
    return wait, ""


def _settle(adapter: PlatformAdapter, change: PlannedChange, exc: PlatformError) -> tuple[str, dict | None]:
    """After a failed send: ('retry' | 'failed' | 'unknown' | 'applied', state read back)."""
    if exc.safe_to_retry:
        return "retry", None
    if exc.kind in ("client", "auth"):
        return "failed", None
    try:
        state = adapter.get_state(change.entity)
    except PlatformError:
        return "unknown", None
    return ("applied", state) if matches(state, change) else ("retry", state)


def _mark_sent(claim: claims.Claim, adapter: PlatformAdapter, change: PlannedChange) -> bool:
    with session_scope() as session:
        action = claims.owned(session, claim)
        if action is None:
            return False
        ledger.mark_sent(session, action, adapter.name, change, claim.token)
        action.claimed_at = utcnow()  # heartbeat: the lease counts from the last request
    return True


def _load(claim: claims.Claim) -> AutopilotAction | None:
    with session_scope(writer=False) as session:
        return claims.owned(session, claim)


def run_http(claim: claims.Claim, adapter: PlatformAdapter, stopping: threading.Event) -> str:
    """Read, plan, record, send; retry only when safe; the final status."""
    action = _load(claim)
    if action is None:
        return "lost"
    try:
        attempt = 0
        while True:
            attempt += 1
            try:
                before = adapter.get_state(entity_of(action))
                change = plan_change(action, before)
            except PlanError as exc:
                return outcomes.finish_failed(claim, str(exc))
            except PlatformError as exc:  # a read changes nothing: retry unless refused for good
                if exc.kind in ("client", "auth"):
                    return outcomes.finish_failed(claim, exc.message)
                wait, why = _retry_wait(exc, attempt)
                if wait is None:
                    return outcomes.finish_failed(claim, f"{exc.message} ({why})")
                if stopping.wait(wait):
                    return outcomes.release(claim, "worker stopping")
                continue
            if matches(before, change):  # already there (e.g. applied by an earlier, interrupted run)
                return outcomes.finish_applied(claim, before, ApplyResult(before, None, {"already": True}),
                                               adapter.name)
            if not _mark_sent(claim, adapter, change):
                return "lost"
            try:
                result = adapter.apply(change, claim.action_id)
            except PlatformError as exc:
                verdict, state = _settle(adapter, change, exc)
                if verdict == "applied":
                    return outcomes.finish_applied(claim, before, ApplyResult(state or {}, None, {"read_back": True}),
                                                   adapter.name)
                if verdict == "unknown":
                    return outcomes.finish_failed(
                        claim, f"{exc.message}; outcome unknown (state unreadable), not retried")
                if verdict == "failed":
                    return outcomes.finish_failed(claim, exc.message, ledger_state="failed", summary=exc.summary())
                wait, why = _retry_wait(exc, attempt)
                if wait is None:
                    return outcomes.finish_failed(claim, f"{exc.message} ({why})", ledger_state="failed",
                                                  summary=exc.summary())
                with session_scope() as session:
                    ledger.finish(session, claim.action_id, "failed", response=exc.summary(), error=exc.message)
                if stopping.wait(wait):
                    return outcomes.release(claim, "worker stopping")
                continue
            outcomes.after_send(claim.action_id)
            return outcomes.finish_applied(claim, before, result, adapter.name)
    finally:
        close = getattr(adapter, "close", None)
        if close is not None:
            close()


def reconcile(claim: claims.Claim, change: PlannedChange) -> str:
    """Settle an abandoned claim whose request may have been sent, by reading the platform's state."""
    with session_scope() as session:
        adapter = make_adapter(session, claim.tenant_id, claim.platform)
        try:
            state: dict[str, Any] | None = adapter.get_state(change.entity)
        except PlatformError:
            state = None
        if adapter.transactional:
            session.rollback()  # reading the sandbox must not create anything here
    close = getattr(adapter, "close", None)
    if close is not None:
        close()
    if state is None:
        return outcomes.finish_failed(claim, "Interrupted request: outcome unknown (platform state unreadable), "
                                             "not retried")
    if matches(state, change):
        return outcomes.finish_applied(claim, None, ApplyResult(state, None, {"reconciled": True}), adapter.name)
    return outcomes.release(claim, "interrupted request not applied according to the platform",
                            ledger_failed="not applied (state read back after an interrupted request)")
