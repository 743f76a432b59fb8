"""Human notes: stored and audited in the database, mirrored to a markdown file in the reference's format.

The executor and people read `<runs dir>/.project/human_notes.md` (the reference kept it in
`<runs dir>/../.autopack/`, outside any configured directory); each committed note is appended there
(in commit order, by the mirror thread) with an atomic rewrite of the file, so a reader never sees
half an entry. The database is the record.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.fs import open_under, read_at, refusals_logged, write_at
from autopack.core.mirror import mirror_after_commit
from autopack.core.settings import get_settings
from autopack.dashboard.schemas import HumanNoteRequest
from autopack.db.models import HumanNote
from autopack.runs.service import require_run

# The reference answers this literal string; clients may compare it, so it stays (the file moved).
NOTES_FILE_LABEL = ".autopack/human_notes.md"
_file_lock = threading.Lock()


def entry_text(timestamp: str, note: str, run_id: str | None) -> str:
    """One entry in the reference's format: blank line, `## <time>`, optional run line, the note."""
    text = f"\n## {timestamp}\n"
    if run_id:
        text += f"**Run:** {run_id}\n"
    return text + f"{note}\n"


def _append_to_file(entry: str) -> None:
    settings = get_settings()
    root = settings.autonomous_runs_dir.resolve()
    relative = settings.human_notes_path.relative_to(root)
    with _file_lock, refusals_logged(root, relative), open_under(root, relative.parent) as folder_fd:
        # Read through the same descriptor: a symlinked notes file is neither read nor replaced.
        current = read_at(folder_fd, relative.name) or b""
        write_at(folder_fd, relative.name, current + entry.encode("utf-8"))


def add_note(session: Session, request: HumanNoteRequest, actor: str) -> dict[str, Any]:
    """Store the note, audit it in the same transaction, and mirror it to the notes file after commit."""
    if request.run_id is not None:
        require_run(session, request.run_id)
    row = HumanNote(note=request.note, run_id=request.run_id, created_by=actor)
    session.add(row)
    session.flush()
    append_event(session, action="dashboard.human_note_added", actor=actor, target_type="human_note",
                 target_id=row.id, details={
                     "run_id": request.run_id, "chars": len(request.note),
                     "sha256": hashlib.sha256(request.note.encode("utf-8")).hexdigest()})
    timestamp = row.created_at.isoformat()
    entry = entry_text(timestamp, request.note, request.run_id)
    mirror_after_commit(session, lambda: _append_to_file(entry))
    return {"message": "Note added successfully", "timestamp": timestamp, "notes_file": NOTES_FILE_LABEL,
            "id": row.id}


def list_notes(session: Session, limit: int, offset: int) -> dict[str, Any]:
    """Stored notes, newest first, one page of them with the total."""
    total = session.scalar(select(func.count(HumanNote.id)))
    rows = session.scalars(select(HumanNote).order_by(HumanNote.created_at.desc(), HumanNote.id.desc())
                           .limit(limit).offset(offset)).all()
    notes = [{"id": r.id, "note": r.note, "run_id": r.run_id, "created_at": r.created_at,
              "created_by": r.created_by} for r in rows]
    return {"total": int(total or 0), "limit": limit, "offset": offset, "notes": notes}
