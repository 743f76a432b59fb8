"""Who is signed in, the checked form of a POST, and the route class that turns errors into pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from autopack.auth.deps import Principal
from autopack.core.errors import AutopackError, EnvelopeError, Forbidden
from autopack.web import session as web_session
from autopack.web.chrome import chrome_for_request
from autopack.web.render import page_headers, render

CSRF_REFUSED = "The form's CSRF token is missing or wrong: reload the page and try again"


class LoginRequired(Exception):
    """An anonymous visitor asked for a console page."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a console request."""

    principal: Principal
    csrf: str

    @property
    def actor(self) -> str:
        """The audit actor string (the same as for the user's API calls)."""
        return self.principal.actor


def signed_in(request: Request) -> Viewer:
    """The user behind the session cookie; LoginRequired (a redirect to the login page) otherwise."""
    token = web_session.session_token(request)
    principal = web_session.principal_of(request, token) if token else None
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else request.url.path)
    return Viewer(principal, web_session.csrf_for(token))


SignedIn = Annotated[Viewer, Depends(signed_in)]


async def checked_form(request: Request, viewer: SignedIn) -> dict[str, Any]:
    """The posted form after its CSRF token matched the session's (403, nothing changed, otherwise)."""
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed body is the client's error, never a 500
        raise Forbidden(CSRF_REFUSED) from None
    if not web_session.csrf_matches(viewer.csrf, form.get(web_session.CSRF_FIELD)):
        raise Forbidden(CSRF_REFUSED)
    return {"viewer": viewer, "fields": {k: form.getlist(k) for k in form.keys()}}


CheckedForm = Annotated[dict[str, Any], Depends(checked_form)]


def field(form: dict[str, Any], name: str, default: str = "") -> str:
    """One text field of a checked form (the first value), stripped."""
    values = form["fields"].get(name) or []
    value = values[0] if values else default
    return value.strip() if isinstance(value, str) else default


def see_other(path: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(path, status_code=303)


def _message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, EnvelopeError):
        return exc.status_code, exc.message
    if isinstance(exc, AutopackError):
        return exc.status_code, exc.detail if isinstance(exc.detail, str) else "Request refused"
    if isinstance(exc, RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()]
        return 422, "; ".join(parts)[:500] or "Invalid request"
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    raise exc


def error_page(request: Request, exc: Exception) -> Response:
    """An error as a page with the console's header (and the right status)."""
    status, message = _message(exc)
    response = render(request, "error.html", {"status": status, "message": message,
                                              "chrome": chrome_for_request(request)}, status)
    for name, value in (getattr(exc, "headers", None) or {}).items():
        if name.lower() in ("retry-after",):
            response.headers[name] = value
    return response


class PageRoute(APIRoute):
    """Console routes: anonymous → login redirect; refusals → an HTML page; security headers always."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = see_other(f"/ui/login?next={quote(exc.next_path, safe='/')}")
            except (AutopackError, EnvelopeError, RequestValidationError, HTTPException) as exc:
                response = error_page(request, exc)
            return page_headers(response)

        return page_handler
