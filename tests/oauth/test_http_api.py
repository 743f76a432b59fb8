"""/api/auth/oauth over HTTP: auth, admin checks, messages, validation, and no secret in any body."""

from __future__ import annotations

import pytest

from autopack.audit import service as audit
from autopack.auth import service as users
from autopack.auth.tokens import issue_access_token
from autopack.core.database import session_scope
from tests.oauth.conftest import SECRETS, credential, register
from tests.oauth.fake_token_server import success

BASE = "/api/auth/oauth"
READS = [("GET", "/health"), ("GET", "/health/github"), ("GET", "/events"), ("GET", "/providers")]
ADMIN_CALLS = [
    ("POST", "/refresh/github", "Admin privileges required for credential refresh"),
    ("POST", "/reset/github", "Admin privileges required for failure count reset"),
    ("POST", "/credentials", "Admin privileges required for credential management"),
    ("DELETE", "/credentials/github", "Admin privileges required for credential management"),
]


def _token(username: str, superuser: bool) -> dict:
    with session_scope() as session:
        user = users.create_user(session, username=username, email=f"{username}@example.com",
                                 password="correct-horse-battery", is_superuser=superuser)
        session.flush()
        return {"Authorization": f"Bearer {issue_access_token(user)}"}


@pytest.fixture
def admin():
    """Headers of a superuser."""
    return _token("root", True)


@pytest.fixture
def member():
    """Headers of an ordinary user."""
    return _token("alice", False)


def _payload(provider: str = "github", token_url: str = "http://127.0.0.1:9/token", **extra) -> dict:
    return {"provider": provider, "token_url": token_url, "client_id": "client-1",
            "client_secret": SECRETS[0], "refresh_token": SECRETS[1], "access_token": SECRETS[2],
            "expires_in_seconds": 3600, "scopes": ["repo"], **extra}


@pytest.mark.parametrize(("method", "path"), READS + [(m, p) for m, p, _ in ADMIN_CALLS])
def test_every_endpoint_needs_a_bearer_user(client, method, path):
    missing = client.request(method, BASE + path)
    assert (missing.status_code, missing.json()) == (401, {"detail": "Not authenticated"})
    bad = client.request(method, BASE + path, headers={"Authorization": "Bearer not-a-jwt"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "Could not validate credentials"})


@pytest.mark.parametrize(("method", "path", "message"), ADMIN_CALLS)
def test_admin_endpoints_refuse_ordinary_users_without_side_effects(client, member, method, path, message):
    register("github")
    body = _payload() if path == "/credentials" else None
    response = client.request(method, BASE + path, headers=member, json=body)
    assert (response.status_code, response.json()) == (403, {"detail": message})
    cred = credential("github")
    assert (cred.refresh_state, cred.client_id) == ("idle", "client-1")


def test_ordinary_users_read_health(client, member):
    register("github")
    assert client.get(f"{BASE}/health/github", headers=member).json()["status"] == "valid"
    assert client.get(f"{BASE}/providers", headers=member).json()["count"] == 1


def test_register_refresh_reset_remove_over_http(client, admin, token_server, worker):
    created = client.post(f"{BASE}/credentials", headers=admin, json=_payload(token_url=token_server.url))
    assert created.status_code == 201
    body = created.json()
    assert (body["provider"], body["has_refresh_token"], body["health"]["status"]) == (
        "github", True, "valid")
    token_server.queue(success("at-FromServer", refresh_token="rt-FromServer"))
    queued = client.post(f"{BASE}/refresh/github?max_retries=2", headers=admin)
    assert (queued.status_code, queued.json()) == (200, {
        "status": "queued", "provider": "github", "max_retries": 2, "message": "Refresh queued for github"})
    assert worker.run_once() == 1
    health = client.get(f"{BASE}/health/github", headers=admin).json()
    assert (health["status"], health["total_refreshes"], health["last_refresh_result"]) == (
        "valid", 1, "success")
    reset = client.post(f"{BASE}/reset/github", headers=admin)
    assert reset.json() == {"status": "success", "provider": "github",
                            "message": "Failure count reset for github"}
    removed = client.delete(f"{BASE}/credentials/github", headers=admin)
    assert removed.json() == {"status": "success", "provider": "github",
                              "message": "Credential removed for github"}
    events = client.get(f"{BASE}/events?provider=github", headers=admin).json()
    assert [e["event_type"] for e in events["events"]] == [
        "registered", "refresh_requested", "refresh_attempt", "refresh_success", "failure_count_reset",
        "removed"]
    assert events["events"][1]["details"] == {"max_retries": 2, "by": "user:root"}
    with session_scope(writer=False) as session:
        page = audit.list_events(session, limit=100)
    actions = [e.action for e in page.events if e.action.startswith("oauth.")]
    assert actions == ["oauth.credential_registered", "oauth.refresh_requested", "oauth.failure_count_reset",
                       "oauth.credential_removed"]


