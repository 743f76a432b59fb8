"""Sign in and out: the API's login services and throttle, a session cookie instead of a JSON token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from autopack.auth import service
from autopack.auth.router import BAD_CREDENTIALS
from autopack.auth.schemas import LoginRequest
from autopack.core.database import session_scope
from autopack.core.errors import Forbidden
from autopack.core.ratelimit import RateLimited, client_ip
from autopack.web import session as web_session
from autopack.web.deps import CSRF_REFUSED, PageRoute, SignedIn, checked_form, see_other
from autopack.web.render import render

router = APIRouter(route_class=PageRoute)


def _form(request: Request, *, next_path: str, message: str | None = None, username: str = "",
          status: int = 200):
    csrf = web_session.login_csrf(request)
    response = render(request, "login.html", {"chrome": None, "csrf": csrf, "next": next_path,
                                              "message": message, "username": username}, status)
    web_session.remember_login_csrf(response, csrf)
    return response


@router.get("/login")
def login_page(request: Request, next: Annotated[str | None, Query(max_length=2048)] = None):  # noqa: A002
    """The sign-in form (a signed-in visitor goes straight on)."""
    token = web_session.session_token(request)
    if token and web_session.principal_of(request, token) is not None:
        return see_other(web_session.safe_next(next))
    return _form(request, next_path=web_session.safe_next(next))


def _authenticate(body: LoginRequest, client: str) -> str | None:
    """The API login's steps: throttle first, then check and audit in a transaction of its own."""
    attempt = service.admit_login(body.username, client)  # 429 before any database work
    try:
        with session_scope(writer=True) as session:
            user = service.login(session, attempt, body.username, body.password)
            return web_session.session_token_for(user) if user is not None else None
    except Exception:
        service.abandon_login(attempt)
        raise


@router.post("/login")
async def login(request: Request):
    """Check the credentials; on success set the session cookie and go on to `next`."""
    form = await request.form()
    cookie = request.cookies.get(web_session.LOGIN_CSRF_COOKIE)
    if not cookie or not web_session.csrf_matches(cookie, form.get(web_session.CSRF_FIELD)):
        raise Forbidden(CSRF_REFUSED)
    raw_next = form.get("next")
    next_path = web_session.safe_next(raw_next if isinstance(raw_next, str) else None)
    username = form.get("username") if isinstance(form.get("username"), str) else ""
    try:
        body = LoginRequest.model_validate({"username": username, "password": form.get("password")})
    except ValidationError:
        return _form(request, next_path=next_path, message="Enter a username and a password",
                     username=username[:255], status=422)
    try:
        token = await run_in_threadpool(_authenticate, body, client_ip(request))
    except RateLimited as exc:
        response = _form(request, next_path=next_path, message=str(exc.detail), username=username, status=429)
        response.headers.update({k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"})
        return response
    if token is None:
        return _form(request, next_path=next_path, message=BAD_CREDENTIALS, username=username, status=401)
    response = see_other(next_path)
    web_session.start_session(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: SignedIn):
    """End the session (the form's CSRF token is checked like every other form)."""
    await checked_form(request, viewer)
    response = see_other("/ui/login")
    web_session.end_session(response)
    return response
