"""A token checked once is taken again without its signature checked: never past its expiry or its key."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import jwt
import pytest

from autopack.auth import keys, tokens
from autopack.auth.tokens import InvalidToken, decode_access_token
from tests.auth.helpers import bearer, make_user
from tests.auth.test_token_attacks import assert_rejected, claims, sign


@pytest.fixture
def user_id(client):
    return make_user()[0]


def _advance_clocks(monkeypatch, seconds: float) -> None:
    """Both clocks a token check reads (ours and PyJWT's) moved `seconds` ahead."""
    later = time.time() + seconds
    monkeypatch.setattr(tokens.time, "time", lambda: later)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return datetime.fromtimestamp(later, tz or UTC)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)


def test_a_remembered_token_expires_as_it_would_unremembered(client, user_id, monkeypatch):
    now = int(time.time())
    token = sign(claims(user_id, iat=now, exp=now + 60))
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200  # checked, remembered
    assert decode_access_token(token)["sub"] == str(user_id)  # taken from memory
    _advance_clocks(monkeypatch, 60 + tokens.LEEWAY_SECONDS + 1)
    with pytest.raises(InvalidToken):
        decode_access_token(token)
    assert_rejected(client, token)


def test_a_remembered_token_of_a_retired_key_is_refused_at_once(client, user_id):
    old = sign(claims(user_id))
    assert client.get("/api/auth/me", headers=bearer(old)).status_code == 200
    keys.rotate()
    assert client.get("/api/auth/me", headers=bearer(old)).status_code == 200  # rotation keeps it valid
    keys.retire(jwt.get_unverified_header(old)["kid"])
    assert_rejected(client, old)


def test_a_key_removed_by_another_process_is_seen_within_the_ring_age(client, user_id, monkeypatch):
    old = sign(claims(user_id))
    old_kid = jwt.get_unverified_header(old)["kid"]
    keys.rotate()
    assert client.get("/api/auth/me", headers=bearer(old)).status_code == 200
    os.unlink(keys.key_dir() / f"{old_kid}.pem")  # what `autopack keys retire` in another process does
    moment = time.monotonic()
    monkeypatch.setattr(keys.time, "monotonic", lambda: moment + keys.VERIFY_RING_MAX_AGE + 0.01)
    assert_rejected(client, old)


def test_the_memory_is_bounded_and_returns_copies(client, user_id, monkeypatch):
    monkeypatch.setattr(tokens, "_VERIFIED_KEPT", 3)
    monkeypatch.setattr(tokens, "_verified", {})
    issued = [sign(claims(user_id, jti=str(n))) for n in range(5)]
    for token in issued:
        decode_access_token(token)["sub"] = "tampered"  # a caller changing its copy changes nothing kept
    assert len(tokens._verified) == 3
    assert [memo[0] for memo in tokens._verified] == issued[2:]  # the oldest went first
    assert all(decode_access_token(token)["sub"] == str(user_id) for token in issued)


def test_a_deactivated_user_is_refused_though_the_token_is_remembered(client, user_id):
    from autopack.core.database import session_scope
    from autopack.db.models import User

    token = sign(claims(user_id))
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    with session_scope() as session:
        session.get(User, user_id).is_active = False
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 400 and response.json() == {"detail": "Inactive user"}  # as the reference
