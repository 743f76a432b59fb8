"""POST /files/upload (streamed, size-limited) and GET /files."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from autopack.auth.deps import Principal, actor_of, verify_api_key, verify_read_access
from autopack.core.database import ReadSession
from autopack.core.errors import AutopackError, BadRequest
from autopack.core.responses import json_response
from autopack.core.settings import get_settings
from autopack.files import service
from autopack.files.receiver import Malformed, Receiver, TooLarge, boundary_of
from autopack.files.schemas import UploadList, UploadResponse

router = APIRouter(tags=["files"])
NO_FILE = "No file provided"
OVERHEAD = 64 * 1024  # room for the multipart headers around the file


def _too_large(limit: int) -> AutopackError:
    return AutopackError(f"File too large (limit {limit} bytes)", status_code=413, headers={"Connection": "close"})


@router.post("/files/upload", response_model=UploadResponse,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "format": "binary"}, "run_id": {"type": "string"}}}}}}})
async def upload(request: Request, principal: Annotated[Principal | None, Depends(verify_api_key)],
                 run_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None):
    """Store a multipart `file` field (optionally as an artifact of `run_id`); 413 past the size limit."""
    settings = get_settings()
    boundary = boundary_of(request.headers.get("content-type"))
    if boundary is None:
        raise BadRequest(NO_FILE)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.upload_max_bytes + OVERHEAD:
        raise _too_large(settings.upload_max_bytes)  # refused before a byte is written
    receiver = Receiver(boundary, settings.uploads_path, settings.upload_max_bytes)
    try:
        stream = request.stream().__aiter__()
        while True:
            try:
                async with asyncio.timeout(settings.body_timeout_seconds):  # a stalled client is let go
                    chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            if chunk:
                receiver.feed(chunk)
        receiver.finish()
        if receiver.temp is None:
            raise BadRequest(NO_FILE)
        target_run = run_id or receiver.fields.get("run_id") or None
        if target_run is not None and (len(target_run) > 128 or "\x00" in target_run):
            raise BadRequest("Invalid run_id")
        document = await run_in_threadpool(service.keep, receiver, target_run, actor_of(principal))
    except TooLarge:
        raise _too_large(settings.upload_max_bytes) from None
    except Malformed:
        raise BadRequest(NO_FILE) from None
    except (ClientDisconnect, TimeoutError):
        return json_response({"detail": "Upload interrupted"}, status_code=400)
    except OSError:  # the disk, not the request: the reference's 500, with the partial file removed
        raise AutopackError("Upload failed", status_code=500) from None
    finally:
        receiver.discard()  # a no-op once the file was kept
    return json_response(document)


@router.get("/files", response_model=UploadList, dependencies=[Depends(verify_read_access)])
def list_files(session: ReadSession, run_id: Annotated[str | None, Query(max_length=128)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Uploaded files, newest first."""
    return json_response(service.list_uploads(session, run_id, limit, offset))
