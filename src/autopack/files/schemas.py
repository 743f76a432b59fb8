"""Upload answers: the stored file, and pages of them."""

from __future__ import annotations

from datetime import datetime

from autopack.core.answers import Answer


class UploadResponse(Answer):
    """POST /files/upload: the reference's fields, then the stored record's."""

    status: str
    filename: str
    stored_as: str
    size: int
    relative_path: str
    id: int
    size_bytes: int
    sha256: str
    content_type: str | None
    run_id: str | None
    uploaded_by: str | None
    created_at: datetime


class UploadedFile(Answer):
    """One upload as listed."""

    id: int
    filename: str
    stored_as: str
    relative_path: str
    size_bytes: int
    sha256: str
    content_type: str | None
    run_id: str | None
    uploaded_by: str | None
    created_at: datetime


class UploadList(Answer):
    """GET /files: a page of uploads, newest first."""

    files: list[UploadedFile]
    total: int
    limit: int
    offset: int
