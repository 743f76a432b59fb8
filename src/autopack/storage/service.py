"""Scans: start one (inline when small, else queued for the worker), list, read, cancel."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from autopack.core.database import on_commit
from autopack.core.errors import BadRequest, Conflict, NotFound
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import CleanupCandidate, LearnedRule, StorageScan
from autopack.storage.policy import POLICY_VERSION, Policy, Rule
from autopack.storage.roots import resolve_target
from autopack.storage.schemas import StorageScanRequest
from autopack.storage.walker import Found, Walk

SCAN_TYPES = ("drive", "directory")
FINISHED = ("completed", "failed", "cancelled")
_SCAN = StorageScan.__table__
# Set when this instance queues a scan: its worker starts it at once instead of at its next poll.
SCAN_QUEUED = threading.Event()
_CANDIDATES = CleanupCandidate.__table__


def load_policy(session: Session) -> Policy:
    """The built-in policy plus the approved learned rules."""
    rows = session.execute(select(LearnedRule.id, LearnedRule.pattern_type, LearnedRule.pattern_value,
                                  LearnedRule.suggested_category).where(LearnedRule.status == "approved")
                           .order_by(LearnedRule.id)).all()
    return Policy([Rule(*row) for row in rows])


def candidate_rows(scan_id: int, found: list[Found]) -> list[dict[str, Any]]:
    """Insertable rows for what a walk found."""
    return [{"scan_id": scan_id, "path": f.path, "size_bytes": f.size_bytes, "age_days": f.age_days,
             "last_modified": datetime.fromtimestamp(f.mtime_ns / 1e9, UTC), "category": f.category,
             "reason": f.reason, "requires_approval": True, "approval_status": "pending", "compressed": False,
             "mtime_ns": f.mtime_ns, "is_folder": f.is_folder} for f in found]


def store_found(session: Session, scan_id: int, walk: Walk) -> None:
    """Insert the walk's waiting candidates (one executemany) and forget them."""
    if walk.pending:
        session.execute(insert(_CANDIDATES), candidate_rows(scan_id, walk.pending))
        walk.pending.clear()


def walk_totals(walk: Walk) -> dict[str, Any]:
    """The scan columns a walk fills."""
    return {"total_items_scanned": walk.items, "total_size_bytes": walk.size,
            "cleanup_candidates_count": walk.candidates, "potential_savings_bytes": walk.savings,
            "skipped_entries": walk.skipped}


def stop_note(walk: Walk) -> str | None:
    """Why a walk ended before the whole tree was seen."""
    return f"Stopped at max_items ({walk.max_items})" if walk.truncated else None


def create_scan(session: Session, request: StorageScanRequest, actor: str) -> tuple[dict[str, Any], int]:
    """Run a small scan now (200) or queue a large one for the background worker (202)."""
    if request.scan_type not in SCAN_TYPES:
        raise BadRequest(f"Invalid scan_type: {request.scan_type}")
    target, root = resolve_target(request.scan_target)
    limit = get_settings().storage_inline_max_items
    background = request.background if request.background is not None else request.max_items > limit
    if background and not request.save_to_db:
        raise BadRequest("A background scan is always saved: save_to_db must be true")
    if not background and request.max_items > limit:
        raise BadRequest(f"Scans of more than {limit} items run in the background (background must not be false)")
    now = utcnow()
    scan = StorageScan(timestamp=now, scan_type=request.scan_type, scan_target=target, max_depth=request.max_depth,
                       max_items=request.max_items, policy_version=POLICY_VERSION, created_by=request.created_by,
                       root=root, status="queued" if background else "running", cancel_requested=False,
                       attempts=0, total_items_scanned=0, total_size_bytes=0, cleanup_candidates_count=0,
                       potential_savings_bytes=0, skipped_entries=0)
    if background:
        session.add(scan)
        session.flush()
        on_commit(session, SCAN_QUEUED.set)
        return scan_dict(scan), 202
    try:
        walk = Walk(target=target, root=root, policy=load_policy(session), max_depth=request.max_depth,
                    max_items=request.max_items).run()
    except OSError as exc:  # the target itself is unreadable, or went away
        raise BadRequest(f"Scan target cannot be read: {exc.strerror or type(exc).__name__}") from None
    for name, value in walk_totals(walk).items():
        setattr(scan, name, value)
    scan.status, scan.started_at, scan.completed_at = "completed", now, utcnow()
    scan.scan_duration_seconds = int((scan.completed_at - now).total_seconds())
    scan.notes = stop_note(walk)
    if not request.save_to_db:
        return scan_dict(scan, unsaved=True), 200
    session.add(scan)
    session.flush()
    store_found(session, scan.id, walk)
    return scan_dict(scan), 200


