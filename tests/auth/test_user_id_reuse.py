"""A deleted user's token never names the next user: ids are not reused, and tokens carry the user key."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import delete, insert, text

from autopack.auth.keys import keyring
from autopack.core.database import is_sqlite, session_scope
from autopack.db.models import User
from tests.auth.helpers import bearer, make_user


def _delete_user(user_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(User).where(User.id == user_id))


def test_old_token_of_a_deleted_user_does_not_name_the_next_user(client):
    old_id, old_token = make_user("alice")
    assert client.get("/api/auth/me", headers=bearer(old_token)).status_code == 200
    _delete_user(old_id)
    new_id, new_token = make_user("mallory")
    assert new_id > old_id  # never handed out again (SQLite AUTOINCREMENT, PostgreSQL sequence)
    response = client.get("/api/auth/me", headers=bearer(old_token))
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    assert client.get("/api/auth/me", headers=bearer(new_token)).json()["username"] == "mallory"


def test_a_reused_id_still_refuses_the_old_token(client):
    """Defence in depth: an id that comes back anyway (a restore, a hand-made row) gets a new user key."""
    old_id, old_token = make_user("alice")
    with session_scope() as session:
        row = {c.name: getattr(session.get(User, old_id), c.name) for c in User.__table__.columns}
    _delete_user(old_id)
    with session_scope() as session:
        session.execute(insert(User).values({**row, "username": "mallory", "username_key": "mallory",
                                             "email": "mallory@example.com", "token_key": "0" * 32}))
    assert client.get("/api/auth/me", headers=bearer(old_token)).status_code == 401


def test_a_token_without_the_user_key_is_refused(client):
    user_id, token = make_user("alice")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) >= {"sub", "uk"}
    for broken in ({k: v for k, v in claims.items() if k != "uk"}, {**claims, "uk": "f" * 32},
                   {**claims, "uk": claims["uk"].upper()}, {**claims, "uk": 5}):
        broken["exp"] = int(time.time()) + 600
        key = keyring().active
        forged = jwt.encode(broken, key.private_key, algorithm="RS256", headers={"kid": key.kid})
        assert client.get("/api/auth/me", headers=bearer(forged)).status_code == 401, broken


def test_users_table_is_autoincrement_on_sqlite():
    if not is_sqlite():
        pytest.skip("PostgreSQL ids come from a sequence, which never goes back")
    with session_scope(writer=False) as session:
        ddl = session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'users'")).scalar_one()
    assert "AUTOINCREMENT" in ddl
