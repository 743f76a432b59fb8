"""Sign-in, the session cookie, redirects of anonymous visitors, logout, CSRF on the login form."""

from __future__ import annotations

from autopack.core.settings import get_settings
from autopack.web.session import safe_next
from tests.web.helpers import csrf_of, sign_in, user


def test_anonymous_pages_redirect_to_login_with_next(client):
    for path in ("/ui/runs?state=QUEUED", "/ui/approvals", "/ui/usage", "/ui/audit", "/ui/runs/x",
                 "/ui/tenants/1/autopilot"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/login?next=/ui/"), response.headers["location"]
    assert client.get("/ui/runs?state=QUEUED", follow_redirects=False).headers["location"] == \
        "/ui/login?next=/ui/runs%3Fstate%3DQUEUED"


def test_login_sets_a_strict_httponly_cookie_and_goes_to_next(client):
    user("alice")
    response = sign_in(client, "alice", next_path="/ui/approvals")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/approvals"
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("autopack_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # development; production adds it (below)
    page = client.get("/ui/runs")
    assert page.status_code == 200
    assert 'data-testid="user">alice<' in page.text
    # a signed-in visitor of the login page goes straight on
    assert client.get("/ui/login?next=/ui/usage", follow_redirects=False).headers["location"] == "/ui/usage"


def test_next_accepts_only_console_paths(client):
    for bad in ("https://evil.example/", "//evil.example/ui", "/ui/../api", "javascript:alert(1)", "/api/x",
                "/ui\\evil", "/ui//evil.example", "/uix", None, ""):
        assert safe_next(bad) == "/ui/runs", bad
    for good in ("/ui/approvals", "/ui/runs?state=QUEUED&page=2", "/ui/tenants/3/autopilot"):
        assert safe_next(good) == good
    user("alice")
    response = sign_in(client, "alice", next_path="//evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/ui/runs"


def test_wrong_credentials_show_the_form_again(client):
    user("alice")
    response = sign_in(client, "alice", "wrong-password")
    assert response.status_code == 401
    assert "Incorrect username or password" in response.text
    assert 'name="username"' in response.text and 'value="alice"' in response.text
    assert "autopack_session" not in client.cookies
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303


def test_login_shares_the_api_login_throttle(client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_LOGIN_MAX_FAILURES", "2")
    get_settings.cache_clear()
    user("alice")
    assert sign_in(client, "alice", "bad-1").status_code == 401
    assert client.post("/api/auth/login", data={"username": "alice", "password": "bad-2"}).status_code == 401
    locked = sign_in(client, "alice")  # the right password, but the username is locked now
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.text
    assert int(locked.headers["retry-after"]) >= 1
    assert client.post("/api/auth/login", data={"username": "alice", "password": "correct-horse-battery"}
                       ).status_code == 429


def test_login_without_its_csrf_token_is_refused(client):
    user("alice")
    client.get("/ui/login")
    response = client.post("/ui/login", data={"username": "alice", "password": "correct-horse-battery"},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "autopack_session" not in response.headers.get("set-cookie", "")
    forged = client.post("/ui/login", data={"username": "alice", "password": "correct-horse-battery",
                                            "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403


def test_logout_needs_csrf_and_ends_the_session(client):
    user("alice")
    sign_in(client, "alice")
    page = client.get("/ui/runs")
    assert client.post("/ui/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/ui/runs").status_code == 200  # still signed in
    response = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303


def test_a_forged_or_inactive_session_is_anonymous(client):
    from autopack.core.database import session_scope
    from autopack.db.models import User

    user_id = user("alice")
    client.cookies.set("autopack_session", "not-a-token", path="/ui")
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303
    client.cookies.clear()
    sign_in(client, "alice")
    with session_scope() as session:
        session.get(User, user_id).is_active = False
    assert client.get("/ui/runs", follow_redirects=False).status_code == 303


def test_production_cookie_is_secure(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k" * 40)
    client = make_client(base_url="https://testserver")
    user("alice")
    response = sign_in(client, "alice")
    assert response.status_code == 303
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("autopack_session=")][0]
    assert "Secure" in cookie


def test_every_page_has_csp_and_frame_headers(client):
    from autopack.core.database import session_scope
    from autopack.tenants import service as tenants
    from tests.web.helpers import enter

    user("root", superuser=True)
    with session_scope() as session:
        tenant_id = tenants.create_tenant(session, slug="acme", name="Acme", actor="test").id
    assert client.post("/runs/start", json={"run": {"run_id": "r1"}, "tiers": [], "phases": []}).status_code == 201
    pages = ["/ui/login", "/ui/runs", "/ui/runs/r1", "/ui/approvals", "/ui/usage", "/ui/audit", "/ui/runs/nope",
             f"/ui/tenants/{tenant_id}/autopilot", "/ui/static/console.css"]
    for path in pages[:1]:
        response = client.get(path, follow_redirects=False)
        assert response.headers["x-frame-options"] == "DENY"
    enter(client, "root")
    for path in pages[1:]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (200, 404), path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert response.headers["x-frame-options"] == "DENY", path
        assert "<script>" not in response.text and " style=" not in response.text, path
    client.cookies.clear()
    for path in ("/ui/login", "/ui/runs"):
        response = client.get(path, follow_redirects=False)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-frame-options"] == "DENY"
    page = client.get("/ui/login")
    assert "<script>" not in page.text and "style=" not in page.text
