"""Token subjects are parsed strictly: ASCII digits of an id the users.id column can hold, else 401."""

from __future__ import annotations

import time

import jwt
import pytest

from autopack.auth.keys import keyring
from autopack.core.database import session_scope
from autopack.db.models import User
from tests.auth.helpers import bearer, make_user


def signed(user_id: int, sub) -> str:
    """A token signed with the server's real key, for the real user's key, with `sub` as given."""
    with session_scope(writer=False) as session:
        user_key = session.get(User, user_id).token_key
    now = int(time.time())
    payload = {"iss": "autopack", "aud": "autopack-api", "sub": sub, "user_id": user_id, "username": "alice",
               "iat": now, "exp": now + 600, "uk": user_key}
    key = keyring().active
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def other_digits(number: int, zero: str) -> str:
    """`number` written with the digits of another script (int() reads them all)."""
    return "".join(chr(ord(zero) + int(d)) for d in str(number))


@pytest.fixture
def user_id() -> int:
    return make_user("alice")[0]


def test_the_plain_subject_works(client, user_id):
    assert client.get("/api/auth/me", headers=bearer(signed(user_id, str(user_id)))).status_code == 200


@pytest.mark.parametrize("make_sub", [
    lambda uid: "1" * 40,  # was a 500: too large for the integer column
    lambda uid: "9" * 19,
    lambda uid: str(2**31),  # one past the PostgreSQL integer column
    lambda uid: str(2**63),
    lambda uid: other_digits(uid, "\u0660"),  # Arabic-Indic: was accepted as the user
    lambda uid: other_digits(uid, "\u06f0"),  # Extended Arabic-Indic
    lambda uid: other_digits(uid, "\uff10"),  # full-width
    lambda uid: other_digits(uid, "\u0966"),  # Devanagari
    lambda uid: f"0{uid}", lambda uid: f"+{uid}", lambda uid: f"-{uid}", lambda uid: f" {uid}",
    lambda uid: f"{uid}\n", lambda uid: f"{uid}.0", lambda uid: f"{uid}_0", lambda uid: "0", lambda uid: "",
    lambda uid: uid, lambda uid: [uid], lambda uid: None,
], ids=["40-digits", "19-digits", "2**31", "2**63", "arabic-indic", "extended-arabic-indic", "fullwidth",
        "devanagari", "leading-zero", "plus", "minus", "space", "newline", "decimal", "underscore", "zero",
        "empty", "integer", "list", "null"])
def test_odd_subjects_are_401(client, user_id, make_sub):
    response = client.get("/api/auth/me", headers=bearer(signed(user_id, make_sub(user_id))))
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}


def test_odd_subjects_are_refused_on_every_bearer_route(client, user_id):
    """The same parsing guards the routes that take any principal (resolve_principal)."""
    token = signed(user_id, "1" * 40)
    response = client.get("/api/v1/tenant/1/membership", headers=bearer(token))
    assert response.status_code == 401
