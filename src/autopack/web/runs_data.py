"""Reads for the run pages: the inbox with filters, and what a run page shows besides the run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.db.models import Run, RunTotals
from autopack.db.models.results import AuditorResultRecord
from autopack.error_reports import service as error_reports
from autopack.issues import service as issues
from autopack.operator.service import SUMMARY_COLUMNS, current_phase_names
from autopack.runs.states import PhaseCounts

PAGE_SIZE = 50
MAX_PAGE = 10_000


def run_inbox(session: Session, *, state: str | None, search: str | None, page: int) -> dict[str, Any]:
    """One page of runs, newest first, filtered by state and by a part of the id."""
    stmt = select(*SUMMARY_COLUMNS)
    if state:
        stmt = stmt.where(Run.state == state)
    if search:
        stmt = stmt.where(Run.id.contains(search, autoescape=True))
    if state or search:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    else:
        total = session.scalar(select(RunTotals.runs).where(RunTotals.id == 1)) or 0  # kept by triggers
    rows = session.execute(stmt.order_by(Run.created_at.desc(), Run.id.desc())
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    current = current_phase_names(session, [row.id for row in rows])  # the operator list's own rule
    runs = []
    for row in rows:
        counts = PhaseCounts.read(row)
        done = counts.phases_completed + counts.phases_skipped
        runs.append({"id": row.id, "state": row.state, "started_at": row.started_at,
                     "tokens_used": row.tokens_used or 0, "token_cap": row.token_cap,
                     "phases_total": counts.total, "phases_done": done, "phases_failed": counts.phases_failed,
                     "percent": round(100 * done / counts.total) if counts.total else 0,
                     "current_phase": current.get(row.id)})
    pages = max(1, -(-total // PAGE_SIZE))
    return {"runs": runs, "total": total, "page": page, "pages": pages}


def run_extras(session: Session, run_id: str) -> dict[str, Any]:
    """Issues, error reports and auditor reviews of a run (the newest of each, bounded)."""
    reviews = session.scalars(select(AuditorResultRecord).where(AuditorResultRecord.run_id == run_id)
                              .order_by(AuditorResultRecord.id.desc()).limit(50)).all()
    return {
        "issues": issues.run_index(session, run_id, 100, 0),
        "errors": error_reports.list_reports(session, run_id, 20, 0),
        "reviews": [{"phase_id": r.phase_id, "recommendation": r.recommendation, "confidence": r.confidence,
                     "notes": r.review_notes, "issues_found": r.issues_found, "created_at": r.created_at}
                    for r in reviews],
    }
