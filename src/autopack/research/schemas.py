"""Research request and response shapes (the reference's session fields first)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator


class SessionCreate(BaseModel):
    """POST /research/sessions."""

    topic: str = Field(..., min_length=1, max_length=500)
    description: str = Field(..., max_length=20_000)


class SourceIn(BaseModel):
    """A cited source."""

    url: str = Field(..., min_length=1, max_length=2048)
    title: str | None = Field(None, max_length=500)

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


class NoteCreate(BaseModel):
    """POST /research/sessions/{session_id}/notes."""

    content: str = Field(..., min_length=1, max_length=20_000)
    sources: list[SourceIn] = Field(default_factory=list, max_length=50)


class SourceOut(BaseModel):
    """A stored source."""

    id: int
    url: str
    title: str | None = None
    note_id: int


class NoteOut(BaseModel):
    """A stored note with its sources."""

    id: int
    session_id: str
    content: str
    created_by: str | None = None
    created_at: datetime
    sources: list[SourceOut]


class ResearchSession(BaseModel):
    """A session (the reference's five fields, then ours)."""

    session_id: str
    status: str
    created_at: datetime
    topic: str
    description: str
    updated_at: datetime
    created_by: str | None = None


class ResearchSessionDetail(ResearchSession):
    """A session with its notes (newest 500) and all their sources."""

    notes: list[NoteOut]
    sources: list[SourceOut]
    notes_total: int
