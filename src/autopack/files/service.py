"""Uploads: where a received file goes, its database row, the listing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.core.database import session_scope
from autopack.core.errors import NotFound
from autopack.core.settings import get_settings
from autopack.db.models import Run, UploadedFile
from autopack.files.receiver import Receiver, stored_name
from autopack.runs.layout import run_dir

UPLOADS_FOLDER = "uploads"  # inside a run's directory: listed by its artifacts index


def run_exists(run_id: str) -> bool:
    """True when the run is known."""
    with session_scope(writer=False) as session:
        return session.get(Run, run_id) is not None if len(run_id) <= 128 else False


def _relative(path: Path) -> str:
    """The stored path relative to the runs directory (the reference's `_uploads/<name>`)."""
    runs = get_settings().autonomous_runs_dir.resolve()
    try:
        return path.relative_to(runs).as_posix()
    except ValueError:
        return f"{path.parent.name}/{path.name}"


def keep(receiver: Receiver, run_id: str | None, actor: str) -> dict[str, Any]:
    """Move the finished temp file to its place and record it; the response document."""
    assert receiver.temp is not None and receiver.filename is not None
    if run_id is not None and not run_exists(run_id):
        raise NotFound(f"Run {run_id} not found")
    directory = run_dir(run_id).resolve() / UPLOADS_FOLDER if run_id else get_settings().uploads_path
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / stored_name(receiver.filename)
    try:
        os.rename(receiver.temp, final)
    except OSError:  # another filesystem (a custom upload dir)
        shutil.move(receiver.temp, final)
    receiver.temp = None
    try:
        with session_scope() as session:
            row = UploadedFile(stored_as=final.name, filename=receiver.filename, relative_path=_relative(final),
                               size_bytes=receiver.size, sha256=receiver.digest.hexdigest(),
                               content_type=receiver.content_type, run_id=run_id, uploaded_by=actor)
            session.add(row)
            session.flush()
            document = upload_dict(row)
    except BaseException:
        final.unlink(missing_ok=True)  # no row, no file
        raise
    return {"status": "success", "filename": receiver.filename, "stored_as": final.name,
            "size": receiver.size, "relative_path": document["relative_path"], **document}


def upload_dict(row: UploadedFile) -> dict[str, Any]:
    """One upload as listed."""
    return {"id": row.id, "filename": row.filename, "stored_as": row.stored_as, "relative_path": row.relative_path,
            "size_bytes": row.size_bytes, "sha256": row.sha256, "content_type": row.content_type,
            "run_id": row.run_id, "uploaded_by": row.uploaded_by, "created_at": row.created_at}


def list_uploads(session: Session, run_id: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Newest first, paginated."""
    query = select(UploadedFile)
    count = select(func.count()).select_from(UploadedFile)
    if run_id is not None:
        query, count = query.where(UploadedFile.run_id == run_id), count.where(UploadedFile.run_id == run_id)
    rows = session.scalars(query.order_by(UploadedFile.created_at.desc(), UploadedFile.id.desc())
                           .limit(limit).offset(offset))
    return {"files": [upload_dict(r) for r in rows], "total": int(session.scalar(count) or 0),
            "limit": limit, "offset": offset}
