"""Issue tracking (v7 playbook §5): phase issues, the run index and the project backlog.

The database is the record; the reference's JSON files are rewritten from it after each commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.core.database import session_scope
from autopack.core.errors import Unprocessable
from autopack.core.fs import json_text, open_under, refusals_logged, safe_write, write_at
from autopack.core.ids import UNSTORABLE_MESSAGE, is_storable, safe_filename_part
from autopack.core.mirror import mirror_after_commit
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import Phase, PhaseIssue, ProjectIssueBacklog, RunIssueIndex
from autopack.events import log as events

PROJECT_ID = "Autopack"
COUNTED = ("minor", "major")


def _check_storable(fields: dict[str, Any]) -> None:
    """422 (not a database error) for text neither database can store."""
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not is_storable(item):
                raise Unprocessable(f"{name} {UNSTORABLE_MESSAGE}")


def _get_or_create(session: Session, model, where: dict[str, Any], defaults: dict[str, Any]):
    """Select the row for update, or insert it; a concurrent insert of the same key is retried."""
    stmt = select(model).filter_by(**where).with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = model(**where, **defaults)
            session.add(row)
        return row, True
    except IntegrityError:
        return session.scalars(stmt).one(), False


def phase_issue_doc(issue: PhaseIssue) -> dict[str, Any]:
    """One issue as the phase issue file shows it."""
    return {
        "issue_key": issue.issue_key, "severity": issue.severity,
        "effective_severity": issue.effective_severity, "source": issue.source,
        "category": issue.category, "task_category": issue.task_category,
        "complexity": issue.complexity, "expected_fail": issue.expected_fail,
        "occurrence_count": issue.occurrence_count, "first_seen_run": issue.first_seen_run,
        "last_seen_run": issue.last_seen_run, "evidence_refs": list(issue.evidence_refs or []),
    }


def index_entry_doc(entry: RunIssueIndex) -> dict[str, Any]:
    """One run index entry."""
    return {
        "category": entry.category, "severity": entry.severity,
        "effective_severity": entry.effective_severity,
        "first_phase_index": entry.first_phase_index, "last_phase_index": entry.last_phase_index,
        "occurrence_count": entry.occurrence_count, "seen_in_tiers": list(entry.seen_in_tiers or []),
        "seen_in_phases": list(entry.seen_in_phases or []),
    }


def backlog_entry_doc(entry: ProjectIssueBacklog) -> dict[str, Any]:
    """One project backlog entry."""
    return {
        "category": entry.category, "base_severity": entry.base_severity,
        "age_in_runs": entry.age_in_runs, "age_in_tiers": entry.age_in_tiers,
        "first_seen_run_id": entry.first_seen_run_id, "last_seen_run_id": entry.last_seen_run_id,
        # ISO 8601 here, not at render time: the JSON mirror would otherwise get str(datetime).
        "last_seen_at": entry.last_seen_at.isoformat() if entry.last_seen_at else None,
        "seen_in_tiers": list(entry.seen_in_tiers or []),
        "status": entry.status,
    }


def phase_file_doc(session: Session, phase: Phase, tier_key: str) -> dict[str, Any]:
    """The phase issue file: its distinct issues, counts and issue state."""
    issues = session.scalars(
        select(PhaseIssue).where(PhaseIssue.run_id == phase.run_id, PhaseIssue.phase_id == phase.phase_id)
        .order_by(PhaseIssue.id)
    ).all()
    return {
        "phase_id": phase.phase_id, "tier_id": tier_key,
        "issues": [phase_issue_doc(i) for i in issues],
        "minor_issue_count": phase.minor_issues_count, "major_issue_count": phase.major_issues_count,
        "issue_state": phase.issue_state,
    }


def record_issue(session: Session, phase: Phase, tier_key: str, *, issue_key: str, severity: str,
                 source: str, category: str, task_category: str | None = None,
                 complexity: str | None = None, evidence_refs: list[str] | None = None,
                 description: str | None = None) -> dict[str, Any]:
    """Record one occurrence of `issue_key` in the phase, the run index and the project backlog."""
    _check_storable({"issue_key": issue_key, "severity": severity, "source": source,
                     "category": category, "task_category": task_category, "complexity": complexity,
                     "evidence_refs": evidence_refs, "description": description})
    run_id = phase.run_id
    now = utcnow()
    refs = list(evidence_refs or [])
    issue, created = _get_or_create(
        session, PhaseIssue, {"run_id": run_id, "phase_id": phase.phase_id, "issue_key": issue_key},
        dict(severity=severity, effective_severity=severity, source=source, category=category,
             task_category=task_category, complexity=complexity, occurrence_count=1,
             first_seen_run=run_id, last_seen_run=run_id, evidence_refs=refs, description=description),
    )
    if not created:
        issue.occurrence_count += 1
        issue.last_seen_run = run_id
        issue.severity = issue.effective_severity = severity
        issue.evidence_refs = list(dict.fromkeys([*(issue.evidence_refs or []), *refs]))

    entry, created = _get_or_create(
        session, RunIssueIndex, {"run_id": run_id, "issue_key": issue_key},
        dict(category=category, severity=severity, effective_severity=severity,
             first_phase_index=phase.phase_index, last_phase_index=phase.phase_index,
             occurrence_count=1, seen_in_tiers=[tier_key], seen_in_phases=[phase.phase_id]),
    )
    if not created:
        entry.occurrence_count += 1
        entry.last_phase_index = phase.phase_index
        entry.severity = entry.effective_severity = severity
        if tier_key not in entry.seen_in_tiers:
            entry.seen_in_tiers = [*entry.seen_in_tiers, tier_key]
        if phase.phase_id not in entry.seen_in_phases:
            entry.seen_in_phases = [*entry.seen_in_phases, phase.phase_id]

    events.record(session, "issue.recorded", run_id=run_id, payload={
        "phase_id": phase.phase_id, "tier_id": tier_key, "issue_key": issue_key, "severity": severity,
        "category": category, "occurrences": issue.occurrence_count})
    tier_ref = f"{run_id}:{tier_key}"
    backlog, created = _get_or_create(
        session, ProjectIssueBacklog, {"project_id": PROJECT_ID, "issue_key": issue_key},
        dict(category=category, base_severity=severity, age_in_runs=1, age_in_tiers=1,
             occurrence_count=1, first_seen_run_id=run_id, last_seen_run_id=run_id, last_seen_at=now,
             seen_in_runs=[run_id], seen_in_tiers=[tier_ref], status="open"),
    )
    if not created:
        # Ages count distinct runs and tiers (the reference counted every record).
        backlog.occurrence_count += 1
        backlog.last_seen_run_id = run_id
        backlog.last_seen_at = now
        if run_id not in backlog.seen_in_runs:
            backlog.seen_in_runs = [*backlog.seen_in_runs, run_id]
        if tier_ref not in backlog.seen_in_tiers:
            backlog.seen_in_tiers = [*backlog.seen_in_tiers, tier_ref]
        backlog.age_in_runs = len(backlog.seen_in_runs)
        backlog.age_in_tiers = len(backlog.seen_in_tiers)
        if backlog.status == "resolved":
            backlog.status = "open"
    if backlog.base_severity == "minor" and (backlog.age_in_runs >= 3 or backlog.age_in_tiers >= 2):
        backlog.status = "needs_cleanup"

    refresh_phase_issue_counts(session, phase)
    phase_doc = phase_file_doc(session, phase, tier_key)
    schedule_mirrors(session, run_id, phase, tier_key)
    return {
        "phase_file": phase_doc,
        "run_index_entry": index_entry_doc(entry),
        "project_backlog_entry": backlog_entry_doc(backlog),
    }


def refresh_phase_issue_counts(session: Session, phase: Phase) -> None:
    """Phase counts are the number of distinct keys by effective severity."""
    session.flush()
    counts = dict(session.execute(
        select(PhaseIssue.effective_severity, func.count())
        .where(PhaseIssue.run_id == phase.run_id, PhaseIssue.phase_id == phase.phase_id,
               PhaseIssue.effective_severity.in_(COUNTED))
        .group_by(PhaseIssue.effective_severity)
    ).all())
    phase.minor_issues_count = counts.get("minor", 0)
    phase.major_issues_count = counts.get("major", 0)
    phase.issue_state = (
        "has_major_issues" if phase.major_issues_count
        else "has_minor_issues" if phase.minor_issues_count else "no_issues"
    )


def run_index(session: Session, run_id: str, limit: int, offset: int) -> dict[str, Any]:
    """GET /runs/{run_id}/issues/index (an empty index for unknown runs, without side effects)."""
    if not is_storable(run_id):  # no such run can exist; PostgreSQL would reject the query
        return {"run_id": run_id, "issues_by_key": {}, "total": 0, "limit": limit, "offset": offset}
    total = session.scalar(select(func.count()).select_from(RunIssueIndex)
                           .where(RunIssueIndex.run_id == run_id))
    rows = session.scalars(
        select(RunIssueIndex).where(RunIssueIndex.run_id == run_id)
        .order_by(RunIssueIndex.id).limit(limit).offset(offset)
    ).all()
    return {"run_id": run_id, "issues_by_key": {r.issue_key: index_entry_doc(r) for r in rows},
            "total": total, "limit": limit, "offset": offset}


def project_backlog(session: Session, limit: int, offset: int) -> dict[str, Any]:
    """GET /project/issues/backlog."""
    where = ProjectIssueBacklog.project_id == PROJECT_ID
    total = session.scalar(select(func.count()).select_from(ProjectIssueBacklog).where(where))
    rows = session.scalars(
        select(ProjectIssueBacklog).where(where).order_by(ProjectIssueBacklog.id)
        .limit(limit).offset(offset)
    ).all()
    return {"project_id": PROJECT_ID, "issues_by_key": {r.issue_key: backlog_entry_doc(r) for r in rows},
            "total": total, "limit": limit, "offset": offset}


def schedule_mirrors(session: Session, run_id: str, phase: Phase, tier_key: str) -> None:
    """After commit, rewrite the phase file, run index and backlog JSON from the database."""
    phase_pk = phase.id

    def write() -> None:
        with session_scope(writer=False) as s:
            fresh = s.get(Phase, phase_pk)
            if fresh is None:
                return
            name = f"phase_{fresh.phase_index:02d}_{safe_filename_part(fresh.phase_id)}_issues.json"
            phase_doc = phase_file_doc(s, fresh, tier_key)
            index = run_index(s, run_id, limit=10**9, offset=0)
            backlog = project_backlog(s, limit=10**9, offset=0)
        _write_mirror_files(run_id, {
            name: phase_doc,
            "run_issue_index.json": {"run_id": run_id, "issues_by_key": index["issues_by_key"]},
        }, {"project_id": PROJECT_ID, "issues_by_key": backlog["issues_by_key"]})

    mirror_after_commit(session, write)


def _write_mirror_files(run_id: str, issue_docs: dict[str, Any], backlog_doc: dict[str, Any]) -> None:
    """`<runs>/<run_id>/issues/*.json` and the backlog; a symlink on the way is refused and logged."""
    settings = get_settings()
    runs_dir = settings.autonomous_runs_dir
    folder = f"{run_id}/issues"
    with refusals_logged(runs_dir, folder), open_under(runs_dir, folder) as issues_fd:
        for name, doc in issue_docs.items():
            with refusals_logged(runs_dir, f"{folder}/{name}"):
                write_at(issues_fd, name, json_text(doc))
    root = runs_dir.resolve()  # the backlog's folder inside the runs directory is no run's
    safe_write(root, settings.project_backlog_path.relative_to(root), json_text(backlog_doc))
