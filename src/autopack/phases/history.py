"""Every builder and auditor result of a phase, in the order they were submitted, a page at a time.

Free text is shown redacted (credentials, bearer tokens, configured secrets masked). Patch texts and
probe outputs are left out unless `full` is asked for (the router checks the caller may read them):
a builder result keeps no patch text at all, only its size and SHA-256.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from autopack.core.errors import NotFound
from autopack.core.ids import is_storable
from autopack.db.models import AuditorResultRecord, BuilderResultRecord, Phase, Run
from autopack.error_reports.reporter import redact_text

_BUILDER = BuilderResultRecord.__table__
_AUDITOR = AuditorResultRecord.__table__
KINDS = ("builder", "auditor")  # the sort rank of each kind when two results share a timestamp


def _keys(run_id: str, phase_id: str):  # noqa: ANN202 - a subquery
    """(kind rank, id, created_at) of every result of the phase."""
    return union_all(*(
        select(literal(rank).label("rank"), table.c.id, table.c.created_at)
        .where(table.c.run_id == run_id, table.c.phase_id == phase_id)
        for rank, table in enumerate((_BUILDER, _AUDITOR))
    )).subquery()


def _require_phase(session: Session, run_id: str, phase_id: str) -> None:
    if is_storable(run_id) and is_storable(phase_id) and session.scalar(
            select(Phase.id).where(Phase.run_id == run_id, Phase.phase_id == phase_id)) is not None:
        return
    if not is_storable(run_id) or session.get(Run, run_id) is None:
        raise NotFound(f"Run {run_id} not found")
    raise NotFound(f"Phase {phase_id} not found in run {run_id}")


def list_results(session: Session, run_id: str, phase_id: str, limit: int, offset: int,
                 *, full: bool = False) -> dict[str, Any]:
    """GET /runs/{run_id}/phases/{phase_id}/results: oldest first (submission order), paginated."""
    _require_phase(session, run_id, phase_id)
    keys = _keys(run_id, phase_id)
    total = session.scalar(select(func.count()).select_from(keys))
    page = session.execute(select(keys.c.rank, keys.c.id)
                           .order_by(keys.c.created_at, keys.c.rank, keys.c.id).limit(limit).offset(offset)).all()
    wanted = {rank: [pk for r, pk in page if r == rank] for rank in range(len(KINDS))}
    rows = {}
    for rank, table, entry in ((0, _BUILDER, _builder_entry), (1, _AUDITOR, _auditor_entry)):
        if wanted[rank]:
            for row in session.execute(select(table).where(table.c.id.in_(wanted[rank]))).mappings():
                rows[(rank, row["id"])] = entry(row, full)
    return {"run_id": run_id, "phase_id": phase_id, "results": [rows[key] for key in page if key in rows],
            "total": total, "limit": limit, "offset": offset}


def _builder_entry(row: Any, full: bool) -> dict[str, Any]:
    paths = [str(p) for p in row["files_changed"]] if isinstance(row["files_changed"], list) else []
    return {
        "kind": "builder", "id": row["id"], "attempt": row["builder_attempts"], "created_at": row["created_at"],
        "status": row["status"], "run_type": row["run_type"], "files_changed": len(paths), "file_paths": paths,
        "lines_added": row["lines_added"], "lines_removed": row["lines_removed"],
        "tokens_used": row["tokens_used"], "duration_minutes": row["duration_minutes"],
        "patch_bytes": row["patch_bytes"], "patch_sha256": row["patch_sha256"],
        "notes": redact_text(row["notes"] or ""),
        "probe_results": [_probe(p, full) for p in _dicts(row["probe_results"])],
        "suggested_issues": [_issue(i) for i in _dicts(row["suggested_issues"])],
    }


def _auditor_entry(row: Any, full: bool) -> dict[str, Any]:
    return {
        "kind": "auditor", "id": row["id"], "attempt": row["auditor_attempts"], "created_at": row["created_at"],
        "recommendation": row["recommendation"], "confidence": row["confidence"],
        "review_notes": redact_text(row["review_notes"] or ""), "tokens_used": row["tokens_used"],
        "issues_found": [_issue(i) for i in _dicts(row["issues_found"])],
        "suggested_patches": [_patch(p, full) for p in _dicts(row["suggested_patches"])],
    }


def _dicts(value: Any) -> list[dict]:
    """The objects of a stored JSON list (rows written by other tools may hold anything)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _strings(value: Any) -> list[str]:
    return [_text(v) for v in value] if isinstance(value, list) else []


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return kind(0)
    return kind(value)


def _probe(probe: dict, full: bool) -> dict[str, Any]:
    stdout, stderr = _text(probe.get("stdout")), _text(probe.get("stderr"))
    out = {"probe_type": _text(probe.get("probe_type")), "exit_code": _number(probe.get("exit_code"), int),
           "duration_seconds": _number(probe.get("duration_seconds"), float),
           "stdout_bytes": len(stdout.encode()), "stderr_bytes": len(stderr.encode())}
    if full:
        out.update(stdout=redact_text(stdout), stderr=redact_text(stderr))
    return out


def _issue(issue: dict) -> dict[str, Any]:
    return {"issue_key": _text(issue.get("issue_key")), "severity": _text(issue.get("severity")),
            "source": _text(issue.get("source")), "category": _text(issue.get("category")),
            "evidence_refs": [redact_text(r) for r in _strings(issue.get("evidence_refs"))],
            "description": redact_text(_text(issue.get("description")))}


def _patch(patch: dict, full: bool) -> dict[str, Any]:
    text = _text(patch.get("patch_content"))
    out = {"description": redact_text(_text(patch.get("description"))),
           "files_affected": _strings(patch.get("files_affected")), "patch_bytes": len(text.encode())}
    if full:
        out["patch_content"] = text
    return out