def test_reference_errors_for_unknown_and_tokenless_credentials(client, admin):
    register("nort", refresh_token=None)
    expected = {"detail": "No credential found for provider: ghost"}
    for method, path in [("POST", "/refresh/ghost"), ("POST", "/reset/ghost"),
                         ("DELETE", "/credentials/ghost")]:
        response = client.request(method, BASE + path, headers=admin)
        assert (response.status_code, response.json()) == (404, expected)
    no_token = client.post(f"{BASE}/refresh/nort", headers=admin)
    assert (no_token.status_code, no_token.json()) == (
        400, {"detail": "Credential does not have a refresh token"})
    unknown = client.get(f"{BASE}/health/ghost", headers=admin)
    assert (unknown.status_code, unknown.json()["status"], unknown.json()["message"]) == (
        200, "unknown", "No credential found for provider: ghost")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/health/GitHub"), ("GET", "/health/" + "a" * 65), ("GET", "/health/a%20b"),
    ("POST", "/refresh/bad!name"), ("GET", "/events?limit=0"), ("GET", "/events?limit=1001"),
    ("GET", "/events?provider=Bad"), ("POST", "/refresh/github?max_retries=11"),
    ("POST", "/refresh/github?max_retries=-1"), ("GET", "/events?before_id=0"),
])
def test_bad_input_is_422(client, admin, method, path):
    register("github")
    response = client.request(method, BASE + path, headers=admin)
    assert response.status_code == 422
    assert credential("github").refresh_state == "idle"


def test_events_limit_bounds_and_order(client, admin):
    for i in range(5):
        register(f"p{i}")
    one = client.get(f"{BASE}/events?limit=1", headers=admin).json()
    assert (one["count"], one["events"][0]["provider"]) == (1, "p4")
    full = client.get(f"{BASE}/events?limit=1000", headers=admin).json()
    assert [e["provider"] for e in full["events"]] == ["p0", "p1", "p2", "p3", "p4"]
    older = client.get(f"{BASE}/events?limit=2&before_id={full['events'][2]['id']}", headers=admin).json()
    assert [e["provider"] for e in older["events"]] == ["p0", "p1"]


@pytest.mark.parametrize("body", [
    {"client_secret": [SECRETS[0]]}, {"refresh_token": 42, "access_token": {"v": SECRETS[2]}},
    {"unexpected": SECRETS[1]}, {"provider": "Bad Name"}, {"token_url": "ftp://example.com/token"},
    {"expires_at": "2030-01-01T00:00:00Z"},
])
def test_invalid_registration_never_echoes_a_secret(client, admin, body):
    response = client.post(f"{BASE}/credentials", headers=admin, json=_payload(**body))
    assert response.status_code == 422, response.text
    assert not any(secret in response.text for secret in SECRETS)
    assert client.get(f"{BASE}/providers", headers=admin).json()["count"] == 0


def test_no_secret_in_any_response(client, admin, token_server, worker):
    client.post(f"{BASE}/credentials", headers=admin, json=_payload(token_url=token_server.url))
    token_server.queue(success("at-NewSecretAccess", refresh_token="rt-NewSecretRefresh"))
    client.post(f"{BASE}/refresh/github", headers=admin)
    worker.run_once()
    texts = [client.request(m, BASE + p, headers=admin).text for m, p in READS]
    schema = client.get("/openapi.json")
    assert schema.status_code == 200 and f"{BASE}/credentials" in schema.json()["paths"]
    texts.append(schema.text)
    for text in texts:
        for secret in (*SECRETS, "at-NewSecretAccess", "rt-NewSecretRefresh"):
            assert secret not in text


def test_admin_calls_are_rate_limited(client, admin, monkeypatch):
    monkeypatch.setenv("AUTOPACK_OAUTH_ADMIN_RATE_LIMIT", "2/minute")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    register("github")
    codes = [client.post(f"{BASE}/reset/github", headers=admin).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
