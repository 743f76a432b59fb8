"""/api/auth: register, login (form or JSON), me, JWKS and key status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from autopack.auth import keys, privileges, service
from autopack.auth.deps import Principal, require_user
from autopack.auth.schemas import (
    Jwks,
    KeyStatusResponse,
    LoginRequest,
    MeResponse,
    RegisterRequest,
    TokenResponse,
    UserResponse,
)
from autopack.auth.tokens import issue_access_token
from autopack.core.answers import documented
from autopack.core.database import ReadSession, WriteSession, session_scope
from autopack.core.errors import AutopackError
from autopack.core.ratelimit import client_ip, rate_limit
from autopack.core.responses import json_response
from autopack.core.settings import get_settings

router = APIRouter(prefix="/api/auth", tags=["auth"])
BAD_CREDENTIALS = "Incorrect username or password"

_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": LoginRequest.model_json_schema()},
            "application/json": {"schema": LoginRequest.model_json_schema()},
        },
    }
}


def _register_limit() -> str:
    return get_settings().register_rate_limit


@router.post("/register", status_code=201, response_model=UserResponse,
             dependencies=[Depends(rate_limit(_register_limit, "register"))])
def register(body: RegisterRequest, session: WriteSession):
    """Create a user (never a superuser: use `autopack users create --superuser`); 403 when closed."""
    user = service.register(session, username=body.username, email=body.email, password=body.password)
    session.flush()
    return UserResponse.model_validate(user)


async def _read_login(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            return LoginRequest.model_validate(await request.json())
        form = await request.form()
        return LoginRequest.model_validate({k: form.get(k) for k in ("username", "password")
                                            if isinstance(form.get(k), str)})
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    except ValueError:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                       "msg": "Invalid request body", "input": None}]) from None


def _login(body: LoginRequest, client: str) -> str | None:
    """Check credentials behind the throttle; audit in its own transaction (it must survive a 401)."""
    attempt = service.admit_login(body.username, client)  # 429 before any database work
    try:
        with session_scope(writer=True) as session:
            user = service.login(session, attempt, body.username, body.password)
            return issue_access_token(user) if user is not None else None
    except Exception:
        service.abandon_login(attempt)
        raise


@router.post("/login", response_model=TokenResponse, openapi_extra=_LOGIN_BODY)
async def login(request: Request):
    """Exchange username and password for a bearer token (429 with Retry-After after repeated failures)."""
    body = await _read_login(request)
    token = await run_in_threadpool(_login, body, client_ip(request))
    if token is None:
        raise AutopackError(BAD_CREDENTIALS, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return {"access_token": token, "token_type": "bearer"}


@router.get("/me", response_model=MeResponse)
def me(principal: Annotated[Principal, Depends(require_user)], session: ReadSession):
    """The current user, with the instance-level roles the user holds."""
    user = service.get_user(session, principal.user_id)
    return MeResponse.model_validate(user).model_copy(update={"roles": privileges.roles_of(session, user.id)})


@router.get("/.well-known/jwks.json", responses=documented(Jwks))
def jwks():
    """Every key that verifies tokens (the active one and those kept after rotation)."""
    ring = keys.keyring()
    return json_response({"keys": [k.jwk() for k in ring.keys.values()]},
                         headers={"Cache-Control": "public, max-age=300"})


@router.get("/key-status", response_model=KeyStatusResponse)
def key_status():
    """Whether keys are loaded and their source ("env" or "generated")."""
    try:
        ring = keys.keyring()
    except Exception:
        raise AutopackError("JWT keys not configured or invalid", status_code=500) from None
    return {"keys_loaded": True, "source": ring.source, "active_kid": ring.active.kid,
            "key_count": len(ring.keys)}
