"""The operator's say: approve / reject / defer candidates, execute to a restorable trash, restore.

Execution never deletes: it moves each approved candidate into `<root>/.autopack-trash/<batch>/`
under its path relative to the root, and appends a line per move to the batch's `manifest.jsonl`
(so the trash can be put back even without the database). A candidate whose path, size or newest
mtime changed since the scan, that left its allowed root, or that the policy protects, is skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import BadRequest, Conflict
from autopack.db.base import utcnow
from autopack.db.models import ApprovalDecision, CleanupCandidate, ExecutionCheckpoint
from autopack.storage.policy import TRASH_DIR, Policy
from autopack.storage.roots import allowed_roots, root_of
from autopack.storage.schemas import ApprovalRequest, ExecutionRequest
from autopack.storage.service import get_scan
from autopack.storage.walker import fingerprint

DECISIONS = ("approve", "reject", "defer")
_CHECKPOINTS = ExecutionCheckpoint.__table__


def decide(session: Session, scan_id: int, request: ApprovalRequest, actor: str) -> dict[str, Any]:
    """Record a decision on some of the scan's candidates (defer leaves them pending)."""
    scan = get_scan(session, scan_id)
    if request.decision not in DECISIONS:
        raise BadRequest(f"Invalid decision: {request.decision}. Must be 'approve', 'reject', or 'defer'")
    ids = sorted(set(request.candidate_ids))
    # Only this scan's candidates, not yet executed (the reference accepted any scan's ids).
    candidates = session.scalars(select(CleanupCandidate).where(
        CleanupCandidate.scan_id == scan_id, CleanupCandidate.id.in_(ids),
        CleanupCandidate.execution_status.is_(None)).order_by(CleanupCandidate.id).with_for_update()).all() if ids else []
    if not candidates:
        raise BadRequest("Invalid request parameters")
    now = utcnow()
    for candidate in candidates:
        if request.decision == "approve":
            candidate.approval_status, candidate.rejection_reason = "approved", None
        elif request.decision == "reject":
            candidate.approval_status, candidate.rejection_reason = "rejected", request.notes
        else:
            candidate.approval_status = "pending"
        candidate.approved_by, candidate.approved_at = request.approved_by, now
    decision = ApprovalDecision(scan_id=scan.id, approved_by=request.approved_by, approved_at=now,
                                approval_method=request.approval_method, total_candidates=len(candidates),
                                total_size_bytes=sum(c.size_bytes for c in candidates), decision=request.decision,
                                notes=request.notes, principal=actor)
    session.add(decision)
    session.flush()
    append_event(session, action=f"storage.candidates_{request.decision}", actor=actor, target_type="storage_scan",
                 target_id=scan_id, details={"approval_id": decision.id, "approved_by": request.approved_by,
                                             "candidate_ids": [c.id for c in candidates][:1000],
                                             "total_candidates": len(candidates),
                                             "total_size_bytes": decision.total_size_bytes})
    return {"approval_id": decision.id, "scan_id": scan_id, "decision": request.decision,
            "total_candidates": decision.total_candidates, "total_size_bytes": decision.total_size_bytes,
            "approved_by": request.approved_by, "approved_at": now}


def _refusal(candidate: CleanupCandidate, root: str, target: str, policy: Policy, roots: list[str]) -> str | None:
    """Why this candidate may not be moved now, or None."""
    path = candidate.path
    if root_of(path, roots) != root or root_of(root, roots) != root:
        return "outside the allowed storage roots"
    if not os.path.lexists(path):
        return "path no longer exists"
    if os.path.realpath(path) != path:
        return "path changed since the scan (a folder on the way is now a symlink)"
    rel = os.path.relpath(path, target).replace(os.sep, "/")
    in_trash = TRASH_DIR in os.path.relpath(path, root).split(os.sep)
    if rel.startswith("../") or rel == ".." or policy.protected(rel) or in_trash:
        return "protected path"
    if fingerprint(path, candidate.is_folder) != (candidate.size_bytes, candidate.mtime_ns):
        return "size or modification time changed since the scan"
    return None


def _result(c: CleanupCandidate, status: str, error: str | None = None, freed: int = 0,
            trash: str | None = None) -> dict[str, Any]:
    return {"candidate_id": c.id, "path": c.path, "status": status, "error": error, "freed_bytes": freed,
            "compressed_path": None, "trash_path": trash}


def _summary(results: list[dict], started: float, dry_run: bool, batch: str | None,
             trash_dir: str | None) -> dict[str, Any]:
    ok = sum(r["status"] in ("completed", "dry_run", "restored") for r in results)
    failed = sum(r["status"] == "failed" for r in results)
    return {"total_candidates": len(results), "successful": ok, "failed": failed,
            "skipped": len(results) - ok - failed, "total_freed_bytes": sum(r["freed_bytes"] for r in results),
            "success_rate": round(ok / len(results), 4) if results else 0.0,
            "execution_duration_seconds": round(time.monotonic() - started, 3), "results": results,
            "dry_run": dry_run, "batch_id": batch, "trash_dir": trash_dir}