def scan_dict(scan: StorageScan, *, unsaved: bool = False) -> dict[str, Any]:
    """StorageScanResponse as a plain dict (id -1 for an unsaved scan, as the reference)."""
    return {"id": -1 if unsaved else scan.id, "timestamp": scan.timestamp, "scan_type": scan.scan_type,
            "scan_target": scan.scan_target, "total_items_scanned": scan.total_items_scanned,
            "total_size_bytes": scan.total_size_bytes, "cleanup_candidates_count": scan.cleanup_candidates_count,
            "potential_savings_bytes": scan.potential_savings_bytes,
            "scan_duration_seconds": scan.scan_duration_seconds, "created_by": scan.created_by,
            "status": scan.status, "max_depth": scan.max_depth, "max_items": scan.max_items,
            "skipped_entries": scan.skipped_entries, "started_at": scan.started_at,
            "completed_at": scan.completed_at, "cancel_requested": bool(scan.cancel_requested),
            "error": scan.error, "notes": scan.notes}


def candidate_dict(c: CleanupCandidate) -> dict[str, Any]:
    """CleanupCandidateResponse as a plain dict."""
    return {"id": c.id, "path": c.path, "size_bytes": c.size_bytes, "age_days": c.age_days,
            "category": c.category, "reason": c.reason, "requires_approval": c.requires_approval,
            "approval_status": c.approval_status, "approved_by": c.approved_by, "approved_at": c.approved_at,
            "execution_status": c.execution_status, "compressed": c.compressed,
            "compressed_path": c.compressed_path,
            "compression_ratio": float(c.compression_ratio) if c.compression_ratio is not None else None,
            "is_folder": c.is_folder, "last_modified": c.last_modified, "executed_at": c.executed_at,
            "execution_error": c.execution_error, "trash_path": c.trash_path, "restored_at": c.restored_at}


def get_scan(session: Session, scan_id: int, *, lock: bool = False) -> StorageScan:
    """The scan (its row locked when asked), or 404 with the reference's message."""
    scan = session.get(StorageScan, scan_id, with_for_update=lock or None) if 0 < scan_id < 2**31 else None
    if scan is None:
        raise NotFound(f"Scan {scan_id} not found")
    return scan


def list_scans(session: Session, *, limit: int, offset: int, since_days: int | None, scan_type: str | None,
               scan_target: str | None) -> list[dict[str, Any]]:
    """Newest first; limit clamped to 1..200 as the reference caps it."""
    query = select(StorageScan)
    if since_days is not None:
        query = query.where(StorageScan.timestamp >= utcnow() - timedelta(days=since_days))
    if scan_type:
        query = query.where(StorageScan.scan_type == scan_type)
    if scan_target:
        query = query.where(StorageScan.scan_target == scan_target)
    rows = session.scalars(query.order_by(StorageScan.timestamp.desc(), StorageScan.id.desc())
                           .limit(min(max(limit, 1), 200)).offset(max(offset, 0)))
    return [scan_dict(s) for s in rows]


def category_stats(session: Session, scan_id: int) -> dict[str, dict[str, int]]:
    """{category: {count, total_size_bytes, approved_count, approved_size_bytes}}."""
    approved = CleanupCandidate.approval_status == "approved"
    rows = session.execute(
        select(CleanupCandidate.category, func.count(), func.coalesce(func.sum(CleanupCandidate.size_bytes), 0),
               func.coalesce(func.sum(case((approved, 1), else_=0)), 0),
               func.coalesce(func.sum(case((approved, CleanupCandidate.size_bytes), else_=0)), 0))
        .where(CleanupCandidate.scan_id == scan_id).group_by(CleanupCandidate.category)
        .order_by(CleanupCandidate.category))
    return {cat: {"count": int(n), "total_size_bytes": int(size), "approved_count": int(an),
                  "approved_size_bytes": int(asize)} for cat, n, size, an, asize in rows}


def scan_detail(session: Session, scan_id: int, limit: int, offset: int) -> dict[str, Any]:
    """The scan, a page of its candidates by size, and stats by category."""
    scan = get_scan(session, scan_id)
    candidates = session.scalars(select(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id)
                                 .order_by(CleanupCandidate.size_bytes.desc(), CleanupCandidate.id)
                                 .limit(limit).offset(offset))
    total = session.scalar(select(func.count()).select_from(CleanupCandidate)
                           .where(CleanupCandidate.scan_id == scan_id))
    return {"scan": scan_dict(scan), "candidates": [candidate_dict(c) for c in candidates],
            "stats_by_category": category_stats(session, scan_id), "candidates_total": int(total or 0),
            "limit": limit, "offset": offset}


def cancel_scan(session: Session, scan_id: int) -> dict[str, Any]:
    """A queued scan ends at once; a running one stops at its next progress write."""
    scan = get_scan(session, scan_id, lock=True)
    if scan.status in FINISHED:
        raise Conflict(f"Scan {scan_id} is already {scan.status}")
    if scan.status == "queued":
        scan.status, scan.completed_at = "cancelled", utcnow()
        session.execute(delete(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id))
    scan.cancel_requested = True
    session.flush()
    return scan_dict(scan)
