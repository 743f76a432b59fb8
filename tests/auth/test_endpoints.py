"""/api/auth register, login (form and JSON), me, JWKS and key status (reference §2.8)."""

from __future__ import annotations

import jwt
import pytest

from autopack.audit import service as audit
from autopack.core.database import session_scope
from autopack.db.models import User
from tests.auth.helpers import bearer, make_user
from tests.runs.helpers import count

USER = {"username": "alice", "email": "alice@example.com", "password": "correct-horse"}


def register(client, **overrides):
    return client.post("/api/auth/register", json={**USER, **overrides})


def test_register_returns_user_without_password(client):
    response = register(client)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"username", "email", "id", "is_active", "is_superuser", "created_at", "updated_at"}
    assert (body["username"], body["is_active"], body["is_superuser"]) == ("alice", True, False)
    assert "password" not in response.text and "argon2" not in response.text


def test_duplicates_are_400_and_case_insensitive(client):
    register(client)
    response = register(client, username="ALICE", email="other@example.com")
    assert response.status_code == 400
    assert response.json()["detail"] == "Username already registered"
    response = register(client, username="bob", email="Alice@Example.com")
    assert response.json()["detail"] == "Email already registered"
    assert count(User) == 1


@pytest.mark.parametrize("overrides", [
    {"password": "short"}, {"password": "x" * 101}, {"username": "ab"}, {"username": "u" * 51},
    {"email": "not-an-email"}, {"username": " padded "}, {"username": "tab\tname"},
])
def test_register_bounds_are_422(client, overrides):
    assert register(client, **overrides).status_code == 422
    assert count(User) == 0


def test_sql_looking_input_is_just_data(client):
    name = "x'; DROP TABLE users;--"
    assert register(client, username=name).status_code == 201
    response = client.post("/api/auth/login", data={"username": name, "password": USER["password"]})
    assert response.status_code == 200
    assert count(User) == 1


def test_login_form_and_json_round_trip_with_jwks(client):
    register(client)
    form = client.post("/api/auth/login", data={"username": "alice", "password": "correct-horse"})
    assert form.status_code == 200
    assert form.json()["token_type"] == "bearer"
    as_json = client.post("/api/auth/login", json={"username": "Alice", "password": "correct-horse"})
    assert as_json.status_code == 200
    token = as_json.json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and len(header["kid"]) == 64
    keys = client.get("/api/auth/.well-known/jwks.json").json()["keys"]
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")
    public = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="autopack-api", issuer="autopack")
    assert claims["username"] == "alice" and claims["sub"] == str(claims["user_id"])
    assert {"iat", "exp", "jti"} <= set(claims)
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_bad_credentials_are_401_and_audited(client):
    register(client)
    for data in ({"username": "alice", "password": "wrong-password"},
                 {"username": "nobody", "password": "correct-horse"}):
        response = client.post("/api/auth/login", data=data)
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect username or password"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    client.post("/api/auth/login", data={"username": "alice", "password": "correct-horse"})
    with session_scope(writer=False) as session:
        actions = [e["action"] for e in audit.list_events(session).model_dump()["events"]]
    assert actions.count("auth.login_failed") == 2
    assert actions.count("auth.login_succeeded") == 1


def test_unknown_user_costs_one_password_verification(client, monkeypatch):
    from autopack.auth import service

    calls = []
    monkeypatch.setattr(service, "burn_verification", lambda password: calls.append(password))
    client.post("/api/auth/login", data={"username": "ghost", "password": "whatever-pw"})
    assert calls == ["whatever-pw"]


def test_inactive_user_cannot_log_in_or_use_a_token(client):
    _, token = make_user("sleepy", active=False)
    response = client.post("/api/auth/login", data={"username": "sleepy", "password": "correct-horse"})
    assert response.status_code == 401
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 400 and me.json() == {"detail": "Inactive user"}


@pytest.mark.parametrize("body,content_type", [
    (b"", "application/x-www-form-urlencoded"), (b"username=alice", "application/x-www-form-urlencoded"),
    (b"{", "application/json"), (b'{"username": 5, "password": []}', "application/json"),
    (b"[]", "application/json"),
])
def test_malformed_login_is_422(client, body, content_type):
    response = client.post("/api/auth/login", content=body, headers={"content-type": content_type})
    assert response.status_code == 422


def test_oversized_form_body_is_413(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_MAX_BODY_BYTES", "4096")
    client = make_client()
    response = client.post("/api/auth/login", data={"username": "a", "password": "x" * 10_000})
    assert response.status_code == 413


def test_me_without_or_with_bad_tokens(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    for header in ({"Authorization": "Basic abc"}, {"Authorization": "Bearer not.a.jwt"},
                   {"Authorization": "Bearer "}):
        response = client.get("/api/auth/me", headers=header)
        assert response.status_code == 401
        assert response.json() == {"detail": "Could not validate credentials"}


def test_token_of_a_deleted_user_is_401(client):
    user_id, token = make_user("temp")
    with session_scope() as session:
        session.delete(session.get(User, user_id))
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_key_status(client):
    body = client.get("/api/auth/key-status").json()
    assert body["keys_loaded"] is True
    assert body["source"] == "generated"
    assert len(body["active_kid"]) == 64