def execute(session: Session, scan_id: int, request: ExecutionRequest, actor: str) -> dict[str, Any]:
    """Move approved candidates to the trash (or, in a dry run, say what would be moved)."""
    started = time.monotonic()
    scan = get_scan(session, scan_id, lock=True)  # one execution of a scan at a time
    if request.compress_before_delete:
        raise BadRequest("compress_before_delete is not supported: candidates are moved to a restorable trash")
    if scan.status != "completed":
        raise Conflict(f"Scan {scan_id} is {scan.status}; only a completed scan can be executed")
    query = select(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id,
                                           CleanupCandidate.approval_status == "approved",
                                           CleanupCandidate.execution_status.is_(None))
    if request.category:
        query = query.where(CleanupCandidate.category == request.category)
    candidates = session.scalars(query.order_by(CleanupCandidate.id)).all()
    from autopack.storage.service import load_policy  # the rules of now, as the scan would apply them

    policy, roots = load_policy(session), allowed_roots()
    batch = f"scan-{scan_id}-{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    base = os.path.join(scan.root, TRASH_DIR, batch)
    results: list[dict[str, Any]] = []
    for candidate in candidates:
        try:
            refused = _refusal(candidate, scan.root, scan.scan_target, policy, roots)
        except OSError as exc:
            refused = f"cannot be read: {exc.strerror or exc}"
        if refused is not None:
            if not request.dry_run:  # settled: a changed path stays out of later executions
                candidate.execution_status, candidate.executed_at = "skipped", utcnow()
                candidate.execution_error = refused
            results.append(_result(candidate, "skipped", refused))
        elif request.dry_run:
            results.append(_result(candidate, "dry_run"))
        else:
            results.append(_move(session, candidate, scan.root, base, batch))
    if not request.dry_run and results:
        session.execute(insert(_CHECKPOINTS), [
            {"run_id": batch, "scan_id": scan_id, "candidate_id": r["candidate_id"], "action": "move",
             "path": r["path"], "trash_path": r["trash_path"], "size_bytes": r["freed_bytes"], "status": r["status"],
             "error": r["error"], "timestamp": utcnow()} for r in results])
    summary = _summary(results, started, request.dry_run, None if request.dry_run else batch,
                       None if request.dry_run else base)
    session.flush()
    append_event(session, action="storage.cleanup_dry_run" if request.dry_run else "storage.cleanup_executed",
                 actor=actor, target_type="storage_scan", target_id=scan_id,
                 details={"batch_id": summary["batch_id"], "category": request.category,
                          "successful": summary["successful"], "failed": summary["failed"],
                          "skipped": summary["skipped"], "total_freed_bytes": summary["total_freed_bytes"]})
    return summary


def _move(session: Session, candidate: CleanupCandidate, root: str, base: str, batch: str) -> dict[str, Any]:
    trash = os.path.join(base, os.path.relpath(candidate.path, root))
    now = utcnow()
    try:
        os.makedirs(os.path.dirname(trash), exist_ok=True)
        os.rename(candidate.path, trash)  # same filesystem: atomic, nothing copied
    except OSError as exc:
        candidate.execution_status, candidate.executed_at = "failed", now
        candidate.execution_error = f"{type(exc).__name__}: {exc.strerror or exc}"[:500]
        return _result(candidate, "failed", candidate.execution_error)
    with open(os.path.join(base, "manifest.jsonl"), "a", encoding="utf-8") as manifest:
        manifest.write(json.dumps({"batch_id": batch, "candidate_id": candidate.id, "path": candidate.path,
                                   "trash_path": trash, "size_bytes": candidate.size_bytes,
                                   "mtime_ns": candidate.mtime_ns, "moved_at": now.isoformat()}) + "\n")
    candidate.execution_status, candidate.executed_at, candidate.execution_error = "completed", now, None
    candidate.trash_path = trash
    return _result(candidate, "completed", freed=candidate.size_bytes, trash=trash)


def restore(session: Session, scan_id: int, candidate_ids: list[int] | None, actor: str) -> dict[str, Any]:
    """Move executed candidates back from the trash; a path taken again in the meantime is left alone."""
    started = time.monotonic()
    scan = get_scan(session, scan_id, lock=True)
    query = select(CleanupCandidate).where(CleanupCandidate.scan_id == scan_id,
                                           CleanupCandidate.execution_status == "completed")
    if candidate_ids is not None:
        query = query.where(CleanupCandidate.id.in_(sorted(set(candidate_ids))))
    results = []
    for candidate in session.scalars(query.order_by(CleanupCandidate.id)).all():
        results.append(_put_back(candidate, scan.root))
    session.execute(insert(_CHECKPOINTS), [
        {"run_id": f"restore-{scan_id}", "scan_id": scan_id, "candidate_id": r["candidate_id"], "action": "restore",
         "path": r["path"], "trash_path": r["trash_path"], "size_bytes": r["freed_bytes"], "status": r["status"],
         "error": r["error"], "timestamp": utcnow()} for r in results]) if results else None
    summary = _summary(results, started, False, None, None)
    session.flush()
    append_event(session, action="storage.cleanup_restored", actor=actor, target_type="storage_scan",
                 target_id=scan_id, details={"successful": summary["successful"], "failed": summary["failed"],
                                             "skipped": summary["skipped"]})
    return summary


def _put_back(candidate: CleanupCandidate, root: str) -> dict[str, Any]:
    trash = candidate.trash_path
    if trash is None or not os.path.lexists(trash):
        return _result(candidate, "failed", "not found in the trash", trash=trash)
    if os.path.lexists(candidate.path):
        return _result(candidate, "skipped", "original path exists again", trash=trash)
    try:
        if root_of(os.path.realpath(os.path.dirname(candidate.path))) is None and \
                os.path.exists(os.path.dirname(candidate.path)):
            return _result(candidate, "skipped", "outside the allowed storage roots", trash=trash)
        os.makedirs(os.path.dirname(candidate.path), exist_ok=True)
        os.rename(trash, candidate.path)
    except OSError as exc:
        return _result(candidate, "failed", f"{type(exc).__name__}: {exc.strerror or exc}"[:500], trash=trash)
    candidate.execution_status, candidate.restored_at = "restored", utcnow()
    return {**_result(candidate, "restored", trash=trash), "freed_bytes": 0}
