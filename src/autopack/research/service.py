"""Research sessions, notes and sources in the database (the reference kept them in memory)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.core.errors import NotFound
from autopack.db.base import utcnow
from autopack.db.models import ResearchNote, ResearchSession, ResearchSource
from autopack.research.schemas import NoteCreate, SessionCreate

PREFIX = "session_"
NOTES_SHOWN = 500


def public_id(row_id: int) -> str:
    """`session_<n>`, the reference's id format."""
    return f"{PREFIX}{row_id}"


def _row_id(session_id: str) -> int | None:
    digits = session_id[len(PREFIX):] if session_id.startswith(PREFIX) else ""
    return int(digits) if digits.isdigit() and len(digits) <= 9 else None


def get_session(session: Session, session_id: str) -> ResearchSession:
    """The session, or 404 `Session not found`."""
    row_id = _row_id(session_id)
    row = session.get(ResearchSession, row_id) if row_id else None
    if row is None:
        raise NotFound("Session not found")
    return row


def session_dict(row: ResearchSession) -> dict[str, Any]:
    """The public document of a session."""
    return {"session_id": public_id(row.id), "status": row.status, "created_at": row.created_at,
            "topic": row.topic, "description": row.description, "updated_at": row.updated_at,
            "created_by": row.created_by}


def create_session(session: Session, body: SessionCreate, actor: str | None) -> dict[str, Any]:
    """A new active session."""
    now = utcnow()
    row = ResearchSession(topic=body.topic, description=body.description, status="active", created_by=actor,
                          created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return session_dict(row)


def list_sessions(session: Session, limit: int, offset: int) -> list[dict[str, Any]]:
    """Oldest first, as the reference listed its in-memory sessions."""
    rows = session.scalars(select(ResearchSession).order_by(ResearchSession.id).limit(limit).offset(offset))
    return [session_dict(r) for r in rows]


def _source_dict(s: ResearchSource) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "title": s.title, "note_id": s.note_id}


def session_detail(session: Session, session_id: str) -> dict[str, Any]:
    """A session with its newest notes and every source."""
    row = get_session(session, session_id)
    notes = session.scalars(select(ResearchNote).where(ResearchNote.session_id == row.id)
                            .order_by(ResearchNote.id.desc()).limit(NOTES_SHOWN)).all()
    sources = session.scalars(select(ResearchSource).where(ResearchSource.session_id == row.id)
                              .order_by(ResearchSource.id)).all()
    by_note: dict[int, list] = {}
    for source in sources:
        by_note.setdefault(source.note_id, []).append(_source_dict(source))
    total = session.scalar(select(func.count()).select_from(ResearchNote).where(ResearchNote.session_id == row.id))
    return {**session_dict(row),
            "notes": [{"id": n.id, "session_id": public_id(row.id), "content": n.content, "created_by": n.created_by,
                       "created_at": n.created_at, "sources": by_note.get(n.id, [])} for n in reversed(notes)],
            "sources": [_source_dict(s) for s in sources], "notes_total": int(total or 0)}


def add_note(session: Session, session_id: str, body: NoteCreate, actor: str | None) -> dict[str, Any]:
    """Attach a note and its sources to a session."""
    row = get_session(session, session_id)
    now = utcnow()
    note = ResearchNote(session_id=row.id, content=body.content, created_by=actor, created_at=now)
    session.add(note)
    session.flush()
    sources = [ResearchSource(note_id=note.id, session_id=row.id, url=s.url, title=s.title, created_at=now)
               for s in body.sources]
    session.add_all(sources)
    row.updated_at = now
    session.flush()
    return {"id": note.id, "session_id": public_id(row.id), "content": note.content, "created_by": actor,
            "created_at": now, "sources": [_source_dict(s) for s in sources]}
