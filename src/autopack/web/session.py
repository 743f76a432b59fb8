"""The console's session: a short-lived access token in an HttpOnly cookie, and its CSRF token.

The cookie holds an ordinary access token of the identity system (auth/tokens.py), so a console
session is checked exactly like a Bearer token: signature, expiry, the user's key and `is_active`.
The API never reads this cookie, so cross-site requests cannot use it there; the console's own forms
carry a CSRF token derived from the session token, checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from fastapi import Request, Response

from autopack.auth import deps
from autopack.auth.deps import AuthFailure, Principal
from autopack.auth.tokens import issue_access_token
from autopack.core.settings import get_settings
from autopack.db.models import User

SESSION_COOKIE = "autopack_session"
LOGIN_CSRF_COOKIE = "autopack_login_csrf"
CSRF_FIELD = "csrf_token"
_LOCAL_NEXT = re.compile(r"^/ui(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:\?[^\s#\\]*)?$")


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/ui", httponly=True, samesite="strict",
                        secure=get_settings().is_production)


def session_token_for(user: User) -> str:
    """A fresh access token for a console session, living AUTOPACK_UI_SESSION_MINUTES."""
    return issue_access_token(user, expires_minutes=get_settings().ui_session_minutes)


def start_session(response: Response, token: str) -> None:
    """Set the session cookie (the token of `session_token_for`)."""
    _cookie(response, SESSION_COOKIE, token, get_settings().ui_session_minutes * 60)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")


def end_session(response: Response) -> None:
    """Drop the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict",
                           secure=get_settings().is_production)


def session_token(request: Request) -> str | None:
    """The session cookie's token, if any."""
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) < 8192 else None


def principal_of(request: Request, token: str) -> Principal | None:
    """The user behind a session token (the same check as a Bearer token), None when not acceptable.

    The principal is also cached on the request the way `auth.deps.resolve_principal` caches it, so
    the API's own checks (tenant roles, deciders, rate-limit keys) see the signed-in user.
    """
    try:
        principal = deps.principal_from_token(token)  # the one token check of the identity system
    except AuthFailure:
        return None
    deps.adopt_principal(request, principal)
    return principal


def csrf_for(token: str) -> str:
    """The CSRF token of a session: bound to its access token (which the page's script cannot read)."""
    return hashlib.sha256(b"autopack-ui-csrf\0" + token.encode()).hexdigest()


def csrf_matches(expected: str, presented: object) -> bool:
    """Constant-time comparison; anything but a string fails."""
    return isinstance(presented, str) and hmac.compare_digest(expected.encode(), presented.encode())


def login_csrf(request: Request) -> str:
    """The anonymous login form's token (double-submit: a cookie and the same value in the form)."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE)
    return current if current and re.fullmatch(r"[0-9a-f]{64}", current) else secrets.token_hex(32)


def remember_login_csrf(response: Response, value: str) -> None:
    """Set the login form's CSRF cookie (lives an hour)."""
    _cookie(response, LOGIN_CSRF_COOKIE, value, 3600)


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: only a console path of this site, else the runs inbox."""
    if raw and _LOCAL_NEXT.fullmatch(raw) and "//" not in raw and ".." not in raw:
        return raw
    return "/ui/runs"
