"""/research: experimental sessions, answering 503 unless RESEARCH_API_ENABLED (or outside production)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from autopack.auth.deps import Principal, verify_production_read, verify_write_access
from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import ServiceUnavailable
from autopack.core.responses import json_response
from autopack.core.settings import get_settings
from autopack.research import service
from autopack.research.schemas import (
    NoteCreate,
    NoteOut,
    ResearchSession,
    ResearchSessionDetail,
    SessionCreate,
)

QUARANTINED = ("Research API is quarantined and disabled in production. Set RESEARCH_API_ENABLED=true to enable "
               "(not recommended for production).")


async def research_enabled() -> None:
    """503 while the research API is off (checked before authentication, as the reference's guard)."""
    if not get_settings().research_enabled:
        raise ServiceUnavailable(QUARANTINED)


router = APIRouter(prefix="/research", tags=["research"], dependencies=[Depends(research_enabled)])
Writer = Annotated[Principal | None, Depends(verify_write_access)]


def _actor(principal: Principal | None) -> str | None:
    return principal.actor if principal is not None else None


@router.get("/sessions", response_model=list[ResearchSession], dependencies=[Depends(verify_production_read)])
def list_sessions(session: ReadSession, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Research sessions, oldest first."""
    return json_response(service.list_sessions(session, limit, offset))


@router.post("/sessions", response_model=ResearchSession, status_code=201)
def create_session(body: SessionCreate, session: WriteSession, principal: Writer):
    """Start a research session."""
    return json_response(service.create_session(session, body, _actor(principal)), status_code=201)


@router.get("/sessions/{session_id}", response_model=ResearchSessionDetail,
            dependencies=[Depends(verify_production_read)])
def get_session(session_id: str, session: ReadSession):
    """One session with its notes and sources (404 `Session not found`)."""
    return json_response(service.session_detail(session, session_id))


@router.post("/sessions/{session_id}/notes", response_model=NoteOut, status_code=201)
def add_note(session_id: str, body: NoteCreate, session: WriteSession, principal: Writer):
    """Attach a note (with its sources) to a session."""
    return json_response(service.add_note(session, session_id, body, _actor(principal)), status_code=201)
