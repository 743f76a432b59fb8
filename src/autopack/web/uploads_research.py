"""Uploads and research pages: the uploaded files, and research sessions with their notes and sources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError

from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import BadRequest, ServiceUnavailable
from autopack.core.settings import get_settings
from autopack.files import service as files
from autopack.research import service as research
from autopack.research.router import QUARANTINED
from autopack.research.schemas import NoteCreate, SessionCreate
from autopack.web.chrome import chrome
from autopack.web.deps import CheckedForm, PageRoute, SignedIn, field, see_other
from autopack.web.render import render

router = APIRouter(route_class=PageRoute)
SHOWN = 100
SessionId = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/files")
def files_page(request: Request, viewer: SignedIn, session: ReadSession):
    """The newest uploads."""
    page = files.list_uploads(session, None, SHOWN, 0)
    return render(request, "uploads_research.html", {"chrome": chrome(session, viewer.principal, viewer.csrf),
                                                      "uploads": page, "sessions": None, "research": None})


def _open() -> None:
    if not get_settings().research_enabled:
        raise ServiceUnavailable(QUARANTINED)


@router.get("/research")
def research_page(request: Request, viewer: SignedIn, session: ReadSession):
    """Research sessions, with a form to start one."""
    _open()
    return render(request, "uploads_research.html", {
        "chrome": chrome(session, viewer.principal, viewer.csrf), "uploads": None,
        "sessions": research.list_sessions(session, SHOWN, 0), "research": None})


@router.get("/research/{session_id}")
def research_session_page(request: Request, session_id: SessionId, viewer: SignedIn, session: ReadSession):
    """One session with its notes and sources, and a form to add a note."""
    _open()
    return render(request, "uploads_research.html", {
        "chrome": chrome(session, viewer.principal, viewer.csrf), "uploads": None, "sessions": None,
        "research": research.session_detail(session, session_id)})


@router.post("/research")
def start_session(form: CheckedForm, session: WriteSession):
    """Start a research session."""
    _open()
    try:
        body = SessionCreate(topic=field(form, "topic"), description=field(form, "description"))
    except ValidationError:
        raise BadRequest("A topic (at most 500 characters) is required") from None
    created = research.create_session(session, body, form["viewer"].actor)
    return see_other(f"/ui/research/{created['session_id']}")


@router.post("/research/{session_id}/notes")
def add_note(session_id: SessionId, form: CheckedForm, session: WriteSession):
    """Add a note, with an optional source."""
    _open()
    url = field(form, "url")
    try:
        body = NoteCreate(content=field(form, "content"),
                          sources=[{"url": url, "title": field(form, "title") or None}] if url else [])
    except ValidationError:
        raise BadRequest("A note needs text; a source URL starts with http:// or https://") from None
    research.add_note(session, session_id, body, form["viewer"].actor)
    return see_other(f"/ui/research/{session_id}")
