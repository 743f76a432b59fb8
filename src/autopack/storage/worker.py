"""Background scans: claimed through the database, with progress, cancel and a lease.

A queued scan (or a running one whose lease ran out: its instance died) is claimed by a conditional
UPDATE, so one instance runs it. The walk writes its counts and found candidates every second or
so, renewing the lease and reading `cancel_requested` in the same statement; a lost claim, a
cancel or a shutdown stops it there. A reclaimed scan starts over (a walk cannot resume), at most
MAX_ATTEMPTS times.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select, update

from autopack.core.database import session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.core.workers import PollingWorker
from autopack.db.base import utcnow
from autopack.db.models import CleanupCandidate, StorageScan
from autopack.storage.service import SCAN_QUEUED, load_policy, stop_note, store_found, walk_totals
from autopack.storage.walker import Stopped, Walk

log = get_logger(__name__)
WORKER_ID = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
MAX_ATTEMPTS = 3


def _claimable(now):
    return or_(StorageScan.status == "queued",
               and_(StorageScan.status == "running", StorageScan.lease_until < now))


def claim_next(worker_id: str = WORKER_ID) -> int | None:
    """Claim the oldest claimable scan for this worker; its id, or None when there is none."""
    now = utcnow()
    with session_scope(writer=False) as session:  # idle ticks take no write lock
        if session.scalar(select(StorageScan.id).where(_claimable(now)).limit(1)) is None:
            return None
    with session_scope() as session:
        scan_id = session.scalar(select(StorageScan.id).where(_claimable(now)).order_by(StorageScan.id).limit(1)
                                 .with_for_update(skip_locked=True))
        if scan_id is None:
            return None
        lease = now + timedelta(seconds=get_settings().storage_lease_seconds)
        claimed = session.execute(
            update(StorageScan).where(StorageScan.id == scan_id, _claimable(now))
            .values(status="running", claimed_by=worker_id, lease_until=lease, attempts=StorageScan.attempts + 1,
                    started_at=now, total_items_scanned=0, total_size_bytes=0, cleanup_candidates_count=0,
                    potential_savings_bytes=0, skipped_entries=0)
            .returning(StorageScan.attempts)).first()
        if claimed is None:
            return None
        # What an earlier attempt found is found again by this one.
        session.execute(delete(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id))
        if claimed.attempts > MAX_ATTEMPTS:
            session.execute(update(StorageScan).where(StorageScan.id == scan_id).values(
                status="failed", completed_at=now, claimed_by=None, lease_until=None,
                error=f"Abandoned after {MAX_ATTEMPTS} attempts (each instance running it stopped)"))
            return None
    return scan_id


def _ours(scan_id: int, worker_id: str):
    return and_(StorageScan.id == scan_id, StorageScan.claimed_by == worker_id, StorageScan.status == "running")


def _progress(scan_id: int, worker_id: str, walk: Walk, stopping: threading.Event | None) -> bool:
    """Write counts and candidates, renew the lease; False stops the walk."""
    now = utcnow()
    with session_scope() as session:
        row = session.execute(
            update(StorageScan).where(_ours(scan_id, worker_id))
            .values(lease_until=now + timedelta(seconds=get_settings().storage_lease_seconds), **walk_totals(walk))
            .returning(StorageScan.cancel_requested)).first()
        if row is None:
            walk.pending.clear()
            return False  # the claim is gone (cancelled while queued, or another instance took over)
        if row.cancel_requested:
            session.execute(delete(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id))
            session.execute(update(StorageScan).where(StorageScan.id == scan_id).values(
                status="cancelled", completed_at=now, claimed_by=None, lease_until=None))
            walk.pending.clear()
            return False
        if stopping is not None and stopping.is_set():
            # Shutting down: hand the scan back so the next worker starts it again.
            session.execute(delete(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id))
            session.execute(update(StorageScan).where(StorageScan.id == scan_id).values(
                status="queued", claimed_by=None, lease_until=None, attempts=StorageScan.attempts - 1))
            walk.pending.clear()
            return False
        store_found(session, scan_id, walk)
    return True


def run_scan(scan_id: int, worker_id: str = WORKER_ID, stopping: threading.Event | None = None,
             checkpoint_seconds: float = 1.0) -> str:
    """Walk a claimed scan to its end; the status it ended in (or 'stopped' when it is not ours any more)."""
    with session_scope(writer=False) as session:
        scan = session.get(StorageScan, scan_id)
        policy = load_policy(session)
        target, root, depth, items = scan.scan_target, scan.root, scan.max_depth, scan.max_items
        started = scan.started_at
    walk = Walk(target=target, root=root, policy=policy, max_depth=depth, max_items=items,
                checkpoint=lambda w: _progress(scan_id, worker_id, w, stopping),
                checkpoint_seconds=checkpoint_seconds)
    status, error = "completed", None
    try:
        walk.run()
    except Stopped:
        return "stopped"
    except OSError as exc:  # the target itself vanished or became unreadable
        status, error = "failed", f"{type(exc).__name__}: {exc.strerror or exc}"[:500]
        walk.pending.clear()
    now = utcnow()
    with session_scope() as session:
        values = {"status": status, "error": error, "completed_at": now, "claimed_by": None, "lease_until": None,
                  "notes": stop_note(walk), "scan_duration_seconds": int((now - started).total_seconds()),
                  **walk_totals(walk)}
        if session.execute(update(StorageScan).where(_ours(scan_id, worker_id)).values(**values)).rowcount:
            store_found(session, scan_id, walk)
        else:
            session.rollback()
            return "stopped"
    log.info("storage_scan_finished", scan_id=scan_id, status=status, items=walk.items)
    return status


def run_storage_jobs(stopping: threading.Event | None = None, worker_id: str = WORKER_ID) -> int:
    """One tick: run claimable scans one after another; how many were run."""
    done = 0
    while not (stopping is not None and stopping.is_set()):
        scan_id = claim_next(worker_id)
        if scan_id is None:
            return done
        run_scan(scan_id, worker_id, stopping)
        done += 1
    return done


class ScanWorker(PollingWorker):
    """A polling worker that also wakes when this instance queues a scan (other instances' scans wait
    for the poll)."""

    def _loop(self) -> None:
        while not self.stopping.is_set():
            SCAN_QUEUED.clear()
            self.run_once()
            SCAN_QUEUED.wait(self.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop, waking the loop if it is waiting."""
        self.stopping.set()
        SCAN_QUEUED.set()
        super().stop(timeout)


def start_storage_worker() -> PollingWorker | None:
    """Start the scan worker unless AUTOPACK_STORAGE_WORKER=0 (the app lifespan calls this)."""
    settings = get_settings()
    if not settings.storage_worker_enabled:
        return None
    worker = ScanWorker("storage-scan-worker", lambda: None, settings.storage_poll_seconds)
    worker.tick = lambda: run_storage_jobs(worker.stopping)
    return worker.start()
