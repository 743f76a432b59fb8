"""Forged and broken tokens are all 401 with no side effect (issue [2] attack list)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autopack.auth.keys import keyring
from autopack.core.database import session_scope
from autopack.db.models import User
from tests.auth.helpers import bearer, make_user


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(user_id: int, **overrides) -> dict:
    now = int(time.time())
    with session_scope(writer=False) as session:
        user_key = session.get(User, user_id).token_key
    return {"iss": "autopack", "aud": "autopack-api", "sub": str(user_id), "user_id": user_id,
            "username": "alice", "iat": now, "exp": now + 600, "uk": user_key, **overrides}


def sign(payload: dict, **kwargs) -> str:
    key = keyring().active
    headers = {"kid": key.kid, **kwargs.pop("headers", {})}
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers=headers)


@pytest.fixture
def user_id(client):
    return make_user()[0]


def assert_rejected(client, token: str) -> None:
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401, token
    assert response.json() == {"detail": "Could not validate credentials"}


def test_a_good_token_works(client, user_id):
    assert client.get("/api/auth/me", headers=bearer(sign(claims(user_id)))).status_code == 200


def test_alg_none(client, user_id):
    header = {"alg": "none", "typ": "JWT", "kid": keyring().active.kid}
    assert_rejected(client, f"{b64(header)}.{b64(claims(user_id))}.")


def test_hs256_signed_with_the_public_key(client, user_id):
    public_pem = keyring().active.public_pem.encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": keyring().active.kid}
    import hashlib
    import hmac

    signing_input = f"{b64(header)}.{b64(claims(user_id))}".encode()
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    assert_rejected(client, signing_input.decode() + "." + signature.rstrip(b"=").decode())


def test_wrong_or_missing_kid(client, user_id):
    assert_rejected(client, sign(claims(user_id), headers={"kid": "0" * 64}))
    key = keyring().active
    no_kid = jwt.encode(claims(user_id), key.private_key, algorithm="RS256")
    assert_rejected(client, no_kid)


def test_signed_by_a_foreign_key_with_our_kid(client, user_id):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = foreign.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    token = jwt.encode(claims(user_id), pem, algorithm="RS256", headers={"kid": keyring().active.kid})
    assert_rejected(client, token)


@pytest.mark.parametrize("overrides", [
    {"exp": int(time.time()) - 3600}, {"aud": "someone-else"}, {"iss": "evil"}, {"sub": "abc"},
])
def test_bad_claims(client, user_id, overrides):
    assert_rejected(client, sign(claims(user_id, **overrides)))


@pytest.mark.parametrize("missing", ["exp", "aud", "iss", "sub"])
def test_required_claims(client, user_id, missing):
    payload = claims(user_id)
    payload.pop(missing)
    assert_rejected(client, sign(payload))


def test_tampered_payload(client, user_id):
    other_id = make_user("mallory")[0]
    head, _, sig = sign(claims(user_id)).split(".")
    assert_rejected(client, f"{head}.{b64(claims(other_id))}.{sig}")


def test_rotation_keeps_old_tokens_valid(client, user_id):
    from autopack.auth import keys

    old = sign(claims(user_id))
    new_key = keys.rotate()
    assert client.get("/api/auth/me", headers=bearer(old)).status_code == 200
    kids = {k["kid"] for k in client.get("/api/auth/.well-known/jwks.json").json()["keys"]}
    assert new_key.kid in kids and jwt.get_unverified_header(old)["kid"] in kids
    fresh = client.post("/api/auth/login", data={"username": "alice", "password": "correct-horse"}).json()
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_key.kid
    keys.retire(jwt.get_unverified_header(old)["kid"])
    assert_rejected(client, old)
