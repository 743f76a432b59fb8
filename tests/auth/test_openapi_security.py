"""The OpenAPI document names both credentials, and each operation the ones it accepts (public ones none)."""

from __future__ import annotations

import pytest

EITHER = [{"APIKey": []}, {"BearerJWT": []}]


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _security(doc: dict, method: str, path: str):
    return doc["paths"][path][method].get("security")


def test_both_schemes_are_declared(openapi):
    assert openapi["components"]["securitySchemes"] == {
        "APIKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "An API key (AUTOPACK_API_KEY or one made with `autopack apikeys create`)."},
        "BearerJWT": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                      "description": "An access token from POST /api/auth/login."},
    }


@pytest.mark.parametrize("method,path", [
    ("post", "/runs/start"), ("post", "/runs/{run_id}/phases/{phase_id}/update_status"), ("get", "/runs"),
    ("post", "/governance/approve/{request_id}"), ("post", "/approval/{approval_id}/approve"),
    ("get", "/audit/verify"), ("post", "/api/v1/tenants"),
    ("get", "/api/v1/tenant/{tenant_id}/autopilot/status"),
    ("post", "/api/v1/tenant/{tenant_id}/autopilot/actions/{action_id}/approve"),
])
def test_credentialed_operations_accept_a_key_or_a_token(openapi, method, path):
    assert _security(openapi, method, path) == EITHER


@pytest.mark.parametrize("method,path", [("get", "/api/auth/me"), ("get", "/api/auth/oauth/providers")])
def test_user_operations_accept_a_token_only(openapi, method, path):
    assert _security(openapi, method, path) == [{"BearerJWT": []}]


@pytest.mark.parametrize("method,path", [
    ("get", "/health"), ("get", "/"), ("post", "/api/auth/login"), ("post", "/api/auth/register"),
    ("get", "/api/auth/.well-known/jwks.json"), ("post", "/telegram/webhook"),
])
def test_public_operations_claim_no_security(openapi, method, path):
    assert _security(openapi, method, path) is None


def test_a_non_bearer_authorization_header_is_still_refused(make_client, monkeypatch):
    """The schemes only document: a malformed header is answered by our checks, as before."""
    monkeypatch.setenv("AUTOPACK_API_KEY", "dev-key-0123456789")
    client = make_client()
    response = client.get("/audit/verify", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/runs", headers={"Authorization": "Basic abc"}).json() == {
        "detail": "Invalid or missing API key. Set X-API-Key header."}
