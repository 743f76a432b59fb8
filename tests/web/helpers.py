"""Console test helpers: users, tenants, signing in through the form, CSRF tokens read from pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autopack.auth import privileges
from autopack.core.database import session_scope
from autopack.db.models import User
from autopack.tenants import service as tenants
from tests.auth.helpers import make_user

PASSWORD = "correct-horse-battery"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's (make test installs it); never a downloaded browser


def chromium_browser():
    """A headless Debian Chromium, for a module's `browser` fixture (the tests skip without Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def user(username: str, *, superuser: bool = False, roles: tuple[str, ...] = ()) -> int:
    """A user with PASSWORD (and instance roles); returns the id."""
    user_id, _ = make_user(username, PASSWORD, superuser=superuser)
    with session_scope() as session:
        for role in roles:
            privileges.grant(session, user_id, role, "test")
    return user_id


@dataclass
class Tenant:
    """A tenant and the usernames of its members by role."""

    id: int
    members: dict[str, str]


def tenant(slug: str, roles: tuple[str, ...] = ("admin", "operator", "viewer")) -> Tenant:
    """A tenant with one member per role, named `<slug>-<role>`."""
    with session_scope() as session:
        tenant_id = tenants.create_tenant(session, slug=slug, name=slug.title(), actor="test").id
    members = {}
    for role in roles:
        user_id = user(f"{slug}-{role}")
        with session_scope() as session:
            tenants.set_member(session, tenants.get_tenant(session, tenant_id), session.get(User, user_id), role,
                               "test")
        members[role] = f"{slug}-{role}"
    return Tenant(tenant_id, members)


def csrf_of(html: str) -> str:
    """The first CSRF token on a page."""
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD, next_path: str | None = None):
    """Sign in through the form; returns the final response (the client keeps the cookie)."""
    page = client.get("/ui/login")
    assert page.status_code == 200, page.text
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    if next_path:
        form["next"] = next_path
    return client.post("/ui/login", data=form, follow_redirects=False)


def enter(client, username: str) -> None:
    """Sign in without the form (no password check: the form's own tests cover it), as the form would."""
    from autopack.auth.service import find_user
    from autopack.web.session import SESSION_COOKIE, session_token_for

    with session_scope(writer=False) as session:
        token = session_token_for(find_user(session, username))
    client.cookies.set(SESSION_COOKIE, token)


def page_csrf(client, path: str = "/ui/runs") -> str:
    """The session's CSRF token, read from a page."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)
