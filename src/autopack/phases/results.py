"""Builder and auditor submissions for a phase: recorded, issues filed, the phase moved, the run rolled up."""

from __future__ import annotations

import hashlib

from sqlalchemy import insert
from sqlalchemy.orm import Session

from autopack.budget import service as budget
from autopack.core.errors import BadRequest, NotFound
from autopack.core.responses import FastJSONResponse, json_response
from autopack.db.base import utcnow
from autopack.db.models import AuditorResultRecord, BuilderResultRecord
from autopack.db.records import Record
from autopack.events import log as events
from autopack.issues import service as issues
from autopack.phases.governance import apply_maintenance_patch
from autopack.phases.schemas import MAINTENANCE_RUN_TYPES, AuditorResult, BuilderResult
from autopack.runs import service
from autopack.runs.schemas import PhaseStatusUpdate
from autopack.runs.states import PHASE_STATES

ID_MISMATCH = "Path parameters (run_id, phase_id) must match {kind} payload"
# Core inserts on the session's connection, built once: the ORM's bulk-insert layer cost more than the row.
_INSERT_BUILDER = insert(BuilderResultRecord.__table__)
_INSERT_AUDITOR = insert(AuditorResultRecord.__table__)


def update_status(session: Session, run_id: str, phase_id: str, update: PhaseStatusUpdate,
                  actor: str) -> tuple[dict, int]:
    """The executor moves a phase; starting one is refused (409) while the run's budget holds it."""
    if update.state not in PHASE_STATES:
        raise BadRequest(f"Invalid phase state: {update.state}")
    loaded = service.load_for_change(session, run_id, phase_id)
    if loaded is None:
        raise NotFound(f"Phase {phase_id} not found in run {run_id}")
    refusal = budget.refuse_start(session, loaded.run, loaded.phase, update.state, actor)
    if refusal is not None:  # answered, not raised: a hold raised by this call must be committed
        loaded.save(session)
        return refusal, 409
    out = service.update_phase_status(session, loaded, update, actor)
    budget.review_run(session, loaded.run, actor)
    loaded.save(session)
    return out, 200


def submit_builder_result(session: Session, run_id: str, phase_id: str, result: BuilderResult,
                          actor: str) -> dict | FastJSONResponse:
    """Record a builder result; a successful patch moves the phase to GATE (maintenance: governed apply)."""
    if (result.run_id, result.phase_id) != (run_id, phase_id):
        raise BadRequest(ID_MISMATCH.format(kind="BuilderResult"))
    patch = result.patch_content or ""
    loaded = service.load_for_change(session, run_id, phase_id)
    if loaded is None:
        raise NotFound(f"Phase {phase_id} not found")
    run, tier, phase = loaded.run, loaded.tier, loaded.phase
    session.connection().execute(_INSERT_BUILDER, dict(
        run_id=run_id, phase_id=phase_id, run_type=result.run_type, status=result.status,
        notes=result.notes, patch_sha256=hashlib.sha256(patch.encode()).hexdigest() if patch else None,
        patch_bytes=len(patch.encode()), files_changed=result.files_changed,
        allowed_paths=result.allowed_paths, lines_added=result.lines_added,
        lines_removed=result.lines_removed, builder_attempts=result.builder_attempts,
        tokens_used=result.tokens_used, duration_minutes=result.duration_minutes,
        probe_results=[p.model_dump() for p in result.probe_results],
        suggested_issues=[i.model_dump() for i in result.suggested_issues], created_at=utcnow(),
    ))
    before = service.mark(phase)
    events.record(session, "builder.result", run_id=run_id, payload={
        "phase_id": phase_id, "status": result.status, "run_type": result.run_type, "actor": actor,
        "tokens_used": result.tokens_used, "patch_bytes": len(patch.encode())})
    phase.builder_attempts = result.builder_attempts
    phase.tokens_used = result.tokens_used
    _summarise_builder(phase, result)
    tier_key = tier.tier_id
    for item in result.suggested_issues:
        issues.record_issue(session, phase, tier_key, issue_key=item.issue_key, severity=item.severity,
                            source=item.source, category=item.category,
                            evidence_refs=item.evidence_refs, description=item.description)
    verdict = None
    if patch and result.run_type in MAINTENANCE_RUN_TYPES:
        loaded.save(session)  # the governed apply reads the rows itself
        # The server applies maintenance patches itself (governed: GATE, or FAILED with the reason).
        verdict = apply_maintenance_patch(session, phase, patch, result.allowed_paths, actor)
    elif patch and result.status == "success":
        service.set_phase_state(session, phase, "GATE", actor)
    service.roll_up(session, run, tier, phase, before, actor)
    budget.review_run(session, run, actor)
    service.mirror_phase_file(session, phase, tier_key)
    loaded.save(session)
    if verdict is not None and not verdict.applied:
        # Answered, not raised: the FAILED phase (and any governance request) must be committed.
        return json_response({"detail": verdict.detail}, 422)
    return {"message": "Builder result submitted successfully", "phase_id": phase_id,
            "run_id": run_id, "phase_state": phase.state}


def submit_auditor_result(session: Session, run_id: str, phase_id: str, result: AuditorResult,
                          actor: str) -> dict:
    """Persist an auditor review; attempts and tokens keep their maximum."""
    if (result.run_id, result.phase_id) != (run_id, phase_id):
        raise BadRequest(ID_MISMATCH.format(kind="AuditorResult"))
    loaded = service.load_for_change(session, run_id, phase_id)
    if loaded is None:
        raise NotFound(f"Phase {phase_id} not found")
    run, tier, phase = loaded.run, loaded.tier, loaded.phase
    session.connection().execute(_INSERT_AUDITOR, dict(
        run_id=run_id, phase_id=phase_id, review_notes=result.review_notes,
        recommendation=result.recommendation, confidence=result.confidence,
        issues_found=[i.model_dump() for i in result.issues_found],
        suggested_patches=[p.model_dump() for p in result.suggested_patches],
        auditor_attempts=result.auditor_attempts, tokens_used=result.tokens_used, created_at=utcnow(),
    ))
    before = service.mark(phase)
    events.record(session, "auditor.result", run_id=run_id, payload={
        "phase_id": phase_id, "recommendation": result.recommendation, "confidence": result.confidence,
        "issues_found": len(result.issues_found), "actor": actor})
    phase.auditor_attempts = max(phase.auditor_attempts or 0, result.auditor_attempts)
    phase.tokens_used = max(phase.tokens_used or 0, result.tokens_used)
    phase.last_auditor_verdict = result.recommendation
    for item in result.issues_found:
        issues.record_issue(session, phase, tier.tier_id, issue_key=item.issue_key, severity=item.severity,
                            source=item.source, category=item.category,
                            evidence_refs=item.evidence_refs, description=item.description)
    service.roll_up(session, run, tier, phase, before, actor)
    budget.review_run(session, run, actor)
    loaded.save(session)
    return {"message": "Auditor result submitted"}


def _summarise_builder(phase: Record, result: BuilderResult) -> None:
    """The phase's summary of its latest builder result (saved with the phase's one UPDATE)."""
    phase.last_builder_status = result.status
    phase.last_builder_files_changed = len(result.files_changed)
    phase.last_builder_lines_added = result.lines_added
    phase.last_builder_lines_removed = result.lines_removed
    phase.last_builder_tokens = result.tokens_used
