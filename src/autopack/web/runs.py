"""Run pages: the inbox, one run (live through its event stream), and the artifact viewer."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from autopack.core.database import ReadSession
from autopack.core.settings import get_settings
from autopack.db.models import Event
from autopack.operator import artifacts
from autopack.operator.service import require_run
from autopack.runs import service as runs
from autopack.runs.states import RUN_STATES
from autopack.web import runs_data
from autopack.web.chrome import chrome
from autopack.web.deps import PageRoute, SignedIn
from autopack.web.render import SANDBOX_CSP, render

router = APIRouter(route_class=PageRoute)

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
HTML_SUFFIXES = (".html", ".htm")
LISTED_ARTIFACTS = 500
ArtifactPath = Annotated[str, Query(min_length=1, max_length=4096)]


def kind_of(path: str) -> str:
    """How the viewer shows a file: "image", "html" (sandboxed) or "text" (escaped)."""
    suffix = os.path.splitext(path.lower())[1]
    return "image" if suffix in IMAGE_TYPES else "html" if suffix in HTML_SUFFIXES else "text"


@router.get("/runs")
def runs_inbox(request: Request, viewer: SignedIn, session: ReadSession,
               state: Annotated[str | None, Query(max_length=64)] = None,
               q: Annotated[str | None, Query(max_length=128)] = None,
               page: Annotated[int, Query(ge=1, le=runs_data.MAX_PAGE)] = 1):
    """Runs newest first: state filter, id search, pages of 50."""
    state = state if state in RUN_STATES else None
    data = runs_data.run_inbox(session, state=state, search=(q or "").strip() or None, page=page)
    return render(request, "runs.html", {"chrome": chrome(session, viewer.principal, viewer.csrf),
                                         "states": RUN_STATES, "state": state, "q": q or "", **data})


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, viewer: SignedIn, session: ReadSession):
    """Tiers and phases (live), tokens against the cap, issues, errors, reviews, artifacts, screenshots."""
    require_run(session, run_id)
    run = runs.serialize_run(session, run_id)
    last_event = session.scalar(select(func.max(Event.id)).where(Event.run_id == run_id)) or 0
    extras = runs_data.run_extras(session, run_id)
    header = chrome(session, viewer.principal, viewer.csrf)
    session.close()  # the directory walk may take a while: hold no transaction meanwhile
    files, truncated = artifacts.list_artifacts(run_id)
    listed = [{"path": f.path, "size_bytes": f.size_bytes, "kind": kind_of(f.path)} for f in files[:LISTED_ARTIFACTS]]
    screenshots = [f.path for f in files if artifacts.browser_type(f.path) == "screenshot"][:24]
    cap = run["token_cap"] or 0
    return render(request, "run.html", {
        "chrome": header, "run": run, "last_event": last_event, "artifacts": listed,
        "artifacts_total": len(files), "artifacts_truncated": truncated, "screenshots": screenshots,
        "token_percent": min(100, round(100 * (run["tokens_used"] or 0) / cap)) if cap else 0, **extras})


@router.get("/runs/{run_id}/artifact")
def artifact_page(request: Request, run_id: str, path: ArtifactPath, viewer: SignedIn, session: ReadSession):
    """One artifact: text escaped, an image as an image, HTML only inside a sandboxed frame."""
    segments = artifacts.check_artifact_path(path)
    require_run(session, run_id)
    header = chrome(session, viewer.principal, viewer.csrf)
    session.close()
    kind = kind_of(path)
    content = None
    if kind == "text":
        content = artifacts.read_artifact(run_id, path, segments, get_settings().artifact_max_bytes)
    else:
        artifacts.read_artifact_bytes(run_id, path, segments, 0)  # 404 / 400 now, not inside the frame
    return render(request, "artifact.html", {"chrome": header, "run_id": run_id, "path": path, "kind": kind,
                                             "content": content})


@router.get("/runs/{run_id}/artifact/raw")
def artifact_raw(run_id: str, path: ArtifactPath, _viewer: SignedIn, session: ReadSession):
    """An image's bytes, or stored HTML under a sandbox policy (no scripts) for the viewer's frame."""
    segments = artifacts.check_artifact_path(path)
    require_run(session, run_id)
    session.close()
    kind = kind_of(path)
    data, _, _ = artifacts.read_artifact_bytes(run_id, path, segments, get_settings().artifact_max_bytes)
    if kind == "image":
        return Response(data, media_type=IMAGE_TYPES[os.path.splitext(path.lower())[1]])
    if kind == "html":
        return Response(data, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": SANDBOX_CSP, "X-Frame-Options": "SAMEORIGIN"})
    return Response(data, media_type="text/plain; charset=utf-8")
