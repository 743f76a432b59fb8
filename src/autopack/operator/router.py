"""Operator surface endpoints (reference §2.10); all behind `verify_read_access`, none writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse

from autopack.auth.deps import on_loop, verify_read_access
from autopack.core.database import ReadSession, run_in_read_thread
from autopack.core.responses import json_response
from autopack.core.settings import get_settings
from autopack.operator import artifacts, service
from autopack.operator.progress import read_progress, read_run_list
from autopack.operator.schemas import (
    ArtifactIndexResponse,
    BrowserArtifactsResponse,
    RunListResponse,
    RunProgressResponse,
)

router = APIRouter(tags=["operator"], dependencies=[Depends(on_loop(verify_read_access))])

INDEX_DEFAULT_LIMIT = 1000
INDEX_MAX_LIMIT = 10_000


@router.get("/runs", response_model=RunListResponse)
async def list_runs(limit: int = service.DEFAULT_LIMIT, offset: int = 0):
    """Runs newest first with phase counts; `limit` is clamped to 1..100 and `offset` to ≥ 0."""
    return Response(await run_in_read_thread(read_run_list, limit, offset), media_type="application/json")


@router.get("/runs/{run_id}/progress", response_model=RunProgressResponse)
async def run_progress(run_id: str):
    """Phase-by-phase progress; `elapsed_seconds` stops at `completed_at` (one thread hop)."""
    return Response(await run_in_read_thread(read_progress, run_id), media_type="application/json")


@router.get("/runs/{run_id}/artifacts/index", response_model=ArtifactIndexResponse)
def artifact_index(run_id: str, session: ReadSession, limit: int = INDEX_DEFAULT_LIMIT, offset: int = 0):
    """Files under the run directory, sorted by path and paged (`limit` clamped to 1..10000)."""
    service.require_run(session, run_id)
    session.close()  # the walk may take a while: hold no database transaction meanwhile
    limit = min(max(limit, 1), INDEX_MAX_LIMIT)
    offset = min(max(offset, 0), service.MAX_OFFSET)
    files, truncated = artifacts.list_artifacts(run_id)
    page = files[offset:offset + limit]
    return json_response({
        "run_id": run_id,
        "artifacts": [{"path": f.path, "size_bytes": f.size_bytes, "modified_at": f.modified_at} for f in page],
        "total_size_bytes": sum(f.size_bytes for f in files),
        "total_count": len(files),
        "limit": limit,
        "offset": offset,
        "truncated": truncated,
    })


@router.get(
    "/runs/{run_id}/artifacts/file",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}},
                     "description": "The file as UTF-8 text (undecodable bytes become U+FFFD); "
                                    "`X-Artifact-Truncated`, `X-Artifact-Original-Size` and "
                                    "`X-Artifact-Returned-Size` describe the cap."}},
)
def artifact_file(run_id: str, session: ReadSession, path: Annotated[str, Query(max_length=4096)]):
    """One artifact as text, at most AUTOPACK_ARTIFACT_MAX_BYTES of it; traversal of any kind is 400."""
    segments = artifacts.check_artifact_path(path)  # before the run lookup, as the reference
    service.require_run(session, run_id)
    session.close()
    content = artifacts.read_artifact(run_id, path, segments, get_settings().artifact_max_bytes)
    headers = {
        "X-Artifact-Truncated": "true" if content.truncated else "false",
        "X-Artifact-Original-Size": str(content.original_size),
        "X-Artifact-Returned-Size": str(content.returned_size),
        "X-Content-Type-Options": "nosniff",
    }
    return PlainTextResponse(content.text, headers=headers, media_type="text/plain; charset=utf-8")


@router.get("/runs/{run_id}/browser/artifacts", response_model=BrowserArtifactsResponse)
def browser_artifacts(run_id: str, session: ReadSession):
    """Screenshots and HTML captures under the run directory, in both the contract's and the reference's shape."""
    service.require_run(session, run_id)
    session.close()
    files, truncated = artifacts.list_artifacts(run_id)
    found, screenshots, html_files = [], [], []
    for f in files:
        kind = artifacts.browser_type(f.path)
        if kind is None:
            continue
        found.append({"path": f.path, "type": kind, "size_bytes": f.size_bytes, "modified_at": f.modified_at})
        entry = {"path": f.path, "timestamp": f.modified_at, "size_bytes": f.size_bytes}
        (screenshots if kind == "screenshot" else html_files).append(entry)
    return json_response({
        "run_id": run_id,
        "screenshots": screenshots,
        "html_files": html_files,
        "total_size_bytes": sum(a["size_bytes"] for a in found),
        "artifacts": found,
        "total_count": len(found),
        "truncated": truncated,
    })
