"""The autopilot execution worker: applies approved actions through their platform adapter, once.

Order per action: claim (`approved → applying`, re-validated now) → read the platform state → plan
an absolute target → write the ledger row `sent` (committed) → send → `applied` or `failed`.
The sandbox does all of it in one transaction. Retries happen only when the platform certainly did
not apply the change (a refusal such as a rate limit, an unreachable host, or a state read-back
showing the old value), within `AUTOPACK_AUTOPILOT_MAX_ATTEMPTS` and the retry-wait cap. The lease
must outlast a claim's longest run (timeouts and waits), so a live worker is never reclaimed.
"""

from __future__ import annotations

from autopack.autopilot.actions.service import InvalidTransition, record_transition
from autopack.autopilot.execution import claims, ledger, outcomes
from autopack.autopilot.execution.adapters.base import PlatformError
from autopack.autopilot.execution.http_run import reconcile, run_http
from autopack.autopilot.execution.service import (
    ACTOR,
    PlanError,
    entity_of,
    make_adapter,
    plan_change,
    public_state,
)
from autopack.core.database import session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.core.workers import PollingWorker
from autopack.db.base import utcnow

log = get_logger(__name__)


def run_sandbox(claim: claims.Claim) -> str:
    """Plan, record and apply in one transaction: a crash anywhere leaves nothing sent."""
    with session_scope() as session:
        action = claims.owned(session, claim)
        if action is None:
            return "lost"
        adapter = make_adapter(session, claim.tenant_id, claim.platform)
        try:
            with session.begin_nested():
                before = adapter.get_state(entity_of(action))
                change = plan_change(action, before)
                ledger.mark_sent(session, action, adapter.name, change, claim.token)
                result = adapter.apply(change, action.id)
                outcomes.after_send(action.id)
                ledger.finish(session, action.id, "confirmed",
                              response={"after_value": public_state(result.after_value),
                                        "platform_reference": result.platform_reference})
        except (PlatformError, PlanError) as exc:
            error = exc.message if isinstance(exc, PlatformError) else str(exc)
            record_transition(session, action, "failed", ACTOR, {"error": error}, error=error)
            outcomes.audit(session, claim, "failed", {"error": error[:500]})
            return "failed"
        record_transition(session, action, "applied", ACTOR,
                          {"adapter": "sandbox", "platform_reference": result.platform_reference,
                           "queued_before_value": action.before_value},
                          before_value=public_state(before), after_value=public_state(result.after_value),
                          applied_at=utcnow())
        outcomes.audit(session, claim, "applied", {"adapter": "sandbox", "after_value": public_state(result.after_value)})
    return "applied"


class ExecutionWorker:
    """Polls for approved actions and applies them (a PollingWorker supplies the thread)."""

    def __init__(self, *, poll_seconds: float | None = None):
        settings = get_settings()
        self._poller = PollingWorker("autopilot-execution-worker", self.run_once,
                                     poll_seconds or settings.autopilot_poll_seconds)
        self.stopping = self._poller.stopping

    def process(self, claim: claims.Claim) -> str:
        """Apply one claimed action; its final status ('applied', 'failed', 'released' or 'lost')."""
        with session_scope(writer=False) as session:
            try:
                adapter = make_adapter(session, claim.tenant_id, claim.platform)
            except PlanError as exc:
                return outcomes.finish_failed(claim, str(exc))
        if adapter.transactional:
            return run_sandbox(claim)
        return run_http(claim, adapter, self.stopping)

    def run_once(self) -> dict[str, int]:
        """Settle abandoned claims, then claim and apply approved actions until none is left."""
        counts: dict[str, int] = {}
        for claim, change in claims.reclaim_expired(get_settings().autopilot_lease_seconds):
            outcome = reconcile(claim, change)
            counts[outcome] = counts.get(outcome, 0) + 1
        skip: set[str] = set()
        while not self.stopping.is_set():
            claim = claims.claim_next(skip, counts)
            if claim is None:
                break
            try:
                outcome = self.process(claim)
            except InvalidTransition:
                outcome = "lost"
            except Exception as exc:  # noqa: BLE001 - the lease expires and the claim is settled later
                log.warning("autopilot_execution_error", action_id=claim.action_id,
                            error_type=type(exc).__name__, error=str(exc)[:200])
                outcome = "error"
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def start(self) -> ExecutionWorker:
        """Start polling in a daemon thread."""
        self._poller.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; an action waiting out a retry hands its claim back."""
        self._poller.stop(timeout)

    @property
    def running(self) -> bool:
        """True while the polling thread is alive."""
        return self._poller.running


def start_execution_worker() -> ExecutionWorker | None:
    """Start the worker unless AUTOPACK_AUTOPILOT_WORKER=0 (the app lifespan calls this)."""
    if not get_settings().autopilot_worker_enabled:
        return None
    return ExecutionWorker().start()


__all__ = ["ExecutionWorker", "start_execution_worker"]
