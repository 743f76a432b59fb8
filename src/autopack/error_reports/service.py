"""Read error reports of a run."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.db.models import ErrorReport
from autopack.error_reports.reporter import is_storable


def list_reports(session: Session, run_id: str, limit: int, offset: int) -> dict:
    """GET /runs/{run_id}/errors: reports oldest first, paginated."""
    if not is_storable(run_id):  # no such run can exist; PostgreSQL would reject the query
        return {"run_id": run_id, "error_count": 0, "errors": [], "total": 0, "limit": limit,
                "offset": offset}
    total = session.scalar(select(func.count()).select_from(ErrorReport).where(ErrorReport.run_id == run_id))
    rows = session.scalars(
        select(ErrorReport.report).where(ErrorReport.run_id == run_id)
        .order_by(ErrorReport.created_at, ErrorReport.id).limit(limit).offset(offset)
    ).all()
    return {"run_id": run_id, "error_count": len(rows), "errors": list(rows),
            "total": total, "limit": limit, "offset": offset}


def summary(session: Session, run_id: str) -> dict:
    """GET /runs/{run_id}/errors/summary: the reference's text block."""
    if not is_storable(run_id):
        return {"run_id": run_id, "summary": f"No errors reported for run {run_id}"}
    rows = session.scalars(
        select(ErrorReport.report).where(ErrorReport.run_id == run_id)
        .order_by(ErrorReport.created_at, ErrorReport.id).limit(1000)
    ).all()
    total = session.scalar(select(func.count()).select_from(ErrorReport).where(ErrorReport.run_id == run_id))
    if not total:
        return {"run_id": run_id, "summary": f"No errors reported for run {run_id}"}
    lines = [f"ERROR SUMMARY FOR RUN: {run_id}", f"Total Errors: {total}", "=" * 80, ""]
    for i, report in enumerate(rows, 1):
        lines += [
            f"{i}. [{report.get('timestamp')}] {report.get('error_type')}",
            f"   Component: {report.get('component')}",
            f"   Operation: {report.get('operation')}",
            f"   Message: {str(report.get('error_message', ''))[:200]}",
            "",
        ]
    return {"run_id": run_id, "summary": "\n".join(lines)}
