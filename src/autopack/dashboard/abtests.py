"""A/B test results (DECISIONS §3.3): recorded through the API, served from `ab_test_results`.

The server measures both runs itself, as the reference's `scripts/ab_analysis.py` did: validity
needs equal commit SHAs and equal model hashes (a mismatch is an error); a phase-count mismatch or a
missing model hash is only a warning. Deltas are treatment minus control.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session

from autopack.core.errors import BadRequest
from autopack.core.ids import is_storable
from autopack.dashboard.schemas import AbResultRequest, check_reference_paging
from autopack.db.models import AbTestResult, Phase, Run
from autopack.runs.service import require_run

MAX_LIMIT = 1000
SQL_OFFSET_CAP = 2**62
_COLUMNS = (
    "id", "test_id", "control_run_id", "treatment_run_id", "is_valid", "validity_errors", "token_delta",
    "time_delta_seconds", "success_rate_delta", "control_total_tokens", "control_phases_complete",
    "control_phases_failed", "control_total_phases", "treatment_total_tokens",
    "treatment_phases_complete", "treatment_phases_failed", "treatment_total_phases", "created_at",
    "created_by", "validity_warnings", "control_commit_sha", "treatment_commit_sha",
    "control_model_hash", "treatment_model_hash",
)


def serialize(row: AbTestResult) -> dict[str, Any]:
    """A stored result as the listing shows it."""
    return {name: getattr(row, name) for name in _COLUMNS}


def _measure(session: Session, run: Run) -> dict[str, Any]:
    row = session.execute(select(
        func.count(Phase.id).label("total"),
        func.coalesce(func.sum(Phase.tokens_used), 0).label("tokens"),
        func.coalesce(func.sum(case((Phase.state == "COMPLETE", 1), else_=0)), 0).label("complete"),
        func.coalesce(func.sum(case((Phase.state == "FAILED", 1), else_=0)), 0).label("failed"),
    ).where(Phase.run_id == run.id)).one()
    duration = None
    if run.started_at is not None and run.completed_at is not None:
        duration = (run.completed_at - run.started_at).total_seconds()
    total = int(row.total)
    return {"total_tokens": int(row.tokens), "phases_complete": int(row.complete),
            "phases_failed": int(row.failed), "total_phases": total, "duration": duration,
            "success_rate": int(row.complete) / total if total else None}


def record(session: Session, request: AbResultRequest, actor: str) -> dict[str, Any]:
    """Measure both runs, judge validity, store the comparison."""
    if request.control_run_id == request.treatment_run_id:
        raise BadRequest("control_run_id and treatment_run_id must be different runs")
    control = _measure(session, require_run(session, request.control_run_id))
    treatment = _measure(session, require_run(session, request.treatment_run_id))
    errors: list[str] = []
    warnings: list[str] = []
    c_sha, t_sha = request.control_commit_sha.lower(), request.treatment_commit_sha.lower()
    if c_sha != t_sha:
        errors.append(f"Commit SHA mismatch: control={c_sha} treatment={t_sha}")
    c_hash, t_hash = request.control_model_hash.strip(), request.treatment_model_hash.strip()
    if not c_hash or not t_hash:
        warnings.append("Model hash missing for "
                        + " and ".join(n for n, h in (("control", c_hash), ("treatment", t_hash)) if not h))
    elif c_hash != t_hash:
        errors.append(f"Model hash mismatch: control={c_hash} treatment={t_hash}")
    if control["total_phases"] != treatment["total_phases"]:
        warnings.append(f"Phase count mismatch: control={control['total_phases']} "
                        f"treatment={treatment['total_phases']}")
    time_delta = (treatment["duration"] - control["duration"]
                  if control["duration"] is not None and treatment["duration"] is not None else None)
    rate_delta = (treatment["success_rate"] - control["success_rate"]
                  if control["success_rate"] is not None and treatment["success_rate"] is not None else None)
    row = AbTestResult(
        test_id=request.test_id, control_run_id=request.control_run_id,
        treatment_run_id=request.treatment_run_id, control_commit_sha=c_sha, treatment_commit_sha=t_sha,
        control_model_hash=c_hash, treatment_model_hash=t_hash, is_valid=not errors,
        validity_errors=errors, validity_warnings=warnings,
        token_delta=treatment["total_tokens"] - control["total_tokens"],
        time_delta_seconds=time_delta, success_rate_delta=rate_delta,
        control_total_tokens=control["total_tokens"], control_phases_complete=control["phases_complete"],
        control_phases_failed=control["phases_failed"], control_total_phases=control["total_phases"],
        treatment_total_tokens=treatment["total_tokens"],
        treatment_phases_complete=treatment["phases_complete"],
        treatment_phases_failed=treatment["phases_failed"], treatment_total_phases=treatment["total_phases"],
        created_by=request.created_by or actor,
    )
    session.add(row)
    session.flush()
    return serialize(row)


def list_results(session: Session, test_id: str | None, valid_only: bool, limit: int,
                 offset: int) -> dict[str, Any]:
    """Newest first, filtered by test and validity; the reference's 400s for out-of-range paging."""
    check_reference_paging(limit, offset, MAX_LIMIT)
    filters = []
    if test_id is not None:
        # No stored id holds NUL or surrogates, and PostgreSQL would refuse to compare with one.
        filters.append(AbTestResult.test_id == test_id if is_storable(test_id) else false())
    if valid_only:
        filters.append(AbTestResult.is_valid.is_(True))
    total = session.scalar(select(func.count(AbTestResult.id)).where(*filters))
    rows = session.scalars(select(AbTestResult).where(*filters)
                           .order_by(AbTestResult.created_at.desc(), AbTestResult.id.desc())
                           .limit(limit).offset(min(offset, SQL_OFFSET_CAP))).all()
    results = [serialize(r) for r in rows]
    return {"count": len(results), "total": int(total or 0), "limit": limit, "offset": offset,
            "filters": {"test_id": test_id, "valid_only": valid_only}, "results": results}
