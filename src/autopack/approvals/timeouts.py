"""The approval timeout worker: expired pending requests become `timeout` (fail closed), once.

Rows are claimed through the database: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL hands each
instance a disjoint batch, and the conditional UPDATE in `service.expire_row` (`WHERE status =
'pending'`) makes a row's expiry happen exactly once even without it (SQLite serialises writers).
The worker ticks at start-up, so requests that expired while no server ran are found at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from autopack.approvals import service
from autopack.core.database import session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.core.workers import PollingWorker
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest
from autopack.events.service import prune_events
from autopack.telegram import notifier, webhook

log = get_logger(__name__)
BATCH = 100
_extra_jobs: dict[str, Callable[[], int]] = {}


def register_job(name: str, job: Callable[[], int]) -> None:
    """Run `job` on every worker tick too (it returns how many things it did)."""
    _extra_jobs[name] = job


def _due(now: datetime):
    return select(ApprovalRequest.id).where(ApprovalRequest.status == "pending",
                                            ApprovalRequest.timeout_at <= now)


def expire_due_requests(now: datetime | None = None, *, batch: int = BATCH) -> list[int]:
    """Expire every pending request whose timeout has passed; the ids this call expired."""
    now = now or utcnow()
    expired: list[int] = []
    while True:
        with session_scope(writer=False) as session:  # idle ticks take no write lock
            if session.scalar(_due(now).limit(1)) is None:
                return expired
        with session_scope() as session:
            ids = session.scalars(_due(now).order_by(ApprovalRequest.id).limit(batch)
                                  .with_for_update(skip_locked=True)).all()
            done = [i for i in ids if service.expire_row(session, i, now)]
        expired += done
        if len(ids) < batch or not done:  # the rest is locked by another instance, or gone
            return expired


def run_approval_jobs(sleep: Callable[[float], object] | None = None) -> dict[str, int]:
    """One worker tick: expire requests, retry Telegram messages, forget old update ids and events, and registered jobs."""
    counts = {}
    jobs = {"expired": lambda: len(expire_due_requests()),
            "notifications": lambda: notifier.retry_due_notifications(**({"sleep": sleep} if sleep else {})),
            "pruned_updates": webhook.prune_updates,
            "pruned_events": prune_events,  # the event log's retention rides on this tick
            **_extra_jobs}
    for name, job in jobs.items():
        try:  # one failing job must not starve the others
            counts[name] = job()
        except Exception as exc:  # noqa: BLE001
            log.warning("approval_job_failed", job=name, error_type=type(exc).__name__, error=str(exc)[:200])
            counts[name] = 0
    if counts["expired"]:
        log.info("approvals_expired", count=counts["expired"])
    return counts


def start_approval_worker() -> PollingWorker | None:
    """Start the worker unless AUTOPACK_APPROVAL_WORKER=0 (the app lifespan calls this)."""
    settings = get_settings()
    if not settings.approval_worker_enabled:
        return None
    worker = PollingWorker("approval-timeout-worker", lambda: None, settings.approval_poll_seconds)
    # Backoff waits end early when the app shuts down.
    worker.tick = lambda: run_approval_jobs(sleep=worker.stopping.wait)
    return worker.start()
