"""Users and tokens for auth tests."""

from __future__ import annotations

from autopack.auth import service
from autopack.auth.tokens import issue_access_token
from autopack.core.database import session_scope


def make_user(username: str = "alice", password: str = "correct-horse", *, superuser: bool = False,
              active: bool = True) -> tuple[int, str]:
    """Create a user directly; returns (user id, bearer token)."""
    with session_scope() as session:
        user = service.create_user(session, username=username, email=f"{username}@example.com",
                                   password=password, is_superuser=superuser, is_active=active)
        session.flush()
        return user.id, issue_access_token(user)


def bearer(token: str) -> dict:
    """Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}
